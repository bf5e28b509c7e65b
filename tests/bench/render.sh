#!/usr/bin/env bash
# Times the whole `nixflux render` process on generated specs of N apps:
# wall time (time.perf_counter around each run), cpu time (user + system,
# both cores, from the child's rusage, which a loaded machine disturbs less
# than the wall time) and peak memory, median of RUNS runs after one warm-up
# per mode, and the wall time per app. Not a test: run it by hand.
#
# The modes take turns: each round runs every mode once (in rotated order),
# so a burst of load elsewhere hits them alike and the ratios stay fair.
# Every run writes a fresh directory; the outputs are deleted only after
# all runs of a size. (Deleting the previous run's 1000 files just before a
# run made ext4 skip the recently freed inodes on every file it created: a
# cost of the harness, growing with each run, that fell on whichever mode
# ran last.)
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
#   NIXFLUX_BIN=/tmp/nixflux tests/bench/render.sh # time that binary (no cargo build)
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

[ -n "${NIXFLUX_BIN:-}" ] || cargo build --release --quiet
bin=${NIXFLUX_BIN:-target/release/nixflux}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${sizes[@]}"; do
  for m in "${modes[@]}"; do
    flag=()
    [ "$m" = features ] && flag=(--features)
    [ "$m" = integrations ] && flag=(--integrations)
    python3 tests/bench/gen_spec.py "$n" "${flag[@]}" > "$work/spec-$m.json"
  done
  python3 - "$bin" "$work" "$n" "$runs" "${modes[@]}" <<'PY'
import json, os, statistics, subprocess, sys, time

bin_, work, n, runs, modes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]

def run(mode, out):
    args = [bin_, "render", f"{work}/spec-{mode}.json", "--out", out, "--quiet"]
    start = time.perf_counter()
    proc = subprocess.Popen(args)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed with exit code {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024

for m in modes:
    run(m, f"{work}/warm-{m}")  # warm-up
samples = {m: [] for m in modes}
for r in range(runs):
    for m in modes[r % len(modes):] + modes[: r % len(modes)]:
        samples[m].append(run(m, f"{work}/out-{m}-{r}"))

print(f"{'mode':<12} {'apps':<6} {'objects':<8} {'wall_s':<8} {'us_per_app':<10} {'cpu_s':<8} {'peak_MB':<8} files")
wall, cpu = {}, {}
for m in modes:
    out = f"{work}/out-{m}-0"
    with open(f"{out}/bundle.json") as f:
        objects = sum(len(x["objects"]) for x in json.load(f)["files"])
    files = len(os.listdir(f"{out}/objects"))
    wall[m] = statistics.median(s[0] for s in samples[m])
    cpu[m] = statistics.median(s[1] for s in samples[m])
    rss = statistics.median(s[2] for s in samples[m])
    print(f"{m:<12} {n:<6} {objects:<8} {wall[m]:<8.3f} {wall[m] * 1e6 / n:<10.0f} {cpu[m]:<8.3f} {rss:<8.1f} {files}")
for m in ("features", "integrations"):
    if m in wall and "plain" in wall:
        print(f"# {n} apps: {m} / plain = {wall[m] / wall['plain']:.2f} (cpu {cpu[m] / cpu['plain']:.2f})")
PY
  rm -rf "$work"/out-* "$work"/warm-*
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
