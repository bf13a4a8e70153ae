"""LoRA (model.lora) with peft: adapters on the policy, the reference as the same base with the adapters
off, adapter checkpoints, and merged models for the exports.

* Training: only the adapters have requires_grad; the base weights never change. AdamW only keeps state
  for parameters that get gradients, so its memory is the adapters'.
* Reference: with model.reference unset, the KL reference is the initial policy, which under LoRA is the
  base model itself: `ReferenceView` runs the policy inside `disable_adapter()`, so there is no second copy.
* Checkpoints: PeftModel.save_pretrained writes adapter_config.json (naming the base model's folder) and
  adapter_model.safetensors; a resume loads the base and those adapters (trainable), so it is exact.
* Exports (export_hf.py, onnx_export.py, and the playground through the ONNX export): `load_merged` loads
  the base and folds W + (alpha / r) B A into plain weights (merge_and_unload), a normal causal LM.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from .runconfig import LoraConfig

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_checkpoint(path: str | Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG).is_file()


def adapter_base(path: str | Path) -> str:
    """The base model folder a LoRA checkpoint's adapters belong to (peft records it)."""
    return json.loads((Path(path) / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]


def peft_config(lora: LoraConfig):
    from peft import LoraConfig as PeftLoraConfig, TaskType
    targets = lora.target_modules
    return PeftLoraConfig(task_type=TaskType.CAUSAL_LM, r=lora.rank, lora_alpha=lora.alpha,
                      lora_dropout=lora.dropout, target_modules=targets if isinstance(targets, str) else list(targets))


def target_problem(model, lora: LoraConfig) -> str | None:
    """Why model.lora.target_modules does not fit `model` (a name matching no module), or None. Names match
    as peft matches them: the whole module name or its last dotted parts."""
    targets = lora.target_modules
    if isinstance(targets, str):
        if targets == "all-linear":
            return None
        targets = [targets]
    names = [n for n, _ in model.named_modules() if n]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if not missing:
        return None
    linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
    return (f"{', '.join(missing)} match{'es' if len(missing) == 1 else ''} no module of this model; its linear "
            f"layers are {', '.join(linear) or 'none'} (or use all-linear)")


def check_targets(policy_path: str, lora: LoraConfig, trust_remote_code: bool) -> str | None:
    """target_problem for the model at policy_path, built on the meta device from its config (no weights)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    conf = AutoConfig.from_pretrained(policy_path, trust_remote_code=trust_remote_code)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(conf, trust_remote_code=trust_remote_code)
    return target_problem(model, lora)


def apply_lora(base, lora: LoraConfig, adapters: str | None = None):
    """The policy as a PeftModel: new adapters (B = 0, so it starts equal to the base), or trainable ones
    loaded from a checkpoint folder. The base's generation_config.json no longer fills in sampling defaults
    (the trainer passes every sampling parameter; see rollout.own_generation_defaults)."""
    from peft import PeftModel, get_peft_model
    from transformers import GenerationConfig
    problem = target_problem(base, lora)
    if problem:
        raise ValueError(f"model.lora.target_modules: {problem}")
    base.generation_config = GenerationConfig()
    # with gradient checkpointing the frozen embeddings' output must carry a gradient, else the checkpointed
    # blocks (and their adapters) get none
    base.enable_input_require_grads()
    if adapters:
        return PeftModel.from_pretrained(base, adapters, is_trainable=True)
    return get_peft_model(base, peft_config(lora))


def load_policy(load_from: str, base_path: str, lora: LoraConfig | None, **kwargs):
    """The policy in fp32: the model folder as it is; with model.lora, the base with new adapters, or with a
    LoRA checkpoint's adapters (the base is the folder the checkpoint names)."""
    import torch
    from transformers import AutoModelForCausalLM
    if not lora:
        return AutoModelForCausalLM.from_pretrained(load_from, dtype=torch.float32, **kwargs)
    adapters = load_from if is_adapter_checkpoint(load_from) else None
    base = AutoModelForCausalLM.from_pretrained(adapter_base(load_from) if adapters else base_path,
                                                dtype=torch.float32, **kwargs)
    return apply_lora(base, lora, adapters)


def adapter_parameters(model, lora: LoraConfig) -> int:
    """Parameters LoRA adds to `model` (r x (in + out) per adapted linear layer); `model` may be on the meta device."""
    targets = lora.target_modules
    out_head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    total = 0
    for name, m in model.named_modules():
        if type(m).__name__ != "Linear" or m is out_head:
            continue
        if targets == "all-linear" or any(name == t or name.endswith("." + t) for t in ([targets] if isinstance(targets, str) else targets)):
            total += lora.rank * (m.in_features + m.out_features)
    return total


class ReferenceView:
    """The KL reference under LoRA: the policy's base model, i.e. the policy called with its adapters off."""

    def __init__(self, policy):
        self.policy = policy

    def __call__(self, *args, **kwargs):
        with self.policy.disable_adapter():
            return self.policy(*args, **kwargs)

    # what the chunked log-probs (update.response_logprobs) read of a model: its config (the vocabulary) and its
    # head (a LoRA-wrapped head is no plain Linear, so they then take one pass)
    @property
    def config(self):
        return self.policy.config

    def get_output_embeddings(self):
        return self.policy.get_output_embeddings()


def merged_copy(model):
    """A plain model with the adapters of the PeftModel `model` folded into its weights; `model` is left as it is."""
    return copy.deepcopy(model).merge_and_unload()


def load_merged(path: str | Path, loader=None, **kwargs):
    """A LoRA checkpoint as one plain model (its base with the adapters merged)."""
    from peft import PeftModel
    if loader is None:
        from transformers import AutoModelForCausalLM as loader
    base = loader.from_pretrained(adapter_base(path), **kwargs)
    return PeftModel.from_pretrained(base, str(path)).merge_and_unload()
