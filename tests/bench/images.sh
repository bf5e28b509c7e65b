#!/usr/bin/env bash
# What image resolution costs in render, for N apps (default 10,000):
# 1. the CPU share of resolving, parsing and pinning images inside the
#    render phase, as `nixflux check -vv` reports it (median of RUNS);
# 2. whole-process `nixflux check` wall time with images written inline
#    versus named symbolically through an `images` map of N entries.
# Not a test: run it by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-10000}
runs=${RUNS:-5}
cargo build --release --quiet
bin=target/release/nixflux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 tests/bench/gen_spec.py "$n" > "$work/inline.json"
python3 tests/bench/gen_spec.py "$n" --via-map > "$work/mapped.json"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for kind in inline mapped; do
  "$bin" check "$work/$kind.json" -q   # warm-up
  : > "$work/$kind.share"; : > "$work/$kind.wall"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$bin" check "$work/$kind.json" -vv 2> "$work/log"
    cut -d' ' -f1 "$work/t" >> "$work/$kind.wall"
    cpu_ms=$(awk '{ printf "%d", ($2 + $3) * 1000 }' "$work/t")
    sed -n 's/.*render_cpu_ms=\([0-9]*\) image_resolution_cpu_ms=\([0-9]*\).*/\1 \2/p' "$work/log" \
      | awk -v cpu="$cpu_ms" '{ printf "%.4f %.4f\n", $2 / $1, $2 / cpu }' >> "$work/$kind.share"
  done
done
printf '%-8s %-8s %-28s %-28s\n' images wall_s "image share of render CPU" "image share of process CPU"
for kind in inline mapped; do
  printf '%-8s %-8s %-28s %-28s\n' "$kind" "$(median < "$work/$kind.wall")" \
    "$(cut -d' ' -f1 "$work/$kind.share" | median | awk '{printf "%.1f%%", $1 * 100}')" \
    "$(cut -d' ' -f2 "$work/$kind.share" | median | awk '{printf "%.1f%%", $1 * 100}')"
done
