#!/usr/bin/env bash
# Builds and runs the whole test suite. Real OpenSSL, SQLite and (with the mount) real FUSE: no mocks.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
if [ "${CI:-}" = "true" ]; then
  [ "$(id -u)" = 0 ] || { echo "CI=true: the suite must run as root (it acts as other users)" >&2; exit 1; }
  [ -c /dev/fuse ] || { echo "CI=true: /dev/fuse is missing; the mount tests cannot run" >&2; exit 1; }
fi
# An import a target does not declare in Package.swift fails here (SwiftPM's own check lets transitive ones by).
python3 scripts/check-imports.py
# Formatting is swift-format's (.swift-format: 120 columns, its pretty printer only): code it would change fails.
swift-format lint --strict --recursive --parallel Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
# libFuzzer over the parsers, briefly (scripts/fuzz.sh alone runs longer; docs/TESTING.md).
FUZZ_SECONDS="${FUZZ_SECONDS:-20}" bash scripts/fuzz.sh
