#!/usr/bin/env bash
# Trains a forecaster of yearly sunspot numbers on 1700-1988 and scores its one-step-ahead
# forecasts for 1989-2008 against the naive "same as last year" forecast.
# usage: examples/sunspots/run.sh [path to recur] [output folder]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
recur=${1:-$here/../../build/cli/recur}
out=${2:-$(mktemp -d)}
head -n 290 "$here/sunspots.csv" > "$out/train.csv"   # the header and 1700-1988
"$recur" train --data "$out/train.csv" --input-columns SUNACTIVITY \
  --target-columns SUNACTIVITY --forecast --window 20 --stride 1 --validation 0.1 \
  --hidden 16 --epochs 200 --lr 0.05 --batch-size 16 --seed 0 --save "$out/sunspots.safetensors"
"$recur" predict --model "$out/sunspots.safetensors" --data "$here/sunspots.csv" \
  --output "$out/predictions.csv"
/usr/bin/python3 "$here/compare.py" "$here/sunspots.csv" "$out/predictions.csv" 20
