#!/usr/bin/env bash
# libFuzzer over the container header parser, the policy loader, the detectors and the portable-copy trailer, FUZZ_SECONDS each
# (default 60; CI runs 20). Seeds are Tests/Fuzz/Corpus/TARGET; a crash is saved under
# Tests/Fuzz/Crashers/TARGET/ (commit it: the test suite replays it) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-60}"
swift build --product protfs-fuzz --scratch-path .build/fuzz -c release \
  -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld -Xcc -fsanitize=fuzzer-no-link \
  -Xlinker --undefined=LLVMFuzzerRunDriver -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver >/dev/null
BIN=.build/fuzz/release/protfs-fuzz
WORK="$(mktemp -d /tmp/protfs-fuzz.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
status=0
for t in header policy detectors share; do
  mkdir -p "$WORK/$t" "Tests/Fuzz/Crashers/$t"
  cp Tests/Fuzz/Corpus/$t/* "$WORK/$t/"
  if "$BIN" "$t" -max_total_time="$SECONDS_EACH" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="Tests/Fuzz/Crashers/$t/" "$WORK/$t" >"$WORK/$t.log" 2>&1; then
    echo "fuzz $t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$WORK/$t.log" | tail -1), corpus $(ls "$WORK/$t" | wc -l) inputs, no crash"
  else
    echo "fuzz $t: CRASH (input saved under Tests/Fuzz/Crashers/$t/)"; tail -30 "$WORK/$t.log"; status=1
  fi
done
exit $status
