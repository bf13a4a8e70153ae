"""python -m rlhf_trainer.export_hf CHECKPOINT -o DIR

A checkpoint as a clean Hugging Face model folder: the policy's weights and config (save_pretrained,
safetensors), its tokenizer and generation config, and a model card (README.md) naming the run, the
step, the reward and the evaluation when it was saved. The trainer's own files (trainer_state.pt,
resume.json, COMPLETE, KEEP) stay behind. The folder is written under a temporary name and renamed,
so DIR is either absent or whole.

Exit codes: 0 written, 2 not a complete checkpoint or DIR exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

from .checkpoint import COMPLETE
from .names import EVENTS_FILE
from .resume import RESUME_FILE


def _events(run_dir: Path):
    try:
        with open(run_dir / EVENTS_FILE) as f:
            for line in f:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a partial last line
    except OSError:
        return


def measured_at(run_dir: Path, step: int) -> tuple[dict, dict | None]:
    """(the metrics of `step`, the newest eval event at or before it) from the run's events.jsonl."""
    metrics, evaluation = {}, None
    for e in _events(run_dir):
        if e.get("type") == "metrics" and e.get("step") == step:
            metrics = e.get("values") or {}
        elif e.get("type") == "eval" and isinstance(e.get("step"), int) and e["step"] <= step:
            if evaluation is None or e["step"] >= evaluation["step"]:
                evaluation = e
    return metrics, evaluation


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def is_local_path(ref: str) -> bool:
    """Whether a model.policy value names a folder on this machine rather than a Hugging Face Hub id
    (`org/name`): absolute, home-relative, explicitly relative, a Windows drive, or an existing folder."""
    return (os.path.isabs(ref) or ref.startswith(("~", "./", "../", ".\\", "..\\")) or "\\" in ref
            or bool(re.match(r"^[A-Za-z]:", ref)) or Path(ref).expanduser().is_dir())


def describe_model(ref: str) -> str:
    """A model.policy value as the model card may show it: a Hub id as it is; a local folder by its name only
    (the trainer writes the absolute path, which names the user's machine and means nothing to a reader)."""
    if not is_local_path(ref):
        return f"`{ref}`"
    name = re.split(r"[\\/]", ref.rstrip("/\\"))[-1] or "model"
    return f"a local model folder named `{name}`"


def model_card(ckpt: Path, step: int, base_model: str | None, estimator: str | None) -> str:
    """The README.md of an export. It names the run, the checkpoint and the initial policy by name only:
    no absolute path of this machine goes into a folder meant to be shared or uploaded."""
    run_dir = ckpt.parent.parent
    metrics, evaluation = measured_at(run_dir, step)
    hub_base = base_model if base_model and not is_local_path(base_model) else None
    lines = ["---", "library_name: transformers", *([f"base_model: {hub_base}"] if hub_base else []),
             "tags: [rlhf, reinforce-plus-plus, rlhf-studio]", "---", "",
             f"# {run_dir.name} at step {step}", "",
             "Exported by RLHF Studio (`python -m rlhf_trainer.export_hf`) from checkpoint "
             f"`{ckpt.name}` of run `{run_dir.name}`.", "",
             "| | |", "|---|---|", f"| run | `{run_dir.name}` |", f"| step | {step} |"]
    if estimator:
        lines.append(f"| estimator | {estimator} |")
    if base_model:
        lines.append(f"| initial policy | {describe_model(base_model)} |")
    lines.append(f"| reward (mean, step {step}) | {_fmt(metrics.get('reward_mean'))} |")
    if evaluation:
        for k, v in sorted((evaluation.get("values") or {}).items()):
            lines.append(f"| {k} (step {evaluation['step']}) | {_fmt(v)} |")
    else:
        lines.append("| eval | none before this step |")
    return "\n".join(lines) + "\n"


def export(ckpt: Path, out: Path) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .lora import is_adapter_checkpoint, load_merged
    if not (ckpt / COMPLETE).is_file():
        raise ValueError(f"{ckpt}: not a complete checkpoint (no {COMPLETE} marker); pick one listed by `rlhf checkpoints RUN`")
    if out.exists():
        raise ValueError(f"{out}: already exists; choose a new folder or delete it first")
    info = {}
    if (ckpt / RESUME_FILE).is_file():
        info = json.loads((ckpt / RESUME_FILE).read_text()).get("config") or {}
    step = int(ckpt.name.rsplit("-", 1)[-1])
    tmp = out.with_name(f".{out.name}.export-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if is_adapter_checkpoint(ckpt):  # LoRA: the base with the adapters merged, a plain model
            model = load_merged(ckpt, local_files_only=True)
        else:
            model = AutoModelForCausalLM.from_pretrained(ckpt, local_files_only=True)
        model.save_pretrained(tmp, safe_serialization=True)
        AutoTokenizer.from_pretrained(ckpt, local_files_only=True).save_pretrained(tmp)
        (tmp / "README.md").write_text(model_card(ckpt, step, (info.get("model") or {}).get("policy"),
                                                  (info.get("algorithm") or {}).get("estimator")))
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlhf_trainer.export_hf", description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="a checkpoint folder (RUN/checkpoints/step-N)")
    ap.add_argument("-o", "--out", required=True, help="the folder to create")
    args = ap.parse_args(argv)
    try:
        out = export(Path(args.checkpoint).resolve(), Path(args.out).resolve())
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"exported {args.checkpoint} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
