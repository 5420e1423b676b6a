#!/usr/bin/env bash
# All default detectors over 100 MB of mixed text on one core, beside `grep -cP` with a card-number pattern
# over the same file, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib >/dev/null
BIN="$(swift build -c release --show-bin-path)/protfs"
DATA="${DATA:-/tmp/protfs-detectors-100mb.txt}"
[ -s "$DATA" ] || python3 Benchmarks/gen_mixed_text.py "$DATA" "${MB:-100}"
ls -l "$DATA" | awk '{printf "data: %s, %d bytes\n", $NF, $5}'
taskset -c 0 "$BIN" bench detectors "$DATA"
start=$(date +%s.%N)
n=$(taskset -c 0 grep -cP '\b(?:\d[ -]?){13,19}\b' "$DATA" || true)
end=$(date +%s.%N)
python3 -c "import os,sys; b=os.path.getsize('$DATA'); t=$end-$start; print(f'grep -cP card pattern: {b/t/1e6:.0f} MB/s ({t:.2f} s, {int(\"$n\")} matching lines)')"
