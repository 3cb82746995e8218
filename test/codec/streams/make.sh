#!/usr/bin/env bash
# test/codec/streams/make.sh: makes the whole-stream test data for gzip, xz, lzma and lz4 with
# each tool (Debian packages gzip, xz-utils, lz4, bzip2) from the payloads of test/codec/payload.ts, and
# records in streams.facts what the tool itself decompresses each to:
#   <file> <compressed bytes> <decompressed bytes> <sha256 of the tool's decompression>
# The tests need only the committed files.
#
#   bash test/codec/streams/make.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && npx tsx test/codec/payload.ts "$tmp")
rm -f "$here"/*.gz "$here"/*.xz "$here"/*.lzma "$here"/*.lz4 "$here"/*.bz2
# A mixed payload: text, random bytes (incompressible), runs, text again.
cat "$tmp/text-2m" "$tmp/raw-4k" "$tmp/rle-4k" "$tmp/multi-256k" >"$tmp/mixed"
gzip -9nc "$tmp/mixed" >"$here/mixed.gz"
{ gzip -1nc "$tmp/text-64k-19"; gzip -9nc "$tmp/multi-256k"; } >"$here/members.gz"
xz -c "$tmp/mixed" >"$here/mixed.xz"
xz -9e --check=sha256 -c "$tmp/mixed" >"$here/mixed-9e-sha256.xz"
xz -0 --check=crc32 --block-size=65536 -c "$tmp/mixed" >"$here/mixed-blocks-crc32.xz"
xz --check=none --lzma2=preset=6,lc=1,lp=3,pb=0 -c "$tmp/mixed" >"$here/mixed-lp3.xz"
{ xz -c "$tmp/text-64k-19"; printf '\0\0\0\0\0\0\0\0'; xz -c "$tmp/multi-256k"; } >"$here/streams-padded.xz"
xz --format=lzma -c "$tmp/mixed" >"$here/mixed.lzma"
lz4 -q -l -9 -c "$tmp/mixed" >"$here/mixed-legacy.lz4"
lz4 -q -BD -BX --content-size -c "$tmp/mixed" >"$here/mixed-dependent.lz4"
lz4 -q -B4 -c "$tmp/mixed" >"$here/mixed-independent.lz4"
bzip2 -9c "$tmp/mixed" >"$here/mixed.bz2"
bzip2 -1c "$tmp/mixed" >"$here/mixed-100k-blocks.bz2"
{ bzip2 -c "$tmp/text-64k-19"; bzip2 -c "$tmp/multi-256k"; } >"$here/streams.bz2"

: >"$here/streams.facts"
for f in "$here"/*.gz "$here"/*.xz "$here"/*.lzma "$here"/*.lz4 "$here"/*.bz2; do
  name=$(basename "$f")
  case $name in
    *.gz) d=(gzip -dc) ;;
    *.xz) d=(xz -dc) ;;
    *.lzma) d=(xz --format=lzma -dc) ;;
    *.lz4) d=(lz4 -dc) ;;
    *.bz2) d=(bzip2 -dc) ;;
  esac
  printf '%s %s %s %s\n' "$name" "$(stat -c %s "$f")" "$("${d[@]}" "$f" | wc -c)" "$("${d[@]}" "$f" | sha256sum | cut -d' ' -f1)" >>"$here/streams.facts"
done
{ gzip --version | head -1; xz --version | head -1; lz4 --version 2>&1 | head -1; bzip2 --help 2>&1 | head -1; } >"$here/versions.txt"
