#!/usr/bin/env bash
# A character-level language model of the GNU GPL version 3, the text every Debian machine has
# in /usr/share/common-licenses: a 2-layer LSTM trained with truncated BPTT, its bits per
# character each epoch, and a sample of what it writes.
# usage: examples/charlm/run.sh [path to recur] [output folder] [epochs (default 40)]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recur=${1:-$here/../../build/cli/recur}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
epochs=${3:-40}
text=/usr/share/common-licenses/GPL-3
"$recur" train --text "$text" --cell lstm --hidden 128 --layers 2 --dropout 0.2 \
  --window 200 --bptt 100 --batch-size 16 --optimizer adam --lr 3e-3 --clip 5 \
  --epochs "$epochs" --validation 0.05 --seed 1 \
  --save "$out/gpl.safetensors" --log "$out/log.jsonl" 2> "$out/train.txt"
/usr/bin/python3 - "$out/log.jsonl" <<'PY'
import json, sys
print("epoch  train bpc  validation bpc")
for line in open(sys.argv[1]):
    e = json.loads(line)
    print(f"{e['epoch']:5d}  {e['bpc']:9.3f}  {e['validation_bpc']:14.3f}")
PY
echo "sample (temperature 0.6):"
"$recur" generate --model "$out/gpl.safetensors" --prime "The " --length 400 \
  --temperature 0.6 --seed 1
