#!/usr/bin/env bash
# Evaluating the NixOS module and building the bundle with real Nix, for N
# generated apps (default 200 and 2000): `nix-build` of the module's
# `services.nixflux.bundle` (evaluation with nixpkgs' lib, instantiation, and
# the build, whose builder is nixflux), whole process, wall time and peak
# memory from /usr/bin/time, median of RUNS runs (each a new derivation).
# Needs Nix (apt-get install nix-bin) and NIXFLUX_NIXPKGS_LIB (a nixpkgs lib
# directory). Not a test: run it by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${NIXFLUX_NIXPKGS_LIB:?set NIXFLUX_NIXPKGS_LIB to a nixpkgs lib directory}"
runs=${RUNS:-5}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(200 2000)
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/nixflux/bin"
cp target/release/nixflux "$work/nixflux/bin/"
pkg=$(nix-store --add "$work/nixflux")
opts=(--option sandbox false --option build-users-group "" --option substituters "")
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

printf '%-6s %-8s %-8s\n' apps wall_s peak_MB
for n in "${sizes[@]}"; do
  python3 tests/bench/gen_spec.py "$n" | python3 -c 'import json,sys; json.dump(json.load(sys.stdin)["apps"], sys.stdout)' > "$work/apps.json"
  : > "$work/wall"; : > "$work/rss"
  for i in $(seq 0 "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/t" nix-build tests/nix/bench.nix --no-out-link --quiet "${opts[@]}" \
      --argstr libPath "$NIXFLUX_NIXPKGS_LIB" --argstr appsPath "$work/apps.json" --argstr nixfluxPath "$pkg" \
      --argstr seed "$n-$i-$$-$(date +%s%N)" > /dev/null
    [ "$i" = 0 ] && continue   # warm-up
    cut -d' ' -f1 "$work/t" >> "$work/wall"
    cut -d' ' -f2 "$work/t" >> "$work/rss"
  done
  printf '%-6s %-8s %-8.0f\n' "$n" "$(median < "$work/wall")" "$(median < "$work/rss" | awk '{print $1 / 1024}')"
done
