#!/usr/bin/env bash
# The main job (README: `npm start`): fetch the default model and inspect it with the
# streaming GGUF reader. (The demo chat replaces this once the package API exists.)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh native
model=$(bash scripts/fetch-model.sh)
cargo run --release --locked --example inspect -- "$model"
