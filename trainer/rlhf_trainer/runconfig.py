"""A typed, read-only view of a resolved config (after load_config: defaults filled, paths resolved).

One frozen dataclass per section of schemas/config.schema.json; test_shape.py walks the schema and the
dataclasses both ways, so a key added to one and not the other fails a test. The dict stays what is
written to config.yaml and run_started; code reads `RunConfig.from_dict(cfg).train.lr`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass


@dataclass(frozen=True)
class LoraConfig:
    rank: int
    alpha: float
    dropout: float
    target_modules: object  # a list of module names, or the keyword "all-linear" (peft's own value)


@dataclass(frozen=True)
class ModelConfig:
    policy: str
    reference: str | None
    create_if_missing: str | None
    gradient_checkpointing: bool
    trust_remote_code: bool
    lora: LoraConfig | None = None


@dataclass(frozen=True)
class DataConfig:
    prompts: str
    prompt_key: str
    label_key: str | None
    apply_chat_template: bool
    input_template: str | None
    max_prompt_tokens: int
    max_samples: int
    eval_prompts: str | None


@dataclass(frozen=True)
class RolloutConfig:
    batch_size: int
    n_samples_per_prompt: int
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int | None
    micro_batch_size: int
    engine: str


@dataclass(frozen=True)
class OptimizerConfig:
    """The optimizer's keys, the same in train (policy runs) and in a reward-model run's train."""
    lr: float
    warmup_ratio: float
    min_lr_ratio: float
    weight_decay: float
    adam_betas: tuple[float, ...]
    max_grad_norm: float


@dataclass(frozen=True)
class TrainConfig(OptimizerConfig):
    batch_size: int
    micro_batch_size: int
    micro_batch_tokens: int | None
    max_epochs: int
    num_episodes: int
    max_steps: int | None
    loss_aggregation: str
    critic_lr: float
    strategy: str


@dataclass(frozen=True)
class KLConfig:
    coef: float
    estimator: str
    mode: str


@dataclass(frozen=True)
class AlgorithmConfig:
    estimator: str
    gamma: float
    lambd: float
    std_norm: bool
    eps_clip: float
    eps_clip_high: float | None
    dual_clip: float | None
    entropy_coef: float | None
    reward_clip: tuple[float, ...]
    kl: KLConfig


@dataclass(frozen=True)
class WorkerConfig:
    command: tuple[str, ...]
    options: dict


@dataclass(frozen=True)
class HttpConfig:
    url: str
    token_env: str | None
    retries: int


@dataclass(frozen=True)
class RewardSourceConfig:
    name: str
    weight: float
    function: str | None = None  # exactly one of function, worker, http (the schema's oneOf)
    worker: WorkerConfig | None = None
    http: HttpConfig | None = None
    reward_model: str | None = None
    batch_size: int | None = None
    normalize: bool | None = None


@dataclass(frozen=True)
class RewardConfig:
    fallback: float
    timeout_s: float
    rules: tuple[dict, ...]  # compiled and checked by the TypeScript rule engine, not read here
    sources: tuple[RewardSourceConfig, ...]
    rule_time_budget_ms: float


@dataclass(frozen=True)
class EvalConfig:
    every_steps: int
    greedy: bool
    k: int
    max_prompts: int


@dataclass(frozen=True)
class CheckpointConfig:
    every_steps: int | None
    keep_last: int


@dataclass(frozen=True)
class LoggingConfig:
    samples_per_step: int | None  # None: every sample
    token_details_share: float | None = None  # deprecated, ignored (set only by old configs)


@dataclass(frozen=True)
class NotifyConfig:
    webhook_env: str | None = None  # the NAME of the variable holding the webhook URL, never the URL


@dataclass(frozen=True)
class SignalsConfig:
    enabled: bool
    window: int
    min_length_growth: float
    max_reward_gain: float
    min_eval_drop: float
    # the watchdogs (signals.py); None turns one off
    patience: int = 3
    truncation_share: float | None = 0.95
    zero_variance_share: float | None = 0.9
    entropy_min: float | None = 0.02
    entropy_drop: float | None = 0.1
    kl_max: float | None = 1.0
    kl_growth: float | None = 10.0
    stall_factor: float | None = 5.0
    stall_min_s: float = 120.0
    notify: NotifyConfig = NotifyConfig()


class _FromResolved:
    """from_dict for a whole run's config (RunConfig, RewardModelRunConfig)."""

    @classmethod
    def from_dict(cls, cfg: dict) -> typing.Self:
        """From a resolved config dict (load_config's, train_rm.load_rm_config's; keys starting with '_' are
        the loader's bookkeeping)."""
        return _build(cls, {k: v for k, v in cfg.items() if not k.startswith("_")})


@dataclass(frozen=True)
class RunConfig(_FromResolved):
    name: str
    seed: int
    device: str
    precision: str
    model: ModelConfig
    data: DataConfig
    rollout: RolloutConfig
    train: TrainConfig
    algorithm: AlgorithmConfig
    reward: RewardConfig
    eval: EvalConfig
    checkpoint: CheckpointConfig
    logging: LoggingConfig
    signals: SignalsConfig



# ---- a reward-model run (kind: reward_model, schemas/reward-model-config.schema.json) ----------------

@dataclass(frozen=True)
class RMModelConfig:
    base: str
    create_if_missing: str | None
    trust_remote_code: bool
    gradient_checkpointing: bool


@dataclass(frozen=True)
class RMDataConfig:
    train: str
    eval: str | None
    eval_share: float
    prompt_key: str
    chosen_key: str
    rejected_key: str
    margin_key: str
    max_length: int
    max_samples: int


@dataclass(frozen=True)
class RMTrainConfig(OptimizerConfig):
    batch_size: int
    micro_batch_size: int
    epochs: int
    max_steps: int | None
    margin: float
    strategy: str


@dataclass(frozen=True)
class RMEvalConfig:
    every_steps: int


@dataclass(frozen=True)
class RewardModelRunConfig(_FromResolved):
    kind: str
    name: str
    seed: int
    device: str
    output: str | None
    model: RMModelConfig
    data: RMDataConfig
    train: RMTrainConfig
    eval: RMEvalConfig
    checkpoint: CheckpointConfig



def field_types(cls) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _convert(tp, value):
    if value is None:
        return None
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType):  # X | None
        return _convert(next(a for a in args if a is not type(None)), value)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value)
    if typing.get_origin(tp) is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if tp is float:
        return float(value)
    if tp is object:  # free-form (a list or a keyword): kept as the schema allowed it
        return tuple(value) if isinstance(value, list) else value  # YAML's `lr: 1` is an int; the field is a float either way
    return value


def _build(cls, d: dict):
    hints = field_types(cls)
    unknown = set(d) - set(hints)
    if unknown:
        raise ValueError(f"{cls.__name__}: no field for config key(s) {', '.join(sorted(unknown))}")
    return cls(**{k: _convert(hints[k], v) for k, v in d.items()})
