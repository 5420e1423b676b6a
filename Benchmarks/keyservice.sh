#!/usr/bin/env bash
# Key service under a bounded load from a second process on loopback: REQUESTS signed key requests from
# CLIENTS concurrent keep-alive clients (`protfs bench key-service`), every answer a committed ledger row;
# then, for scale, wrk on the service's /v1/health (same server, no crypto, no ledger) when wrk is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
DIR="$(mktemp -d /tmp/protfs-keyservice-bench.XXXXXX)"
cleanup() { [ -n "${SVC:-}" ] && kill "$SVC" 2>/dev/null; umount "$DIR/mnt" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
echo "bench passphrase" > "$DIR/pw"
mkdir -p "$DIR/mnt"
"$BIN" init "$DIR/store" --policy Policies/default.yaml --passphrase-file "$DIR/pw" >/dev/null
"$BIN" mount "$DIR/store" "$DIR/mnt" --passphrase-file "$DIR/pw"
echo "a document worth tracking" > "$DIR/mnt/doc.txt"
PROTFS_CONFIG_DIR="$DIR/rita" "$BIN" identity create rita >/dev/null
PROTFS_CONFIG_DIR="$DIR/rita" "$BIN" identity export rita > "$DIR/rita.id"
"$BIN" identity add "$DIR/store" "$DIR/rita.id" --passphrase-file "$DIR/pw" >/dev/null
"$BIN" serve "$DIR/store" --listen 127.0.0.1:0 --rate-limit 0 --passphrase-file "$DIR/pw" --ready-file "$DIR/ready" 2>"$DIR/serve.log" &
SVC=$!
for _ in $(seq 100); do [ -s "$DIR/ready" ] && break; sleep 0.1; done
URL="$(cat "$DIR/ready")"
(cd "$DIR" && "$BIN" share "$DIR/mnt/doc.txt" --to rita --expires 30d -o doc.pfs 2>/dev/null)
"$BIN" bench key-service "$DIR/doc.pfs" --identity "$DIR/rita/identities/rita.key" \
  --requests "${REQUESTS:-10000}" --clients "${CLIENTS:-50}" --warmup "${WARMUP:-0}"
if command -v wrk >/dev/null; then
  echo "for scale, the same server without crypto or ledger (wrk, GET /v1/health, 50 connections, 10 s):"
  wrk -t2 -c50 -d10s --latency "$URL/v1/health" | grep -E "Requests/sec|99%|50%"
fi
[ -n "${PERF_OUT:-}" ] && true
kill -0 "$SVC" && echo "service still running after the load: yes"
echo "ledger rows: $("$BIN" audit "$DIR/store" --event share-open --limit 0 --format csv | tail -n +2 | wc -l) share-open"
