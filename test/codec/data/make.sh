#!/usr/bin/env bash
# test/codec/data/make.sh: makes the zstd frames the codec tests decode, with the zstd CLI
# (Debian package `zstd`; these were made with zstd v1.5.4), from the deterministic payloads of
# test/codec/payload.ts, and records in frames.facts what zstd itself says of each:
#   <file> <frame bytes> <decompressed bytes> <sha256 of `zstd -d -c <file>`>
# The tests need only the committed files, not zstd.
#
#   bash test/codec/data/make.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && npx tsx test/codec/payload.ts "$tmp")

z() { # z <output> <payload> <zstd options...>
  local out=$1 in=$2
  shift 2
  zstd -q -f "$@" -o "$here/$out" "$tmp/$in"
}
z text-512.zst text-512 -19 --no-check
z text-4k.zst text-4k -3 --no-check
z text-64k-19.zst text-64k-19 -19 --no-check
z text-64k-check.zst text-64k-check -3 --check
# From stdin: no Frame_Content_Size, so the header has a Window_Descriptor.
zstd -q -3 --no-check -c < "$tmp/text-64k-stdin" > "$here/text-64k-stdin.zst"
# A 1 KiB window (wlog=10) makes 1 KiB blocks: a run of one byte gives RLE blocks, random
# bytes a raw block, text compressed blocks.
z rle-4k.zst rle-4k -3 --no-check --zstd=wlog=10
z raw-4k.zst raw-4k -3 --no-check
z multi-256k.zst multi-256k -3 --check --zstd=wlog=10
z multi-256k-blocks.zst multi-256k-blocks -19 --no-check
# A 2 MiB cluster.
z text-2m.zst text-2m -19 --no-check

: > "$here/frames.facts"
for f in "$here"/*.zst; do
  name=$(basename "$f")
  printf '%s %s %s %s\n' "$name" "$(stat -c %s "$f")" "$(zstd -d -c "$f" | wc -c)" "$(zstd -d -c "$f" | sha256sum | cut -d' ' -f1)" >> "$here/frames.facts"
done
zstd --version | head -1 > "$here/zstd-version.txt"
