#!/usr/bin/env bash
# Times the whole `nixflux render` process on generated specs of N apps
# (6 objects each), as /usr/bin/time -v reports it: wall time and peak
# memory, median of RUNS runs after one warm-up. Not a test: run it by hand.
#
#   tests/bench/render.sh            # N = 1000 and 10000, 5 runs each
#   RUNS=9 tests/bench/render.sh 1000 20000
#   MODE=integrations tests/bench/render.sh 1000   # every app uses the integrations (issue 13)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

# --- integrations mode (issue 13) ---
# MODE=integrations: gen_spec.py --integrations (each app also has a Helm
# chart with image values; the other integrations hook in there).
gen_args=()
if [ "${MODE:-plain}" = integrations ]; then
  gen_args+=(--integrations)
fi
# --- end integrations mode ---

cargo build --release --quiet
bin=target/release/nixflux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-8s %-8s %-12s %-12s %-10s\n' apps objects wall_s peak_MB files
for n in "${sizes[@]}"; do
  python3 tests/bench/gen_spec.py "$n" ${gen_args[@]+"${gen_args[@]}"} > "$work/spec.json"
  "$bin" render "$work/spec.json" --out "$work/out" --quiet   # warm-up
  : > "$work/wall"; : > "$work/rss"
  for _ in $(seq "$runs"); do
    rm -rf "$work/out"
    /usr/bin/time -v "$bin" render "$work/spec.json" --out "$work/out" --quiet 2> "$work/time"
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/time" >> "$work/wall"
    awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$work/time" >> "$work/rss"
  done
  objects=$(python3 -c "import json,sys; print(sum(len(f['objects']) for f in json.load(open(sys.argv[1]))['files']))" "$work/out/bundle.json")
  files=$(ls "$work/out/objects" | wc -l)
  printf '%-8s %-8s %-12s %-12s %-10s\n' "$n" "$objects" "$(median < "$work/wall")" "$(median < "$work/rss" | xargs printf '%.1f')" "$files"
done
