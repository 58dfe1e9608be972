#!/usr/bin/env bash
# Coverage-guided fuzzing of the reader, the whole load, the tokenizers, the sampler and chat
# templates with cargo-fuzz (libFuzzer), one target after another on one core.
# Usage: npm run fuzz -- [--minutes N] [target ...]   (default 5 minutes each, all targets)
# The corpus grows in fuzz/corpus/<target> (not committed); a crash is written to
# fuzz/artifacts/<target>/ — fix it, then copy the input to fuzz/regressions/<target>/, which
# `npm test` replays (tests/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
NIGHTLY=$(sed -n 's/^NIGHTLY=//p' scripts/setup.sh)
bash scripts/setup.sh fuzz
minutes=5
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(gguf_stream model_load tokenizer sampler chat_template)

seeds=fuzz/seeds
WASM_CHORD_FIXTURE_DIR="$PWD/$seeds" cargo test --release --quiet --test fixture_writers -- \
  --ignored --exact fuzz_seeds >/dev/null
mkdir -p "$seeds/tokenizer" "$seeds/sampler" "$seeds/chat_template"
printf '\x03\x00Hello, world! héllo 🙂 <|im_start|>' > "$seeds/tokenizer/text"
printf '\x00\x01\x01\x00\x00\x00\x02\x00\x00\x00' > "$seeds/tokenizer/ids"
head -c 256 /dev/urandom > "$seeds/sampler/random"
node -e '
  const f = require("./tests/fixtures/chat/templates.json");
  for (const [name, t] of Object.entries(f.templates))
    require("fs").writeFileSync(`'"$seeds"'/chat_template/${name}`, t + "\0hi\u0001hello\u0001bye");
'

cargo +"$NIGHTLY" fuzz build -O --fuzz-dir fuzz
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "fuzz: $t for $minutes min" >&2
  cargo +"$NIGHTLY" fuzz run -O --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "$seeds/$t" "fuzz/regressions/$t" -- \
    -max_len=131072 -malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=10 \
    -max_total_time=$((minutes * 60)) -print_final_stats=1 2>&1 | grep -E '^(#[0-9]+ +DONE|stat::|Done|==|SUMMARY|thread)' || true
done
