"""Reward-model training as a run (config `kind: reward_model`, schemas/reward-model-config.schema.json).

Bradley-Terry on preference pairs: loss = -log sigmoid(r_chosen - r_rejected - margin), the mean over the
pairs of an optimizer step. The model is AutoModelForSequenceClassification with one label, from a causal
LM (a scalar head is added) or from a sequence-classification checkpoint. The run folder is a run like any
other (events, status, checkpoints, stop/resume, torchrun with DDP); at the end the model and tokenizer are
saved to RUN/reward_model, which a `reward_model` reward source and transformers load.

Pairs: one JSON object per line, `prompt` (optional), `chosen`, `rejected`, each a string or a list of
{role, content} chat messages (`rlhf labels export`, TRL's explicit- and implicit-prompt formats,
OpenRLHF's chosen/rejected rows with an optional `margin`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .checkpoint import KEEP, load_state, restore_training_state, save_state, set_rng_state, training_state
from .config import (ConfigError, Problems, apply_defaults, check_schema, load_schema, locator, read_config_file,
                     resolve_model)
from .control import Control
from .data import jsonl_objects
from .distributed import Dist
from .reward_model import load_reward_model, sequence_text
from .runconfig import RewardModelRunConfig, RMDataConfig
from .runfolder import RunFolder
from .resume import RESUME_FILE

SCHEMA = "reward-model-config.schema.json"
OUTPUT = "reward_model"  # RUN/reward_model: the trained model's save_pretrained folder


# ---- config ------------------------------------------------------------------------------------

def load_rm_config(path: str, check_files: bool = True) -> dict:
    """Reads, validates (schema, then paths) and resolves a reward-model config; ConfigError, a line a problem."""
    raw, lines = read_config_file(path)
    src = str(path)
    schema = load_schema(SCHEMA)
    check_schema(raw, schema, src, lines)
    cfg = apply_defaults(schema, copy.deepcopy(raw))
    base_dir = Path(path).resolve().parent
    p = Problems(src, lines)
    model, data, train = cfg["model"], cfg["data"], cfg["train"]
    model["base"] = resolve_model(model["base"], base_dir, bool(model["create_if_missing"]), check_files,
                                  lambda ok, msg: p.check(ok, ("model", "base"), msg))
    if cfg["output"]:
        cfg["output"] = str((base_dir / cfg["output"]).resolve())
    for key in ("train", "eval"):
        if data[key]:
            data[key] = str((base_dir / data[key]).resolve())
            if check_files:
                p.check(Path(data[key]).is_file(), ("data", key),
                        f"preference file {data[key]} not found; fix the path (relative to the config)")
    p.check(train["micro_batch_size"] <= train["batch_size"], ("train", "micro_batch_size"),
            f"micro_batch_size {train['micro_batch_size']} exceeds train.batch_size {train['batch_size']}; lower it")
    if check_files and not p.has("model"):
        base = Path(model["base"])
        p.check(base.exists() or model["create_if_missing"] or not base.is_absolute(), ("model", "base"),
                f"model folder {base} not found; point it at a save_pretrained folder")
    p.raise_any()
    cfg["_config_path"] = str(Path(src).resolve())
    cfg["_base_dir"] = str(base_dir)
    return cfg


# ---- preference pairs --------------------------------------------------------------------------

@dataclass
class Pair:
    prompt: object  # str, a list of chat messages, or None (the prompt is inside chosen and rejected)
    chosen: object
    rejected: object
    margin: float
    line: int


def _is_text(v) -> bool:
    return (isinstance(v, str) and v != "") or (isinstance(v, list) and bool(v) and all(
        isinstance(m, dict) and isinstance(m.get("content"), str) for m in v))


def read_pairs(path: str, data: RMDataConfig, limit: int | None = None) -> tuple[list[Pair], str]:
    """(pairs, digest) of a preference file; ConfigError naming file:line and the field at the first bad line."""
    pk, ck, rk, mk = data.prompt_key, data.chosen_key, data.rejected_key, data.margin_key
    pairs: list[Pair] = []
    h = hashlib.sha256()
    for lineno, row in jsonl_objects(path, f"{{\"{pk}\": ..., \"{ck}\": ..., \"{rk}\": ...}}"):
        where = f"{path}:{lineno}"
        for key, field in ((ck, "chosen_key"), (rk, "rejected_key")):
            if key not in row:
                raise ConfigError(f"{where}: data.{field}: no field '{key}' (fields: {', '.join(sorted(row)) or 'none'}); "
                                  f"add it, or set data.{field} to the field that holds it")
            if not _is_text(row[key]):
                raise ConfigError(f"{where}: data.{field}: field '{key}' is {json.dumps(row[key])[:60]}, not a "
                                  "non-empty string or a list of {role, content} messages")
        prompt = row.get(pk)
        if prompt is not None and not (_is_text(prompt) or prompt == ""):
            raise ConfigError(f"{where}: data.prompt_key: field '{pk}' is {json.dumps(prompt)[:60]}, not a string "
                              "or a list of {role, content} messages")
        margin = row.get(mk, 0.0)
        if not isinstance(margin, (int, float)) or isinstance(margin, bool):
            raise ConfigError(f"{where}: data.margin_key: field '{mk}' is {json.dumps(margin)[:30]}, not a number")
        pairs.append(Pair(prompt or None, row[ck], row[rk], float(margin), lineno))
        h.update(json.dumps([prompt, row[ck], row[rk], margin], sort_keys=True).encode() + b"\n")
        if limit and len(pairs) >= limit:
            break
    if not pairs:
        raise ConfigError(f"{path}: no preference pairs; each line must be one JSON object with '{ck}' and '{rk}'")
    return pairs, h.hexdigest()


def split_pairs(rm: RewardModelRunConfig, pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """(train, eval): data.eval's pairs, or a seeded data.eval_share of data.train held out."""
    data = rm.data
    if data.eval:
        return pairs, read_pairs(data.eval, data)[0]
    n_eval = int(len(pairs) * data.eval_share)
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(rm.seed)).tolist()
    return [pairs[i] for i in order[n_eval:]], [pairs[i] for i in order[:n_eval]]


def preflight_rm(cfg: dict) -> dict:
    """Every check before weights load: the pairs (file:line: field), pairs left to train on, and a
    sequence-classification base with one label. Returns {"train", "eval", "digest"}."""
    fail, rm = locator(cfg), RewardModelRunConfig.from_dict(cfg)
    data = rm.data
    pairs, digest = read_pairs(data.train, data, data.max_samples)
    train_pairs, eval_pairs = split_pairs(rm, pairs)
    if not train_pairs:
        raise fail(("data", "eval_share"), f"data.eval_share {data.eval_share} holds out all {len(pairs)} pairs; "
                                           "lower it, or give held-out pairs in data.eval")
    base = Path(rm.model.base)
    if (base / "config.json").is_file():
        from transformers import AutoConfig
        conf = AutoConfig.from_pretrained(base, trust_remote_code=rm.model.trust_remote_code)
        if any(a.endswith("ForSequenceClassification") for a in conf.architectures or []) and conf.num_labels != 1:
            raise fail(("model", "base"), f"{base} is a sequence-classification model with {conf.num_labels} labels; "
                                          "a reward model has one: start from its causal LM, or from a one-label checkpoint")
    return {"train": train_pairs, "eval": eval_pairs, "digest": digest}


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor, margin: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected - margin), per pair."""
    return -torch.nn.functional.logsigmoid(chosen - rejected - margin)


# ---- the run -----------------------------------------------------------------------------------

class RewardModelTrainer:
    def __init__(self, cfg: dict, run: RunFolder, resume: str | None = None, control: Control | None = None,
                 rows: dict | None = None):
        self.cfg, self.run, self.control = cfg, run, control or Control()
        self.rm = RewardModelRunConfig.from_dict(cfg)  # typed view; the dict is what the run folder records
        self.rows = rows or preflight_rm(cfg)
        self.resume = Path(resume) if resume else None
        self.dist = Dist.from_env()
        self.step = 0
        self.output: Path | None = None
        run.set_status(kind="reward_model")  # readers tell the run's kind from its first status

    def log(self, msg: str, level: str = "info"):
        if self.dist.is_main:
            self.run.log(msg, level)
            print(f"[{level}] {msg}", flush=True)

    def setup(self):
        from transformers.utils import logging as hf_logging

        from .models import LR_SCHEDULE, make_scheduler, pick_device
        hf_logging.disable_progress_bar()  # trainer.log gets our lines, not tqdm's
        rm, run, tr = self.rm, self.run, self.rm.train
        random.seed(rm.seed)
        np.random.seed(rm.seed)
        torch.manual_seed(rm.seed)
        self.device = self.dist.device(pick_device(rm.device))
        self.dist.init(self.device)
        self.autocast = "cuda" if self.device.type == "cuda" else False  # bf16 autocast on CUDA (update.mixed_precision)
        mcfg = rm.model
        if mcfg.create_if_missing and not Path(mcfg.base).exists() and self.dist.is_main:
            from .bootstrap import create_model
            self.log(f"building the embedded model at {mcfg.base}")
            create_model(mcfg.create_if_missing, mcfg.base, on_progress=lambda s, n, loss: run.progress(
                "prepare", s, n, message=f"warm start loss {loss:.3f}"))
        self.dist.barrier()
        state = load_state(self.resume) if self.resume else None
        load_from = str(self.resume) if self.resume else mcfg.base
        run.progress("load", 0, 1, message=f"loading {load_from}")
        self.model, self.tokenizer = load_reward_model(load_from, self.device, torch.float32, mcfg.trust_remote_code)
        if mcfg.gradient_checkpointing and self.device.type == "cuda":
            self.model.gradient_checkpointing_enable()
        self.train_pairs, self.eval_pairs = self.rows["train"], self.rows["eval"]
        # a handful of pairs labelled in the sample browser train as one batch rather than not at all
        self.batch_size = min(tr.batch_size, len(self.train_pairs))
        if self.batch_size < tr.batch_size:
            self.log(f"{len(self.train_pairs)} training pairs are fewer than train.batch_size {tr.batch_size}: "
                     f"each step trains on all {self.batch_size}", "warning")
        self.dist.check_divisible("train.batch_size", self.batch_size)
        self.steps_per_epoch = len(self.train_pairs) // self.batch_size
        self.total_steps = self.steps_per_epoch * tr.epochs
        if tr.max_steps:
            self.total_steps = min(self.total_steps, tr.max_steps)
        self.train_model = self.dist.wrap(self.model, "ddp")
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=tr.lr, betas=tuple(tr.adam_betas),
                                           eps=1e-8, weight_decay=tr.weight_decay)
        self.scheduler = make_scheduler(self.optimizer, self.total_steps, tr.warmup_ratio, tr.min_lr_ratio)
        self.lr_schedule = LR_SCHEDULE
        self.pairs_seen = 0
        if state is not None:
            self.step, self.pairs_seen = restore_training_state(state, self.optimizer, self.scheduler)
            set_rng_state(state["rng"])
        run.progress("load", 1, 1, message="ready")

    # ---- data order: a seeded permutation per epoch, a pure function of (seed, step) -------------
    def batch(self, step: int) -> list[Pair]:
        epoch, pos = divmod(step - 1, self.steps_per_epoch)
        perm = torch.randperm(len(self.train_pairs), generator=torch.Generator().manual_seed(self.rm.seed * 1000 + epoch))
        b = self.batch_size
        return [self.train_pairs[i] for i in perm[pos * b:(pos + 1) * b].tolist()]

    def texts(self, pairs: list[Pair]) -> tuple[list[str], list[str]]:
        tok = self.tokenizer
        return ([sequence_text(tok, p.prompt, p.chosen) for p in pairs],
                [sequence_text(tok, p.prompt, p.rejected) for p in pairs])

    def scores(self, model, pairs: list[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
        """Chosen and rejected scores of `pairs` in one forward (the two halves of one batch)."""
        from .reward_model import score_texts
        chosen, rejected = self.texts(pairs)
        s = score_texts(model, self.tokenizer, chosen + rejected, self.rm.data.max_length, self.autocast)
        return s[:len(pairs)], s[len(pairs):]

    def train_step(self, step: int) -> dict:
        from .models import peak_memory_mb
        tr = self.rm.train
        t0 = time.time()
        pairs = self.batch(step)
        world, rank = self.dist.world_size, self.dist.rank
        local = len(pairs) // world
        mine = pairs[rank * local:(rank + 1) * local]
        micro = min(tr.micro_batch_size, local)
        chunks = [mine[i:i + micro] for i in range(0, local, micro)]
        # [loss sum, correct, margin sum, chosen sum, rejected sum, pairs]
        acc = torch.zeros(6, dtype=torch.float64, device=self.device)
        self.train_model.train()
        self.optimizer.zero_grad(set_to_none=True)
        for k, chunk in enumerate(chunks):
            with self.dist.accumulating(self.train_model, sync=k == len(chunks) - 1):
                rc, rr = self.scores(self.train_model, chunk)
                margin = torch.tensor([tr.margin + p.margin for p in chunk], device=self.device)
                loss = bradley_terry_loss(rc, rr, margin)
                (loss.sum() / local).backward()  # the step's mean over this rank's pairs; DDP averages the ranks
            with torch.no_grad():
                acc += torch.stack([loss.sum(), (rc > rr).sum(), (rc - rr).sum(), rc.sum(), rr.sum(),
                                    torch.tensor(float(len(chunk)), device=self.device)]).double()
        grad_norm = self.dist.clip_grad_norm(self.model.parameters(), tr.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.model.eval()
        loss_sum, correct, margin_sum, chosen_sum, rejected_sum, n = self.dist.all_sum(acc).tolist()
        self.pairs_seen += int(n)
        dt = time.time() - t0
        return {"rm_loss": loss_sum / n, "rm_accuracy": correct / n, "rm_margin": margin_sum / n,
                "rm_chosen": chosen_sum / n, "rm_rejected": rejected_sum / n, "lr": self.scheduler.get_last_lr()[0],
                "grad_norm": float(grad_norm), "step_s": dt, "pairs_per_s": n / max(dt, 1e-9),
                "peak_memory_mb": peak_memory_mb(self.device)}

    @torch.no_grad()
    def evaluate(self, step: int) -> dict:
        """Held-out accuracy, margin and loss on rank 0 (the others wait at the next collective)."""
        if not self.eval_pairs or not self.dist.is_main:
            return {}
        mb = self.rm.train.micro_batch_size
        rc, rr = [], []
        self.run.progress("eval", 0, len(self.eval_pairs), step=step)
        for s in range(0, len(self.eval_pairs), mb):
            c, r = self.scores(self.model, self.eval_pairs[s:s + mb])
            rc.append(c)
            rr.append(r)
        rc, rr = torch.cat(rc), torch.cat(rr)
        values = {"eval_rm_accuracy": float((rc > rr).float().mean()), "eval_rm_margin": float((rc - rr).mean()),
                  "eval_rm_loss": float(bradley_terry_loss(rc, rr, torch.zeros_like(rc)).mean()),
                  "eval_num_pairs": float(len(rc))}
        self.run.emit("eval", step=step, values=values)
        self.log(f"eval at step {step}: " + ", ".join(f"{k}={v:.3f}" for k, v in values.items()))
        return values

    def save_checkpoint(self, reason: str) -> Path | None:
        final = None
        if self.dist.is_main:
            run = self.run
            run.progress("checkpoint", 0, 1, step=self.step)
            tmp = run.begin_checkpoint(self.step)
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            save_state(training_state(self.step, self.pairs_seen, self.steps_per_epoch, self.batch_size,
                                      self.optimizer, self.scheduler, self.lr_schedule, version=__version__,
                                      kind="reward_model"), tmp)
            (tmp / RESUME_FILE).write_text(json.dumps({"config": {k: v for k, v in self.cfg.items()
                                                                    if not k.startswith("_")},
                                                         "prompts_digest": self.rows["digest"]}))
            if reason == "requested":
                (tmp / KEEP).write_text("saved on request: never pruned\n")
            final = run.commit_checkpoint(tmp, self.step)
            run.prune_checkpoints(self.rm.checkpoint.keep_last)
            run.emit("checkpoint", step=self.step, path=str(final), reason=reason)
            run.set_status(last_checkpoint=str(final))
            run.progress("checkpoint", 1, 1, step=self.step)
        self.dist.barrier()
        return final

    def write_output(self) -> Path:
        """RUN/reward_model: model + tokenizer (save_pretrained), written under a temporary name and renamed."""
        out = self.run.path / OUTPUT
        if self.dist.is_main:
            from .checkpoint import commit
            tmp = self.run.checkpoints / f".tmp-{OUTPUT}"  # a kill leaves it there: the next open removes it
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            commit(tmp, out)
            if self.rm.output:  # the config's fixed place for it (a policy config's reward source points there)
                copy = Path(self.rm.output)
                staged = copy.with_name(f".{copy.name}.tmp-{os.getpid()}")
                shutil.rmtree(staged, ignore_errors=True)
                shutil.copytree(out, staged)
                shutil.rmtree(copy, ignore_errors=True)
                os.replace(staged, copy)
                self.log(f"reward model copied to {copy}")
        self.dist.barrier()
        return out

    def fit(self) -> str:
        run, every_eval = self.run, self.rm.eval.every_steps
        every = self.rm.checkpoint.every_steps
        run.set_status(state="running", step=self.step, total_steps=self.total_steps)
        if self.step == 0:
            self.evaluate(0)
        last_saved = -1
        stop, save = self.dist.broadcast_flags(self.control.stop.is_set(), self.control.save.is_set())
        while self.step < self.total_steps and not stop:
            step = self.step + 1
            values = self.train_step(step)
            self.step = step
            if step % every_eval == 0 or step == self.total_steps:
                values.update(self.evaluate(step))
            run.emit("metrics", step=step, samples_seen=self.pairs_seen, total_steps=self.total_steps, values=values)
            run.set_status(step=step, rm_accuracy=values["rm_accuracy"])
            if self.dist.is_main:
                print(f"step {step}/{self.total_steps} rm_loss {values['rm_loss']:.4f} "
                      f"accuracy {values['rm_accuracy']:.3f} margin {values['rm_margin']:.3f}", flush=True)
            stop, save = self.dist.broadcast_flags(self.control.stop.is_set(), self.control.save.is_set())
            if (every and step % every == 0) or save:
                self.control.save.clear()
                self.save_checkpoint("periodic" if every and step % every == 0 else "requested")
                last_saved = step
        stopped = self.step < self.total_steps
        if last_saved != self.step:
            run.set_status(state="stopping" if stopped else "running")
            self.save_checkpoint("stop" if stopped else "final")
        if not stopped:
            self.output = self.write_output()
            run.set_status(reward_model=str(self.output.resolve()))
            self.log(f"reward model: {self.output.resolve()}")
        return "stopped" if stopped else "completed"

    def close(self):
        self.dist.close()


def check_rm_resume(cfg: dict, ckpt: Path, digest: str) -> list[str]:
    """A reward-model checkpoint resumes on the same pairs and seed (the data order continues); other keys apply."""
    info = ckpt / RESUME_FILE
    if not info.is_file():
        return []
    old = json.loads(info.read_text())
    fail = locator(cfg)
    if old.get("config", {}).get("kind") != "reward_model":
        raise fail(("kind",), f"{ckpt} is a checkpoint of a policy run, not of a reward-model run; resume it with "
                              "its policy config")
    if old.get("prompts_digest") not in (None, digest):
        raise fail(("data", "train"), "the preference pairs differ from the checkpoint's run: the pair order cannot "
                                      "continue; resume with the same data.train, or start a new run")
    seed = RewardModelRunConfig.from_dict(cfg).seed
    if old["config"].get("seed") != seed:
        raise fail(("seed",), f"seed {seed} differs from the checkpoint's run ({old['config'].get('seed')}): "
                              "the pair order cannot continue; set it back")
    return []
