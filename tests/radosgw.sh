#!/usr/bin/env bash
# OPT-IN, not run by CI: runs nixflux's S3 publish tests against a real
# Ceph radosgw (Debian 12's 16.2.x) on 127.0.0.1.
#
# What it does, on a Debian machine, as root (it installs packages):
#   1. apt-get installs ceph-mon, ceph-osd, radosgw (and uuid-runtime);
#   2. starts a throwaway single-node Ceph in a temporary directory: one
#      monitor and one OSD whose object store is memory-backed (memstore),
#      listening on 127.0.0.1 only, with cephx off (it is local and
#      temporary), pools of size 1;
#   3. starts radosgw (beast frontend) on 127.0.0.1:$RGW_PORT, creates an S3
#      user and writes its keys to a credentials file;
#   4. runs the publish tests with NIXFLUX_TEST_S3_ENDPOINT,
#      NIXFLUX_TEST_S3_CREDENTIALS and NIXFLUX_TEST_S3_BUCKET set: the tests
#      that run on moto in CI (protocol, crash recovery, readers, racing
#      publishers; named `moto_*` in tests/publish_faults.rs, the
#      `Where::all` tests in tests/publish.rs) run on radosgw instead, each in
#      a bucket of its own. rclone and kubectl must be installed as for
#      `cargo test`.
#   5. stops every daemon it started (by pid) and removes the directory.
#
# Usage: bash tests/radosgw.sh [extra cargo test arguments]
#   RGW_PORT=7480 (default) picks the radosgw port.
#   KEEP=1 leaves the cluster running and prints how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."

RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-6789}

if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw uuid-runtime
fi
radosgw --version

work=$(mktemp -d /tmp/nixflux-ceph.XXXXXX)
pids=()
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "KEEP=1: cluster left running (pids ${pids[*]}), config $work/ceph.conf"
    return
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fsid=$(uuidgen)
conf=$work/ceph.conf
mkdir -p "$work/mon" "$work/osd" "$work/rgw" "$work/run" "$work/log"
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = 127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
run dir = $work/run
log file = $work/log/\$name.log
admin socket = $work/run/\$name.asok
[mon]
mon data = $work/mon/\$cluster-\$id
[osd]
osd data = $work/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd max object name len = 256
osd max object namespace len = 64
[client.rgw.local]
rgw data = $work/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = 127.0.0.1
EOF
ceph=(ceph -c "$conf")

echo "== monitor on 127.0.0.1:$MON_PORT"
ceph-authtool --create-keyring "$work/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a "127.0.0.1:$MON_PORT" --fsid "$fsid" "$work/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$work/monmap" --keyring "$work/mon.keyring"
ceph-mon -c "$conf" -i a -f &
pids+=($!)
for _ in $(seq 100); do "${ceph[@]}" -s >/dev/null 2>&1 && break; sleep 0.2; done
"${ceph[@]}" -s >/dev/null

echo "== memory-backed OSD"
id=$("${ceph[@]}" osd create)
mkdir -p "$work/osd/ceph-$id"
ceph-osd -c "$conf" -i "$id" --mkfs
"${ceph[@]}" osd crush add "osd.$id" 1.0 host=localhost root=default >/dev/null
ceph-osd -c "$conf" -i "$id" -f &
pids+=($!)
for _ in $(seq 150); do "${ceph[@]}" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.2; done
"${ceph[@]}" osd stat

echo "== radosgw on 127.0.0.1:$RGW_PORT"
radosgw -c "$conf" -n client.rgw.local -f &
pids+=($!)
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"

access=nixflux-radosgw
secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
radosgw-admin -c "$conf" -n client.rgw.local user create --uid=nixflux --display-name=nixflux \
  --access-key="$access" --secret-key="$secret" >/dev/null
creds=$work/credentials
umask 077
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$access" "$secret" >"$creds"

echo "== publish tests against radosgw"
export NIXFLUX_TEST_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export NIXFLUX_TEST_S3_CREDENTIALS=$creds
export NIXFLUX_TEST_S3_BUCKET=nixflux-rgw
cargo test --test publish --test publish_faults "$@"
