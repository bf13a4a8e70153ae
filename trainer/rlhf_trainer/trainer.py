"""The training loop: rollout -> reward -> experience (log-probs, KL, advantages) -> PPO-clip updates.

One global step = one rollout batch of ``rollout.batch_size`` prompts x ``n_samples_per_prompt``.
Each phase lives in its own module (models, rollout, experience, update, sample_log, evaluate, checkpoint);
the math is in algorithms.py. This module runs them in order and moves their results to the run folder
and the event stream.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .checkpoint import KEEP, consolidated, load_state, restore_training_state, save_state, set_rng_state, training_state
from .config import locator
from .control import Control
from .data import check_prompt_files, load_prompts
from .distributed import Dist
from .evaluate import evaluate
from .experience import ExperienceMaker, experience_metrics, watched_samples
from .models import (LEGACY_LR_SCHEDULE, LR_SCHEDULE, apply_optimizer_config, has_dropout, load_models,
                     make_optimizers, make_scheduler, pick_device)
from .preflight import load_tokenizer
from .resume import write_resume_info
from .rewards import RewardHub, RewardItem, merge_scored
from .rollout import batch_prompts, decode, make_engine, settings_for
from .runconfig import RunConfig
from .runfolder import RunFolder
from .sample_log import training_samples, write_training_samples
from .sampling import sample_seed
from .setup_notes import setup_notes
from .update import autocast_for
from .update import update as update_policy
from .watchdog import RunWatch


class Trainer:
    def __init__(self, cfg: dict, run: RunFolder, resume: str | None = None, control: Control | None = None,
                 prompt_rows: dict | None = None):
        self.cfg, self.run, self.control = cfg, run, control or Control()
        self.rc = RunConfig.from_dict(cfg)  # typed view; the dict is what the run folder records
        self.prompt_rows = prompt_rows
        self.resume = Path(resume) if resume else None
        self.dist = Dist.from_env()
        self.watch = RunWatch(self.rc, run, self.dist, self.log)  # signals, stall watchdog, alert webhook

    def log(self, msg: str, level: str = "info"):
        if self.dist.is_main:  # one copy of every message, not one per rank
            self.run.log(msg, level)
            print(f"[{level}] {msg}", flush=True)

    # ---- setup ---------------------------------------------------------------------------
    def setup(self):
        rc, run = self.rc, self.run
        self.watch.open()
        random.seed(rc.seed)
        np.random.seed(rc.seed)
        torch.manual_seed(rc.seed)
        self.device = self.dist.device(pick_device(rc.device))
        from .rollout import resolve_engine
        resolve_engine(rc.rollout.engine, self.device)  # fails in one line before any model is loaded
        self.dist.init(self.device)
        self.autocast = autocast_for(rc.precision, self.device)  # 'cuda' / 'cpu' (bf16 autocast) or False
        self.fused_adam = self.device.type == "cuda"
        mcfg = rc.model
        if mcfg.create_if_missing and not Path(mcfg.policy).exists() and self.dist.is_main:
            from .bootstrap import create_model
            self.log(f"building the embedded model at {mcfg.policy} (supervised warm start, about a minute on CPU)")
            create_model(mcfg.create_if_missing, mcfg.policy, on_progress=lambda s, n, loss: run.progress(
                "prepare", s, n, message=f"warm start loss {loss:.3f}"))
        self.dist.barrier()  # the other ranks load the model rank 0 built
        self.reference_path = mcfg.reference or mcfg.policy
        state = load_state(self.resume) if self.resume else None
        if state is not None:  # an older checkpoint's `kl_coef` is not read: algorithm.kl.coef always holds
            self.reference_path = state.get("reference_path", self.reference_path)
        load_from = str(self.resume) if self.resume else mcfg.policy

        run.progress("load", 0, 3, message=f"loading tokenizer and policy from {load_from}")
        self.tokenizer = load_tokenizer(load_from, mcfg.trust_remote_code)
        models = load_models(rc, load_from, self.reference_path, self.device,
                             on_reference=lambda: run.progress("load", 1, 3, message="loading reference model"))
        self.policy, self.ref, self.critic = models.policy, models.ref, models.critic
        run.progress("load", 2, 3, message="loading prompts and reward sources")
        rows = self.prompt_rows or check_prompt_files(rc, locator(self.cfg))
        self.prompts_digest = rows["train"].digest
        self.prompts = load_prompts(rows["train"], rc.data, self.tokenizer)
        self.eval_prompts = load_prompts(rows["eval"], rc.data, self.tokenizer) if "eval" in rows else []
        for message, level in setup_notes(rc, self.tokenizer, self.prompts, self.eval_prompts, self.policy, self.device):
            self.log(message, level)
        self.rewards = RewardHub(rc.reward, self.cfg.get("_base_dir"), mcfg.trust_remote_code, self.device)

        roll, tr = rc.rollout, rc.train
        self.steps_per_episode = len(self.prompts) // roll.batch_size  # >= 1: checked by preflight
        self.total_steps = self.steps_per_episode * tr.num_episodes
        if tr.max_steps:
            self.total_steps = min(self.total_steps, tr.max_steps)
        # as update() counts them: whole train batches per epoch (config.py makes the division exact)
        opt_steps_per_global = roll.batch_size * roll.n_samples_per_prompt // tr.batch_size * tr.max_epochs
        self.dist.check_divisible("rollout.batch_size", roll.batch_size)
        self.dist.check_divisible("train.batch_size", tr.batch_size)
        self.reuse_generation_logprobs = opt_steps_per_global == 1 and not has_dropout(self.policy)
        # what the training forward/backward goes through (DDP with N ranks: self.policy stays the raw model;
        # fsdp2: self.policy itself, sharded in place). Before the optimizers: fsdp2 replaces the parameters
        self.train_policy = self.dist.wrap(self.policy, tr.strategy)
        self.train_critic = self.dist.wrap(self.critic, tr.strategy, find_unused=True) if self.critic else None
        self.optimizer, self.critic_opt = make_optimizers(rc, self.policy, self.critic, self.fused_adam)
        self.lr_schedule = state.get("lr_schedule", LEGACY_LR_SCHEDULE) if state is not None else LR_SCHEDULE
        self.scheduler = make_scheduler(self.optimizer, self.total_steps * opt_steps_per_global, tr.warmup_ratio,
                                        tr.min_lr_ratio, self.lr_schedule)
        self.experience = ExperienceMaker(rc, self.policy, self.ref, self.critic, self.autocast, self.dist,
                                          self.tokenizer.pad_token_id, self.reuse_generation_logprobs)
        self.step = self.samples_seen = 0
        if state is not None:
            self.step, self.samples_seen = restore_training_state(state, self.optimizer, self.scheduler, self.critic,
                                                                  self.critic_opt, self.dist)
            apply_optimizer_config(rc, self.optimizer, self.scheduler, self.critic_opt, self.fused_adam)
            set_rng_state(state["rng"])  # last: nothing after it may draw from a generator before step 1
        self.make_rollout_engine()
        run.progress("load", 3, 3, message="ready")

    def make_rollout_engine(self):
        """rollout.engine's engine over the policy, its one-off warm-up (compilation) paid here, before step 1,
        and reported as compile_s in step 1's metrics."""
        roll = self.rc.rollout
        self.engine = make_engine(roll.engine, self.policy, self.tokenizer, self.device,
                                  settings_for(self.rc, self.autocast), self.dist.sharded)
        self.engine.on_token = self.watch.on_token if self.watch.watchdog else None
        self.run.progress("load", 2, 3, message=f"rollout engine {self.engine.name}: warming up")
        with self.dist.gathered(self.policy):
            self.compile_s = self.engine.warm_up([p.text for p in self.prompts[:roll.batch_size]])

    # ---- one global step -------------------------------------------------------------------
    def generate(self, texts: list[str], n: int, seeds: list[int] | None = None):
        """n samples of each text through the rollout engine (rollout.py), row k drawn with noise key seeds[k]
        (sampling.py); greedy without seeds. A Rollout (its sequences, masks, log-probs and entropy)."""
        with self.dist.gathered(self.policy):
            return self.engine.generate(texts, n, seeds)

    def train_step(self, step: int) -> dict:
        """Rollout, reward and experience on this rank's share of the step's prompts; the update and the
        metrics on the global batch (the same numbers for any number of ranks)."""
        run, rc = self.run, self.rc
        n = rc.rollout.n_samples_per_prompt
        t0 = time.time()
        batch = batch_prompts(self.prompts, step, rc.seed, rc.rollout.batch_size)
        prompts, first = self.dist.shard(batch)
        seeds = [sample_seed(rc.seed, step, (first + i) * n + j) for i in range(len(prompts)) for j in range(n)]
        run.progress("rollout", 0, rc.rollout.batch_size * n, step=step)
        rollout = self.generate([p.text for p in prompts], n, seeds)
        t_gen = time.time()

        run.progress("reward", 0, rc.rollout.batch_size * n, step=step)
        labels = [p.label for p in prompts for _ in range(n)]
        ptexts, responses, queries = decode(self.tokenizer, rollout.sequences, rollout.attention_mask, rollout.prompt_length)
        items = [RewardItem(prompt=pt, response=r, label=lab, query=q, metadata=self.reward_metadata(prompts[k // n], first * n + k))
                 for k, (pt, r, lab, q) in enumerate(zip(ptexts, responses, labels, queries))]
        scored = self.rewards.score(items, on_source=lambda name, k, m: self.watch.tick(
            "reward", 0, len(items), step, f"waiting for reward source {name} ({k + 1} of {m})"))
        scores = torch.tensor(scored.total, dtype=torch.float32, device=self.device)
        t_rew = time.time()

        exp, mismatch = self.experience.make(rollout, scores)
        exp = self.experience.gather(exp)
        parts = self.dist.gather_objects((ptexts, responses, labels, scored))
        ptexts, responses, labels = (sum((list(part[i]) for part in parts), []) for i in range(3))
        scored = merge_scored([part[3] for part in parts])
        t_exp = time.time()

        stats = self.update(exp)
        if mismatch is not None:
            total, tokens = self.dist.all_sum(mismatch).tolist()
            stats["logprob_mismatch"] = total / max(tokens, 1)
        t_train = time.time()
        self.watch.extra = {"nonfinite_grads": int(stats.pop("nonfinite_grad_steps", 0)), **watched_samples(exp, n)}
        values = experience_metrics(exp, scored, stats, rc, [src.name for src, _ in self.rewards.sources], self.device)
        values.update({"rollout_s": t_gen - t0, "reward_s": t_rew - t_gen, "experience_s": t_exp - t_rew,
                       "train_s": t_train - t_exp, "step_s": t_train - t0,
                       "tokens_per_s": values.pop("generated_tokens") / max(t_gen - t0, 1e-9)})
        if self.compile_s is not None:  # the engine's one-off warm-up, in the first step this process runs
            values["compile_s"], self.compile_s = self.compile_s, None
        self.samples_seen += exp.rewards.shape[0]
        decoded = training_samples(exp, ptexts, responses, labels, scored, batch, n)
        write_training_samples(run, self.tokenizer, step, exp, decoded, rc.logging.samples_per_step)
        return values

    def reward_metadata(self, prompt, index: int) -> dict:
        """What reward sources get beside the text: the sample's index, and the prompt's chat messages when it is a
        list of them (a reward_model source reads those through its own chat template)."""
        raw = prompt.raw.get(self.rc.data.prompt_key)
        return {"index": index, **({"messages": raw} if isinstance(raw, list) else {})}

    def update(self, exp) -> dict:
        """PPO-clip updates on the global batch (update.py)."""
        return update_policy(self, exp)

    # ---- eval ------------------------------------------------------------------------------
    def evaluate(self, step: int):
        """On rank 0 only (the other ranks wait at the next step's first collective). With fsdp2 every rank
        first takes part in gathering the policy's parameters, so rank 0's generation needs no collective."""
        if not self.eval_prompts:
            return
        with self.dist.gathered(self.policy):
            if not self.dist.is_main:
                return
            values = evaluate(step, self.rc, self.eval_prompts, self.generate, self.tokenizer, self.rewards, self.run)
        self.watch.eval_done(step, values["eval_reward_mean"])
        self.log(f"eval at step {step}: " + ", ".join(f"{k}={v:.3f}" for k, v in values.items()))

    # ---- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, reason: str) -> Path | None:
        """Rank 0 writes the one consolidated checkpoint (every rank holds the same weights and optimizer
        state); the others wait for it, so a stop never ends a rank before the checkpoint is whole."""
        whole = consolidated(self.dist, self.policy, self.optimizer, self.critic, self.critic_opt)  # fsdp2: all ranks
        final = self.write_checkpoint(reason, whole) if self.dist.is_main else None
        self.dist.barrier()
        return final

    def write_checkpoint(self, reason: str, whole: dict | None = None) -> Path:
        run = self.run
        run.progress("checkpoint", 0, 1, step=self.step)
        tmp = run.begin_checkpoint(self.step)
        self.policy.save_pretrained(tmp, state_dict=(whole or {}).get("model"), safe_serialization=True)
        self.tokenizer.save_pretrained(tmp)
        save_state(training_state(self.step, self.samples_seen, self.steps_per_episode, self.rc.rollout.batch_size,
                                  self.optimizer, self.scheduler, self.lr_schedule, self.critic, self.critic_opt,
                                  whole=whole, reference_path=self.reference_path, version=__version__), tmp)
        write_resume_info(tmp, self.cfg, self.prompts_digest)
        if reason == "requested":  # asked for by a person (Save Checkpoint Now, rlhf save): never pruned
            (tmp / KEEP).write_text("saved on request: never pruned (Allow Pruning in the Checkpoints view lifts it)\n")
        final = run.commit_checkpoint(tmp, self.step)
        run.prune_checkpoints(self.rc.checkpoint.keep_last)
        run.emit("checkpoint", step=self.step, path=str(final), reason=reason)
        run.set_status(last_checkpoint=str(final))
        run.progress("checkpoint", 1, 1, step=self.step)
        return final

    # ---- main loop -------------------------------------------------------------------------
    def fit(self) -> str:
        run = self.run
        self.watch.start()
        run.set_status(state="running", step=self.step, total_steps=self.total_steps)
        if self.step == 0:
            self.evaluate(0)
        last_saved = -1
        every = self.rc.checkpoint.every_steps
        stop, save = self.control_flags()
        while self.step < self.total_steps:
            if stop:
                break
            step = self.step + 1
            values = self.train_step(step)
            self.step = step
            run.emit("metrics", step=step, samples_seen=self.samples_seen, total_steps=self.total_steps, values=values)
            run.set_status(step=step, reward_mean=values["reward_mean"])
            self.watch.step_done(step, values, has_kl=self.ref is not None)
            if self.dist.is_main:
                print(f"step {step}/{self.total_steps} reward {values['reward_mean']:.3f} kl {values['kl']:.4f} "
                      f"loss {values['policy_loss']:.4f} {values['step_s']:.2f}s", flush=True)
            if self.step % self.rc.eval.every_steps == 0 and self.step < self.total_steps:
                self.evaluate(self.step)
            stop, save = self.control_flags()
            if (every and self.step % every == 0) or save:
                self.control.save.clear()
                self.save_checkpoint("periodic" if every and self.step % every == 0 else "requested")
                last_saved = self.step
        stopped = stop and self.step < self.total_steps
        if not stopped:
            self.evaluate(self.step)
        if last_saved != self.step:
            run.set_status(state="stopping" if stopped else "running")
            self.save_checkpoint("stop" if stopped else "final")
        return "stopped" if stopped else "completed"

    def control_flags(self) -> tuple[bool, bool]:
        """(stop, save) as rank 0 received them (stdin and signals), the same decision on every rank."""
        return self.dist.broadcast_flags(self.control.stop.is_set(), self.control.save.is_set())

    def close(self):
        self.watch.close()
        if hasattr(self, "rewards"):
            self.rewards.close()
        self.dist.close()
