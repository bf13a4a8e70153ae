"""The held-out eval (eval.* config keys): the eval prompts sampled k times (and greedily), scored by the
reward sources, written to eval_samples.jsonl and summed up in an "eval" event.

Runs on rank 0 only; the trainer gathers an fsdp2 policy's parameters first (trainer.Trainer.evaluate).
"""

from __future__ import annotations

import numpy as np

from .data import Prompt
from .rewards import RewardHub, RewardItem
from .rollout import decode
from .runconfig import RunConfig
from .sample_log import DecodedSamples, eval_records
from .sampling import sample_seed

EVAL_SEED_OFFSET = 7  # eval samples have their own seeds (seed + 7): evaluating never moves the training samples


def evaluate(step: int, rc: RunConfig, prompts: list[Prompt], generate, tokenizer, rewards: RewardHub, run) -> dict:
    """The eval's values (eval_reward_mean, pass@k where every reward is 0 or 1, the greedy ones with
    eval.greedy), after writing its eval_samples.jsonl lines and "eval" event. `generate(texts, n, seeds)`
    is the trainer's rollout (a Rollout; greedy without seeds)."""
    ecfg = rc.eval
    texts = [p.text for p in prompts]
    run.progress("eval", 0, len(texts), step=step)
    mb = rc.rollout.micro_batch_size
    recorded: list[dict] = []  # eval_samples.jsonl: the editor shows them on the eval set's lines

    def score(n: int, greedy: bool):
        totals = []
        for s in range(0, len(texts), mb):
            seeds = None if greedy else [sample_seed(rc.seed + EVAL_SEED_OFFSET, step, s * n + k)
                                         for k in range(min(mb, len(texts) - s) * n)]
            out = generate(texts[s:s + mb], n, seeds)
            ptexts, responses, queries = decode(tokenizer, out.sequences, out.attention_mask, out.prompt_length)
            sources = [p for p in prompts[s:s + mb] for _ in range(n)]
            labels = [p.label for p in sources]
            scored = rewards.score([RewardItem(pt, r, lab, q) for pt, r, lab, q in zip(ptexts, responses, labels, queries)])
            totals += scored.total
            d = DecodedSamples(ptexts, responses, labels, scored, sources, rewards=[float(x) for x in scored.total],
                               lengths=[int(x) for x in out.response_mask.sum(-1).tolist()],
                               truncated=[bool(x) for x in out.truncated.tolist()], n=n, first_group=s)
            recorded.extend(eval_records(d, first_index=len(recorded), greedy=greedy))
            run.progress("eval", min(s + mb, len(texts)), len(texts), step=step)
        return np.array(totals, dtype=float).reshape(len(texts), n)

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
    run.write_eval_samples(step, recorded)
    values["eval_num_prompts"] = float(len(texts))
    run.emit("eval", step=step, values=values)
    return values
