#!/usr/bin/env bash
# The notifier's receiver under load, on loopback: a release `nixflux
# notify` with the receiver and no sinks (what is measured is accepting,
# checking and queueing events and the state machine behind them), and
# tests/bench/notify_load.py posting Flux-shaped events over keep-alive
# connections from PROCS processes (CONNS connections each). Reports:
#   idle      RSS after start, before any event
#   run N     accepted events per second, client-side latency p50/p99/max
#             (an upper bound on the server's handling: it includes python),
#             RSS at the start, the maximum and the end of the run
# Runs a 10,000-event warm-up and then twice EVENTS (default 100,000) over
# OBJECTS (default 1,000) Kustomizations that fail and recover in turn.
# Not a test: run it by hand. NIXFLUX_BIN=path measures that binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${EVENTS:-100000}
objects=${OBJECTS:-1000}
procs=${PROCS:-4}
conns=${CONNS:-4}
if [ -n "${NIXFLUX_BIN:-}" ]; then bin=$NIXFLUX_BIN; else cargo build --release --quiet; bin=$PWD/target/release/nixflux; fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/notify.toml" <<TOML
state_file = "$work/state.json"
grace = "10m"

[http]
listen = "127.0.0.1:$port"
queue = 65536
TOML
"$bin" notify --config "$work/notify.toml" 2> "$work/notify.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break; sleep 0.05; done
sleep 1
echo "idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
echo "warm-up 10000: $(python3 tests/bench/notify_load.py "$port" "$pid" 10000 "$objects" "$procs" "$conns")"
# Twice: memory after the second run must be what it was after the first.
echo "run 1, $events: $(python3 tests/bench/notify_load.py "$port" "$pid" "$events" "$objects" "$procs" "$conns")"
echo "run 2, $events: $(python3 tests/bench/notify_load.py "$port" "$pid" "$events" "$objects" "$procs" "$conns")"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^nixflux_notify_(events_received_total|observations_total|failing|event_queue_depth)' || true
