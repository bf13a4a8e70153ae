"""The sample logs: samples.jsonl (training, schemas/sample.schema.json) and eval_samples.jsonl (held-out
eval, schemas/eval-sample.schema.json), and the dashboard's "samples" event.

Both are written from one `DecodedSamples` (a batch of samples as text, with their rewards and dataset
lines); a training step adds its `Experience` for the per-token arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import Prompt
from .experience import Experience
from .rewards import Scored

SAMPLES_EVENT_ITEMS = 16  # samples in the "samples" event (the dashboard's latest-samples table)
# per-token arrays of samples.jsonl: the Experience field and the decimals it is rounded to
PER_TOKEN = {"logprobs": ("action_log_probs", 5), "ref_logprobs": ("base_action_log_probs", 5), "kl": ("kl", 6),
             "advantages": ("advantages", 5), "entropy": ("entropy", 4)}


@dataclass
class DecodedSamples:
    """A batch of samples as text, row i being sample i % n of prompt first_group + i // n."""
    prompts: list[str]        # each sample's prompt as the model saw it (decoded, after truncation)
    responses: list[str]
    labels: list
    scored: Scored            # the reward sources' results per sample
    sources: list[Prompt]     # the dataset prompt each sample was drawn for (its file and line)
    rewards: list[float]      # the weighted reward
    lengths: list[int]        # response tokens
    truncated: list[bool]     # stopped by max_new_tokens before an EOS
    n: int                    # samples per prompt
    first_group: int = 0      # the group (prompt position) of row 0

    def record(self, i: int, index: int) -> dict:
        """Sample i as both logs record it, before the per-token arrays (training) or the greedy flag (eval)."""
        s = self.scored
        item = {"index": index, "prompt": self.prompts[i], "response": self.responses[i], "label": self.labels[i],
                "reward": self.rewards[i], "rewards": s.per_source[i], "response_length": self.lengths[i],
                "truncated": self.truncated[i], "group": self.first_group + i // self.n,
                "sample_in_group": i % self.n, "source": {"file": self.sources[i].file, "line": self.sources[i].line}}
        if s.errors[i]:
            item["reward_errors"] = s.errors[i]
        return item


def training_samples(exp: Experience, prompts: list[str], responses: list[str], labels: list, scored: Scored,
                     batch: list[Prompt], n: int) -> DecodedSamples:
    """A step's global rollout as DecodedSamples: sample k is sample k % n of prompt batch[k // n]."""
    return DecodedSamples(prompts, responses, labels, scored, sources=[batch[k // n] for k in range(len(responses))],
                          rewards=[float(r) for r in exp.rewards], lengths=exp.action_mask.sum(-1).long().tolist(),
                          truncated=[bool(t) for t in exp.truncated], n=n)


def write_training_samples(run, tokenizer, step: int, exp: Experience, d: DecodedSamples, per_step: int | None):
    """samples.jsonl: the step's first `per_step` samples (None: every one), each with its group, dataset line
    and per-token data; then the "samples" event with a few of them, without per-token data (the sample
    browser reads samples.jsonl; a copy of everything there would double the run's disk use)."""
    k = len(d.responses) if per_step is None else min(per_step, len(d.responses))
    if k == 0:
        return
    P = exp.prompt_length
    ids = exp.sequences[:k, P:].tolist()
    # one batched decode of every token of every sample (a decode call per token costs more than the step's I/O)
    flat = tokenizer.batch_decode([[t] for i in range(k) for t in ids[i][:d.lengths[i]]])
    arrays = {key: (getattr(exp, field)[:k].tolist(), digits) for key, (field, digits) in PER_TOKEN.items()
              if getattr(exp, field) is not None}
    items, at = [], 0
    for i in range(k):
        L = d.lengths[i]
        item = d.record(i, index=i)
        item["tokens"] = flat[at:at + L]
        at += L
        for key, (rows, digits) in arrays.items():
            item[key] = [round(x, digits) for x in rows[i][:L]]
        items.append(item)
    run.write_samples(step, items)
    light = [{key: v for key, v in item.items() if key not in PER_TOKEN and key != "tokens"}
             for item in items[:SAMPLES_EVENT_ITEMS]]
    run.emit("samples", step=step, items=light)


def eval_records(d: DecodedSamples, first_index: int, greedy: bool) -> list[dict]:
    """eval_samples.jsonl lines of one eval micro-batch: samples.jsonl's shape without per-token data;
    `group` is the prompt's position in the eval set, `index` runs on (from first_index) over the sampled
    and then the greedy responses of one eval."""
    return [{**d.record(i, index=first_index + i), "greedy": greedy} for i in range(len(d.responses))]
