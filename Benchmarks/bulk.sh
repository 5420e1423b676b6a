#!/usr/bin/env bash
# `protfs scan` throughput on a generated tree (default 10,000 files / 1 GB of mixed text with a few
# detector hits) with a warm cache, on one and on all cores; then `protfs import` beside `cp -a` into the
# same protfs mount and into gocryptfs, in the same run. Needs root, /dev/fuse, gocryptfs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gocryptfs >/dev/null || { apt-get install -y -qq gocryptfs >/dev/null; }
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
FILES="${FILES:-10000}" MB="${MB:-1000}"
W="$(mktemp -d /tmp/protfs-bulk.XXXXXX)"
cleanup() { "$BIN" unmount "$W/p" 2>/dev/null || true; fusermount3 -u "$W/g" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W"/{ps,p,gc,g}
python3 Benchmarks/gen_mixed_text.py "$W/pool.txt" 16
python3 - "$W/pool.txt" "$W/tree" "$FILES" "$MB" <<'PY'
import os, random, sys
pool = open(sys.argv[1], "rb").read(); root, n, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) * 1_000_000
r = random.Random(7); mean = total // n
for i in range(n):
    d = os.path.join(root, f"dept{i % 40}", f"y{2000 + i % 25}")
    os.makedirs(d, exist_ok=True)
    size = max(1, min(len(pool) - 1, int(r.expovariate(1 / mean))))
    start = r.randint(0, len(pool) - size)
    with open(os.path.join(d, f"doc{i}.txt"), "wb") as f: f.write(pool[start:start + size])
PY
BYTES=$(du -sb "$W/tree" | cut -f1)
echo "tree: $FILES files, $BYTES bytes ($(nproc) cores)"
cat $(find "$W/tree" -type f) > /dev/null   # warm the page cache
tsec() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
for jobs in 1 $(nproc); do
  a=$(tsec "$BIN" scan "$W/tree" --policy Policies/default.yaml --summary --jobs "$jobs")
  b=$(tsec "$BIN" scan "$W/tree" --policy Policies/default.yaml --summary --jobs "$jobs")
  c=$(tsec "$BIN" scan "$W/tree" --policy Policies/default.yaml --summary --jobs "$jobs")
  m=$(median3 "$a" "$b" "$c")
  printf 'scan, %d thread(s), warm cache: %6.2f s  %7.0f MB/s\n' "$jobs" "$m" "$(echo "$BYTES / $m / 1000000" | bc -l)"
done
"$BIN" scan "$W/tree" --policy Policies/default.yaml --summary | tail -n +1 | sed 's/^/  /'

echo "pw" > "$W/pw"
"$BIN" init "$W/ps" --policy Policies/default.yaml --passphrase-file "$W/pw" --scrypt-log-n 12 >/dev/null
"$BIN" mount "$W/ps" "$W/p" --passphrase-file "$W/pw"
gocryptfs -q -init -extpass "echo pw" -scryptn 12 "$W/gc" >/dev/null
gocryptfs -q -extpass "echo pw" "$W/gc" "$W/g"
mkdir -p "$W/p/general"
ti=$(tsec "$BIN" import "$W/tree" "$W/p/general/import")
tc=$(tsec sh -c "cp -a '$W/tree' '$W/p/general/cp' 2>'$W/cp.err'")
[ -s "$W/cp.err" ] && { echo "cp -a into protfs reported:"; head -5 "$W/cp.err"; }
tg=$(tsec cp -a "$W/tree" "$W/g/cp")
printf '%-34s %8s %9s\n' "import of the tree" "s" "MB/s"
printf '%-34s %8.2f %9.0f\n' "protfs import -> protfs" "$ti" "$(echo "$BYTES / $ti / 1000000" | bc -l)"
printf '%-34s %8.2f %9.0f\n' "cp -a -> protfs" "$tc" "$(echo "$BYTES / $tc / 1000000" | bc -l)"
printf '%-34s %8.2f %9.0f\n' "cp -a -> gocryptfs" "$tg" "$(echo "$BYTES / $tg / 1000000" | bc -l)"
for d in "$W/p/general/import" "$W/p/general/cp" "$W/g/cp"; do
  if diff -r "$W/tree" "$d" >/dev/null 2>&1; then echo "verified: diff -r $d clean"; else echo "MISMATCH: $d differs from the tree"; fi
done
"$BIN" status "$W/p" | sed 's/^/  /'
