"""The trainer's shape: one mixed-precision helper, the Experience batch, the typed config view."""

import pytest
import torch

from rlhf_trainer.trainer import mixed_precision


def test_mixed_precision_is_bf16_on_cuda_only():
    a = torch.ones(4, 4)
    with mixed_precision(True):
        assert (a @ a).dtype == torch.float32  # CPU training stays float32 even when asked
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the bf16 half of the helper needs one")
    c = a.cuda()
    with mixed_precision(True):
        assert (c @ c).dtype == torch.bfloat16
    with mixed_precision(False):
        assert (c @ c).dtype == torch.float32


def test_training_state_round_trips_through_trainer_state_pt(tmp_path):
    from rlhf_trainer.checkpoint import COMPLETE, load_state, restore_training_state, save_state, training_state
    from rlhf_trainer.trainer import make_scheduler

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
    state = training_state(6, 60, 4, 10, opt, sched, "cosine_with_min_lr", critic, copt, kl_coef=0.01)
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
