#!/usr/bin/env bash
# Block seal/open throughput of protfs (one thread, per-thread EVP context, random nonce, AAD) beside
# `openssl speed -evp aes-256-gcm` at the same sizes, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
for size in ${SIZES:-4096 16384 65536}; do
  "$BIN" bench crypto --block-size "$size" --seconds "${SECONDS_PER:-2}"
  openssl speed -evp aes-256-gcm -bytes "$size" -seconds "${SECONDS_PER:-2}" 2>/dev/null | awk -v s="$size" '
    tolower($1) == "aes-256-gcm" { v=$NF; sub(/k$/, "", v); printf "openssl speed block=%d %.0f MB/s\n", s, v * 1000 / 1e6 }'
done
