"""The real trainer on the embedded tiny model: run folder contract, control, checkpoints, resume, learning."""

import json
import math
import signal
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import torch

from rlhf_trainer.config import load_schema
from rlhf_trainer.runfolder import latest_checkpoint
from conftest import EXAMPLE, example_config, metrics, read_events, run_trainer, start_long_run, write_config

# the metrics every step of a policy run logs: read from the contract (the first of its two sets; the other is a
# reward-model run's), not copied from it
REQUIRED_METRICS = next(b["then"]["properties"]["values"]["anyOf"][0]["required"]
                        for b in load_schema("events.schema.json")["allOf"] if b["if"]["properties"]["type"]["const"] == "metrics")


def test_run_folder_matches_the_contract(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 3, "checkpoint.every_steps": 2, "eval.every_steps": 2,
                            "eval.max_prompts": 8, "logging.token_details_share": 0.5})
    cfg["data"]["eval_prompts"] = str(EXAMPLE / "data" / "eval.jsonl")
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("config.yaml", "status.json", "events.jsonl", "samples.jsonl", "trainer.log"):
        assert (run_dir / name).is_file(), name
    status = json.loads((run_dir / "status.json").read_text())
    jsonschema.validate(status, load_schema("status.schema.json"))
    assert status["state"] == "completed" and status["step"] == 3
    events = read_events(run_dir)
    schema = load_schema("events.schema.json")
    for e in events:
        jsonschema.validate(e, schema)
    types = [e["type"] for e in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert events[-1]["status"] == "completed"
    assert {"progress", "metrics", "samples", "checkpoint", "eval"} <= set(types)
    for values in metrics(run_dir).values():
        for key in REQUIRED_METRICS:
            assert key in values and values[key] is not None and math.isfinite(values[key]), key
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 2, 3]
    assert "eval_pass@1" in evals[0]["values"] and "eval_pass@4" in evals[0]["values"]
    # checkpoints: periodic at 2, final at 3; HF folder + trainer state
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == ["step-000002", "step-000003"]
    final = run_dir / "checkpoints" / "step-000003"
    assert (final / "model.safetensors").is_file() and (final / "tokenizer.json").is_file()
    state = torch.load(final / "trainer_state.pt", weights_only=True)
    assert {"optimizer", "scheduler", "rng", "step", "samples_seen", "consumed_prompts", "data_position"} <= set(state)
    assert set(state["rng"]) >= {"torch", "python", "numpy"}
    # samples: prompt, response, label, per-source rewards, per-token data for every one (the deprecated
    # token_details_share still loads, with a warning)
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 * 8
    detailed = [s for s in samples if "advantages" in s]
    assert len(detailed) == 3 * 8
    assert "logging.token_details_share 0.5 is deprecated" in (run_dir / "trainer.log").read_text()
    s = detailed[0]
    assert len(s["tokens"]) == len(s["logprobs"]) == len(s["ref_logprobs"]) == len(s["kl"]) == len(s["advantages"])
    assert s["rewards"].keys() == {"correct"} and "label" in s
    assert "step 3/3" in (run_dir / "trainer.log").read_text()


def test_resume_reproduces_the_uninterrupted_run(tmp_path, example_model):
    cfg = example_config(**{"train.max_steps": 6, "checkpoint.every_steps": 3})
    config = write_config(tmp_path, cfg)
    full = tmp_path / "full"
    assert run_trainer(config, full).returncode == 0
    ckpt = full / "checkpoints" / "step-000003"
    resumed = tmp_path / "resumed"
    r = run_trainer(config, resumed, "--resume", str(ckpt))
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = metrics(full), metrics(resumed)
    assert sorted(b) == [4, 5, 6]
    for step in (4, 5, 6):
        for key in ("reward_mean", "policy_loss", "kl", "grad_norm", "entropy", "lr", "response_length_mean"):
            assert b[step][key] == pytest.approx(a[step][key], rel=1e-5, abs=1e-7), (step, key)
    started = read_events(resumed)[0]
    assert started["resumed_from"] == str(ckpt.resolve())


def _wait_for(run_dir, predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (run_dir / "events.jsonl").exists() and predicate(read_events(run_dir)):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", ["stdin", "sigint", "sigterm"])
def test_stop_finishes_the_step_checkpoints_and_reports_stopped(tmp_path, example_model, how):
    proc, run_dir = start_long_run(tmp_path, stderr=subprocess.PIPE)
    try:
        assert _wait_for(run_dir, lambda ev: any(e["type"] == "metrics" and e["step"] >= 2 for e in ev))
        if how == "stdin":
            proc.stdin.write(json.dumps({"type": "stop"}) + "\n")
            proc.stdin.flush()
        else:
            proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, proc.stderr.read()[-2000:]
    finally:
        proc.kill()
    events = read_events(run_dir)
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "stopped"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "stopped"
    last_step = max(e["step"] for e in events if e["type"] == "metrics")
    ckpt = latest_checkpoint(run_dir)
    assert ckpt is not None and ckpt.name == f"step-{last_step:06d}"
    assert any(e["type"] == "checkpoint" and e["reason"] == "stop" for e in events)


def test_save_request_writes_a_checkpoint_and_training_goes_on(tmp_path, example_model):
    proc, run_dir = start_long_run(tmp_path)
    try:
        assert _wait_for(run_dir, lambda ev: any(e["type"] == "metrics" for e in ev))
        proc.stdin.write('{"type":"save"}\n')
        proc.stdin.flush()
        assert _wait_for(run_dir, lambda ev: any(e["type"] == "checkpoint" and e["reason"] == "requested" for e in ev))
        event = [e for e in read_events(run_dir) if e["type"] == "checkpoint"][0]
        saved = event["step"]
        assert (Path(event["path"]) / "KEEP").exists()  # a checkpoint someone asked for is never pruned
        assert _wait_for(run_dir, lambda ev: any(e["type"] == "metrics" and e["step"] > saved + 1 for e in ev))
    finally:
        proc.kill()
        proc.wait()


def test_sigkill_never_leaves_a_half_checkpoint_that_looks_whole(tmp_path, example_model):
    from rlhf_trainer.runfolder import RunFolder
    run = RunFolder(tmp_path / "run")
    tmp = run.begin_checkpoint(7)
    (tmp / "model.safetensors").write_bytes(b"partial")  # killed here: never renamed, no COMPLETE marker
    assert latest_checkpoint(tmp_path / "run") is None
    done = run.commit_checkpoint(run.begin_checkpoint(5), 5)
    assert latest_checkpoint(tmp_path / "run") == done
    # a real SIGKILL mid-run: the newest complete checkpoint still loads
    proc, run_dir = start_long_run(tmp_path, stdin=subprocess.DEVNULL, run_name="killed", **{"checkpoint.every_steps": 1})
    assert _wait_for(run_dir, lambda ev: sum(e["type"] == "checkpoint" for e in ev) >= 3)
    proc.kill()
    proc.wait()
    ckpt = latest_checkpoint(run_dir)
    from transformers import AutoModelForCausalLM
    AutoModelForCausalLM.from_pretrained(ckpt)
    torch.load(ckpt / "trainer_state.pt", weights_only=True)


@pytest.mark.parametrize("overrides", [
    {"algorithm.estimator": "reinforce_pp_baseline", "rollout.n_samples_per_prompt": 4, "rollout.batch_size": 16,
     "algorithm.kl.mode": "loss", "algorithm.kl.estimator": "k2"},
    {"algorithm.estimator": "grpo", "rollout.n_samples_per_prompt": 2, "rollout.batch_size": 32, "algorithm.kl.estimator": "k3",
     "algorithm.gamma": 0.9},
    {"algorithm.estimator": "rloo", "rollout.n_samples_per_prompt": 2, "rollout.batch_size": 32},
    {"algorithm.estimator": "dr_grpo", "rollout.n_samples_per_prompt": 2, "rollout.batch_size": 32,
     "train.loss_aggregation": "sequence_mean"},
    {"algorithm.estimator": "ppo", "algorithm.gamma": 1.0, "algorithm.dual_clip": 3.0},
    {"algorithm.kl.coef": 0.0, "algorithm.entropy_coef": 0.01, "train.micro_batch_size": 16, "train.max_epochs": 2},
], ids=["baseline-kl-loss", "grpo-k3", "rloo", "dr_grpo-seqmean", "ppo-dualclip", "no-ref-entropy-accum"])
def test_every_estimator_trains(tmp_path, example_model, overrides):
    cfg = example_config(**{"train.max_steps": 2, **overrides})
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    m = metrics(run_dir)
    assert sorted(m) == [1, 2]
    for v in m.values():
        assert all(x is None or math.isfinite(x) for x in v.values())
        assert v["grad_norm"] > 0
    if "rollout.n_samples_per_prompt" in overrides:
        assert "zero_std_group_frac" in m[1]
    if overrides.get("algorithm.estimator") == "ppo":
        assert "critic_loss" in m[1]
    # a gamma the estimator cannot use is named, in the event stream and on stdout; nowhere else
    forced = [e["message"] for e in read_events(run_dir) if e["type"] == "log" and e["level"] == "warning"
              and "gamma" in e["message"]]
    if overrides.get("algorithm.gamma", 1.0) != 1.0:
        assert len(forced) == 1 and forced[0].startswith("algorithm.gamma 0.9 is not used: estimator grpo"), forced
        assert "[warning] algorithm.gamma 0.9 is not used" in r.stdout
    else:
        assert forced == []


def test_embedded_example_learns(tmp_path, example_model):
    """The README's promise: on 2 CPU cores the reward rises clearly (fixed seed)."""
    run_dir = tmp_path / "demo"
    t0 = time.time()
    r = run_trainer(EXAMPLE / "config.yaml", run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    m = metrics(run_dir)
    first = sum(m[s]["reward_mean"] for s in range(1, 11)) / 10
    last = sum(m[s]["reward_mean"] for s in range(len(m) - 9, len(m) + 1)) / 10
    evals = [e for e in read_events(run_dir) if e["type"] == "eval"]
    print(f"reward {first:.3f} -> {last:.3f}; eval pass@1 {evals[0]['values']['eval_pass@1']:.3f} -> "
          f"{evals[-1]['values']['eval_pass@1']:.3f} in {time.time() - t0:.0f}s")
    assert last > first + 0.2
    assert evals[-1]["values"]["eval_pass@1"] > evals[0]["values"]["eval_pass@1"] + 0.15
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"
    assert latest_checkpoint(run_dir) is not None


def test_lr_follows_transformers_cosine_with_min_lr_schedule(tmp_path, example_model):
    """The schedule OpenRLHF uses, warmup ceil(total x warmup_ratio) steps: 4 global steps x 2 optimizer steps
    (128 samples / train.batch_size 64) = 8, warmup ceil(8 x 0.5) = 4; the first optimizer step runs at lr 0."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup
    cfg = example_config(**{"train.max_steps": 4, "train.warmup_ratio": 0.5, "train.min_lr_ratio": 0.1})
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg["train"]["lr"])
    ref = get_cosine_with_min_lr_schedule_with_warmup(opt, num_warmup_steps=4, num_training_steps=8, min_lr_rate=0.1)
    expected = []
    for _ in range(8):
        opt.step()
        ref.step()
        expected.append(ref.get_last_lr()[0])
    m = metrics(run_dir)
    assert [m[s]["lr"] for s in (1, 2, 3, 4)] == pytest.approx(expected[1::2], rel=1e-9)
    assert m[2]["lr"] == pytest.approx(2e-4) and m[4]["lr"] == pytest.approx(2e-5)  # peak after warmup, then the floor
    state = torch.load(run_dir / "checkpoints" / "step-000004" / "trainer_state.pt", weights_only=True)
    assert state["lr_schedule"] == "cosine_with_min_lr"


# ---- speed on one device: what is skipped must not change the numbers ---------------------------------

def _setup_trainer(tmp_path, **overrides):
    from rlhf_trainer.config import load_config
    from rlhf_trainer.runfolder import RunFolder
    from rlhf_trainer.trainer import Trainer
    t = Trainer(load_config(write_config(tmp_path, example_config(**overrides))), RunFolder(tmp_path / "run"))
    t.setup()
    return t


@pytest.mark.parametrize("train_batch,recomputed", [(16, False), (8, True)])
def test_pi_old_is_recomputed_only_when_the_policy_moves_before_the_last_update(tmp_path, example_model, train_batch,
                                                                               recomputed):
    """One optimizer step per rollout: pi_old is the generation's log-probs (no second forward), and they equal
    what the training model computes; two steps: pi_old is recomputed."""
    t = _setup_trainer(tmp_path, **{"rollout.batch_size": 16, "train.batch_size": train_batch,
                                    "train.micro_batch_size": 8})
    forwards, checked = [], []
    batched, update = t.experience.logprobs, t.update
    t.experience.logprobs = lambda model, *a, **kw: (forwards.append(model), batched(model, *a, **kw))[1]

    def observed_update(exp):  # before the update changes the policy: recompute pi_old and compare
        again = batched(t.policy, exp.sequences, exp.attention_mask, exp.prompt_length)[0] * exp.action_mask
        torch.testing.assert_close(exp.action_log_probs, again, rtol=1e-5, atol=1e-5)
        checked.append(float(exp.action_mask.sum()))
        return update(exp)

    t.update = observed_update
    try:
        values = t.train_step(1)
    finally:
        t.close()
    assert checked and checked[0] > 0
    assert (t.policy in forwards) == recomputed and t.ref in forwards
    if not recomputed:  # ratio exactly 1: nothing is clipped, no policy drift within the step
        assert values["clip_frac"] == 0 and values["ppo_kl"] == 0


def test_response_logits_only_and_entropy_without_gradient_give_the_full_forwards_numbers(example_model):
    from transformers import AutoModelForCausalLM
    from rlhf_trainer import algorithms as A
    from rlhf_trainer.update import response_logprobs
    model = AutoModelForCausalLM.from_pretrained(example_model)
    torch.manual_seed(0)
    ids = torch.randint(3, 20, (4, 11))
    attn = torch.ones_like(ids)
    attn[0, :2] = 0  # a left-padded prompt
    P = 5
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    full = model(input_ids=ids, attention_mask=attn, position_ids=pos).logits[:, P - 1:-1]
    logp, ent = response_logprobs(model, ids, attn, P, 0.7, False, entropy="metric")
    torch.testing.assert_close(logp, A.log_probs_from_logits(full, ids[:, P:], 0.7), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ent, A.entropy_from_logits(full), rtol=1e-6, atol=1e-6)
    assert logp.requires_grad and not ent.requires_grad  # no backward through the entropy at coefficient 0
    _, ent = response_logprobs(model, ids, attn, P, 0.7, False, entropy="loss")
    assert ent.requires_grad


def test_a_sample_depends_on_its_seed_not_on_the_batch_it_was_generated_in(tmp_path, example_model):
    from rlhf_trainer.rollout import decode
    t = _setup_trainer(tmp_path, **{"rollout.max_new_tokens": 6})
    try:
        texts = [p.text for p in t.prompts[:6]]
        seeds = list(range(100, 112))
        def responses(out):
            return decode(t.tokenizer, out.sequences, out.attention_mask, out.prompt_length)[1]
        whole = responses(t.generate(texts, 2, seeds))
        assert responses(t.generate(texts[3:5], 2, seeds[6:10])) == whole[6:10]
        assert responses(t.generate(texts, 2, [s + 1000 for s in seeds])) != whole  # the seed does choose the sample
    finally:
        t.close()


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.5, None), (1.0, 2)])
def test_counter_sampler_draws_from_the_warped_softmax(temperature, top_k):
    from rlhf_trainer.sampling import CounterSampler
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    rows = 6000
    s = CounterSampler(list(range(rows)), torch.device("cpu"), temperature, top_k, 1.0)
    out = s(torch.zeros(rows, 1, dtype=torch.long), logits.expand(rows, -1).clone())
    picked = out.argmax(-1)
    assert bool((out.isfinite().sum(-1) == 1).all())  # greedy decoding can only take the drawn token
    z = logits / temperature
    if top_k:
        z = torch.where(z >= z.topk(top_k).values[-1], z, torch.tensor(float("-inf")))
    want = torch.softmax(z, -1)
    got = torch.bincount(picked, minlength=5).float() / rows
    assert (got - want).abs().max() < 0.02, (got, want)
    # the recorded log-prob is the full softmax at the temperature (pi_old's definition), not the warped one
    torch.testing.assert_close(s.logprobs[0], torch.log_softmax(logits / temperature, -1)[picked])


def test_vllm_engine_without_vllm_fails_in_one_line_naming_the_key(tmp_path, example_model):
    import importlib.util
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    run_dir = tmp_path / "run"
    r = run_trainer(write_config(tmp_path, example_config(**{"rollout.engine": "vllm"})), run_dir)
    assert r.returncode == 1
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed"
    assert "rollout.engine: vllm cannot run here: the vllm package is not installed; set rollout.engine: auto" \
        in status["error"], status
    assert "\n" not in status["error"]


def test_precision_bf16_on_cpu_trains_under_autocast_and_says_so_in_run_started(tmp_path):
    """precision: bf16 on a CPU: bf16 autocast for the forward passes, rollouts from a bf16 copy; run_started
    records what ran (the dashboard's run header shows it) and the steps train to finite numbers."""
    run_dir = tmp_path / "run"
    cfg = example_config(**{"train.max_steps": 2, "precision": "bf16"})
    r = run_trainer(write_config(tmp_path, cfg), run_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    started = next(e for e in read_events(run_dir) if e["type"] == "run_started")
    assert started["precision"] == "bf16" and started["rollout"]["weights"] == "bf16 copy", started
    values = metrics(run_dir)
    assert sorted(values) == [1, 2]
    for v in values.values():
        assert math.isfinite(v["policy_loss"]) and math.isfinite(v["kl"]) and math.isfinite(v["grad_norm"]), v
    fp32 = example_config(**{"train.max_steps": 1})
    r = run_trainer(write_config(tmp_path, fp32, "fp32.yaml"), tmp_path / "fp32")
    assert r.returncode == 0, r.stderr[-3000:]
    started = next(e for e in read_events(tmp_path / "fp32") if e["type"] == "run_started")
    assert started["precision"] == "fp32" and started["rollout"]["weights"] == "policy (fp32)"  # auto on CPU
