#!/usr/bin/env bash
# GPU benchmark on a lent device (issue #19): ceilings, then each rollout engine (static, hf, paged) for a few
# REINFORCE++ steps on a ~0.47B model built from a config, then TRL's GRPOTrainer on the same card, model and
# batch (its generate path), and the ratios (compare.py). Budget: under 8 minutes on one H100, compile included.
#   bash bench/gpu/run.sh            the GPU run (results and logs in $OUT, default /tmp/out)
#   bash bench/gpu/run.sh --tiny     a dry run of the same script on CPU with a tiny model (minutes on 2 cores)
# Uses trainer/ and schemas/, or a committed snapshot of them in .gpu/ when present (so a run on a lent device
# is not affected by uncommitted edits); missing Python packages (TRL and its pure-Python dependencies) as
# wheels in .whl/. PYTHON / TRL_PYTHON pick the interpreters (default python3 for both).
set -euo pipefail
cd "$(dirname "$0")/../.."
TINY=0; [ "${1:-}" = "--tiny" ] && TINY=1
PY=${PYTHON:-python3}; TRL_PY=${TRL_PYTHON:-$PY}
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
OUTD=${OUT:-/tmp/out}; mkdir -p "$OUTD"
W=${BENCH_DIR:-/tmp/gb}; rm -rf "$W"; mkdir -p "$W"
SRC=$PWD; [ -d .gpu/trainer ] && SRC=$PWD/.gpu
export PYTHONPATH=$SRC/trainer${PYTHONPATH:+:$PYTHONPATH} RLHF_SCHEMAS_DIR=$SRC/schemas PYTHONUNBUFFERED=1
T0=$(date +%s)
if [ $TINY = 1 ]; then
  echo '{"device": "cpu (dry run)", "bf16_tflops": 0.1, "copy_tb_s": 0.01}' > "$OUTD/peaks.json"
  $PY bench/gpu/make_model.py "$W" --tiny | tee "$OUTD/model.json"
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUTD/gpu.txt"
  $PY bench/gpu/peaks.py | tee "$OUTD/peaks.json"
  $PY bench/gpu/make_model.py "$W" | tee "$OUTD/model.json"
fi
cp bench/gpu/config.yaml bench/gpu/reward.py "$W/"
for engine in static hf paged; do
  $PY bench/gpu/variant.py "$W/config.yaml" "$W/config-$engine.yaml" "$engine" $TINY
  echo "== engine $engine ($(( $(date +%s) - T0 )) s so far)"
  if $PY -m rlhf_trainer run --config "$W/config-$engine.yaml" --run-dir "$W/run-$engine" > "$OUTD/trainer-$engine.log" 2>&1; then
    cp "$W/run-$engine/events.jsonl" "$OUTD/events-$engine.jsonl"
    $PY bench/gpu/summarize.py "$W/run-$engine" "$OUTD/model.json" "$OUTD/peaks.json" > "$OUTD/summary-$engine.json"
  else
    echo "engine $engine failed: $($PY -c "import json,sys;print(json.load(open(sys.argv[1])).get('error'))" "$W/run-$engine/status.json" 2>/dev/null || tail -1 "$OUTD/trainer-$engine.log")"
  fi
done
echo "== TRL GRPOTrainer ($(( $(date +%s) - T0 )) s so far)"
if $TRL_PY -c "import trl" 2>/dev/null; then
  $TRL_PY bench/trainer/trl_side.py "$W" "$($PY bench/gpu/variant.py --trl-steps $TINY)" "$OUTD/trl.json" \
    "$($PY bench/gpu/variant.py --trl-settings $TINY)" > "$OUTD/trl.log" 2>&1 || { echo "TRL failed:"; tail -5 "$OUTD/trl.log"; }
else
  echo "TRL is not importable with $TRL_PY: put its wheels (trl, accelerate, datasets and their pure-Python dependencies) in .whl/"
fi
$PY bench/gpu/compare.py "$OUTD" | tee "$OUTD/compare.txt"
echo "total $(( $(date +%s) - T0 )) s"
