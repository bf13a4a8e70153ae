"""The training loop: rollout -> reward -> experience (log-probs, KL, advantages) -> PPO-clip updates.

One global step = one rollout batch of ``rollout.batch_size`` prompts x ``n_samples_per_prompt``.
The math is in algorithms.py; this module moves tensors between models, files and the event stream.
"""

from __future__ import annotations

import math
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__
from . import algorithms as A
from .checkpoint import (KEEP, consolidated, load_state, restore_training_state, save_state, set_rng_state,
                         training_state)
from .config import locator
from .control import Control
from .data import Prompt, check_prompt_files, load_prompts
from .distributed import Dist, pad_columns
from .experience import Experience
from .lora import ReferenceView, load_policy
from .preflight import load_tokenizer, prompt_token_lengths
from .resume import write_resume_info
from .rewards import RewardHub, RewardItem, Scored
from .runconfig import RunConfig
from .runfolder import RunFolder
from .rollout import Settings, make_engine, own_generation_defaults
from .sampling import sample_seed
from .signals import SignalWatch, StallWatch, StepNumbers
from .update import autocast_for, cpu_has_native_bf16, mixed_precision, response_logprobs
from .update import update as update_policy
from .watchdog import Watchdog, Webhook


# --------------------------------------------------------------------------------------------
# Model helpers
# --------------------------------------------------------------------------------------------

def pick_device(cfg: dict) -> torch.device:
    want = cfg["device"]
    if want == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but torch sees no CUDA device; set device: auto or cpu")
    return torch.device("cuda" if want in ("auto", "cuda") and torch.cuda.is_available() else "cpu")


class Critic(torch.nn.Module):
    """Value model for the ppo baseline: the policy's backbone with a scalar head."""

    def __init__(self, causal_lm):
        super().__init__()
        self.lm = causal_lm
        self.head = torch.nn.Linear(causal_lm.config.hidden_size, 1)
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, ids, attn, prompt_len: int, autocast: bool):
        pos = (attn.cumsum(-1) - 1).clamp(min=0)
        with mixed_precision(autocast):
            # the backbone's last hidden state (after the final norm), without the LM head's vocab logits
            h = self.lm.base_model(input_ids=ids, attention_mask=attn, position_ids=pos).last_hidden_state
        return self.head(h[:, prompt_len - 1: -1].float()).squeeze(-1)


LR_SCHEDULE = "cosine_with_min_lr"  # transformers' schedule, as OpenRLHF uses it
LEGACY_LR_SCHEDULE = "legacy_cosine"  # checkpoints written before LR_SCHEDULE keep theirs when resumed


def make_scheduler(optimizer, total: int, warmup_ratio: float, min_ratio: float, kind: str = LR_SCHEDULE):
    """Linear warmup over ceil(total x warmup_ratio) optimizer steps (OpenRLHF's
    math.ceil(max_steps * lr_warmup_ratio)), then cosine down to lr x min_ratio at `total`."""
    warm = math.ceil(warmup_ratio * total)
    if kind == LEGACY_LR_SCHEDULE:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, legacy_lr_lambda(total, warm, min_ratio))
    from transformers import get_cosine_with_min_lr_schedule_with_warmup
    return get_cosine_with_min_lr_schedule_with_warmup(optimizer, warm, total, min_lr_rate=min_ratio)


def legacy_lr_lambda(total: int, warm: int, min_ratio: float):
    """The schedule before LR_SCHEDULE: its warmup ran one step ahead (lr x 1/warm at the first step)."""
    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min((step - warm) / max(1, total - warm), 1.0)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return f


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------


def sample_record(scored: Scored, i: int, *, index: int, ptext: str, response: str, label, reward: float, length: int,
                  truncated: bool, group: int, sample_in_group: int, prompt: Prompt) -> dict:
    """One response as samples.jsonl and eval_samples.jsonl record it (schemas/sample.schema.json), before
    the per-token arrays (training) or the greedy flag (eval); `scored` row i holds its rewards per source."""
    item = {"index": index, "prompt": ptext, "response": response, "label": label, "reward": reward,
            "rewards": scored.per_source[i], "response_length": length, "truncated": truncated, "group": group,
            "sample_in_group": sample_in_group, "source": {"file": prompt.file, "line": prompt.line}}
    if scored.errors[i]:
        item["reward_errors"] = scored.errors[i]
    return item


class Trainer:
    def __init__(self, cfg: dict, run: RunFolder, resume: str | None = None, control: Control | None = None,
                 prompt_rows: dict | None = None):
        self.cfg, self.run, self.control = cfg, run, control or Control()
        self.rc = RunConfig.from_dict(cfg)  # typed view; the dict is what the run folder records
        self.prompt_rows = prompt_rows
        self.resume = Path(resume) if resume else None
        self.dist = Dist.from_env()
        sig = self.rc.signals
        self.signals = SignalWatch(sig, grouped=self.rc.algorithm.estimator in A.GROUPED_ESTIMATORS) if sig.enabled else None
        # rank 0 only: the stall watchdog's thread (started by fit) and the alert webhook
        self.watchdog = Watchdog(StallWatch(sig), self.raise_alerts) if sig.enabled and sig.stall_factor and self.dist.is_main else None
        self.webhook = None
        self.watch_extra: dict = {}  # the last step's sample indices and non-finite gradient count, for the watch
        self._rollout_emitted = 0.0

    def log(self, msg: str, level: str = "info"):
        if self.dist.is_main:  # one copy of every message, not one per rank
            self.run.log(msg, level)
            print(f"[{level}] {msg}", flush=True)

    # ---- setup ---------------------------------------------------------------------------
    def setup(self):
        from transformers import AutoModelForCausalLM

        cfg, run = self.cfg, self.run
        if self.signals and self.dist.is_main:
            self.webhook = Webhook.from_env(self.rc.signals.notify.webhook_env, self.rc.name,
                                            lambda msg: self.log(msg, "warning"))
        if self.watchdog:
            run.on_progress = self.watchdog.touch
        seed = self.rc.seed
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        self.device = self.dist.device(pick_device(cfg))
        from .rollout import resolve_engine
        resolve_engine(self.rc.rollout.engine, self.device)  # fails in one line before any model is loaded
        self.dist.init(self.device)
        self.autocast = autocast_for(self.rc.precision, self.device)  # 'cuda' / 'cpu' (bf16 autocast) or False
        self.fused_adam = self.device.type == "cuda"
        mcfg = self.rc.model
        policy_path = mcfg.policy
        if mcfg.create_if_missing and not Path(policy_path).exists() and self.dist.is_main:
            from .bootstrap import create_model
            self.log(f"building the embedded model at {policy_path} (supervised warm start, about a minute on CPU)")
            create_model(mcfg.create_if_missing, policy_path, on_progress=lambda s, n, loss: run.progress(
                "prepare", s, n, message=f"warm start loss {loss:.3f}"))
        self.dist.barrier()  # the other ranks load the model rank 0 built
        self.reference_path = mcfg.reference or policy_path
        state = None
        load_from = policy_path
        if self.resume:
            state = load_state(self.resume)
            self.reference_path = state.get("reference_path", self.reference_path)
            load_from = str(self.resume)

        run.progress("load", 0, 3, message=f"loading tokenizer and policy from {load_from}")
        kw = {"trust_remote_code": mcfg.trust_remote_code}
        self.tokenizer = load_tokenizer(load_from, mcfg.trust_remote_code)
        lora = cfg["model"]["lora"]
        self.policy = load_policy(load_from, policy_path, lora, **kw).to(self.device)
        if mcfg.gradient_checkpointing and self.device.type == "cuda":
            self.policy.gradient_checkpointing_enable()
        self.policy.config.use_cache = True
        run.progress("load", 1, 3, message="loading reference model")
        self.kl_coef = self.rc.algorithm.kl.coef
        self.ref = None
        if self.kl_coef > 0 and lora and not mcfg.reference:
            self.ref = ReferenceView(self.policy)  # the initial policy is the base: the adapters off, no copy
        elif self.kl_coef > 0:
            self.ref = AutoModelForCausalLM.from_pretrained(self.reference_path, dtype=torch.float32, **kw).to(self.device)
            self.ref.eval().requires_grad_(False)
        self.critic, self.critic_opt = None, None
        if self.rc.algorithm.estimator == "ppo":
            self.critic = Critic(AutoModelForCausalLM.from_pretrained(policy_path, dtype=torch.float32, **kw)).to(self.device)

        run.progress("load", 2, 3, message="loading prompts and reward sources")
        rows = self.prompt_rows or check_prompt_files(cfg, locator(cfg))
        self.prompts_digest = rows["train"].digest
        self.prompts = load_prompts(rows["train"], cfg, self.tokenizer)
        self.eval_prompts = load_prompts(rows["eval"], cfg, self.tokenizer) if "eval" in rows else []
        self.warn_truncated_prompts()
        self.warn_off_policy_sampling()
        self.hint_cpu_bf16()
        self.warn_forced_gamma()
        self.warn_deprecated_logging()
        self.rewards = RewardHub(cfg, self.device)

        roll, tr = self.rc.rollout, self.rc.train
        self.steps_per_episode = len(self.prompts) // roll.batch_size  # >= 1: checked by preflight
        self.total_steps = self.steps_per_episode * tr.num_episodes
        if tr.max_steps:
            self.total_steps = min(self.total_steps, tr.max_steps)
        # as update() counts them: whole train batches per epoch (config.py makes the division exact)
        samples = roll.batch_size * roll.n_samples_per_prompt
        self.opt_steps_per_global = samples // tr.batch_size * tr.max_epochs
        self.dist.check_divisible("rollout.batch_size", roll.batch_size)
        self.dist.check_divisible("train.batch_size", tr.batch_size)
        self.reuse_generation_logprobs = self.opt_steps_per_global == 1 and not has_dropout(self.policy)
        total_opt = self.total_steps * self.opt_steps_per_global
        # what the training forward/backward goes through (DDP with N ranks: self.policy stays the raw model;
        # fsdp2: self.policy itself, sharded in place). Before the optimizers: fsdp2 replaces the parameters
        self.train_policy = self.dist.wrap(self.policy, tr.strategy)
        self.train_critic = self.dist.wrap(self.critic, tr.strategy, find_unused=True) if self.critic else None
        # fused AdamW on CUDA: one kernel for all parameters instead of a loop of small ones
        self.optimizer = torch.optim.AdamW(self.policy.parameters(), lr=tr.lr, betas=tuple(tr.adam_betas),
                                           eps=1e-8, weight_decay=tr.weight_decay, fused=self.fused_adam)
        self.lr_schedule = state.get("lr_schedule", LEGACY_LR_SCHEDULE) if state is not None else LR_SCHEDULE
        self.scheduler = make_scheduler(self.optimizer, total_opt, tr.warmup_ratio, tr.min_lr_ratio,
                                        self.lr_schedule)
        if self.critic is not None:
            self.critic_opt = torch.optim.AdamW(self.critic.parameters(), lr=tr.critic_lr, betas=(0.9, 0.95))

        self.step = 0
        self.samples_seen = 0
        if state is not None:
            self.step, self.samples_seen = restore_training_state(state, self.optimizer, self.scheduler, self.critic,
                                                                  self.critic_opt, self.dist)
            self.apply_optimizer_config()
            set_rng_state(state["rng"])  # last: nothing after it may draw from a generator before step 1
        self.make_rollout_engine()
        run.progress("load", 3, 3, message="ready")

    def make_rollout_engine(self):
        """rollout.engine's engine over the policy, its one-off warm-up (compilation) paid here, before step 1,
        and reported as compile_s in step 1's metrics."""
        roll = self.rc.rollout
        settings = Settings(max_new_tokens=roll.max_new_tokens, temperature=roll.temperature, top_p=roll.top_p,
                            top_k=roll.top_k, max_prompt_tokens=self.rc.data.max_prompt_tokens, autocast=self.autocast)
        self.engine = make_engine(roll.engine, self.policy, self.tokenizer, self.device, settings, self.dist.sharded)
        self.engine.on_token = self.on_token if self.watchdog else None
        self.run.progress("load", 2, 3, message=f"rollout engine {self.engine.name}: warming up")
        with self.dist.gathered(self.policy):
            self.compile_s = self.engine.warm_up([p.text for p in self.prompts[:roll.batch_size]])

    def apply_optimizer_config(self):
        """After restoring optimizer and scheduler state, the config's hyperparameters hold (a changed
        lr, betas, weight decay or schedule length is applied, never kept from the checkpoint)."""
        tr = self.rc.train
        groups = self.optimizer.param_groups
        for g in groups:
            g.update(betas=tuple(tr.adam_betas), weight_decay=tr.weight_decay, initial_lr=tr.lr, fused=self.fused_adam)
        sched = self.scheduler
        sched.base_lrs = [tr.lr] * len(groups)
        for g, base, lam in zip(groups, sched.base_lrs, sched.lr_lambdas):
            g["lr"] = base * lam(sched.last_epoch)  # the lr of the next optimizer step, on the current schedule
        sched._last_lr = [g["lr"] for g in groups]
        if self.critic is not None:
            for g in self.critic_opt.param_groups:
                g["lr"] = tr.critic_lr

    def warn_truncated_prompts(self):
        limit = self.rc.data.max_prompt_tokens
        for name, prompts in (("training", self.prompts), ("eval", self.eval_prompts)):
            lengths = prompt_token_lengths([p.text for p in prompts], self.tokenizer) if prompts else []
            cut = sum(n > limit for n in lengths)
            if cut:
                self.log(f"{cut} of {len(lengths)} {name} prompts are longer than data.max_prompt_tokens {limit} "
                         f"(longest {max(lengths)} tokens) and are cut from the left: their beginning is dropped, "
                         "the end next to the response is kept", "warning")

    def warn_forced_gamma(self):
        algo = self.rc.algorithm
        if algo.estimator in A.GROUPED_ESTIMATORS and algo.gamma != 1:
            self.log(f"algorithm.gamma {algo.gamma} is not used: estimator {algo.estimator} compares the "
                     "undiscounted returns of samples of one prompt, so gamma is forced to 1; remove algorithm.gamma "
                     "or use estimator reinforce_pp or ppo for a discounted return", "warning")

    def warn_deprecated_logging(self):
        if self.rc.logging.token_details_share is not None:
            self.log(f"logging.token_details_share {self.rc.logging.token_details_share} is deprecated and ignored: "
                     "every recorded sample now carries its per-token data; remove the key, and bound "
                     "samples.jsonl with logging.samples_per_step", "warning")

    def hint_cpu_bf16(self):
        """precision auto on a CPU with hardware bf16 and a model big enough for matmuls to dominate: say that
        precision: bf16 would be faster (docs/benchmarks.md measures it)."""
        params = sum(p.numel() for p in self.policy.parameters())
        if (self.rc.precision == "auto" and self.device.type == "cpu" and params >= 10_000_000
                and cpu_has_native_bf16()):
            self.log("this CPU multiplies bf16 in hardware (AMX / AVX512-BF16) and the run is in fp32: "
                     "precision: bf16 (bf16 autocast, rollouts from a bf16 copy) trains about 1.5-2x faster here; "
                     "set precision: fp32 to keep fp32 and silence this note")

    def warn_off_policy_sampling(self):
        roll = self.rc.rollout
        truncating = [f"{k} {getattr(roll, k)}" for k in ("top_p", "top_k")
                      if getattr(roll, k) and (k == "top_k" or getattr(roll, k) < 1)]
        if truncating:
            self.log(f"rollout.{' and rollout.'.join(truncating)} sample from a truncated distribution, while pi_old "
                     f"and the loss use the full softmax at temperature {roll.temperature}: estimator "
                     f"{self.rc.algorithm.estimator} assumes on-policy samples, so the importance ratio is "
                     "biased; set top_p: 1.0 and top_k: null to train on-policy", "warning")

    # ---- data order ------------------------------------------------------------------------
    def batch_prompts(self, step: int) -> list[Prompt]:
        """Prompts of global step `step` (1-based): a seeded permutation per episode, no state needed."""
        episode, pos = divmod(step - 1, self.steps_per_episode)
        g = torch.Generator().manual_seed(self.rc.seed * 1000 + episode)
        perm = torch.randperm(len(self.prompts), generator=g)
        b = self.rc.rollout.batch_size
        return [self.prompts[i] for i in perm[pos * b:(pos + 1) * b].tolist()]

    # ---- rollout ---------------------------------------------------------------------------
    def generate(self, texts: list[str], n: int, seeds: list[int] | None = None) -> tuple:
        """n samples of each text through the rollout engine (rollout.py), row k drawn with noise key seeds[k]
        (sampling.py); greedy without seeds. Returns (sequences, attention mask, P, response mask, truncated,
        log pi of the response tokens); self.last_rollout keeps the whole Rollout (entropy included)."""
        with self.dist.gathered(self.policy):
            self.last_rollout = self.engine.generate(texts, n, seeds)
        return self.last_rollout.as_tuple()

    def generation_config(self, greedy: bool = False):
        """Every sampling parameter from the config; what is not in it is off, so the samples come from
        softmax(logits / temperature), the distribution pi_old and the loss are computed from."""
        from transformers import GenerationConfig
        roll, tok = self.rc.rollout, self.tokenizer
        sampling = {} if greedy else {"temperature": roll.temperature, "top_p": roll.top_p,
                                      "top_k": roll.top_k or 0}  # 0 = off; None would become 50
        return GenerationConfig(do_sample=not greedy, max_new_tokens=roll.max_new_tokens,
                                pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, **sampling)

    def own_generation_defaults(self):
        return own_generation_defaults(self.policy)

    def logits_processors(self, greedy: bool = False) -> list[str]:
        """Names of the logits processors and warpers generate() applies (for run_started and tests)."""
        with self.own_generation_defaults():
            gen, _ = self.policy._prepare_generation_config(self.generation_config(greedy))
            return [type(p).__name__ for p in self.policy._get_logits_processor(gen, input_ids_seq_length=1)]

    def decode(self, full, attn, P, mask):
        tok = self.tokenizer
        rows, keep = full.cpu().tolist(), attn.bool().cpu().tolist()
        p_ids = [[t for t, k in zip(r[:P], m[:P]) if k] for r, m in zip(rows, keep)]
        r_ids = [[t for t, k in zip(r[P:], m[P:]) if k] for r, m in zip(rows, keep)]
        prompts = tok.batch_decode(p_ids, skip_special_tokens=True)
        responses = tok.batch_decode(r_ids, skip_special_tokens=True)
        queries = tok.batch_decode([p + r for p, r in zip(p_ids, r_ids)], skip_special_tokens=False)
        return prompts, responses, queries

    @torch.no_grad()
    def batched_logprobs(self, model, full, attn, P, with_entropy: bool = False):
        """(log pi of the response tokens, their entropy or None): the entropy comes from the same logits."""
        mb = self.rc.rollout.micro_batch_size
        temp = self.rc.rollout.temperature
        with self.dist.gathered(model):
            outs = [response_logprobs(model, full[i:i + mb], attn[i:i + mb], P, temp, self.autocast,
                                      entropy="metric" if with_entropy else "no")
                    for i in range(0, full.shape[0], mb)]
        ent = torch.cat([o[1] for o in outs]).float() if with_entropy else None
        return torch.cat([o[0] for o in outs]).float(), ent

    # ---- one global step -------------------------------------------------------------------
    def train_step(self, step: int) -> dict:
        """Rollout, reward and experience on this rank's share of the step's prompts; the update and the
        metrics on the global batch (the same numbers for any number of ranks)."""
        run = self.run
        roll, algo = self.rc.rollout, self.rc.algorithm
        n = roll.n_samples_per_prompt
        t0 = time.time()
        batch = self.batch_prompts(step)
        prompts, first = self.dist.shard(batch)
        seeds = [sample_seed(self.rc.seed, step, (first + i) * n + j) for i in range(len(prompts)) for j in range(n)]
        run.progress("rollout", 0, roll.batch_size * n, step=step)
        # pi_old's entropy per token, for samples.jsonl: from the generation pass when its log-probs are pi_old,
        # else from the recomputing forward below; never an extra forward
        full, attn, P, mask, truncated, gen_lp = self.generate([p.text for p in prompts], n, seeds)
        maskf = mask.float()
        t_gen = time.time()

        run.progress("reward", 0, roll.batch_size * n, step=step)
        labels = [p.label for p in prompts for _ in range(n)]
        ptexts, responses, queries = self.decode(full, attn, P, mask)
        items = [RewardItem(prompt=pt, response=r, label=lab, query=q, metadata=self.reward_metadata(prompts[k // n], first * n + k))
                 for k, (pt, r, lab, q) in enumerate(zip(ptexts, responses, labels, queries))]
        scored = self.rewards.score(items, on_source=lambda name, k, m: self.tick(
            "reward", 0, len(items), step, f"waiting for reward source {name} ({k + 1} of {m})"))
        scores = torch.tensor(scored.total, dtype=torch.float32, device=self.device)
        t_rew = time.time()

        # experience: pi_old, pi_ref, KL, advantages. pi_old is what generation recorded when the policy
        # takes one optimizer step per rollout (it has not changed since), else recomputed by the training model
        if self.reuse_generation_logprobs:
            old_lp, entropy = gen_lp.float() * maskf, self.last_rollout.entropy * maskf
        else:
            old_lp, entropy = self.batched_logprobs(self.policy, full, attn, P, with_entropy=True)
            old_lp, entropy = old_lp * maskf, entropy * maskf
            # the sampler's log-probs vs the training model's pi_old (update.py compares them when pi_old is the sampler's)
            mismatch = torch.stack([A.masked_sum((gen_lp - old_lp).abs(), maskf), maskf.sum()]).double()
        ref_lp = self.batched_logprobs(self.ref, full, attn, P)[0] * maskf if self.ref is not None else None
        values = None
        if self.critic is not None:
            with torch.no_grad():
                values = self.critic(full, attn, P, self.autocast).float() * maskf
        kl_cfg = algo.kl
        adv = A.compute_advantages(
            algo.estimator, scores, old_lp, ref_lp, maskf, n_samples_per_prompt=n,
            kl_coef=self.kl_coef, kl_estimator=kl_cfg.estimator, kl_in_reward=kl_cfg.mode == "reward",
            gamma=algo.gamma, lambd=algo.lambd, reward_clip=tuple(algo.reward_clip),
            std_norm=algo.std_norm, values=values, reduce=self.dist.all_sum if self.dist.enabled else None)
        exp = self.gather_experience(Experience(
            sequences=full, attention_mask=attn, action_mask=maskf, prompt_length=P, action_log_probs=old_lp,
            base_action_log_probs=ref_lp, values=values, advantages=adv.advantages, returns=adv.returns,
            token_rewards=adv.token_rewards, kl=adv.kl, rewards=scores, truncated=truncated, entropy=entropy))
        parts = self.dist.gather_objects((ptexts, responses, labels, scored))
        ptexts, responses, labels = (sum((list(part[i]) for part in parts), []) for i in range(3))
        scored = merge_scored([part[3] for part in parts])
        t_exp = time.time()

        # updates
        stats = self.update(exp)
        if not self.reuse_generation_logprobs:
            total, tokens = self.dist.all_sum(mismatch).tolist()
            stats["logprob_mismatch"] = total / max(tokens, 1)
        t_train = time.time()
        self.watch_extra = {"nonfinite_grads": int(stats.pop("nonfinite_grad_steps", 0)), **watched_samples(exp, n)}
        values_out = self.step_metrics(exp, scored, stats)
        values_out.update({"rollout_s": t_gen - t0, "reward_s": t_rew - t_gen, "experience_s": t_exp - t_rew,
                           "train_s": t_train - t_exp, "step_s": t_train - t0,
                           "tokens_per_s": values_out.pop("generated_tokens") / max(t_gen - t0, 1e-9)})
        if self.compile_s is not None:  # the engine's one-off warm-up, in the first step this process runs
            values_out["compile_s"], self.compile_s = self.compile_s, None
        self.samples_seen += exp.rewards.shape[0]
        self.log_samples(step, exp, batch, ptexts, responses, labels, scored)
        return values_out

    def reward_metadata(self, prompt: Prompt, index: int) -> dict:
        """What reward sources get beside the text: the sample's index, and the prompt's chat messages when it is a
        list of them (a reward_model source reads those through its own chat template)."""
        raw = prompt.raw.get(self.rc.data.prompt_key)
        return {"index": index, **({"messages": raw} if isinstance(raw, list) else {})}

    def gather_experience(self, e: Experience) -> Experience:
        """Every rank's experience, padded to a common prompt and response width, in rank order."""
        d = self.dist
        if not d.enabled:
            return e
        P, R = e.prompt_length, e.action_mask.shape[1]
        left, right = d.all_max(P) - P, d.all_max(R) - R
        pad_id = self.tokenizer.pad_token_id

        def seq(t, value):
            return d.gather_rows(torch.cat([pad_columns(t[:, :P], left, 0, value), pad_columns(t[:, P:], 0, right, value)], 1))

        def resp(t):
            return d.gather_rows(pad_columns(t, 0, right))

        return Experience(sequences=seq(e.sequences, pad_id), attention_mask=seq(e.attention_mask, 0),
                          action_mask=resp(e.action_mask), prompt_length=P + left,
                          action_log_probs=resp(e.action_log_probs), base_action_log_probs=resp(e.base_action_log_probs),
                          values=resp(e.values), advantages=resp(e.advantages), returns=resp(e.returns),
                          token_rewards=resp(e.token_rewards), kl=resp(e.kl), rewards=d.gather_rows(e.rewards),
                          truncated=d.gather_rows(e.truncated.to(torch.uint8)).bool(), entropy=resp(e.entropy))

    def step_metrics(self, exp: Experience, scored, stats: dict) -> dict:
        maskf, old_lp, ref_lp, scores = exp.action_mask, exp.action_log_probs, exp.base_action_log_probs, exp.rewards
        B, P, n = scores.shape[0], exp.prompt_length, self.rc.rollout.n_samples_per_prompt
        kl_cfg = self.rc.algorithm.kl
        resp_len = maskf.sum(-1)
        prompt_len = exp.attention_mask[:, :P].float().sum(-1)
        kl_seq = A.masked_mean(exp.kl, maskf, -1)  # the KL that went into the reward (kl.mode: reward)
        diff_seq = A.masked_mean(old_lp - ref_lp, maskf, -1) if ref_lp is not None else torch.zeros(B)
        values_out = {
            "reward_mean": float(scores.mean()), "reward_std": float(scores.std()) if B > 1 else 0.0,
            "return_mean": float(A.masked_sum(exp.token_rewards, maskf, -1).mean()),
            "kl": stats.pop("kl_loss") if kl_cfg.mode == "loss" else float(kl_seq.mean()),
            "logprobs_diff": float(diff_seq.mean()), "kl_coef": self.kl_coef,
            "response_length_mean": float(resp_len.mean()), "response_length_max": float(resp_len.max()),
            "total_length_mean": float((resp_len + prompt_len).mean()),
            "truncated_rate": float(exp.truncated.float().mean()),
            "advantage_abs_mean": float(A.masked_mean(exp.advantages.abs(), maskf)),
            "reward_error_rate": sum(1 for e in scored.errors if e) / B,
            "generated_tokens": float(resp_len.sum()),
            "peak_memory_mb": peak_memory_mb(self.device),
            **stats,
        }
        if n > 1:
            g = scores.reshape(-1, n)
            values_out["group_reward_std"] = float(g.std(dim=1).mean())
            values_out["zero_std_group_frac"] = float((g.std(dim=1) == 0).float().mean())
        for name in self.rewards_names():
            values_out[f"reward/{name}"] = float(np.mean([s[name] for s in scored.per_source]))
        for key, vals in scored.extra.items():
            finite = [v for v in vals if v == v]
            if finite:
                values_out[f"reward/{key}"] = float(np.mean(finite))
        return values_out

    def rewards_names(self):
        return [src.name for src, _ in self.rewards.sources]

    def update(self, exp: Experience) -> dict:
        """PPO-clip updates on the global batch (update.py)."""
        return update_policy(self, exp)

    # ---- samples ---------------------------------------------------------------------------
    def log_samples(self, step: int, exp: Experience, batch: list[Prompt], ptexts, responses, labels, scored):
        """samples.jsonl: the step's first logging.samples_per_step samples (None: every one) of the global
        rollout, all ranks' (gathered), each with its group, dataset line and per-token data. Sample k is
        sample k % n of prompt batch[k // n]: the gathers put the ranks' samples back in global order."""
        per_step = self.rc.logging.samples_per_step
        k = len(responses) if per_step is None else min(per_step, len(responses))
        if k == 0:
            return
        n, P = self.rc.rollout.n_samples_per_prompt, exp.prompt_length
        lengths = exp.action_mask[:k].sum(-1).long().tolist()
        ids = exp.sequences[:k, P:].tolist()
        # one batched decode of every token of every sample (a decode call per token costs more than the step's I/O)
        flat = self.tokenizer.batch_decode([[t] for i in range(k) for t in ids[i][:lengths[i]]])
        per_token = {"logprobs": (exp.action_log_probs, 5), "ref_logprobs": (exp.base_action_log_probs, 5),
                     "kl": (exp.kl, 6), "advantages": (exp.advantages, 5), "entropy": (exp.entropy, 4)}
        arrays = {key: t[:k].tolist() for key, (t, _) in per_token.items() if t is not None}
        items, at = [], 0
        for i in range(k):
            L, prompt = lengths[i], batch[i // n]
            item = sample_record(scored, i, index=i, ptext=ptexts[i], response=responses[i], label=labels[i],
                                 reward=float(exp.rewards[i]), length=L, truncated=bool(exp.truncated[i]),
                                 group=i // n, sample_in_group=i % n, prompt=prompt)
            item["tokens"] = flat[at:at + L]
            at += L
            for key, rows in arrays.items():
                item[key] = [round(x, per_token[key][1]) for x in rows[i][:L]]
            items.append(item)
        self.run.write_samples(step, items)
        # the event is the dashboard's "latest samples" table: a few, without per-token data (the sample
        # browser reads samples.jsonl; a copy of everything here would double the run's disk use)
        light = [{key: v for key, v in item.items() if key not in per_token and key != "tokens"}
                 for item in items[:SAMPLES_EVENT_ITEMS]]
        self.run.emit("samples", step=step, items=light)

    # ---- eval ------------------------------------------------------------------------------
    def evaluate(self, step: int):
        """On rank 0 only (the other ranks wait at the next step's first collective). With fsdp2 every rank
        first takes part in gathering the policy's parameters, so rank 0's generation needs no collective."""
        if not self.eval_prompts:
            return
        with self.dist.gathered(self.policy):
            if self.dist.is_main:
                self.evaluate_on_main(step)

    def evaluate_on_main(self, step: int):
        ecfg = self.rc.eval
        texts = [p.text for p in self.eval_prompts]
        labels = [p.label for p in self.eval_prompts]
        self.run.progress("eval", 0, len(texts), step=step)
        mb = self.rc.rollout.micro_batch_size
        recorded: list[dict] = []  # eval_samples.jsonl: the editor shows them on the eval set's lines

        def score(n, greedy):
            rewards = []
            for s in range(0, len(texts), mb):
                # eval samples have their own seeds (seed + 7): evaluating never moves the training samples
                seeds = None if greedy else [sample_seed(self.rc.seed + 7, step, s * n + k)
                                             for k in range(min(mb, len(texts) - s) * n)]
                full, attn, P, mask, truncated, _ = self.generate(texts[s:s + mb], n, seeds)
                ptexts, responses, queries = self.decode(full, attn, P, mask)
                labs = [lab for lab in labels[s:s + mb] for _ in range(n)]
                items = [RewardItem(pt, r, lab, q) for pt, r, lab, q in zip(ptexts, responses, labs, queries)]
                scored = self.rewards.score(items)
                rewards += scored.total
                recorded.extend(self.eval_records(len(recorded), s, n, greedy, ptexts, responses, labs,
                                                  mask.sum(-1).tolist(), truncated.tolist(), scored))
                self.run.progress("eval", min(s + mb, len(texts)), len(texts), step=step)
            return np.array(rewards, dtype=float).reshape(len(texts), n)

        values = {}
        sampled = score(ecfg.k, False)
        values["eval_reward_mean"] = float(sampled.mean())
        binary = bool(np.isin(sampled, [0.0, 1.0]).all())
        if binary:
            values["eval_pass@1"] = float(sampled.mean())
            values[f"eval_pass@{ecfg.k}"] = float(sampled.max(axis=1).mean())
        if ecfg.greedy:
            greedy = score(1, True)
            values["eval_greedy_reward_mean"] = float(greedy.mean())
            if binary and np.isin(greedy, [0.0, 1.0]).all():
                values["eval_greedy_accuracy"] = float(greedy.mean())
        self.run.write_eval_samples(step, recorded)
        values["eval_num_prompts"] = float(len(texts))
        self.run.emit("eval", step=step, values=values)
        if self.signals:
            self.raise_alerts(self.signals.on_eval(step, values["eval_reward_mean"]))
        self.log(f"eval at step {step}: " + ", ".join(f"{k}={v:.3f}" for k, v in values.items()))

    def raise_alerts(self, alerts: list[dict]):
        """signals.py's alerts: an alert event each (the dashboard's banner, VS Code's notification), a warning
        in the log, and a POST to signals.notify's webhook. Called by the stall watchdog's thread too."""
        for a in alerts:
            self.run.emit("alert", **a)  # other ranks' run folder writes go nowhere (runfolder.py)
            self.log(f"{a['kind']}: {a['message']}", "warning")
            if self.webhook is not None:
                self.webhook.post(a)

    def watch_step(self, step: int, values: dict):
        """A finished step's numbers to the watchdogs."""
        if self.watchdog:
            self.watchdog.step_done(step, values["step_s"])
        if not self.signals:
            return
        extra = self.watch_extra

        def num(key):  # a metric the step has (None where it has not), NaN kept: nonfinite looks for it
            v = values.get(key)
            return None if v is None else float(v)
        self.raise_alerts(self.signals.on_step(step, StepNumbers(
            reward=values["reward_mean"], length=values["response_length_mean"], truncated_share=num("truncated_rate"),
            zero_variance_share=num("zero_std_group_frac"), loss=num("policy_loss"), grad_norm=num("grad_norm"),
            nonfinite_grads=extra.get("nonfinite_grads", 0), entropy=num("entropy"),
            kl=num("kl") if self.ref is not None else None,
            truncated=tuple(extra.get("truncated", ())), zero_variance=tuple(extra.get("zero_variance", ())))))

    def tick(self, phase: str, done: float, total: float, step: int | None = None, message: str | None = None):
        """Progress the stall watchdog sees, without an event (a reward source called, a micro-batch done)."""
        if self.watchdog:
            self.watchdog.touch(phase, done, total, step, message)

    def on_token(self, tokens: int, finished: int | None, batch: int):
        """The rollout engine decoded `tokens` positions, `finished` of its `batch` samples have ended (None:
        not counted): progress for the stall watchdog; in a training rollout also a progress event every 2 s."""
        w = self.watchdog
        last = w.last if w else None
        if last is None:
            return
        max_new = self.rc.rollout.max_new_tokens
        who = "rank 0: " if self.dist.enabled else ""
        if last.phase != "rollout" or finished is None:
            w.touch(message=f"{who}token {tokens} of {max_new}")
            return
        message = f"{who}{finished} of {batch} samples finished, token {tokens} of {max_new}"
        now = time.monotonic()
        if now - self._rollout_emitted >= ROLLOUT_PROGRESS_EVERY_S:
            self._rollout_emitted = now
            self.run.progress("rollout", finished, batch, step=last.step, message=message)
        else:
            w.touch("rollout", finished, batch, last.step, message)

    def eval_records(self, first_index: int, first_prompt: int, n: int, greedy: bool, ptexts, responses, labels,
                     lengths, truncated, scored) -> list[dict]:
        """eval_samples.jsonl lines (schemas/eval-sample.schema.json) of one eval micro-batch: samples.jsonl's
        shape without per-token data; `group` is the prompt's position in the eval set, `index` runs on over
        the sampled and then the greedy responses of one eval."""
        out = []
        for i, response in enumerate(responses):
            item = sample_record(scored, i, index=first_index + i, ptext=ptexts[i], response=response, label=labels[i],
                                 reward=float(scored.total[i]), length=int(lengths[i]), truncated=bool(truncated[i]),
                                 group=first_prompt + i // n, sample_in_group=i % n,
                                 prompt=self.eval_prompts[first_prompt + i // n])
            item["greedy"] = greedy
            out.append(item)
        return out

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
        state = training_state(self.step, self.samples_seen, self.steps_per_episode, self.rc.rollout.batch_size,
                               self.optimizer, self.scheduler, self.lr_schedule, self.critic,
                               self.critic_opt, whole=whole, kl_coef=self.kl_coef,
                               reference_path=self.reference_path, version=__version__)
        save_state(state, tmp)
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
        if self.watchdog:
            self.watchdog.start()
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
            self.watch_step(step, values)
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
        stop, save = self.dist.broadcast_flags(self.control.stop.is_set(), self.control.save.is_set())
        return stop, save

    def close(self):
        if self.watchdog:
            self.watchdog.stop()
        if self.webhook is not None:
            self.webhook.close()  # the alerts still queued get a few seconds
        if hasattr(self, "rewards"):
            self.rewards.close()
        self.dist.close()


SAMPLES_EVENT_ITEMS = 16
ROLLOUT_PROGRESS_EVERY_S = 2.0  # a training rollout's progress event (samples finished) at most this often


def watched_samples(exp: Experience, n: int) -> dict:
    """The step's truncated samples and the samples of its zero-variance groups, by index (an alert's link)."""
    out = {"truncated": torch.nonzero(exp.truncated).flatten().tolist()}
    if n > 1:
        groups = exp.rewards.reshape(-1, n)
        flat = torch.nonzero(groups.std(dim=1) == 0).flatten().tolist()
        out["zero_variance"] = [g * n + j for g in flat for j in range(n)]
    return out


def has_dropout(model) -> bool:
    """Whether the model's config turns on any dropout (then train-mode log-probs differ from eval-mode ones)."""
    return any(isinstance(v, float) and v > 0 and ("dropout" in k or "pdrop" in k)
               for k, v in model.config.to_dict().items())


def merge_scored(parts: list) -> Scored:
    """The ranks' reward results as one, in rank order (an extra a rank lacks counts as NaN there)."""
    keys = {k for p in parts for k in p.extra}
    return Scored(total=[x for p in parts for x in p.total], per_source=[x for p in parts for x in p.per_source],
                  errors=[x for p in parts for x in p.errors],
                  extra={k: [x for p in parts for x in p.extra.get(k, [float("nan")] * len(p.total))] for k in keys})


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads)"


def sampling_parameters(cfg: dict) -> dict:
    """Everything that decides the rollout distribution, for run_started."""
    roll = cfg["rollout"]
    return {"do_sample": True, "temperature": roll["temperature"], "top_p": roll["top_p"], "top_k": roll["top_k"] or 0,
            "max_new_tokens": roll["max_new_tokens"], "max_prompt_tokens": cfg["data"]["max_prompt_tokens"],
            "prompt_truncation": "left", "other_logits_processors": "none (the model's generation_config.json is not used)"}


def versions() -> dict:
    import transformers
    return {"rlhf_trainer": __version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": sys.version.split()[0]}

