#!/usr/bin/env bash
# The demo: a protected share with the default policy. Mount it, copy sample files in, see their labels,
# see that the store holds no plaintext, see a second user refused, end with the audit.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH="$PATH:/opt/swift/usr/bin"
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
WORK="$(mktemp -d /tmp/protfs-demo.XXXXXX)"
chmod 755 "$WORK"
STORE="$WORK/store" MNT="$WORK/share"
cleanup() { "$BIN" unmount "$MNT" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
export PROTFS_PASSPHRASE="demo passphrase, not for production"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
getent group finance >/dev/null || groupadd finance
id demo-alice >/dev/null 2>&1 || useradd -M -N -g users -G finance -s /usr/sbin/nologin demo-alice
id demo-bob >/dev/null 2>&1 || useradd -M -N -g users -s /usr/sbin/nologin demo-bob
as() { local u="$1"; shift; setpriv --reuid="$u" --regid=users --init-groups -- "$@"; }

say "protfs init + protfs mount (policy: Policies/default.yaml)"
"$BIN" init "$STORE" --policy Policies/default.yaml
mkdir -p "$MNT"
"$BIN" mount "$STORE" "$MNT"
mkdir -p "$MNT/public" "$MNT/finance" "$MNT/notes" && chmod 0777 "$MNT/public" "$MNT/finance" "$MNT/notes"

say "demo-alice (group finance) copies files in with ordinary tools"
as demo-alice cp Mount/demo/share/public/press-release.md "$MNT/public/"
as demo-alice cp Mount/demo/share/finance/q3-forecast.csv "$MNT/finance/"
as demo-alice cp Mount/demo/share/readme.txt "$MNT/notes/"
as demo-alice sh -c "echo 'refund to card 4111 1111 1111 1111' > '$MNT/notes/refund.txt'"
say "Their labels (getfattr -n user.protfs.label, or protfs label ls)"
"$BIN" label ls "$MNT"
echo "(notes/refund.txt was raised from general by the card-number detector)"

say "The store holds only ciphertext"
head -c 64 "$STORE/finance/q3-forecast.csv" | od -c | head -3
if grep -rq "4111" "$STORE" --exclude-dir=.protfs; then echo "plaintext found in the store!"; exit 1; fi
echo "  grep for the card number in the store: nothing"

say "demo-alice reads the finance file; demo-bob (not in finance) is refused"
as demo-alice head -2 "$MNT/finance/q3-forecast.csv"
as demo-bob cat "$MNT/finance/q3-forecast.csv" || echo "  (refused, as the label says)"
as demo-bob cat "$MNT/public/press-release.md" | head -1

say "protfs audit --denied"
"$BIN" audit "$STORE" --denied
say "protfs audit"
"$BIN" audit "$MNT"
say "protfs audit verify"
"$BIN" audit verify "$STORE"
