"""A Hugging Face sequence-classification reward model (one label: a Bradley-Terry score) as a reward
source, and what reward-model training (train_rm.py) shares with it: how prompt + response become the
text the model reads, loading, and batched scoring.

The score of a sequence is the model's single logit at its last token (AutoModelForSequenceClassification
pools the last non-padding token; padding is on the right, so positions are those of the unpadded text).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from .rewards import RewardItem, SourceResult
from .update import mixed_precision


def reward_model_problem(path: str, trust_remote_code: bool = False) -> str | None:
    """Why `path` cannot be a reward model (read from its config.json, no weights), or None."""
    from transformers import AutoConfig
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except Exception as e:  # a missing folder, a config.json that does not parse
        return f"cannot read the model config at {path} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
    archs = config.architectures or []
    if not any(a.endswith("ForSequenceClassification") for a in archs):
        return (f"{path} is not a sequence-classification model (architectures: {', '.join(archs) or 'none'}); "
                "train a reward model from it with a kind: reward_model config, or point at one saved by "
                "OpenRLHF or TRL")
    if config.num_labels != 1:
        return (f"{path} has {config.num_labels} labels; a reward model has exactly one (num_labels 1, "
                "a Bradley-Terry score)")
    return None


def _messages(value, role: str) -> list[dict]:
    if isinstance(value, list):
        return [{"role": m.get("role", role), "content": m["content"]} for m in value]
    return [{"role": role, "content": value}] if value else []


def sequence_text(tokenizer, prompt, response) -> str:
    """prompt + response as a reward model reads it: through the tokenizer's chat template when it has one
    and the prompt (or the response) is a list of chat messages; the plain concatenated text otherwise."""
    if isinstance(prompt, list) or isinstance(response, list):
        messages = _messages(prompt, "user") + _messages(response, "assistant")
        if getattr(tokenizer, "chat_template", None):
            return tokenizer.apply_chat_template(messages, tokenize=False)
        return "".join(m["content"] for m in messages)
    return (prompt or "") + response


def prepare_tokenizer(tokenizer):
    """Right padding (the pooled last token keeps its unpadded position) and left truncation (the
    response's end, where the score is read, is kept)."""
    tokenizer.padding_side = "right"
    tokenizer.truncation_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_reward_model(path: str, device: torch.device, dtype: torch.dtype, trust_remote_code: bool = False):
    """(model, tokenizer). From a causal LM the scalar head is new (AutoModelForSequenceClassification with
    num_labels 1 loads the backbone and initialises `score`)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code))
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized: score.weight" is what starting from a causal LM means
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=dtype,
                                                                   trust_remote_code=trust_remote_code)
    finally:
        hf_logging.set_verbosity(verbosity)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device), tokenizer


def score_texts(model, tokenizer, texts: list[str], max_length: int | None, autocast: str | bool) -> torch.Tensor:
    """[B] float32 scores of `texts` in one forward (gradients flow when the caller allows them)."""
    device = next(model.parameters()).device
    enc = tokenizer(texts, return_tensors="pt", padding=True, truncation=max_length is not None,
                    max_length=max_length).to(device)
    with mixed_precision(autocast):
        return model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[:, 0].float()


class RunningMoments:
    """Running mean and variance of every score seen (Chan et al.'s parallel update), as OpenRLHF's
    normalize_reward keeps them."""

    def __init__(self):
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def update(self, values: list[float]):
        n = len(values)
        if not n:
            return
        mean = sum(values) / n
        m2 = sum((v - mean) ** 2 for v in values)
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.m2 += m2 + delta ** 2 * self.count * n / total
        self.count = total

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count > 1 else 1.0


class RewardModelSource:
    """reward.sources[i].reward_model: loaded once on the training device (bf16 on CUDA), scored in batches
    of `batch_size` under torch.no_grad; with `normalize`, (score - mean) / std over every score so far."""

    def __init__(self, name: str, path: str, device: torch.device, batch_size: int = 16, normalize: bool = False,
                 trust_remote_code: bool = False):
        self.name, self.batch_size, self.normalize = name, batch_size, normalize
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
        self.model, self.tokenizer = load_reward_model(str(Path(path)), device, dtype, trust_remote_code)
        self.model.eval().requires_grad_(False)
        self.max_length = getattr(self.model.config, "max_position_embeddings", None)
        self.moments = RunningMoments()

    @torch.no_grad()
    def raw_scores(self, items: list[RewardItem]) -> list[float]:
        texts = [sequence_text(self.tokenizer, i.metadata.get("messages") or i.prompt, i.response) for i in items]
        out: list[float] = []
        for s in range(0, len(texts), self.batch_size):
            out += score_texts(self.model, self.tokenizer, texts[s:s + self.batch_size], self.max_length,
                               autocast=False).tolist()
        return out

    def score(self, items: list[RewardItem]) -> SourceResult:
        values = self.raw_scores(items)
        if self.normalize:
            self.moments.update(values)
            values = [(v - self.moments.mean) / max(self.moments.std, 1e-8) for v in values]
        return SourceResult(list(values), [None] * len(values))

    def close(self):
        self.model = None
