"""TRL's GRPOTrainer on the benchmark's model, prompts, reward and settings (run with the TRL venv).

    .venv-fixtures/bin/python bench/trainer/trl_side.py WORK_DIR STEPS OUT.json [SETTINGS_JSON]

SETTINGS_JSON (bench/gpu/run.sh) overrides GRPOConfig fields, e.g. the GPU benchmark's batch and bf16 on CUDA.

The settings mirror config.yaml: 4 prompts x 4 generations per optimizer step (per-device batch 4 x 4
accumulation steps), 64 new tokens at temperature 1 with the full softmax, one update per generation
(num_iterations 1, so TRL skips the pi_old forward, as the trainer does), beta 0 (no reference model),
fp32 on CPU, no gradient checkpointing (the trainer uses none on CPU; TRL's default is on). Per-phase
times come from timers around TRL's own methods: _generate (generation), _calculate_rewards (reward),
the rest of _generate_and_score_completions (experience), the rest of the step (train).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reward import even_share


def timed(obj, name: str, totals: dict):
    fn = getattr(obj, name)

    def wrapper(*a, **kw):
        t0 = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - t0
    setattr(obj, name, wrapper)


def main(work: str, steps: int, out: str, overrides: dict | None = None):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    work_dir = Path(work)
    prompts = [json.loads(line)["prompt"] for line in (work_dir / "prompts.jsonl").read_text().splitlines()]
    tok = AutoTokenizer.from_pretrained(work_dir / "model")
    model = AutoModelForCausalLM.from_pretrained(work_dir / "model", dtype=torch.float32)

    def reward(prompts, completions, **kwargs):
        return [even_share(c) for c in completions]

    settings = {"output_dir": str(work_dir / "trl-out"), "per_device_train_batch_size": 4,
                "gradient_accumulation_steps": 4, "num_generations": 4, "max_completion_length": 64,
                "temperature": 1.0, "top_p": 1.0, "top_k": 0, "beta": 0.0, "num_iterations": 1, "learning_rate": 1e-6,
                "lr_scheduler_type": "constant", "max_steps": steps, "use_cpu": True, "bf16": False,
                "gradient_checkpointing": False, "logging_steps": 1, "save_strategy": "no", "report_to": "none",
                "seed": 1, "dataloader_num_workers": 0}
    args = GRPOConfig(**{**settings, **(overrides or {})})
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, processing_class=tok,
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]))
    totals: dict[str, float] = {}
    for name in ("_generate", "_calculate_rewards", "_generate_and_score_completions"):
        timed(trainer, name, totals)
    records: list[dict] = []

    class Steps(TrainerCallback):
        def on_train_begin(self, *a, **kw):
            self.t, self.seen = time.perf_counter(), dict(totals)

        def on_step_end(self, *a, **kw):
            now = time.perf_counter()
            d = {k: totals.get(k, 0.0) - self.seen.get(k, 0.0) for k in totals}
            gen, rew, exp = d.get("_generate", 0.0), d.get("_calculate_rewards", 0.0), \
                d.get("_generate_and_score_completions", 0.0)
            records.append({"step_s": now - self.t, "rollout_s": gen, "reward_s": rew,
                            "experience_s": exp - gen - rew, "train_s": now - self.t - exp})
            self.t, self.seen = now, dict(totals)

    trainer.add_callback(Steps())
    trainer.train()
    lengths = [r.get("completions/mean_length") for r in trainer.state.log_history if "completions/mean_length" in r]
    Path(out).write_text(json.dumps({"steps": records, "completion_length_mean": lengths}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]) if len(sys.argv) > 4 else None)
