#!/usr/bin/env bash
# The main job (README: `npm start`): build the package, fetch the default model and serve the
# demo chat on http://127.0.0.1:${PORT:-8080}/ (it loads the model without further clicks).
# `npm start -- MODEL.gguf` serves another GGUF file instead (any supported architecture).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
bash scripts/setup.sh native wasm npm
if [ $# -gt 0 ]; then
  model=$1
  [ -f "$model" ] || { echo "npm start: no such file: $model" >&2; exit 2; }
else
  model=$(bash scripts/fetch-model.sh)
fi
node scripts/build.mjs
exec node scripts/demo.mjs "$model"
