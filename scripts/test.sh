#!/usr/bin/env bash
# The full test suite (README: `npm test`): installs what is missing, fetches the test model,
# then runs lint, native tests, wasm tests under Node and in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# An environment RUSTFLAGS would replace .cargo/config.toml's +simd128 for wasm32.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
# Mesa's Vulkan loader (the native GPU tests) complains on every device open without one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi

step() { printf '\n==> %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh
step "test model"
WASM_CHORD_MODEL=$(bash scripts/fetch-model.sh)
export WASM_CHORD_MODEL

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --lib --target wasm32-unknown-unknown --locked -- -D warnings

step "native tests (cargo test)"
cargo test --locked

# wasm-pack compiles every tests/*.rs for wasm32; native-only files are cfg-gated off there.
# The runner's timeout covers a whole test binary; the slowest (web_gpu_models, ~110 s here)
# took longer on a slower CI machine than the 120 s this was.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
step "wasm tests under Node (wasm-pack test --node)"
wasm-pack test --node --mode no-install
step "wasm tests in headless Chromium (wasm-pack test --headless --chrome)"
CHROMEDRIVER=$(command -v chromedriver) wasm-pack test --headless --chrome --mode no-install

step "npm package (npm run build) and its tests under Node and in headless Chromium"
node scripts/build.mjs
# The same package with the test hooks (teacher forcing, simulated device loss) for the tests
# that need them; pkg/ stays the published build.
node scripts/build.mjs --profile test
# Model.load caches URLs by default; the tests' cache is a fresh directory, not ~/.cache.
WASM_CHORD_CACHE_DIR=$(mktemp -d)
export WASM_CHORD_CACHE_DIR
trap 'rm -rf "$WASM_CHORD_CACHE_DIR"' EXIT
node --test tests/js/
