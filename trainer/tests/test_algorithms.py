"""Pins the math in rlhf_trainer.algorithms on the reference vectors and on hand-checkable cases."""

import json
import math
from pathlib import Path

import pytest
import torch

from rlhf_trainer import algorithms as A

VECTORS = json.loads((Path(__file__).parent / "fixtures" / "algorithm_vectors.json").read_text())
CASES = {c["name"]: c for c in VECTORS["cases"]}
# OpenRLHF names -> ours
NAME = {"reinforce": "reinforce_pp", "reinforce_baseline": "reinforce_pp_baseline", "rloo": "rloo",
        "group_norm": "grpo", "dr_grpo": "dr_grpo"}


def t(x):
    return torch.tensor(x, dtype=torch.float32)


def close(actual, expected, mask=None, atol=2e-5):
    actual = actual.detach().double()
    expected = torch.tensor(expected, dtype=torch.float64)
    if mask is not None:
        actual, expected = actual * mask.double(), expected * mask.double()
    assert torch.allclose(actual, expected, atol=atol, rtol=1e-5), f"\n{actual}\n!=\n{expected}"


def estimator_cases():
    for cname, case in CASES.items():
        for key, exp in case.get("expected_openrlhf", {}).items():
            params = exp.get("params", {}) if isinstance(exp, dict) else {}
            if params.get("advantage_estimator") in NAME and "advantages" in exp and "kl" in exp:
                yield pytest.param(cname, key, id=f"{cname}:{key}")


def run_case(cname, key):
    case, exp = CASES[cname], CASES[cname]["expected_openrlhf"][key]
    inp, p = case["inputs"], exp["params"]
    mask = t(inp["action_mask"])
    out = A.compute_advantages(
        NAME[p["advantage_estimator"]], t(inp["scores"]), t(inp["old_logprobs"]), t(inp["ref_logprobs"]), mask,
        n_samples_per_prompt=inp["n_samples_per_prompt"], kl_coef=p["init_kl_coef"],
        kl_estimator=p.get("kl_estimator", "k1"), kl_in_reward=not p.get("use_kl_loss", False),
        gamma=p.get("gamma", 1.0), reward_clip=tuple(p.get("reward_clip_range", (-10, 10))),
        std_norm=not p.get("no_std_norm", False))
    return case, exp, inp, mask, out


@pytest.mark.parametrize("cname,key", list(estimator_cases()))
def test_estimators_match_reference(cname, key):
    case, exp, inp, mask, out = run_case(cname, key)
    assert out.gamma == exp["gamma_used"]
    close(out.kl, exp["kl"], mask)
    close(out.shaped_scores, exp["shaped_scores"])
    close(out.clipped_scores, exp["clipped_scores"])
    close(out.token_rewards, exp["token_rewards"], mask)
    close(out.returns, exp["returns"], mask)
    close(out.advantages, exp["advantages"], mask, atol=5e-5)
    if "normalization" in exp:
        n = exp["normalization"]
        assert out.normalization.num_tokens == n["num_tokens"]
        assert out.normalization.mean == pytest.approx(n["mean"], abs=1e-5)
        assert out.normalization.var == pytest.approx(n["var_population"], abs=1e-5)
    else:
        assert out.normalization is None
    close(A.masked_sum(out.token_rewards, mask, dim=-1), exp["metric_return"])
    close(A.masked_mean(out.kl, mask, dim=-1), exp["metric_kl_per_seq"])

    # the policy loss on these advantages
    logp, old = t(inp["logprobs"]), t(inp["old_logprobs"])
    adv = torch.tensor(exp["advantages"], dtype=torch.float32)
    per_tok, clipped = A.clipped_policy_loss(logp, old, adv)
    close(per_tok, exp["per_token_policy_loss"], mask, atol=5e-5)
    assert float(A.aggregate_token_mean(per_tok, mask, mask.sum())) == pytest.approx(exp["policy_loss_token_mean"], abs=2e-5)
    assert float(A.aggregate_sequence_mean(per_tok, mask)) == pytest.approx(exp["policy_loss_seq_mean"], abs=2e-5)
    assert float(A.masked_mean(clipped.float(), mask)) == pytest.approx(exp["clip_ratio"], abs=1e-6)
    assert float(A.masked_mean(old - logp, mask)) == pytest.approx(exp["ppo_kl"], abs=1e-6)
    dual, _ = A.clipped_policy_loss(logp, old, adv, dual_clip=3.0)
    assert float(A.masked_mean(dual, mask)) == pytest.approx(exp["policy_loss_dual_clip_3"], abs=2e-5)
    asym, _ = A.clipped_policy_loss(logp, old, adv, eps_low=0.2, eps_high=0.28)
    assert float(A.masked_mean(asym, mask)) == pytest.approx(exp["policy_loss_eps_0.2_0.28"], abs=2e-5)


def test_no_std_norm_only_centres():
    case = CASES["A_reinforce_n1"]
    exp = case["expected_openrlhf"]["reinforce_k1_gamma1_beta0.01_no_std_norm"]
    inp, mask = case["inputs"], t(case["inputs"]["action_mask"])
    out = A.compute_advantages("reinforce_pp", t(inp["scores"]), t(inp["old_logprobs"]), t(inp["ref_logprobs"]), mask,
                               kl_coef=0.01, std_norm=False)
    close(out.advantages, exp["advantages"], mask)
    assert out.normalization.rstd == 1.0


def test_kl_as_loss_zeroes_reward_kl_and_matches_k2_loss():
    case = CASES["B_grouped_n3"]
    exp = case["expected_openrlhf"]["reinforce_baseline_use_kl_loss_k2_beta0.001"]
    inp, mask = case["inputs"], t(case["inputs"]["action_mask"])
    logp, ref = t(inp["logprobs"]), t(inp["ref_logprobs"])
    k2 = A.approx_kl(logp, ref, "k2", mask)
    assert float(A.masked_mean(k2, mask)) == pytest.approx(exp["kl_loss_k2_token_mean"], abs=1e-6)
    k3 = A.approx_kl(logp, ref, "k3", mask)
    assert float(A.masked_mean(k3, mask)) == pytest.approx(exp["kl_loss_k3_token_mean_for_comparison"], abs=1e-6)
    pl = exp["policy_loss_token_mean"]
    assert pl + 0.001 * exp["kl_loss_k2_token_mean"] == pytest.approx(exp["total_loss"], abs=1e-9)


def test_loss_aggregation_over_uneven_micro_batches_is_one_step_token_mean():
    case = CASES["A_reinforce_n1"]
    agg = case["expected_openrlhf"]["aggregation_two_micro_batches"]
    exp = case["expected_openrlhf"]["reinforce_k1_gamma1_beta0.01"]
    mask = t(case["inputs"]["action_mask"])
    per_tok = t(exp["per_token_policy_loss"])
    step_tokens = mask.sum()
    total = sum(float(A.aggregate_token_mean(per_tok[mb], mask[mb], step_tokens)) for mb in agg["micro_batches"])
    assert total == pytest.approx(agg["head_global_token_mean"], abs=2e-5)
    assert [float(mask[mb].sum()) for mb in agg["micro_batches"]] == agg["tokens_per_micro_batch"]
    # the older aggregation (mean of per-micro-batch token means) differs on uneven micro-batches
    older = sum(float(A.masked_mean(per_tok[mb], mask[mb])) for mb in agg["micro_batches"]) / len(agg["micro_batches"])
    assert older == pytest.approx(agg["v0.7_to_v0.10.3_mean_of_micro_batch_token_means"], abs=2e-5)
    assert float(A.aggregate_sequence_mean(per_tok, mask)) == pytest.approx(agg["v0.5_v0.6_sequence_mean"], abs=2e-5)


def test_logprobs_and_entropy_from_logits():
    case = CASES["D_logits_entropy"]
    logits, ids = t(case["inputs"]["logits"]), torch.tensor(case["inputs"]["token_ids"])
    exp = case["expected_openrlhf"]
    close(A.log_probs_from_logits(logits, ids, 1.0), exp["logprobs_temperature_1.0"])
    close(A.log_probs_from_logits(logits, ids, 0.7), exp["logprobs_temperature_0.7"])
    close(A.entropy_from_logits(logits), exp["entropy_raw_logits"])


def test_equal_rewards_and_zero_kl_give_zero_advantages_via_variance_floor():
    case = CASES["C_edges"]
    exp = case["expected_openrlhf"]["reinforce_equal_scores_beta0"]
    inp, mask = case["inputs"], t(case["inputs"]["action_mask"])
    out = A.compute_advantages("reinforce_pp", t(exp["params"]["scores_override"]), t(inp["old_logprobs"]),
                               t(inp["ref_logprobs"]), mask, n_samples_per_prompt=2, kl_coef=exp["params"]["init_kl_coef"])
    close(out.returns, exp["returns"], mask)
    assert out.normalization.rstd == pytest.approx(exp["normalization"]["rstd"])
    assert out.normalization.num_tokens == exp["normalization"]["num_tokens"]
    assert torch.count_nonzero(out.advantages) == 0


def test_single_token_response_gets_its_reward_on_that_token():
    out = A.compute_advantages("rloo", t([2.0, 0.0]), torch.zeros(2, 3), torch.zeros(2, 3),
                               t([[1, 0, 0], [1, 1, 0]]), n_samples_per_prompt=2, kl_coef=0.0)
    close(out.token_rewards, [[2.0, 0, 0], [0, -2.0, 0]])
    close(out.advantages, [[2.0, 0, 0], [-2.0, -2.0, 0]])


def test_group_of_one_is_zero_for_grouped_estimators():
    """n = 1 makes every grouped baseline zero -- the config refuses it (see test_config)."""
    s = t([1.0, 0.0, 5.0])
    assert torch.count_nonzero(A.shape_group_scores(s, 1, "reinforce_pp_baseline")) == 0
    assert torch.count_nonzero(A.shape_group_scores(s, 1, "dr_grpo")) == 0


def test_grpo_equal_group_is_zero_and_gamma_forced_to_one():
    out = A.compute_advantages("grpo", t([1.0, 1.0, 0.0, 1.0]), torch.zeros(4, 2), torch.zeros(4, 2), torch.ones(4, 2),
                               n_samples_per_prompt=2, kl_coef=0.0, gamma=0.5)
    assert out.gamma == 1.0
    assert torch.count_nonzero(out.advantages[:2]) == 0
    assert out.advantages[2, 0] == pytest.approx(-0.5 / math.sqrt(0.5), abs=1e-4)


def test_padded_positions_never_carry_advantage_or_reward():
    mask = t([[1, 1, 0, 0], [1, 0, 0, 0]])
    out = A.compute_advantages("reinforce_pp", t([1.0, -1.0]), torch.randn(2, 4) * mask, torch.randn(2, 4) * mask,
                               mask, kl_coef=0.1)
    assert torch.all(out.advantages[mask == 0] == 0)
    assert torch.all(out.token_rewards[mask == 0] == 0)


def test_kl_clamped_and_k3_nonnegative():
    d = t([-50.0, -1.0, 0.0, 1.0, 50.0])
    assert float(A.approx_kl(d, torch.zeros(5), "k1").max()) == 10.0
    assert float(A.approx_kl(d, torch.zeros(5), "k1").min()) == -10.0
    assert torch.all(A.approx_kl(d, torch.zeros(5), "k3") >= 0)


def test_ratio_clamp_keeps_loss_finite():
    loss, _ = A.clipped_policy_loss(t([100.0]), t([0.0]), t([-1.0]))
    assert torch.isfinite(loss).all()


def test_gae_matches_hand_computation():
    r, v, m = t([[0.0, 1.0]]), t([[0.5, 0.25]]), t([[1, 1]])
    adv, ret = A.gae_advantages(r, v, m, gamma=1.0, lambd=0.5)
    d1 = 1.0 - 0.25
    d0 = 0.0 + 0.25 - 0.5
    close(adv, [[d0 + 0.5 * d1, d1]])
    close(ret, [[d0 + 0.5 * d1 + 0.5, d1 + 0.25]])
