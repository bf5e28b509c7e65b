#!/usr/bin/env bash
# Times the whole `nixflux render` process on generated specs of N apps, as
# /usr/bin/time -v reports it: wall time and peak memory, median of RUNS
# runs after one warm-up, and the wall time per app. Not a test: run it by
# hand. cpu_s is user + system time (both cores), which a loaded machine
# disturbs less than the wall time.
#
# MODE=plain (the default): every app is the example's typical web app
# (6 objects each). MODE=features: sites of four apps using the issue-11
# app model (traffic between neighbours, shared hosts with several paths,
# pod fields, patches, env references, CronJobs, `${VAR}`s in raw objects;
# see gen_spec.py). MODE=both runs each size in both modes and prints the
# ratio features/plain.
#
#   tests/bench/render.sh                          # N = 1000 and 10000, 5 runs each
#   RUNS=9 tests/bench/render.sh 1000 20000
#   MODE=both tests/bench/render.sh 1000
#   MODE=features tests/bench/render.sh 1000 2000 5000 10000
#   MODE=integrations tests/bench/render.sh 1000   # every app uses the integrations of issue 13
#   MODE=all tests/bench/render.sh 1000            # plain, features and integrations
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
mode=${MODE:-plain}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)
case "$mode" in
  plain) modes=(plain) ;;
  features) modes=(features) ;;
  both) modes=(plain features) ;;
  integrations) modes=(plain integrations) ;;
  all) modes=(plain features integrations) ;;
  *) echo "MODE must be plain, features, both, integrations or all, not $mode" >&2; exit 2 ;;
esac

cargo build --release --quiet
bin=target/release/nixflux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "# $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-8s %-8s %-10s %-10s %-10s %-10s %-8s\n' mode apps objects wall_s us_per_app cpu_s peak_MB files
for n in "${sizes[@]}"; do
  declare -A wall_of=()
  for m in "${modes[@]}"; do
    flag=()
    [ "$m" = features ] && flag=(--features)
    [ "$m" = integrations ] && flag=(--integrations)
    python3 tests/bench/gen_spec.py "$n" "${flag[@]}" > "$work/spec.json"
    "$bin" render "$work/spec.json" --out "$work/out" --quiet   # warm-up
    : > "$work/wall"; : > "$work/rss"; : > "$work/cpu"
    for _ in $(seq "$runs"); do
      rm -rf "$work/out"
      /usr/bin/time -v "$bin" render "$work/spec.json" --out "$work/out" --quiet 2> "$work/time"
      awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/time" >> "$work/wall"
      awk -F': ' '/Maximum resident set size/ {print $2/1024}' "$work/time" >> "$work/rss"
      awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$work/time" >> "$work/cpu"
    done
    objects=$(python3 -c "import json,sys; print(sum(len(f['objects']) for f in json.load(open(sys.argv[1]))['files']))" "$work/out/bundle.json")
    files=$(ls "$work/out/objects" | wc -l)
    wall=$(median < "$work/wall")
    wall_of[$m]=$wall
    printf '%-9s %-8s %-8s %-10s %-10s %-10s %-10s %-8s\n' "$m" "$n" "$objects" "$wall" \
      "$(awk -v w="$wall" -v n="$n" 'BEGIN {printf "%.0f", w * 1e6 / n}')" "$(median < "$work/cpu")" \
      "$(median < "$work/rss" | xargs printf '%.1f')" "$files"
  done
  for m in features integrations; do
    if [ -n "${wall_of[$m]:-}" ] && [ -n "${wall_of[plain]:-}" ]; then
      awk -v p="${wall_of[plain]}" -v f="${wall_of[$m]}" -v n="$n" -v m="$m" \
        'BEGIN {printf "# %s apps: %s / plain = %.2f\n", n, m, (p > 0 ? f / p : 0)}'
    fi
  done
  unset wall_of
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
