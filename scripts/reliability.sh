#!/usr/bin/env bash
# The reliability and attack suite at full size (issue 6): 1,000,000 exerciser operations, 20 crash rounds,
# 60 s of concurrency, the tamper, hostile-condition and access suites, then FUZZ_SECONDS (default 600) of
# libFuzzer per parser. CI runs the same suites at quick size through scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || { echo "the reliability suite needs root and /dev/fuse" >&2; exit 1; }
swift build --build-tests
PROTFS_SUITE=full swift test --skip-build --filter 'ReliabilityTests|HostileTests|IntegrityTests|AccessTests|AccessMatrixTests|MountHelperTests|SignalTests|MalformedPolicyTests|StoreCommandTests'
FUZZ_SECONDS="${FUZZ_SECONDS:-600}" bash scripts/fuzz.sh
