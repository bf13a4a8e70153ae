"""Reads a benchmark run's events.jsonl and prints step time, phases, tokens/s, MFU and memory.

    python bench/gpu/summarize.py RUN_DIR MODEL_JSON PEAKS_JSON       (make_model.py's and peaks.py's output)
FLOPs per step are counted as 2·N per token for each forward pass and 6·N for forward+backward
(N = parameters in matrix multiplies: all but the input embedding), attention's T² terms left out.
"""
import json
import statistics
import sys
from pathlib import Path

from rlhf_trainer.names import EVENTS_FILE  # run.sh puts trainer/ on PYTHONPATH

run = Path(sys.argv[1])
model, peaks = json.loads(Path(sys.argv[2]).read_text()), json.loads(Path(sys.argv[3]).read_text())
params, peak_tflops, copy_tb_s = float(model["params"]), float(peaks["bf16_tflops"]), float(peaks["copy_tb_s"])
N = params - model.get("vocab", 32000) * model.get("hidden", 1024)
rows, started = [], {}
for line in (run / EVENTS_FILE).read_text().splitlines():
    e = json.loads(line)
    if e.get("type") == "metrics":
        rows.append(e)
    elif e.get("type") == "run_started":
        started = e
steady = rows[1:] if len(rows) > 1 else rows  # step 1 carries CUDA/cuBLAS warm-up
med = lambda k: statistics.median(float(r["values"][k]) for r in steady if k in r["values"])
roll = started["config"]["rollout"]
B = roll["batch_size"] * roll["n_samples_per_prompt"]
P, R = 128 + 1, med("response_length_mean")
T = P + R
ref = started["config"]["algorithm"]["kl"]["coef"] > 0
flops = {
    "rollout": 2 * N * B * T,                     # prefill of P tokens + R decode steps, one forward each token
    "experience": 2 * (1 + ref) * N * B * T,      # pi_old (when recomputed) and pi_ref forward passes
    "train": 6 * N * B * T,                       # forward + backward
}
out = {"engine": started.get("rollout", {}).get("engine"), "steps_measured": len(steady), "params": params,
       "tokens_per_sample": T, "samples_per_step": B, "compile_s": rows[0]["values"].get("compile_s") if rows else None}
total_flops = 0.0
for phase, f in flops.items():
    s = med(f"{phase}_s")
    out[f"{phase}_s"] = round(s, 3)
    out[f"{phase}_tflops"] = round(f / s / 1e12, 3)
    out[f"{phase}_mfu"] = round(f / s / 1e12 / peak_tflops, 4)
    total_flops += f
step = med("step_s")
gen = med("tokens_per_s")
# decode bound: every decode step reads the weights once (bf16: 2 bytes/param) for the whole batch;
# the copy rate counts bytes read plus written, which is what the memory moves per second
bound = B * copy_tb_s * 1e12 / (params * 2)
out.update(step_s=round(step, 3), reward_s=round(med("reward_s"), 3), samples_per_s=round(B / step, 2),
           gen_tokens_per_s=round(gen, 0), decode_bound_tokens_per_s_bf16=round(bound, 0),
           rollout_share_of_decode_bound=round(gen / bound, 4),
           step_mfu=round(total_flops / step / 1e12 / peak_tflops, 4),
           logprob_mismatch=med("logprob_mismatch") if any("logprob_mismatch" in r["values"] for r in steady) else None,
           peak_memory_gib=round(med("peak_memory_mb") / 1024, 2), train_bound_s=round(total_flops / (peak_tflops * 1e12), 3))
print(json.dumps(out, indent=1))
