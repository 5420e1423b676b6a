#!/usr/bin/env bash
# The demo: init a store with the default policy, protect the sample share, check it, unprotect, audit.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
BIN="$(swift build -c release --show-bin-path)/protfs"
[ -x "$BIN" ] || swift build -c release
WORK="$(mktemp -d /tmp/protfs-demo.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export PROTFS_PASSPHRASE="demo passphrase, not for production"
STORE="$WORK/store"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "protfs init $STORE --policy Policies/default.yaml"
"$BIN" init "$STORE" --policy Policies/default.yaml

say "protfs policy explain: what label would each sample get, and why?"
(cd Mount/demo/share && find . -type f | sort) | while read -r f; do
  p="${f#.}"
  label=$("$BIN" policy explain Policies/default.yaml "$p" --content "Mount/demo/share$p" 2>/dev/null | sed -n 's/^label: *//p')
  printf '  %-40s -> %s\n' "$p" "$label"
done

say "protfs protect: encrypt each sample into the store with that label"
(cd Mount/demo/share && find . -type f | sort) | while read -r f; do
  p="${f#.}"
  label=$("$BIN" policy explain Policies/default.yaml "$p" --content "Mount/demo/share$p" 2>/dev/null | sed -n 's/^label: *\([^ ]*\).*/\1/p')
  mkdir -p "$STORE$(dirname "$p")"
  "$BIN" protect "Mount/demo/share$p" --store "$STORE" --label "$label" -o "$STORE$p"
done

say "The store holds only ciphertext:"
head -c 160 "$STORE/finance/q3-forecast.csv" | od -c | head -4
if grep -rq "4111" "$STORE" --exclude-dir=.protfs; then echo "plaintext found in the store!"; exit 1; else echo "  (no card number, no name, no salary in the clear)"; fi

say "protfs fsck: every header MAC and block tag"
"$BIN" fsck "$STORE"

say "Tamper with one byte of a block, then fsck again"
printf '\xff' | dd of="$STORE/hr/alice/reviews/2026.txt" bs=1 seek=9000 conv=notrunc status=none
"$BIN" fsck "$STORE" || echo "  (fsck exit status $?: damage found, as it should be)"

say "protfs unprotect: the administrator's way out"
"$BIN" unprotect "$STORE/finance/q3-forecast.csv" --store "$STORE" -o "$WORK/q3.csv"
cmp "$WORK/q3.csv" Mount/demo/share/finance/q3-forecast.csv && echo "  byte-identical to the original"

say "protfs audit: who did what"
"$BIN" audit "$STORE"
say "protfs audit verify"
"$BIN" audit verify "$STORE"
say "protfs info"
"$BIN" info "$STORE"
