"""Prints bench/gpu/run.sh's table: per engine, rollout tokens/s as a share of the decode bound, MFU of
experience and train, step samples/s and peak memory; TRL's GRPOTrainer samples/s on the same card and the ratios.

    python bench/gpu/compare.py OUT_DIR
"""
import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
trl = None
if (out / "trl.json").exists():
    r = json.loads((out / "trl.json").read_text())
    steps = r["steps"][2:] or r["steps"]  # the first generation (2 optimizer steps) warms up
    trl = {"step_times": [round(s["step_s"], 2) for s in r["steps"]], "time": sum(s["step_s"] for s in steps),
           "optimizer_steps": len(steps)}
print(f"{'engine':8}{'samples/s':>11}{'step s':>9}{'compile s':>11}{'rollout tok/s':>15}{'of bound':>10}"
      f"{'exp MFU':>9}{'train MFU':>11}{'step MFU':>10}{'peak GiB':>10}{'mismatch':>11}{'x TRL':>8}")
for f in sorted(out.glob("summary-*.json")):
    s = json.loads(f.read_text())
    ratio = ""
    if trl:
        # TRL: an optimizer step trains half a generation (2 optimizer steps per 256-sample rollout, as ours)
        trl_sps = s["samples_per_step"] / 2 * trl["optimizer_steps"] / trl["time"]
        ratio = f"{s['samples_per_s'] / trl_sps:.2f}"
    print(f"{s['engine'] or f.stem:8}{s['samples_per_s']:>11}{s['step_s']:>9}{s['compile_s'] or 0:>11.1f}"
          f"{s['gen_tokens_per_s']:>15.0f}{s['rollout_share_of_decode_bound']:>10.1%}{s['experience_mfu']:>9.1%}"
          f"{s['train_mfu']:>11.1%}{s['step_mfu']:>10.1%}{s['peak_memory_gib']:>10}"
          f"{s['logprob_mismatch'] if s['logprob_mismatch'] is not None else float('nan'):>11.2e}{ratio:>8}")
if trl:
    print(f"TRL GRPOTrainer: {trl['optimizer_steps']} measured optimizer steps in {trl['time']:.1f} s; "
          f"every step (s): {trl['step_times']}; median {statistics.median(trl['step_times']):.2f} s")
else:
    print("TRL: not run")
