#!/usr/bin/env bash
# NAR-hashes a generated 200 MB tree of mixed files with `nixflux nar-hash`
# and with `nix-hash --type sha256` (Nix 2.8, Debian nix-bin), alternating,
# RUNS times each after a warm-up; prints median wall times, peak memory
# and the ratio. Not a test: run it by hand.
#
#   tests/bench/nar_hash.sh            # 200 MB, 5 runs
#   SIZE_MB=50 RUNS=9 tests/bench/nar_hash.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-5}
size_mb=${SIZE_MB:-200}
command -v nix-hash >/dev/null || { echo "needs nix-hash: apt-get install nix-bin" >&2; exit 1; }

cargo build --release --quiet
bin=$PWD/target/release/nixflux
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Mixed tree: half the bytes in 40 large files, half in ~12,800 small files
# of 1-15 KiB across nested directories, plus executables and symlinks.
python3 - "$work/tree" "$size_mb" <<'PY'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
half = size_mb * 1024 * 1024 // 2
os.makedirs(root)
big = half // 40
for i in range(40):
    d = os.path.join(root, "blobs", f"{i % 4}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"blob{i}.bin"), "wb") as f:
        f.write(rng.randbytes(big))
written, n = 0, 0
while written < half:
    d = os.path.join(root, "src", f"m{n % 50}", f"s{n % 7}")
    os.makedirs(d, exist_ok=True)
    size = rng.randint(1024, 15 * 1024)
    p = os.path.join(d, f"f{n}.txt")
    with open(p, "wb") as f:
        f.write(rng.randbytes(size))
    if n % 97 == 0:
        os.chmod(p, 0o755)
    if n % 211 == 0:
        os.symlink(f"f{n}.txt", os.path.join(d, f"link{n}"))
    written += size
    n += 1
print(f"tree: {size_mb} MB in {n + 40} files", file=sys.stderr)
PY

ours=$("$bin" nar-hash --format base32 "$work/tree")
theirs=$(nix-hash --type sha256 --base32 "$work/tree")
[ "$ours" = "$theirs" ] || { echo "hash mismatch: nixflux $ours, nix-hash $theirs" >&2; exit 1; }

measure() { # $1 = label, rest = command; appends "wall rss_kb" to $work/$1
  /usr/bin/time -f "%e %M" -o "$work/t" "${@:2}" > /dev/null
  cat "$work/t" >> "$work/$1"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

measure warm "$bin" nar-hash "$work/tree"; measure warm nix-hash --type sha256 "$work/tree"
for _ in $(seq "$runs"); do
  measure nixflux "$bin" nar-hash "$work/tree"
  measure nixhash nix-hash --type sha256 "$work/tree"
done
a=$(cut -d' ' -f1 "$work/nixflux" | median); b=$(cut -d' ' -f1 "$work/nixhash" | median)
am=$(cut -d' ' -f2 "$work/nixflux" | median); bm=$(cut -d' ' -f2 "$work/nixhash" | median)
printf '%-22s %-10s %-10s\n' tool wall_s peak_MB
awk -v a="$a" -v b="$b" -v am="$am" -v bm="$bm" -v h="$ours" 'BEGIN {
  printf "%-22s %-10s %-10.1f\n", "nixflux nar-hash", a, am / 1024
  printf "%-22s %-10s %-10.1f\n", "nix-hash --type sha256", b, bm / 1024
  printf "ratio nixflux/nix-hash: %.2f (hashes equal: %s)\n", a / b, h
}'
