"""npm run bench:trainer — this trainer and TRL's GRPOTrainer, back to back, on the same ~58M Llama-style
model (32k vocabulary, built from a config), prompts of 128 tokens, responses of 64, reward and settings.

    .venv/bin/python bench/trainer/run.py [STEPS] [--bf16]      (default 4 optimizer steps per side)

--bf16 runs both sides in bf16: the trainer with `precision: bf16` (bf16 autocast, rollouts from a bf16 copy),
TRL with `bf16=True` (its default: autocast through accelerate) and the rollout comparison with plain generate
under bf16 autocast; without it both sides run fp32.

Each side runs in its own process (the trainer from .venv, TRL from .venv-fixtures; the same torch and
transformers versions); the first step of each is a warm-up and is left out; times are the median
of the other steps (on a shared machine one step can be slowed by someone else's work; every step's
time is printed). Then the rollout phase alone vs plain `generate` on the same batch
(rollout_vs_generate.py). Prints
samples/s, tokens/s, peak RSS (the process's ru_maxrss), achieved FLOP/s against a measured fp32
matmul peak, the ratios, and each side's per-phase profile; writes out/bench-trainer/summary.json.
FLOPs count the same useful work for both sides: 2 x params per generated token (decode) and
6 x params per token of every trained sequence (forward + backward); attention is left out.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from rlhf_trainer.names import EVENTS_FILE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = ROOT / "out" / "bench-trainer"
SAMPLES_PER_STEP = 16  # 4 prompts x 4 samples (config.yaml; trl_side.py uses the same)
PROMPT_TOKENS = 128
PHASES = ("rollout_s", "reward_s", "experience_s", "train_s")


def run_measured(cmd: list[str], log: Path) -> float:
    """Runs cmd to completion; returns its peak RSS in MiB (wait4's rusage is the child's own)."""
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])}... failed (exit {proc.returncode}); see {log}:\n"
                 + log.read_text()[-3000:])
    return usage.ru_maxrss / 1024


def matmul_peak(n: int = 2048, reps: int = 10, dtype=torch.float32) -> float:
    """Matmul FLOP/s on this machine in `dtype` with torch's default threads (the best of reps)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best


def prepare(bf16: bool = False) -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    info = WORK / "model.json"
    if not info.exists():
        out = subprocess.run([sys.executable, str(HERE / "make_model.py"), str(WORK)], check=True,
                             capture_output=True, text=True).stdout
        info.write_text(out.strip().splitlines()[-1])
    for name in ("config.yaml", "reward.py"):
        shutil.copy(HERE / name, WORK / name)
    if bf16:
        (WORK / "config.yaml").write_text((HERE / "config.yaml").read_text() + "precision: bf16\n")
    return json.loads(info.read_text())["params"]


def ours(steps: int) -> dict:
    run_dir = WORK / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    rss = run_measured([sys.executable, "-m", "rlhf_trainer", "run", "--config", str(WORK / "config.yaml"),
                        "--run-dir", str(run_dir), "--no-stdin", "--max-steps", str(steps)], WORK / "ours.log")
    events = [json.loads(line) for line in (run_dir / EVENTS_FILE).read_text().splitlines()]
    values = [e["values"] for e in events if e["type"] == "metrics"]
    return {"steps": [{k: v[k] for k in ("step_s", *PHASES)} for v in values],
            "completion_length": [v["response_length_mean"] for v in values], "peak_rss_mb": rss}


def trl(steps: int, bf16: bool = False) -> dict:
    out = WORK / "trl.json"
    python = ROOT / ".venv-fixtures" / "bin" / "python"
    rss = run_measured([str(python), str(HERE / "trl_side.py"), str(WORK), str(steps), str(out),
                        *([json.dumps({"bf16": True})] if bf16 else [])], WORK / "trl.log")
    r = json.loads(out.read_text())
    return {"steps": r["steps"], "completion_length": r["completion_length_mean"], "peak_rss_mb": rss}


def summarize(side: dict, params: int, peak: float) -> dict:
    timed = side["steps"][1:] or side["steps"]  # the first step warms up caches and allocators
    med = {k: statistics.median(s[k] for s in timed) for k in ("step_s", *PHASES)}
    lengths = side["completion_length"][1:] or side["completion_length"]
    length = sum(lengths) / len(lengths)
    gen_tokens = SAMPLES_PER_STEP * length
    flops = 2 * params * gen_tokens + 6 * params * SAMPLES_PER_STEP * (PROMPT_TOKENS + length)
    return {"samples_per_s": SAMPLES_PER_STEP / med["step_s"], "generated_tokens_per_s": gen_tokens / med["step_s"],
            "tokens_per_s": SAMPLES_PER_STEP * (PROMPT_TOKENS + length) / med["step_s"],
            "peak_rss_mb": side["peak_rss_mb"], "flop_per_s": flops / med["step_s"],
            "mfu": flops / med["step_s"] / peak, "response_length": length, "timed_steps": len(timed),
            "step_times": [round(s["step_s"], 2) for s in side["steps"]],
            **{f"median_{k}": v for k, v in med.items()}}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bf16 = "--bf16" in sys.argv
    steps = int(args[0]) if args else 4
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"{'bf16 (autocast) on both sides' if bf16 else 'fp32 on both sides'}", flush=True)
    params = prepare(bf16)
    peak = matmul_peak(dtype=torch.bfloat16 if bf16 else torch.float32)
    print(f"model: {params / 1e6:.1f}M parameters; {'bf16' if bf16 else 'fp32'} matmul peak {peak / 1e9:.1f} GFLOP/s "
          f"({torch.get_num_threads()} threads)", flush=True)
    results = {}
    for name, side in (("trainer", ours), ("trl", lambda n: trl(n, bf16))):
        t0 = time.time()
        results[name] = summarize(side(steps), params, peak)
        print(f"{name}: {steps} steps in {time.time() - t0:.0f}s", flush=True)
    a, b = results["trainer"], results["trl"]
    rows = [("samples/s", "samples_per_s", "{:.3f}"), ("tokens/s (prompt+response)", "tokens_per_s", "{:.1f}"),
            ("generated tokens/s", "generated_tokens_per_s", "{:.1f}"), ("peak RSS MiB", "peak_rss_mb", "{:.0f}"),
            ("achieved GFLOP/s", "flop_per_s", None), (f"MFU (of {'bf16' if bf16 else 'fp32'} matmul peak)", "mfu", "{:.1%}"),
            ("step s (median)", "median_step_s", "{:.2f}"), ("  generation s", "median_rollout_s", "{:.2f}"),
            ("  reward s", "median_reward_s", "{:.3f}"), ("  experience s", "median_experience_s", "{:.2f}"),
            ("  train s", "median_train_s", "{:.2f}"), ("response length", "response_length", "{:.1f}")]
    print(f"\n{'':28}{'trainer':>12}{'TRL':>12}{'trainer/TRL':>14}")
    for label, key, fmt in rows:
        f = (lambda v: f"{v / 1e9:.1f}") if fmt is None else fmt.format
        print(f"{label:28}{f(a[key]):>12}{f(b[key]):>12}{a[key] / b[key] if b[key] else float('nan'):>14.2f}")
    results.update(params=params, matmul_peak_flop_per_s=peak, steps=steps, precision="bf16" if bf16 else "fp32",
                   samples_per_s_ratio=a["samples_per_s"] / b["samples_per_s"],
                   peak_rss_ratio=a["peak_rss_mb"] / b["peak_rss_mb"])
    (WORK / f"summary{'-bf16' if bf16 else ''}.json").write_text(json.dumps(results, indent=1))
    for name in ("trainer", "trl"):
        print(f"{name} step times (s, first = warm-up): {results[name]['step_times']}")
    print(f"\nsamples/s ratio {results['samples_per_s_ratio']:.2f}x, peak RSS ratio {results['peak_rss_ratio']:.2f} "
          f"(summary: {WORK / ('summary-bf16.json' if bf16 else 'summary.json')})", flush=True)
    print(f"\nrollout phase vs plain generate on the same batch (load average {os.getloadavg()[0]:.2f}):", flush=True)
    subprocess.run([sys.executable, str(HERE / "rollout_vs_generate.py"), str(WORK), "5", *(["--bf16"] if bf16 else [])],
                   cwd=ROOT, check=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
