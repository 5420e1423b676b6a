#!/usr/bin/env bash
# protfs (ledger on) beside gocryptfs and the plain directory, in the same run:
# streaming write with fsync, streaming read after dropping caches, untar of ~9,000 small files, ls -lR,
# read-all, rm -rf. Median of ROUNDS rounds; ratios to gocryptfs. Needs root, /dev/fuse, gocryptfs.
# bindfs (a FUSE passthrough: no encryption, no rights, no ledger) is the reference for what FUSE itself
# costs on this machine; its ratio to gocryptfs is printed beside protfs's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gocryptfs >/dev/null || { apt-get install -y -qq gocryptfs >/dev/null; }
command -v bindfs >/dev/null || { apt-get install -y -qq bindfs >/dev/null; }
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
ROUNDS="${ROUNDS:-3}" SIZE_MB="${SIZE_MB:-1024}" FILES="${FILES:-9000}"
W="$(mktemp -d /tmp/protfs-bench.XXXXXX)"
cleanup() {
  "$BIN" unmount "$W/p" 2>/dev/null || true
  for m in g b; do fusermount3 -u "$W/$m" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W"/{ps,p,gc,g,bs,b,plain,src}
echo "pw" > "$W/pw"
"$BIN" init "$W/ps" --passphrase-file "$W/pw" --scrypt-log-n 12 >/dev/null
"$BIN" mount "$W/ps" "$W/p" --passphrase-file "$W/pw"
gocryptfs -q -init -extpass "echo pw" -scryptn 12 "$W/gc" >/dev/null
gocryptfs -q -extpass "echo pw" "$W/gc" "$W/g"
bindfs "$W/bs" "$W/b"
mkdir -p "$W/p/general"   # protfs: a folder whose label lets root read and write
python3 - "$W/src" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2]); r = random.Random(1)
for i in range(n):
    d = os.path.join(root, f"d{i % 90}", f"s{i % 7}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}.txt"), "wb") as f: f.write(os.urandom(r.randint(200, 12000)))
PY
tar -C "$W/src" -cf "$W/tree.tar" .
drop() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
declare -A R
for round in $(seq "$ROUNDS"); do
  for fs in plain bindfs gocryptfs protfs; do
    case $fs in plain) D="$W/plain";; bindfs) D="$W/b";; gocryptfs) D="$W/g";; protfs) D="$W/p/general";; esac
    R[$fs,write]+=" $(t dd if=/dev/zero of="$D/big" bs=1M count="$SIZE_MB" conv=fsync)"
    drop; R[$fs,read]+=" $(t dd if="$D/big" of=/dev/null bs=1M)"
    rm -f "$D/big"
    mkdir -p "$D/tree"
    R[$fs,untar]+=" $(t tar -C "$D/tree" -xf "$W/tree.tar")"
    drop; R[$fs,lsR]+=" $(t ls -lR "$D/tree")"
    drop; R[$fs,readall]+=" $(t sh -c "find '$D/tree' -type f -exec cat {} + > /dev/null")"
    R[$fs,rmrf]+=" $(t rm -rf "$D/tree")"
  done
done
RSS=$(ps -o rss= -C protfs | sort -n | tail -1)
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-26s %10s %10s %10s %10s %17s %17s\n' "operation (median s)" plain bindfs gocryptfs protfs "protfs/gocryptfs" "bindfs/gocryptfs"
for op in write read untar lsR readall rmrf; do
  p=$(echo "${R[plain,$op]}" | median); b=$(echo "${R[bindfs,$op]}" | median)
  g=$(echo "${R[gocryptfs,$op]}" | median); q=$(echo "${R[protfs,$op]}" | median)
  label=$op; case $op in write) label="write ${SIZE_MB} MiB + fsync";; read) label="read ${SIZE_MB} MiB (cold)";; untar) label="untar $FILES files";; lsR) label="ls -lR";; readall) label="read all files";; rmrf) label="rm -rf";; esac
  printf '%-26s %10.2f %10.2f %10.2f %10.2f %17.2f %17.2f\n' "$label" "$p" "$b" "$g" "$q" "$(echo "$q / $g" | bc -l)" "$(echo "$b / $g" | bc -l)"
done
echo "protfs daemon RSS at the end: $((RSS / 1024)) MiB; ledger rows: $("$BIN" audit "$W/ps" --limit 0 --format csv | wc -l)"
echo "(time ratios: below 1 means protfs is faster; for write/read throughput goals, invert)"
