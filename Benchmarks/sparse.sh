#!/usr/bin/env bash
# Growing a file past its end (issue 17, finding 7): protfs beside gocryptfs and the plain directory, in the
# same run. Per size: `truncate -s SIZE` of a small file, then an append and close (protfs classifies the file
# at that close), then a 1 MiB read from the middle; and what the backing store allocated. Median of ROUNDS.
# Needs root, /dev/fuse, gocryptfs. BIN=path uses that protfs binary instead of a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gocryptfs >/dev/null || { apt-get install -y -qq gocryptfs >/dev/null; }
if [ -z "${BIN:-}" ]; then
  swift build -c release --static-swift-stdlib >/dev/null
  BIN="$(swift build -c release --show-bin-path)/protfs"
fi
ROUNDS="${ROUNDS:-3}" SIZES="${SIZES:-1G 50G}"
W="$(mktemp -d /tmp/protfs-sparse.XXXXXX)"
cleanup() { "$BIN" unmount "$W/p" 2>/dev/null || true; fusermount3 -u "$W/g" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W"/{ps,p,gc,g,plain}
echo "pw" > "$W/pw"
"$BIN" init "$W/ps" --passphrase-file "$W/pw" --scrypt-log-n 12 >/dev/null
"$BIN" mount "$W/ps" "$W/p" --passphrase-file "$W/pw"
mkdir -p "$W/p/general"
gocryptfs -q -init -extpass "echo pw" -scryptn 12 "$W/gc" >/dev/null
gocryptfs -q -extpass "echo pw" "$W/gc" "$W/g"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
store_kib() { du -sk "$1" | cut -f1; }
printf '%-34s %12s %12s %12s %18s\n' "operation (median s)" plain gocryptfs protfs "protfs/gocryptfs"
for size in $SIZES; do
  declare -A R=()
  declare -A K=()
  for round in $(seq "$ROUNDS"); do
    for fs in plain gocryptfs protfs; do
      case $fs in plain) D="$W/plain"; S="$W/plain";; gocryptfs) D="$W/g"; S="$W/gc";; protfs) D="$W/p/general"; S="$W/ps/general";; esac
      echo start > "$D/f"
      before=$(store_kib "$S")
      R[$fs,truncate]+=" $(t truncate -s "$size" "$D/f")"
      R[$fs,append]+=" $(t sh -c "echo end >> '$D/f'")"
      R[$fs,read]+=" $(t dd if="$D/f" of=/dev/null bs=1M count=1 skip=$(( $(stat -c %s "$D/f") / 2 / 1048576 )))"
      K[$fs]=$(( $(store_kib "$S") - before ))
      rm -f "$D/f"
    done
  done
  for op in truncate append read; do
    p=$(echo "${R[plain,$op]}" | median); g=$(echo "${R[gocryptfs,$op]}" | median); q=$(echo "${R[protfs,$op]}" | median)
    printf '%-34s %12.4f %12.4f %12.4f %18.2f\n' "$op ($size)" "$p" "$g" "$q" "$(echo "$q / $g" | bc -l)"
  done
  printf '%-34s %12s %12s %12s\n' "store allocated, KiB ($size)" "${K[plain]}" "${K[gocryptfs]}" "${K[protfs]}"
done
