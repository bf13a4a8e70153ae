#!/usr/bin/env bash
# GPU benchmark on a lent device: ceilings, then REINFORCE++ steps on a ~0.47B model built from a
# config. Uses trainer/ and schemas/, or a committed snapshot of them in .gpu/ when present (so a
# run on a lent device is not affected by uncommitted edits); missing Python packages as wheels in .whl/.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
OUTD=${OUT:-/tmp/out}; mkdir -p "$OUTD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUTD/gpu.txt"
python3 bench/gpu/peaks.py | tee "$OUTD/peaks.json"
W=/tmp/gb; rm -rf $W; mkdir -p $W
python3 bench/gpu/make_model.py $W | tee "$OUTD/model.json"
cp bench/gpu/config.yaml bench/gpu/reward.py $W/
SRC=$PWD; [ -d .gpu/trainer ] && SRC=$PWD/.gpu
export PYTHONPATH=$SRC/trainer${PYTHONPATH:+:$PYTHONPATH} RLHF_SCHEMAS_DIR=$SRC/schemas PYTHONUNBUFFERED=1
python3 -m rlhf_trainer run --config $W/config.yaml --run-dir $W/run > "$OUTD/trainer.log" 2>&1 || { tail -40 "$OUTD/trainer.log"; exit 1; }
cp $W/run/events.jsonl "$OUTD/events.jsonl"
params=$(python3 -c "import json;print(json.load(open('$OUTD/model.json'))['params'])")
peak=$(python3 -c "import json;print(json.load(open('$OUTD/peaks.json'))['bf16_tflops'])")
bw=$(python3 -c "import json;print(json.load(open('$OUTD/peaks.json'))['copy_tb_s'])")
python3 bench/gpu/summarize.py $W/run "$params" "$peak" "$bw" | tee "$OUTD/summary.json"
