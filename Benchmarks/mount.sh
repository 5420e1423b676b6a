#!/usr/bin/env bash
# protfs (ledger on) beside gocryptfs and the plain directory, in the same run:
# streaming write with fsync, streaming read after dropping caches, untar of ~9,000 small files, ls -lR,
# read-all, rm -rf. Median of ROUNDS rounds; ratios to gocryptfs. Needs root, /dev/fuse, gocryptfs.
# Two FUSE passthroughs (no encryption, no rights, no ledger) show what FUSE itself costs on this machine;
# their ratios to gocryptfs are printed beside protfs's: bindfs (path API) and libfuse's own low-level C
# example passthrough_ll (inode API, multi-threaded, -o cache=always), compiled from the copy libfuse3-dev
# installs (or PASSTHROUGH_LL=path); its column is left out when it cannot be built or mounted.
# PROTFS_BEFORE=path/to/an/older/protfs adds that build beside this one, in the same run, for a
# before/after comparison of a change (printed as a second table).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gocryptfs >/dev/null || { apt-get install -y -qq gocryptfs >/dev/null; }
command -v bindfs >/dev/null || { apt-get install -y -qq bindfs >/dev/null; }
swift build -c release --static-swift-stdlib >/dev/null
LL="${PASSTHROUGH_LL:-}"
EX=/usr/share/doc/libfuse3-dev/examples
if [ -z "$LL" ] && [ -f "$EX/passthrough_ll.c" ]; then
  LLD="$(mktemp -d /tmp/protfs-ll.XXXXXX)"
  printf '#define HAVE_COPY_FILE_RANGE 1\n#define HAVE_FALLOCATE 1\n' > "$LLD/config.h"
  CC="${CC:-$(command -v cc || command -v gcc || command -v clang)}"
  "$CC" -O2 -I"$LLD" -I"$EX" "$EX/passthrough_ll.c" $(pkg-config fuse3 --cflags --libs) -o "$LLD/passthrough_ll" && LL="$LLD/passthrough_ll"
fi
BIN="$(swift build -c release --show-bin-path)/protfs"
ROUNDS="${ROUNDS:-3}" SIZE_MB="${SIZE_MB:-1024}" FILES="${FILES:-9000}"
W="$(mktemp -d /tmp/protfs-bench.XXXXXX)"
cleanup() {
  "$BIN" unmount "$W/p" 2>/dev/null || true
  [ -n "${BEFORE:-}" ] && { "$BEFORE" unmount "$W/q" 2>/dev/null || true; }
  for m in g b l; do fusermount3 -u "$W/$m" 2>/dev/null || true; done
  rm -rf "$W" ${LLD:+"$LLD"}
}
trap cleanup EXIT
mkdir -p "$W"/{ps,p,gc,g,bs,b,ls,l,plain,src}
echo "pw" > "$W/pw"
"$BIN" init "$W/ps" --passphrase-file "$W/pw" --scrypt-log-n 12 >/dev/null
"$BIN" mount "$W/ps" "$W/p" --passphrase-file "$W/pw"
gocryptfs -q -init -extpass "echo pw" -scryptn 12 "$W/gc" >/dev/null
gocryptfs -q -extpass "echo pw" "$W/gc" "$W/g"
bindfs "$W/bs" "$W/b"
FSS="plain bindfs gocryptfs protfs"
[ -n "$LL" ] && "$LL" -o source="$W/ls",cache=always "$W/l" && FSS="plain bindfs passthrough_ll gocryptfs protfs"
mkdir -p "$W/p/general"   # protfs: a folder whose label lets root read and write
BEFORE="${PROTFS_BEFORE:-}"
if [ -n "$BEFORE" ]; then
  mkdir -p "$W"/{qs,q}
  "$BEFORE" init "$W/qs" --passphrase-file "$W/pw" --scrypt-log-n 12 >/dev/null
  "$BEFORE" mount "$W/qs" "$W/q" --passphrase-file "$W/pw"
  mkdir -p "$W/q/general"
  FSS="$FSS before"
fi
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
  for fs in $FSS; do
    case $fs in plain) D="$W/plain";; bindfs) D="$W/b";; passthrough_ll) D="$W/l";; gocryptfs) D="$W/g";; protfs) D="$W/p/general";; before) D="$W/q/general";; esac
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
HAS_LL=$(case " $FSS " in *" passthrough_ll "*) echo 1;; esac)
printf '%-26s %10s %10s %10s %10s %10s %17s %17s %17s\n' "operation (median s)" plain bindfs "${HAS_LL:+pt_ll}" gocryptfs protfs \
  "protfs/gocryptfs" "bindfs/gocryptfs" "${HAS_LL:+pt_ll/gocryptfs}"
for op in write read untar lsR readall rmrf; do
  p=$(echo "${R[plain,$op]}" | median); b=$(echo "${R[bindfs,$op]}" | median)
  g=$(echo "${R[gocryptfs,$op]}" | median); q=$(echo "${R[protfs,$op]}" | median)
  l=""; lr=""
  if [ -n "$HAS_LL" ]; then l=$(echo "${R[passthrough_ll,$op]}" | median); l=$(printf '%.2f' "$l"); lr=$(printf '%.2f' "$(echo "$l / $g" | bc -l)"); fi
  label=$op; case $op in write) label="write ${SIZE_MB} MiB + fsync";; read) label="read ${SIZE_MB} MiB (cold)";; untar) label="untar $FILES files";; lsR) label="ls -lR";; readall) label="read all files";; rmrf) label="rm -rf";; esac
  printf '%-26s %10.2f %10.2f %10s %10.2f %10.2f %17.2f %17.2f %17s\n' "$label" "$p" "$b" "$l" "$g" "$q" "$(echo "$q / $g" | bc -l)" "$(echo "$b / $g" | bc -l)" "$lr"
done
if [ -n "$BEFORE" ]; then
  printf '\n%-26s %10s %10s %14s\n' "operation (median s)" before protfs "protfs/before"
  for op in write read untar lsR readall rmrf; do
    a=$(echo "${R[before,$op]}" | median); q=$(echo "${R[protfs,$op]}" | median)
    printf '%-26s %10.2f %10.2f %14.2f\n' "$op" "$a" "$q" "$(echo "$q / $a" | bc -l)"
  done
fi
echo "protfs daemon RSS at the end: $((RSS / 1024)) MiB; ledger rows: $("$BIN" audit "$W/ps" --limit 0 --format csv | wc -l)"
echo "(time ratios: below 1 means protfs is faster; for write/read throughput goals, invert)"
