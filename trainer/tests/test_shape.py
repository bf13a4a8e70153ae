"""The trainer's shape: one mixed-precision helper, the Experience batch, the typed config view."""

import pytest
import torch

from rlhf_trainer.update import autocast_for, mixed_precision


def test_mixed_precision_autocasts_on_the_device_type_it_names():
    a = torch.ones(4, 4)
    with mixed_precision(False):
        assert (a @ a).dtype == torch.float32  # fp32: a no-op
    with mixed_precision("cpu"):
        assert (a @ a).dtype == torch.bfloat16  # precision: bf16 on a CPU
    assert autocast_for("auto", torch.device("cpu")) is False and autocast_for("bf16", torch.device("cpu")) == "cpu"
    assert autocast_for("auto", torch.device("cuda")) == "cuda" and autocast_for("fp32", torch.device("cuda")) is False


def test_mixed_precision_on_cuda():
    a = torch.ones(4, 4)
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the CUDA half of the helper needs one")
    c = a.cuda()
    with mixed_precision("cuda"):
        assert (c @ c).dtype == torch.bfloat16
    with mixed_precision(False):
        assert (c @ c).dtype == torch.float32


def test_training_state_round_trips_through_trainer_state_pt(tmp_path):
    from rlhf_trainer.checkpoint import COMPLETE, load_state, restore_training_state, save_state, training_state
    from rlhf_trainer.models import make_scheduler

    def build():
        torch.manual_seed(0)
        policy, critic = torch.nn.Linear(3, 3), torch.nn.Linear(3, 1)
        opt, copt = torch.optim.AdamW(policy.parameters(), lr=1e-3), torch.optim.AdamW(critic.parameters(), lr=1e-2)
        return policy, critic, opt, copt, make_scheduler(opt, 10, 0.3, 0.1)

    policy, critic, opt, copt, sched = build()
    for _ in range(4):
        (policy(torch.ones(1, 3)).sum() + critic(torch.ones(1, 3)).sum()).backward()
        opt.step()
        copt.step()
        sched.step()
    state = training_state(6, 60, 4, 10, opt, sched, "cosine_with_min_lr", critic, copt, reference_path="ref")
    assert (state["episode"], state["data_position"], state["consumed_prompts"]) == (1, 2, 60)
    save_state(state, tmp_path)
    (tmp_path / COMPLETE).write_text("")
    _, critic2, opt2, copt2, sched2 = build()
    assert restore_training_state(load_state(tmp_path), opt2, sched2, critic2, copt2) == (6, 60)
    assert sched2.last_epoch == 4 and sched2.get_last_lr() == sched.get_last_lr()
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(critic2.weight, critic.weight)
    assert copt2.state_dict()["state"][0]["step"] == 4


def test_one_step_carries_an_experience_with_openrlhf_shapes(tmp_path, example_model):
    from conftest import example_config, write_config
    from rlhf_trainer.config import load_config
    from rlhf_trainer.runfolder import RunFolder
    from rlhf_trainer.trainer import Trainer

    cfg = load_config(write_config(tmp_path, example_config(**{"algorithm.estimator": "ppo", "rollout.batch_size": 64,
                                                                "train.batch_size": 32, "train.micro_batch_size": 32})))
    t = Trainer(cfg, RunFolder(tmp_path / "run"))
    t.setup()
    seen = []
    update = t.update
    t.update = lambda exp: (seen.append(exp), update(exp))[1]  # observe what the loop hands over
    try:
        values = t.train_step(1)
    finally:
        t.close()
    (exp,) = seen
    B, P = 64, exp.prompt_length
    R = exp.action_mask.shape[1]
    assert exp.sequences.shape == exp.attention_mask.shape == (B, P + R)
    for name in ("action_mask", "action_log_probs", "base_action_log_probs", "values", "advantages", "returns",
                 "token_rewards", "kl"):
        assert getattr(exp, name).shape == (B, R), name
    assert exp.rewards.shape == exp.truncated.shape == (B,)
    assert torch.equal(exp.attention_mask[:, P:].float(), exp.action_mask)
    assert float((exp.advantages * (1 - exp.action_mask)).abs().sum()) == 0
    assert values["response_length_mean"] == pytest.approx(float(exp.action_mask.sum(-1).mean()))
    assert values["reward_mean"] == pytest.approx(float(exp.rewards.mean()))


# ---- the typed config view cannot drift from schemas/config.schema.json -------------------------

JSON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


def _schema_types(sub: dict) -> set[str]:
    t = sub.get("type")
    if t is None and "enum" in sub:  # enum-only keys: the types of their values
        return {"null" if v is None else {str: "string", int: "integer"}[type(v)] for v in sub["enum"]}
    if t is None and "const" in sub:  # a const key (a reward-model config's kind): its value's type
        return {{str: "string", int: "integer"}[type(sub["const"])]}
    return {t} if isinstance(t, str) else set(t or ())


def _check_compatible(path: str, sub: dict, tp, optional: bool, problems: list):
    import dataclasses
    import types
    import typing
    args = typing.get_args(tp)
    is_union = isinstance(tp, types.UnionType)
    if is_union != optional:
        problems.append(f"{path}: {'optional' if optional else 'required'} in the schema, field type {tp}")
    if is_union:
        tp = next(a for a in args if a is not type(None))
    if tp is object:  # a field that takes whatever the schema allows (LoRA's target_modules: a list or a keyword)
        return
    kinds = _schema_types(sub) - {"null"}
    if len(kinds) != 1:
        problems.append(f"{path}: schema gives no single type ({sorted(kinds)})")
        return
    kind = kinds.pop()
    if kind in JSON_TYPES:
        if tp is not JSON_TYPES[kind]:
            problems.append(f"{path}: schema {kind}, field {tp}")
    elif kind == "array":
        if typing.get_origin(tp) is not tuple:
            problems.append(f"{path}: schema array, field {tp}")
        elif "properties" in sub["items"] or sub["items"].get("type") in JSON_TYPES:
            _check_compatible(path + "[]", sub["items"], typing.get_args(tp)[0], False, problems)
    elif "properties" in sub:
        if not dataclasses.is_dataclass(tp):
            problems.append(f"{path}: schema object with properties, field {tp}")
        else:
            _walk(path, sub, tp, problems)
    elif tp is not dict:
        problems.append(f"{path}: schema free-form object, field {tp}")


def _walk(path: str, schema: dict, cls, problems: list):
    from rlhf_trainer.runconfig import field_types
    props, hints = schema["properties"], field_types(cls)
    for key in sorted(set(props) - set(hints)):
        problems.append(f"{path}.{key}: in the schema, no field in {cls.__name__}")
    for key in sorted(set(hints) - set(props)):
        problems.append(f"{path}.{key}: field of {cls.__name__}, not in the schema")
    for key in sorted(set(props) & set(hints)):
        sub = props[key]
        # None can reach the field when the schema allows null, or the key is optional without a default
        optional = "null" in _schema_types(sub) or (key not in schema.get("required", ()) and "default" not in sub)
        _check_compatible(f"{path}.{key}", sub, hints[key], optional, problems)


def test_run_config_dataclasses_match_the_schema_both_ways():
    from rlhf_trainer.config import load_schema
    from rlhf_trainer.runconfig import RunConfig
    schema = load_schema()
    # top-level model and data are required without defaults; everything else has one
    problems: list[str] = []
    _walk("config", {**schema, "required": list(schema["properties"])}, RunConfig, problems)
    assert problems == []


def test_reward_model_run_config_dataclasses_match_the_schema_both_ways():
    from rlhf_trainer.config import load_schema
    from rlhf_trainer.runconfig import RewardModelRunConfig
    schema = load_schema("reward-model-config.schema.json")
    problems: list[str] = []
    _walk("config", {**schema, "required": list(schema["properties"])}, RewardModelRunConfig, problems)
    assert problems == []


def test_run_config_reads_the_resolved_example(tmp_path):
    from conftest import example_config, write_config
    from rlhf_trainer.config import load_config
    from rlhf_trainer.runconfig import RunConfig
    cfg = load_config(write_config(tmp_path, example_config(**{"train.lr": 1, "algorithm.kl.coef": 0})),
                      check_files=False)
    rc = RunConfig.from_dict(cfg)
    assert rc.train.lr == 1.0 and isinstance(rc.train.lr, float) and rc.train.adam_betas == (0.9, 0.95)
    assert rc.algorithm.kl.coef == 0.0 and rc.rollout.top_k is None and rc.model.policy == cfg["model"]["policy"]
    assert rc.reward.sources[0].function.endswith("reward.py:reward_func") and rc.reward.sources[0].worker is None
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        rc.train.lr = 2.0  # frozen: the view cannot disagree with the dict it was built from
