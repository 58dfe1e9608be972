#!/usr/bin/env bash
# Installs what the project's commands need, idempotently and quickly when already present.
# Usage: scripts/setup.sh [native] [wasm] [browser] [gpu] [npm]   (no argument = everything)
#   native  - Rust host toolchain check (rustup/cargo come with the machine)
#   wasm    - wasm32 target, wasm-bindgen-cli (pinned to the crate's wasm-bindgen), wasm-pack
#   browser - Debian Chromium + chromedriver for headless tests
#   gpu     - Mesa lavapipe (a Vulkan device on the CPU) for the native WGSL kernel tests
#   npm     - the root package.json devDependencies
#   fuzz    - the pinned nightly toolchain and cargo-fuzz (only `npm run fuzz`; not installed by default)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
WASM_PACK_VERSION=0.15.1
NIGHTLY=nightly-2026-10-29
CARGO_FUZZ_VERSION=0.13.2
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot find the pinned wasm-bindgen version in Cargo.toml" >&2; exit 1; }

want() { [ $# -eq 0 ] && return 0; local w; for w in "${WANTED[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
WANTED=("$@")
say() { echo "setup: $*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1; fi
}

if want native || [ ${#WANTED[@]} -eq 0 ]; then
  command -v cargo >/dev/null || { say "cargo not found: install Rust with rustup first"; exit 1; }
  command -v python3 >/dev/null || { say "python3 (with pip) is needed to fetch the test model"; exit 1; }
fi

if want wasm || [ ${#WANTED[@]} -eq 0 ]; then
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (several minutes, once)"
    # --locked fails for this release: its lock pins a crate version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
    say "installing wasm-pack $WASM_PACK_VERSION (several minutes, once)"
    cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
  fi
fi

if want browser || [ ${#WANTED[@]} -eq 0 ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian chromium and chromium-driver"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
fi

# A Vulkan device on the CPU (Mesa's lavapipe) so `cargo test` runs the WGSL kernels natively.
if want gpu || [ ${#WANTED[@]} -eq 0 ]; then
  if ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    say "installing Mesa's lavapipe Vulkan driver (mesa-vulkan-drivers, libvulkan1)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
fi

# Only when asked for by name: npm test does not fuzz.
if want fuzz && [ ${#WANTED[@]} -gt 0 ]; then
  if ! rustup toolchain list | grep -q "^$NIGHTLY"; then
    say "installing the $NIGHTLY toolchain (for cargo fuzz)"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src
  fi
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --force
  fi
fi

if want npm || [ ${#WANTED[@]} -eq 0 ]; then
  # Reinstall when package.json or the lock changed since the last install.
  stamp=node_modules/.wasm-chord-installed
  if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
    say "installing npm devDependencies"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
    touch "$stamp"
  fi
fi
