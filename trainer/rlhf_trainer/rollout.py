"""Rollout engines: one interface, several ways to decode (config key rollout.engine).

Every engine takes prompts, n samples per prompt, one noise key per sample (sampling.sample_seed; None
for greedy) and the rollout settings, and returns a Rollout: token ids, the response mask, the sampler's
own log-probs of the sampled tokens and the per-token entropy. All engines draw with sampling.draw(), so
for the same keys they produce the same tokens (up to float rounding between kernels).

- hf: transformers' generate() with sampling.CounterSampler as its only logits processor; the reference.
- static: a static KV cache (transformers' StaticCache) and a decode loop of its own: each distinct prompt
  is prefilled once and its cache copied to its n samples; one forward per position, no generate()
  bookkeeping. On CUDA the decode step runs on a bf16 copy of the policy (refreshed after each optimizer
  step) and is compiled with CUDA graphs; on CPU it runs eager: with the prefill shared and no generate()
  bookkeeping, the decode step is matmul-bound there, and torch.compile's build (minutes on 2 cores) is
  not paid back within a run (bench/trainer/rollout_vs_generate.py --compile measures both).
- paged: transformers' continuous batching (generate_batch, paged attention) on CUDA; the log-probs and
  entropy come from one forward of the finished sequences. Not on CPU.
- vllm: optional, not built into this version (a one-line message says so).
- auto: static (every device this trainer runs on supports it).
"""

from __future__ import annotations

import contextlib
import inspect
import time
from dataclasses import dataclass

import torch

from .sampling import CounterSampler, draw, make_warpers, stack_positions
from .update import mixed_precision

ENGINES = ("auto", "hf", "static", "paged", "vllm")


@dataclass
class Rollout:
    sequences: torch.Tensor       # [B, P+R] left-padded prompt, then the response (pad after its end)
    attention_mask: torch.Tensor  # [B, P+R]
    prompt_length: int            # P
    response_mask: torch.Tensor   # [B, R] long: 1 up to and including the first EOS
    truncated: torch.Tensor       # [B] bool: no EOS within max_new_tokens
    logprobs: torch.Tensor        # [B, R] log pi of each sampled token at the temperature (0 on padding)
    entropy: torch.Tensor         # [B, R] entropy of the raw next-token logits (0 on padding)

    def as_tuple(self):
        return (self.sequences, self.attention_mask, self.prompt_length, self.response_mask, self.truncated,
                self.logprobs)


@dataclass
class Settings:
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int | None
    max_prompt_tokens: int
    autocast: str | bool  # the device type to bf16-autocast on, or False (update.autocast_for)


def resolve_engine(engine: str, device: torch.device) -> str:
    """The engine a config's rollout.engine runs here; a one-line error where it cannot run."""
    if engine == "auto":
        return "static"
    if engine == "vllm":
        import importlib.util
        if importlib.util.find_spec("vllm") is None or not torch.cuda.is_available():
            missing = ("the vllm package is not installed" if importlib.util.find_spec("vllm") is None
                       else "torch sees no CUDA device")
            raise ValueError(f"rollout.engine: vllm cannot run here: {missing}; set rollout.engine: auto (the "
                             "default), or install vllm (pip install vllm) on a machine with a CUDA GPU")
        raise ValueError("rollout.engine: vllm is not supported by this trainer version yet; set rollout.engine: auto")
    if engine == "paged" and device.type != "cuda":
        raise ValueError("rollout.engine: paged (transformers' continuous batching) runs on CUDA only; on "
                         f"{device.type} set rollout.engine: static or auto")
    return engine


def describe_engine(engine: str, device: torch.device, precision: str = "fp32") -> dict:
    """What run_started records of the rollout engine (before it is built); precision: 'bf16' or 'fp32'."""
    name = resolve_engine(engine, device)
    out = {"engine": name, "requested": engine}
    if name == "static":
        out.update(compile=static_compile_mode(device), weights="bf16 copy" if precision == "bf16" else "policy (fp32)",
                   prefill="once per prompt, cache copied to its n samples")
    return out


def static_compile_mode(device: torch.device) -> str:
    """torch.compile mode of the static engine's decode step: CUDA graphs on CUDA; eager on CPU (see the
    module docstring)."""
    return "reduce-overhead" if device.type == "cuda" else "eager"


def finish(tok, prompt_ids, prompt_attn, out, logprobs, entropy) -> Rollout:
    """Rollout from the generated tokens [B, <=max_new] of every engine: mask after the first EOS, cut
    to the longest response, pad the rest."""
    is_eos = out == tok.eos_token_id
    after_eos = (is_eos.cumsum(-1) - is_eos.long()) > 0
    mask = (~after_eos).long()
    finished = is_eos.any(-1)
    width = max(int(mask.sum(-1).max()), 1) if out.shape[1] else 1
    out, mask = out[:, :width], mask[:, :width]
    if out.shape[1] < width:  # nothing generated (max_new_tokens 0 cannot be configured; keep shapes sane)
        out = torch.nn.functional.pad(out, (0, width - out.shape[1]), value=tok.pad_token_id)
        mask = torch.nn.functional.pad(mask, (0, width - mask.shape[1]))
    resp = torch.where(mask.bool(), out, torch.full_like(out, tok.pad_token_id))
    B = out.shape[0]
    lp = stack_positions(logprobs, B, width).to(out.device) * mask
    ent = stack_positions(entropy, B, width).to(out.device) * mask
    return Rollout(torch.cat([prompt_ids, resp], 1), torch.cat([prompt_attn, mask], 1), prompt_ids.shape[1], mask,
                   ~finished, lp.float(), ent.float())


class Engine:
    name = "base"
    # on_token(positions decoded, samples finished or None when not counted, samples): progress for the trainer's
    # stall watchdog; the static engine counts finished samples at its "all finished?" check
    on_token = None

    def __init__(self, policy, tokenizer, device: torch.device, settings: Settings):
        self.policy, self.tok, self.device, self.s = policy, tokenizer, device, settings
        self.compile_s = 0.0

    def encode(self, texts: list[str]):
        enc = self.tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.s.max_prompt_tokens)
        return enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)

    def generate(self, texts: list[str], n: int, seeds: list[int] | None) -> Rollout:
        raise NotImplementedError

    def warm_up(self, texts: list[str]) -> float:
        """Pays one-off costs (compilation, CUDA graph capture) before step 1; returns the seconds spent."""
        return 0.0

    def refresh(self):
        """After an optimizer step: the generation weights follow the policy."""


class HFEngine(Engine):
    """transformers' generate(), greedy on the distribution CounterSampler leaves (all on the drawn token)."""
    name = "hf"

    @torch.no_grad()
    def generate(self, texts, n, seeds):
        from transformers import GenerationConfig, LogitsProcessorList
        ids, attn = self.encode(texts)
        ids, attn = ids.repeat_interleave(n, 0), attn.repeat_interleave(n, 0)
        s = self.s
        sampler = CounterSampler(seeds, self.device, s.temperature, s.top_k, s.top_p)
        gen = GenerationConfig(do_sample=False, max_new_tokens=s.max_new_tokens, pad_token_id=self.tok.pad_token_id,
                               eos_token_id=self.tok.eos_token_id)
        self.policy.eval()
        # synced_gpus off: transformers would all-reduce "finished?" per token for an FSDP model, but gathered
        # parameters need no collective, so each rank (or rank 0 alone, evaluating) stops when its samples end
        processors = [sampler] + ([_Tick(self.on_token, ids.shape[1], ids.shape[0])] if self.on_token else [])
        with mixed_precision(s.autocast), own_generation_defaults(self.policy):
            out = self.policy.generate(input_ids=ids, attention_mask=attn, generation_config=gen,
                                       logits_processor=LogitsProcessorList(processors), synced_gpus=False)
        return finish(self.tok, ids, attn, out[:, ids.shape[1]:], sampler.logprobs, sampler.entropy)


class _Tick:
    """A logits processor that changes nothing: it tells on_token that generate() decoded one more position."""

    def __init__(self, on_token, prompt_len: int, batch: int):
        self.on_token, self.prompt_len, self.batch = on_token, prompt_len, batch

    def __call__(self, input_ids, scores):
        self.on_token(input_ids.shape[1] - self.prompt_len + 1, None, self.batch)
        return scores


@contextlib.contextmanager
def own_generation_defaults(model):
    """generate() fills unset parameters from the model's generation_config.json (a chat model's
    repetition_penalty, min_p, top_k...); during rollouts only the global defaults may fill them."""
    from transformers import GenerationConfig
    saved = model.generation_config
    model.generation_config = GenerationConfig()
    try:
        yield
    finally:
        model.generation_config = saved


def cache_kwarg(model) -> str:
    """transformers 5.x names the cache argument `cache`, 4.x `past_key_values`."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class StaticEngine(Engine):
    """Prefill each distinct prompt once, copy its KV cache to its n samples, then decode with a static
    cache: one forward of [B, 1] tokens per position and sampling.draw() on its logits."""
    name = "static"

    def __init__(self, policy, tokenizer, device, settings, compile_mode: str = "auto", sharded: bool = False):
        super().__init__(policy, tokenizer, device, settings)
        self.cuda = device.type == "cuda"
        # the generation weights: in bf16 precision a bf16 copy (half the bytes to read per decode step, no
        # autocast re-casts at every step), refreshed in place after each optimizer step; in fp32, and for an
        # FSDP2-sharded policy (gathered while generating), the policy itself under the trainer's autocast
        self.model = policy
        if settings.autocast and not sharded:
            import copy
            self.model = copy.deepcopy(policy).to(torch.bfloat16).eval().requires_grad_(False)
        self.compile_mode = static_compile_mode(device) if compile_mode == "auto" else compile_mode
        self.kw = cache_kwarg(self.model)
        self.step_fn = self._decode_step
        if self.compile_mode != "eager":
            self.step_fn = torch.compile(self._decode_step, mode=self.compile_mode, dynamic=False)

    def refresh(self):
        if self.model is not self.policy:
            with torch.no_grad():
                for dst, src in zip(self.model.parameters(), self.policy.parameters()):
                    dst.copy_(src.detach())  # casts fp32 -> bf16 in place: no second fp32 copy

    def _decode_step(self, token, pos, attn, cache):
        return self.model(input_ids=token, position_ids=pos, attention_mask=attn, use_cache=True,
                          **{self.kw: cache}).logits[:, -1]

    def _autocast(self):
        return mixed_precision(self.s.autocast if self.model is self.policy else False)

    @torch.no_grad()
    def generate(self, texts, n, seeds):
        with self._autocast():
            return self._generate(texts, n, seeds)

    def _generate(self, texts, n, seeds):
        from transformers import StaticCache
        s, model = self.s, self.model
        ids, attn = self.encode(texts)
        P, total = ids.shape[1], ids.shape[1] + s.max_new_tokens
        pos0 = (attn.cumsum(-1) - 1).clamp(min=0)
        self.policy.eval()
        model.eval()
        # prefill the distinct prompts with a small dynamic cache, then expand it into the static one
        from transformers import DynamicCache
        pre = DynamicCache(config=model.config) if "config" in inspect.signature(DynamicCache).parameters else DynamicCache()
        # the last position's logits only; as an index tensor, the hidden state is gathered contiguously: a bf16
        # LM head on CPU would otherwise broadcast its [vocab x hidden] weight across the batch (a copy per row)
        last = torch.tensor([P - 1], device=ids.device)
        logits = model(input_ids=ids, attention_mask=attn, position_ids=pos0, use_cache=True, logits_to_keep=last,
                       **{self.kw: pre}).logits[:, -1]
        B = ids.shape[0] * n
        cache = StaticCache(config=model.config, max_cache_len=total)
        for layer, (k, v) in zip(cache.layers, _layer_kv(pre)):
            k, v = k.repeat_interleave(n, 0), v.repeat_interleave(n, 0)
            layer.lazy_initialization(k, v)
            layer.keys[:, :, :P].copy_(k)
            layer.values[:, :, :P].copy_(v)
            layer.cumulative_length.fill_(P)
        del pre
        logits = logits.repeat_interleave(n, 0)
        ids, attn = ids.repeat_interleave(n, 0), attn.repeat_interleave(n, 0)
        full_attn = torch.cat([attn, torch.zeros(B, s.max_new_tokens, dtype=attn.dtype, device=attn.device)], 1)
        pos = attn.sum(-1, keepdim=True)  # the position of the first response token
        keys = None if seeds is None else torch.tensor(seeds, dtype=torch.int64, device=self.device)
        warpers = make_warpers(s.top_k, s.top_p)
        tokens, lps, ents = [], [], []
        done = torch.zeros(B, dtype=torch.bool, device=self.device)
        eos, pad = self.tok.eos_token_id, self.tok.pad_token_id
        check_every = 16 if self.cuda else 1  # "all finished?" is a host sync: rare on CUDA
        for t in range(s.max_new_tokens):
            token, lp, ent = draw(logits, keys, t, s.temperature, warpers)
            token = torch.where(done, torch.full_like(token, pad), token)
            tokens.append(token)
            lps.append(lp)
            ents.append(ent)
            done = done | (token == eos)
            if (t + 1) % check_every == 0:
                finished = int(done.sum())  # the one host sync, every check_every positions
                if self.on_token is not None:
                    self.on_token(t + 1, finished, B)
                if finished == B:
                    break
            if t == s.max_new_tokens - 1:
                break
            full_attn[:, P + t] = 1
            logits = self.step_fn(token[:, None], pos + t, full_attn, cache).float()
        return finish(self.tok, ids, attn, torch.stack(tokens, 1), lps, ents)

    def warm_up(self, texts):
        if self.compile_mode == "eager":
            return 0.0
        t0 = time.time()
        try:
            for _ in range(3):  # compile, then the CUDA graph recordings
                self.generate(texts[:1], 1, [0])
        except Exception as e:  # a model the compiler cannot take still generates, eagerly
            self.step_fn, self.compile_mode = self._decode_step, f"eager (torch.compile failed: {type(e).__name__})"
        if self.cuda:
            torch.cuda.synchronize()
        self.compile_s = time.time() - t0
        return self.compile_s


def _layer_kv(cache):
    """(keys, values) per layer of a DynamicCache, across transformers versions."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))


class PagedEngine(Engine):
    """transformers' continuous batching: finished sequences leave the batch. Its sampler is not keyed by
    our noise keys, so a sample here depends on the batch; log-probs and entropy of what it generated come
    from one forward of the finished sequences (as pi_old would)."""
    name = "paged"

    @torch.no_grad()
    def generate(self, texts, n, seeds):
        from transformers import GenerationConfig
        from .algorithms import entropy_from_logits, log_probs_from_logits
        s = self.s
        ids, attn = self.encode(texts)
        prompts = [row[m.bool()].tolist() for row, m in zip(ids, attn) for _ in range(n)]
        gen = GenerationConfig(do_sample=seeds is not None, max_new_tokens=s.max_new_tokens, temperature=s.temperature,
                               top_p=s.top_p, top_k=s.top_k or 0, eos_token_id=self.tok.eos_token_id,
                               pad_token_id=self.tok.pad_token_id)
        self.policy.eval()
        with mixed_precision(s.autocast):
            outs = self.policy.generate_batch(prompts, generation_config=gen, progress_bar=False)
        order = sorted(outs.values(), key=lambda o: int(str(o.request_id).rsplit("_", 1)[-1]))
        width = max(1, max(len(o.generated_tokens) for o in order))
        out = torch.full((len(order), width), self.tok.pad_token_id, dtype=torch.long, device=self.device)
        for i, o in enumerate(order):
            out[i, :len(o.generated_tokens)] = torch.tensor(o.generated_tokens, device=self.device)
        ids, attn = ids.repeat_interleave(n, 0), attn.repeat_interleave(n, 0)
        seq = torch.cat([ids, out], 1)
        am = torch.cat([attn, torch.ones_like(out)], 1)
        pos = (am.cumsum(-1) - 1).clamp(min=0)
        with mixed_precision(s.autocast):
            logits = self.policy(input_ids=seq, attention_mask=am, position_ids=pos,
                                 logits_to_keep=width + 1).logits[:, :-1].float()
        lp = log_probs_from_logits(logits, out, s.temperature)
        ent = entropy_from_logits(logits)
        return finish(self.tok, ids, attn, out, list(lp.unbind(1)), list(ent.unbind(1)))


def make_engine(engine: str, policy, tokenizer, device: torch.device, settings: Settings,
                sharded: bool = False) -> Engine:
    name = resolve_engine(engine, device)
    if name == "static":
        return StaticEngine(policy, tokenizer, device, settings, sharded=sharded)
    return {"hf": HFEngine, "paged": PagedEngine}[name](policy, tokenizer, device, settings)


# ---- around the engines: the step's prompts, the sampling settings, samples as text ----------------------

def settings_for(rc, autocast: str | bool) -> Settings:
    """The rollout settings of a RunConfig."""
    roll = rc.rollout
    return Settings(max_new_tokens=roll.max_new_tokens, temperature=roll.temperature, top_p=roll.top_p,
                    top_k=roll.top_k, max_prompt_tokens=rc.data.max_prompt_tokens, autocast=autocast)


def batch_prompts(prompts: list, step: int, seed: int, batch_size: int) -> list:
    """Prompts of global step `step` (1-based): a seeded permutation per episode, no state needed."""
    episode, pos = divmod(step - 1, len(prompts) // batch_size)
    g = torch.Generator().manual_seed(seed * 1000 + episode)
    perm = torch.randperm(len(prompts), generator=g)
    return [prompts[i] for i in perm[pos * batch_size:(pos + 1) * batch_size].tolist()]


def decode(tokenizer, full, attn, P: int, mask=None) -> tuple[list[str], list[str], list[str]]:
    """(prompts, responses, queries = prompt + response with special tokens) of a rollout's sequences."""
    rows, keep = full.cpu().tolist(), attn.bool().cpu().tolist()
    p_ids = [[t for t, k in zip(r[:P], m[:P]) if k] for r, m in zip(rows, keep)]
    r_ids = [[t for t, k in zip(r[P:], m[P:]) if k] for r, m in zip(rows, keep)]
    prompts = tokenizer.batch_decode(p_ids, skip_special_tokens=True)
    responses = tokenizer.batch_decode(r_ids, skip_special_tokens=True)
    queries = tokenizer.batch_decode([p + r for p, r in zip(p_ids, r_ids)], skip_special_tokens=False)
    return prompts, responses, queries


def generation_config(roll, tokenizer, greedy: bool = False):
    """transformers' GenerationConfig of rollout config `roll`: every sampling parameter from the config; what
    is not in it is off, so the samples come from softmax(logits / temperature), the distribution pi_old and
    the loss are computed from."""
    from transformers import GenerationConfig
    sampling = {} if greedy else {"temperature": roll.temperature, "top_p": roll.top_p,
                                  "top_k": roll.top_k or 0}  # 0 = off; None would become 50
    return GenerationConfig(do_sample=not greedy, max_new_tokens=roll.max_new_tokens,
                            pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, **sampling)


def logits_processors(policy, gen) -> list[str]:
    """Names of the logits processors and warpers generate() applies with GenerationConfig `gen`."""
    with own_generation_defaults(policy):
        prepared, _ = policy._prepare_generation_config(gen)
        return [type(p).__name__ for p in policy._get_logits_processor(prepared, input_ids_seq_length=1)]


def sampling_parameters(rc) -> dict:
    """Everything that decides the rollout distribution, for run_started."""
    roll = rc.rollout
    return {"do_sample": True, "temperature": roll.temperature, "top_p": roll.top_p, "top_k": roll.top_k or 0,
            "max_new_tokens": roll.max_new_tokens, "max_prompt_tokens": rc.data.max_prompt_tokens,
            "prompt_truncation": "left", "other_logits_processors": "none (the model's generation_config.json is not used)"}
