#!/usr/bin/env bash
# The main job (README: `npm start`): build the package, fetch the default model and serve the
# demo chat on http://127.0.0.1:${PORT:-8080}/ (it loads the model without further clicks).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
bash scripts/setup.sh native wasm npm
model=$(bash scripts/fetch-model.sh)
node scripts/build.mjs
exec node scripts/demo.mjs "$model"
