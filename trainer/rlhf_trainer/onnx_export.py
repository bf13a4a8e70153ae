"""Export a causal-LM checkpoint to ONNX in the folder layout transformers.js and optimum load.

    python -m rlhf_trainer.onnx_export CHECKPOINT_DIR -o OUT_DIR [--int8]

writes OUT_DIR/config.json, generation_config.json, the tokenizer files and OUT_DIR/onnx/model.onnx
(plus onnx/model_quantized.onnx with --int8). The graph takes input_ids, attention_mask,
position_ids and past_key_values.{i}.key/value and returns logits and present.{i}.key/value, the
names optimum's text-generation-with-past export uses, so any loader of that layout can run it.

Why torch.onnx.export(dynamo=False) (the TorchScript exporter) and not optimum-onnx or dynamo=True:
docs/onnx.md. In short: optimum-onnx requires transformers < 4.58 (the trainer runs 5.x), and the
dynamo exporter needs onnxscript and traces transformers' mask code, which changes every release;
tracing a small wrapper that builds the cache and the 4-D mask itself depends only on the model's
forward taking a Cache and an additive 4-D mask.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import torch
from .names import CHECKPOINTS_DIR

# The files a tokenizer folder may hold; whichever exist are copied next to config.json.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                   "merges.txt", "tokenizer.model", "added_tokens.json", "chat_template.jinja")
OPSET = 17
# Example shapes for tracing: a past of 3 and a step of 2 so that no axis is 1 (a size-1 axis can be
# specialised away by the tracer) and batch != past != step (so the dynamic axes are told apart).
TRACE_BATCH, TRACE_PAST, TRACE_STEP = 2, 3, 4


class ExportError(Exception):
    """A problem the user can act on; printed as one line."""


def progress(message: str):
    print(f"export: {message}", flush=True)


def load_model(checkpoint: Path):
    """The checkpoint's model in eval mode, fp32, eager attention (the mask is passed in 4-D).

    A *ForSequenceClassification checkpoint (a reward model) loads with its scalar head; anything
    else as a causal LM. Returns (model, architecture name, is_reward_model).
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging
    from .lora import adapter_base, is_adapter_checkpoint, load_merged
    hf_logging.disable_progress_bar()  # the progress lines are ours ("export: ..."), one per stage
    lora = is_adapter_checkpoint(checkpoint)  # LoRA adapters: exported merged into their base model
    if not lora and not (checkpoint / "config.json").is_file():
        raise ExportError(f"{checkpoint}: no config.json here; pass a checkpoint folder (checkpoints/step-N) or a model folder")
    try:
        config = AutoConfig.from_pretrained(adapter_base(checkpoint) if lora else checkpoint)
    except Exception as e:  # unknown model_type, malformed JSON
        raise ExportError(f"{checkpoint / 'config.json'}: cannot read the model config ({first_line(e)})") from e
    arch = (config.architectures or [config.model_type])[0]
    reward = arch.endswith("ForSequenceClassification")
    if reward and getattr(config, "num_labels", 1) != 1:
        raise ExportError(f"cannot export {arch} as a reward model: num_labels is {config.num_labels}, a reward model has 1")
    auto = AutoModelForSequenceClassification if reward else AutoModelForCausalLM
    try:
        if lora:
            model = load_merged(checkpoint, auto, dtype=torch.float32, attn_implementation="eager")
        else:
            model = auto.from_pretrained(checkpoint, dtype=torch.float32, attn_implementation="eager")
    except ValueError as e:  # the model type has no such head in transformers
        kind = "sequence-classification (reward) model" if reward else "causal language model"
        raise ExportError(f"cannot export {arch}: it is not a {kind} ({first_line(e)})") from e
    model.eval()
    return model, arch, reward


def first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:300]


def cache_geometry(config) -> tuple[int, int, int]:
    """(layers, key/value heads, head dim): the shape of every past_key_values tensor but batch and length."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = getattr(text, "num_hidden_layers", None)
    heads = getattr(text, "num_attention_heads", None)
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None) or (text.hidden_size // heads if heads else None)
    if not layers or not kv_heads or not head_dim:
        raise ExportError(f"cannot export {config.model_type}: its config has no num_hidden_layers / num_attention_heads / head_dim")
    return layers, kv_heads, head_dim


def additive_causal_mask(attention_mask: torch.Tensor, step: int, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, step, past+step) additive mask: 0 where a query may attend, the dtype's minimum elsewhere.

    Query i of this step sits at absolute position past+i, so it sees keys 0..past+i that are not padding.
    Built from tensor shapes only, so the traced graph stays dynamic in batch, past and step. A finite
    minimum (not -inf) keeps fully masked rows (left padding) finite instead of NaN.
    """
    total = attention_mask.shape[1]
    keys = torch.arange(total, device=attention_mask.device)
    queries = torch.arange(step, device=attention_mask.device) + (total - step)
    causal = keys[None, :] <= queries[:, None]
    allowed = causal[None, None, :, :] & attention_mask[:, None, None, :].bool()
    zero = torch.zeros((), dtype=dtype)
    return torch.where(allowed, zero, torch.full((), torch.finfo(dtype).min, dtype=dtype))


class FlatCacheCausalLM(torch.nn.Module):
    """forward(input_ids, attention_mask, position_ids, k0, v0, k1, v1, ...) -> (logits, k0', v0', ...).

    ONNX has no cache objects: the past comes in as flat tensors, is put into the DynamicCache the
    model expects, and the updated cache goes out flat again (present = past + this step).
    """

    def __init__(self, model, layers: int):
        super().__init__()
        self.model = model
        self.layers = layers

    def forward(self, input_ids, attention_mask, position_ids, *past):
        from transformers import DynamicCache
        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.layers)]
        cache = DynamicCache(pairs, config=self.model.config)
        mask = additive_causal_mask(attention_mask, input_ids.shape[1], torch.float32)
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                         cache=cache, use_cache=True, return_dict=True)
        present = []
        for layer in out.cache.layers:
            present += [layer.keys, layer.values]
        return (out.logits, *present)


class RewardModelWithMask(torch.nn.Module):
    """forward(input_ids, attention_mask) -> logits (batch, 1): the score of each (right-padded) sequence.

    Same 4-D mask as the causal LM (past of 0), so transformers' mask code is not traced either; the
    model pools the last token that is not pad_token_id, as it does in PyTorch.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        mask = additive_causal_mask(attention_mask, input_ids.shape[1], torch.float32)
        return self.model(input_ids=input_ids, attention_mask=mask, return_dict=True).logits


REWARD_INPUTS, REWARD_AXES = ["input_ids", "attention_mask"], {
    "input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"},
    "logits": {0: "batch_size"}}


def right_padded(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    return ids, mask


def export_reward_graph(model, arch: str, path: Path) -> float:
    """Exports the scalar-head model and returns max |score difference| vs PyTorch on other shapes."""
    import onnxruntime as ort
    wrapper = RewardModelWithMask(model).eval()
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    vocab = model.config.vocab_size
    trace = right_padded([[1 + (i % (vocab - 1)) for i in range(n)] for n in (TRACE_PAST + TRACE_STEP, TRACE_STEP)], pad)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapper, trace, str(path), dynamo=False, opset_version=OPSET, input_names=REWARD_INPUTS,
                              output_names=["logits"], dynamic_axes=REWARD_AXES, do_constant_folding=True,
                              external_data=False)
    except Exception as e:
        raise ExportError(f"cannot export {arch} to ONNX: {first_line(e)}") from e
    check = right_padded([[1 + (i * 7 % (vocab - 1)) for i in range(n)] for n in (5, 11, 2)], pad)
    with torch.no_grad():
        expected = model(input_ids=check[0], attention_mask=check[1]).logits.numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input_ids": check[0].numpy(), "attention_mask": check[1].numpy()})[0]
    return float(abs(expected - got).max())


def create_tiny_reward_model(out: Path, tokenizer_from: Path, seed: int = 0) -> Path:
    """A small Bradley-Terry reward model (LlamaForSequenceClassification, one label) built from a config,
    with the tokenizer of `tokenizer_from`: random weights, for tests and benchmarks of the reward path."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, num_labels=1,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, architectures=["LlamaForSequenceClassification"])
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    LlamaForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def io_names(layers: int) -> tuple[list[str], list[str], dict]:
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    inputs = ["input_ids", "attention_mask", "position_ids", *past]
    outputs = ["logits", *present]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    axes |= {name: {0: "batch_size", 2: "past_sequence_length"} for name in past}
    axes |= {name: {0: "batch_size", 2: "total_sequence_length"} for name in present}
    return inputs, outputs, axes


def example_inputs(config, layers: int, kv_heads: int, head_dim: int) -> tuple:
    generator = torch.Generator().manual_seed(0)
    vocab = config.get_text_config().vocab_size if hasattr(config, "get_text_config") else config.vocab_size
    total = TRACE_PAST + TRACE_STEP
    input_ids = torch.randint(0, vocab, (TRACE_BATCH, TRACE_STEP), generator=generator)
    attention_mask = torch.ones(TRACE_BATCH, total, dtype=torch.int64)
    attention_mask[0, 0] = 0  # one left-padded row, as a batch of prompts of different lengths has
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, TRACE_PAST:]
    past = [torch.randn(TRACE_BATCH, kv_heads, TRACE_PAST, head_dim, generator=generator) for _ in range(2 * layers)]
    return (input_ids, attention_mask, position_ids, *past)


def export_graph(model, arch: str, path: Path) -> tuple:
    layers, kv_heads, head_dim = cache_geometry(model.config)
    wrapper = FlatCacheCausalLM(model, layers).eval()
    inputs, outputs, axes = io_names(layers)
    args = example_inputs(model.config, layers, kv_heads, head_dim)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python values: checked by verify()
            torch.onnx.export(wrapper, args, str(path), dynamo=False, opset_version=OPSET,
                              input_names=inputs, output_names=outputs, dynamic_axes=axes,
                              do_constant_folding=True, external_data=False)
    except Exception as e:
        raise ExportError(f"cannot export {arch} to ONNX: {first_line(e)}") from e
    return wrapper, args, inputs


def verify(wrapper, path: Path, input_names: list[str], args: tuple) -> float:
    """Max |logits difference| between PyTorch and onnxruntime on inputs with other shapes than the trace's."""
    import onnxruntime as ort
    batch, past, step = 3, 5, 1  # a decode step: different batch, past and step than traced
    layers, kv_heads, head_dim = len(args[3:]) // 2, args[3].shape[1], args[3].shape[3]
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, int(args[0].max()) + 1, (batch, step), generator=generator)
    attention_mask = torch.ones(batch, past + step, dtype=torch.int64)
    attention_mask[1, :2] = 0
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, past:]
    past_tensors = [torch.randn(batch, kv_heads, past, head_dim, generator=generator) for _ in range(2 * layers)]
    feed = (input_ids, attention_mask, position_ids, *past_tensors)
    with torch.no_grad():
        expected = wrapper(*feed)[0].numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {n: t.numpy() for n, t in zip(input_names, feed)})[0]
    return float(abs(expected - got).max())


def copy_model_files(model, checkpoint: Path, out: Path):
    """config.json, generation_config.json and the tokenizer files: what a loader needs beside the graph.

    Exporting into the checkpoint folder itself (-o CHECKPOINT) adds only onnx/: its files stay untouched.
    """
    copied = [name for name in TOKENIZER_FILES if (checkpoint / name).is_file()]
    if "tokenizer.json" not in copied:
        raise ExportError(f"{checkpoint}: no tokenizer.json; the ONNX folder needs a fast tokenizer (save it with tokenizer.save_pretrained)")
    if out.resolve() == checkpoint.resolve() and (checkpoint / "config.json").is_file():
        return copied  # a LoRA checkpoint has no config.json of its own: the merged model's is written
    model.config.save_pretrained(out)
    if getattr(model, "generation_config", None) is not None:  # causal LMs only
        model.generation_config.save_pretrained(out)
    if out.resolve() != checkpoint.resolve():
        for name in copied:
            shutil.copyfile(checkpoint / name, out / name)
    return copied


def quantize_int8(model_path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    target = model_path.with_name("model_quantized.onnx")
    quantize_dynamic(str(model_path), str(target), weight_type=QuantType.QInt8)
    return target


def read_prompts(path: Path, fields: tuple[str, ...] = ("prompt",)) -> list:
    """Prompts from a JSONL file (the "prompt" field, as the trainer's data) or a plain text file (one a line).

    With fields=("prompt", "response") (reward models) each JSONL line gives a (prompt, response) pair.
    """
    prompts = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        if path.suffix != ".jsonl":
            prompts.append(line)
            continue
        try:
            row = json.loads(line)
            values = tuple(row[f] for f in fields)
            if not all(isinstance(v, str) for v in values):
                raise TypeError
        except (ValueError, KeyError, TypeError) as e:
            wanted = " and ".join(f'"{f}"' for f in fields)
            wanted = f"{wanted} strings" if len(fields) > 1 else f"a {wanted} string"
            raise ExportError(f"{path}:{n}: expected a JSON object with {wanted}") from e
        prompts.append(values if len(fields) > 1 else values[0])
    return prompts


def reference_greedy(model, checkpoint: Path, prompts: list[str], max_new_tokens: int) -> list[dict]:
    """PyTorch greedy decoding (generate, do_sample=False), one prompt at a time: what ONNX decoding must reproduce."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    results = []
    with torch.no_grad():
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt").input_ids
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=max_new_tokens, pad_token_id=model.config.pad_token_id)
            results.append({"prompt": prompt, "prompt_ids": ids[0].tolist(), "tokens": out[0, ids.shape[1]:].tolist()})
    return results


def reference_scores(model, checkpoint: Path, samples: list[tuple[str, str]]) -> list[dict]:
    """PyTorch scores of prompt+response, one sample at a time (no padding): what ONNX scoring must reproduce."""
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    with torch.no_grad():
        return [{"prompt": p, "response": r,
                 "score": float(model(**tokenizer(p + r, return_tensors="pt")).logits[0, 0])} for p, r in samples]


def export(checkpoint: Path, out: Path, int8: bool = False, reference_prompts: Path | None = None,
           reference_max_new_tokens: int = 16) -> dict:
    """Export and check; returns a summary (also written as OUT/onnx/export.json).

    Everything is written into a fresh temporary folder beside the target and renamed into place at the end
    (an earlier export there is replaced whole, never merged with: no stale int8 graph survives), so a
    failure, a full disk or a kill leaves the target as it was and no partial files.
    """
    started = time.monotonic()
    checkpoint, out = Path(checkpoint), Path(out)
    check_complete(checkpoint)
    progress(f"loading {checkpoint}")
    model, arch, reward = load_model(checkpoint)
    fields = ("prompt", "response") if reward else ("prompt",)
    prompts = read_prompts(reference_prompts, fields) if reference_prompts is not None else None
    in_place = out.resolve() == checkpoint.resolve() if out.exists() else False
    # in place only onnx/ is added to the checkpoint: the staged onnx/ replaces it; else the whole folder
    target = out / "onnx" if in_place else out
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        root = checkpoint if in_place else stage  # where config.json and the tokenizer go
        graph = (stage if in_place else stage / "onnx") / "model.onnx"
        graph.parent.mkdir(exist_ok=True)
        if reward:
            summary = export_reward(model, arch, checkpoint, root, graph, prompts, int8)
        else:
            summary = export_causal(model, arch, checkpoint, root, graph, prompts, int8, reference_max_new_tokens)
        (graph.parent / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
        replace_dir(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    progress(f"done in {time.monotonic() - started:.1f}s: {out}")
    return summary


def check_complete(checkpoint: Path):
    """A trainer checkpoint (a trainer_state.pt, or a folder under checkpoints/) must carry COMPLETE: one
    without it is half-written (a kill mid-save) or being written; a plain model folder needs no marker."""
    from .checkpoint import COMPLETE, STATE_FILE
    looks_like_checkpoint = (checkpoint / STATE_FILE).exists() or checkpoint.resolve().parent.name == CHECKPOINTS_DIR
    if checkpoint.is_dir() and looks_like_checkpoint and not (checkpoint / COMPLETE).is_file():
        raise ExportError(f"{checkpoint}: not a complete checkpoint (no {COMPLETE} marker: it was cut short or is still "
                          "being written); export one listed by rlhf checkpoints RUN")


def replace_dir(stage: Path, target: Path):
    """Renames stage to target; an existing target is renamed away first and then deleted (never merged)."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(stage, target)
    shutil.rmtree(old, ignore_errors=True)


def export_causal(model, arch, checkpoint: Path, root: Path, graph: Path, prompts, int8: bool, max_new_tokens: int) -> dict:
    progress(f"tracing {arch} ({sum(p.numel() for p in model.parameters()):,} parameters) -> {graph}")
    wrapper, args, input_names = export_graph(model, arch, graph)
    progress("checking the graph against PyTorch on a decode step")
    diff = verify(wrapper, graph, input_names, args)
    if not diff < 1e-3:
        raise ExportError(f"cannot export {arch}: ONNX logits differ from PyTorch by {diff:.3g} (the trace is not faithful)")
    progress(f"max |logits difference| {diff:.2e}")
    files = copy_model_files(model, checkpoint, root)
    summary = {"architecture": arch, "model": "onnx/model.onnx", "max_abs_logits_diff": diff,
               "tokenizer_files": files, "opset": OPSET}
    if int8:
        progress("quantising weights to int8 (dynamic)")
        summary["quantized"] = f"onnx/{quantize_int8(graph).name}"
    if prompts is not None:
        progress(f"PyTorch greedy decoding of {len(prompts)} prompts -> onnx/reference_greedy.json")
        reference = reference_greedy(model, checkpoint, prompts, max_new_tokens)
        (graph.parent / "reference_greedy.json").write_text(json.dumps(reference) + "\n")
        summary["reference"] = "onnx/reference_greedy.json"
    return summary


def export_reward(model, arch, checkpoint: Path, root: Path, graph: Path, samples, int8: bool) -> dict:
    progress(f"tracing reward model {arch} -> {graph}")
    diff = export_reward_graph(model, arch, graph)
    if not diff < 1e-4:
        raise ExportError(f"cannot export {arch}: ONNX scores differ from PyTorch by {diff:.3g} (the trace is not faithful)")
    progress(f"max |score difference| {diff:.2e}")
    files = copy_model_files(model, checkpoint, root)
    summary = {"architecture": arch, "task": "reward", "model": "onnx/model.onnx", "max_abs_score_diff": diff,
               "tokenizer_files": files, "opset": OPSET}
    if samples is not None:
        progress(f"PyTorch scores of {len(samples)} samples -> onnx/reference_scores.json")
        (graph.parent / "reference_scores.json").write_text(json.dumps(reference_scores(model, checkpoint, samples)) + "\n")
        summary["reference"] = "onnx/reference_scores.json"
    if int8:
        progress("quantising weights to int8 (dynamic)")
        summary["quantized"] = f"onnx/{quantize_int8(graph).name}"
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlhf_trainer.onnx_export",
                                     description="Export a causal-LM checkpoint to ONNX (transformers.js / optimum layout).")
    parser.add_argument("checkpoint", type=Path, help="checkpoint or model folder (config.json, weights, tokenizer)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder (gets onnx/model.onnx)")
    parser.add_argument("--int8", action="store_true", help="also write onnx/model_quantized.onnx (dynamic int8)")
    parser.add_argument("--reference-prompts", type=Path, metavar="FILE",
                        help="also write onnx/reference_greedy.json: PyTorch greedy tokens for these prompts "
                             "(.jsonl with a prompt field, or one prompt a line), to check ONNX decoding against; "
                             "for a reward model, onnx/reference_scores.json from .jsonl prompt+response lines")
    parser.add_argument("--reference-max-new-tokens", type=int, default=16, metavar="N")
    args = parser.parse_args(argv)
    try:
        export(args.checkpoint, args.out, int8=args.int8, reference_prompts=args.reference_prompts,
               reference_max_new_tokens=args.reference_max_new_tokens)
    except Exception as e:
        full = no_space(e)
        if full is None and isinstance(e, ExportError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        if full is None and isinstance(e, ImportError):
            print(f"error: {first_line(e)}; install the ONNX packages: pip install -r trainer/requirements.txt", file=sys.stderr)
            return 2
        if full is None:
            raise
        print(f"error: no space left on device writing {args.out} ({first_line(full)}); nothing was written: free some "
              "space and export again", file=sys.stderr)
        return 2
    return 0


def no_space(e: BaseException | None) -> BaseException | None:
    """The ENOSPC/EDQUOT error in e's chain (torch and onnx wrap the OSError in their own errors), or None."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) or "No space left on device" in str(e):
            return e
        e = e.__cause__ or e.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
