"""Reads a benchmark run's events.jsonl and prints step time, phases, tokens/s, MFU and memory.

    python bench/gpu/summarize.py RUN_DIR PARAMS PEAK_TFLOPS COPY_TB_S
FLOPs per step are counted as 2·N per token for each forward pass and 6·N for forward+backward
(N = parameters in matrix multiplies: all but the input embedding), attention's T² terms left out.
"""
import json
import statistics
import sys
from pathlib import Path

run, params, peak_tflops, copy_tb_s = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
embed = 32000 * 1024
N = params - embed
rows, started = [], {}
for line in (run / "events.jsonl").read_text().splitlines():
    e = json.loads(line)
    if e.get("type") == "metrics":
        rows.append(e)
    elif e.get("type") == "run_started":
        started = e
steady = rows[1:] if len(rows) > 2 else rows  # step 1 carries CUDA/cuBLAS warm-up
med = lambda k: statistics.median(float(r["values"][k]) for r in steady if k in r["values"])
B = 256
P, R = 128 + 1, med("response_length_mean")
T = P + R
flops = {
    "rollout": 2 * N * B * T,          # prefill of P tokens + R decode steps, one forward each token
    "experience": 2 * 2 * N * B * T,   # pi_old and pi_ref forward passes
    "train": 6 * N * B * T,            # forward + backward
}
out = {"steps_measured": len(steady), "params": params, "tokens_per_sample": T}
total_flops = 0.0
for phase, f in flops.items():
    s = med(f"{phase}_s")
    out[f"{phase}_s"] = round(s, 3)
    out[f"{phase}_tflops"] = round(f / s / 1e12, 1)
    out[f"{phase}_mfu"] = round(f / s / 1e12 / peak_tflops, 4)
    total_flops += f
step = med("step_s")
out.update(step_s=round(step, 3), reward_s=round(med("reward_s"), 3),
           samples_per_s=round(B / step, 1), gen_tokens_per_s=round(med("tokens_per_s"), 0),
           step_mfu=round(total_flops / step / 1e12 / peak_tflops, 4),
           peak_memory_gib=round(med("peak_memory_mb") / 1024, 2))
# decode bound: every decode step reads the weights once (bf16: 2 bytes/param) for the whole batch;
# the copy rate counts bytes read plus written, which is what the memory moves per second
out["decode_bound_tokens_per_s_bf16"] = round(B * copy_tb_s * 1e12 / (params * 2), 0)
out["train_bound_s"] = round(total_flops / (peak_tflops * 1e12), 3)
print(json.dumps(out, indent=1))
