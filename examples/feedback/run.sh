#!/usr/bin/env bash
# The whole loop on CPU, from the repository root or anywhere (docs/feedback.md):
#   1. the pairs are in data/ (python examples/feedback/make_pairs.py writes them again, the same);
#   2. a reward model from them (reward-model.yaml; a copy lands in examples/feedback/reward-model);
#   3. REINFORCE++ against it (config.yaml); then the reward model's mean score on the held-out prompts
#      before the first step and after the last.
# Python: $PYTHON, else the workspace .venv (npm run demo or scripts/setup-python.sh create it).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD/trainer${PYTHONPATH:+:$PYTHONPATH}"
stamp=$(date +%Y%m%d-%H%M%S)
"$PY" -m rlhf_trainer run --config examples/feedback/reward-model.yaml --run-dir "runs/$stamp-feedback-rm" --no-stdin
"$PY" -m rlhf_trainer run --config examples/feedback/config.yaml --run-dir "runs/$stamp-feedback" --no-stdin
"$PY" - "runs/$stamp-feedback-rm" "runs/$stamp-feedback" <<'PY'
import json, sys
rm_run, policy_run = sys.argv[1:]
def evals(run):
    return [e["values"] for e in map(json.loads, open(f"{run}/events.jsonl")) if e["type"] == "eval"]
acc = evals(rm_run)
print(f"reward model: held-out accuracy {acc[0]['eval_rm_accuracy']:.3f} -> {acc[-1]['eval_rm_accuracy']:.3f}")
score = evals(policy_run)
print(f"policy: reward-model score on the held-out prompts {score[0]['eval_reward_mean']:.3f} -> "
      f"{score[-1]['eval_reward_mean']:.3f}")
PY
