#!/usr/bin/env bash
# Ledger append throughput with 16 concurrent appenders (group commit), then the latency of a filtered
# query on a 10M-row ledger, measured with hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
DIR="${DIR:-/tmp/protfs-ledger-bench}"
mkdir -p "$DIR"
for mode in normal full; do
  rm -f "$DIR/append.db"*
  "$BIN" bench ledger-append --ledger "$DIR/append.db" --threads 16 --rows "${ROWS_PER_THREAD:-10000}" --durability "$mode"
done
BIG="$DIR/big.db"
if [ ! -s "$BIG" ]; then
  "$BIN" bench ledger-fill --ledger "$BIG" --rows "${ROWS:-10000000}"
fi
ls -l "$BIG" | awk '{printf "ledger: %s, %.1f GB\n", $NF, $5/1e9}'
hyperfine --warmup 3 --runs 20 -N \
  "$BIN audit $DIR --ledger $BIG --user user42 --since 1d --limit 100" \
  "$BIN audit $DIR --ledger $BIG --denied --path /share/d7/ --since 7d --limit 100 --format json"
