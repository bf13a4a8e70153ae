"""Every rollout engine against the hf reference (rollout.py), the counter-based sampler (sampling.py) and the
update's token-budget micro-batches and chunked log-probs (update.py), on the example model on CPU."""

import pytest
import torch

from rlhf_trainer.preflight import load_tokenizer
from rlhf_trainer.rollout import Settings, make_engine, resolve_engine
from rlhf_trainer.sampling import uniform_noise
from rlhf_trainer.update import plan_micro_batches, response_logprobs, split_to

TEXTS = ["12+7=", "3+4=", "100+23=", "5+5="]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_and_tok(example_model):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(example_model).eval(), load_tokenizer(str(example_model), False)


def engines(model_and_tok, temperature=1.0, max_new=10):
    model, tok = model_and_tok
    s = Settings(max_new_tokens=max_new, temperature=temperature, top_p=1.0, top_k=None, max_prompt_tokens=64,
                 autocast=False)
    return {name: make_engine(name, model, tok, CPU, s) for name in ("hf", "static")}


def test_static_engine_decodes_the_same_greedy_tokens_as_hf(model_and_tok):
    e = engines(model_and_tok)
    a, b = e["hf"].generate(TEXTS, 1, None), e["static"].generate(TEXTS, 1, None)
    assert torch.equal(a.sequences, b.sequences) and torch.equal(a.response_mask, b.response_mask)
    assert torch.equal(a.truncated, b.truncated)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampled_tokens_match_hf_and_their_logprobs_match_the_training_forward(model_and_tok, temperature):
    model, _ = model_and_tok
    e = engines(model_and_tok, temperature)
    seeds = list(range(1000, 1000 + 3 * len(TEXTS)))
    a, b = e["hf"].generate(TEXTS, 3, seeds), e["static"].generate(TEXTS, 3, seeds)
    assert torch.equal(a.sequences, b.sequences)
    with torch.no_grad():
        lp, ent = response_logprobs(model, b.sequences, b.attention_mask, b.prompt_length, temperature, False,
                                    entropy="metric")
    mask = b.response_mask.float()
    for r in (a, b):
        torch.testing.assert_close(r.logprobs, lp * mask, rtol=0, atol=1e-4)
        torch.testing.assert_close(r.entropy, ent * mask, rtol=0, atol=1e-4)
    assert len({tuple(row) for row in b.sequences.tolist()}) > len(TEXTS)  # the seeds do pick different samples


def test_a_sample_does_not_depend_on_the_batch_it_was_generated_in(model_and_tok):
    static = engines(model_and_tok)["static"]
    seeds = list(range(50, 50 + 2 * len(TEXTS)))
    whole = static.generate(TEXTS, 2, seeds)
    part = static.generate(TEXTS[2:3], 2, seeds[4:6])  # prompt 2 alone: its own padding, batch of 2
    for row in range(2):
        P, Q = whole.prompt_length, part.prompt_length
        w = whole.sequences[4 + row, P:][whole.response_mask[4 + row].bool()]
        p = part.sequences[row, Q:][part.response_mask[row].bool()]
        assert torch.equal(w, p)


def test_paged_and_vllm_say_in_one_line_where_they_cannot_run():
    with pytest.raises(ValueError, match="rollout.engine: paged .* runs on CUDA only; on cpu set rollout.engine: static"):
        resolve_engine("paged", CPU)
    assert resolve_engine("auto", CPU) == "static"


def test_counter_noise_is_a_function_of_key_and_position_only():
    keys = torch.tensor([7, 8, 9, 2**40 + 7], dtype=torch.int64)
    u = uniform_noise(keys, 3)
    torch.testing.assert_close(uniform_noise(keys[1:2], 3), u[1:2], rtol=0, atol=0)
    assert not torch.equal(uniform_noise(keys, 4), u) and len(set(u.tolist())) == 4  # the high key bits count too
    big = uniform_noise(torch.arange(200_000), 5)
    assert float(big.min()) > 0 and float(big.max()) < 1
    assert abs(float(big.mean()) - 0.5) < 0.003 and abs(float(big.std()) - 12 ** -0.5) < 0.003  # U(0, 1)
    hist = torch.histc(big, bins=10, min=0, max=1) / len(big)
    assert float((hist - 0.1).abs().max()) < 0.004


def test_chunked_logprobs_give_the_one_pass_values_and_gradients(model_and_tok):
    model, _ = model_and_tok
    torch.manual_seed(0)
    ids = torch.randint(3, 20, (3, 14))
    attn = torch.ones_like(ids)
    attn[0, :2] = 0
    out = {}
    for name, budget in (("one pass", 2**30), ("chunks of 2", 3 * 2 * model.config.vocab_size * 4)):
        model.zero_grad()
        lp, ent = response_logprobs(model, ids, attn, 5, 0.8, False, entropy="loss", budget=budget)
        (lp.sum() + ent.sum()).backward()
        out[name] = (lp.detach(), ent.detach(), model.lm_head.weight.grad.clone(), model.model.norm.weight.grad.clone())
    for x, y in zip(out["one pass"], out["chunks of 2"]):  # gradients summed in another order: float rounding
        torch.testing.assert_close(y, x, rtol=1e-3, atol=1e-4)


def test_token_budget_micro_batches_cover_every_row_within_the_budget():
    lengths = [64, 3, 10, 64, 5, 1, 30, 2]
    plan = plan_micro_batches(list(range(8)), lengths, prompt_width=6, budget=160)
    assert sorted(r for mb in plan for r in mb) == list(range(8))
    for mb in plan:
        assert len(mb) == 1 or len(mb) * (6 + max(lengths[r] for r in mb)) <= 160
    assert len(plan) < 8  # short responses share a pass
    six = split_to(plan, 6)
    assert len(six) == 6 and sorted(r for mb in six for r in mb) == list(range(8))


def test_bf16_static_engine_samples_from_a_bf16_copy_whose_logprobs_match_the_autocast_forward(model_and_tok):
    """precision: bf16 on CPU: the static engine decodes on a bf16 copy of the policy; the log-probs it records
    are those of the training forward under CPU bf16 autocast, up to bf16 rounding, and a refresh after an
    optimizer step carries the new weights into the copy."""
    model, tok = model_and_tok
    s = Settings(max_new_tokens=10, temperature=1.0, top_p=1.0, top_k=None, max_prompt_tokens=64, autocast="cpu")
    static = make_engine("static", model, tok, CPU, s)
    assert static.model is not model and next(static.model.parameters()).dtype == torch.bfloat16
    assert next(model.parameters()).dtype == torch.float32  # the policy itself stays fp32
    seeds = list(range(7, 7 + 3 * len(TEXTS)))
    r = static.generate(TEXTS, 3, seeds)
    with torch.no_grad():
        lp, _ = response_logprobs(model, r.sequences, r.attention_mask, r.prompt_length, 1.0, "cpu")
    mask = r.response_mask.float()
    diff = ((r.logprobs - lp * mask).abs() * mask).sum() / mask.sum()
    assert float(diff) < 0.05, float(diff)  # bf16 rounding, not a different distribution
    assert torch.equal(static.generate(TEXTS, 3, seeds).sequences, r.sequences)  # deterministic per seed
    first = next(model.parameters())
    with torch.no_grad():
        first.add_(1.0)
    try:
        static.refresh()
        assert torch.equal(next(static.model.parameters()), first.detach().to(torch.bfloat16))
    finally:
        with torch.no_grad():
            first.sub_(1.0)
