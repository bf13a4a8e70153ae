"""ONNX export (python -m rlhf_trainer.onnx_export): the folder layout and graph names transformers.js
loads, decoding with the KV cache on onnxruntime equal to PyTorch's greedy tokens, int8, and one-line
errors. The Node side (onnxruntime-node decoding of the trained example) is test/integration/onnx.test.ts."""

import json
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install -r trainer/requirements.txt)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -r trainer/requirements.txt)")

from conftest import EXAMPLE  # noqa: E402

PY = sys.executable


def export(*args, timeout=300):
    return subprocess.run([PY, "-m", "rlhf_trainer.onnx_export", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def exported(example_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    prompts = out / "prompts.jsonl"
    prompts.write_text("".join(line + "\n" for line in (EXAMPLE / "data" / "eval.jsonl").read_text().splitlines()[:20]))
    r = export(example_model, "-o", out, "--int8", "--reference-prompts", prompts, "--reference-max-new-tokens", 8)
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def ort_greedy(session, prompt_ids, layers, kv_heads, head_dim, eos, max_new_tokens):
    """Greedy decoding with the graph's own KV cache: prefill, then one token a step feeding present back."""
    past = {f"past_key_values.{i}.{kv}": np.zeros((1, kv_heads, 0, head_dim), np.float32)
            for i in range(layers) for kv in ("key", "value")}
    step, tokens = list(prompt_ids), []
    while len(tokens) < max_new_tokens:
        seen = len(prompt_ids) + len(tokens)
        outputs = session.run(None, {"input_ids": np.array([step], np.int64),
                                     "attention_mask": np.ones((1, seen), np.int64),
                                     "position_ids": np.arange(seen - len(step), seen, dtype=np.int64)[None], **past})
        token = int(outputs[0][0, -1].argmax())
        tokens.append(token)
        names = [o.name for o in session.get_outputs()]
        past = {n.replace("present", "past_key_values"): v for n, v in zip(names[1:], outputs[1:])}
        if token == eos:
            break
        step = [token]
    return tokens


def test_layout_and_graph_names(exported, example_model):
    out, log = exported
    for name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "onnx/model.onnx", "onnx/model_quantized.onnx", "onnx/export.json"):
        assert (out / name).is_file(), name
    assert [line.split(":")[0] for line in log.splitlines()] == ["export"] * len(log.splitlines())
    assert "max |logits difference|" in log
    config = json.loads((out / "config.json").read_text())
    graph = onnx.load(str(out / "onnx" / "model.onnx"))
    layers = config["num_hidden_layers"]
    inputs = [i.name for i in graph.graph.input]
    outputs = [o.name for o in graph.graph.output]
    kv = [f"{{}}.{i}.{x}" for i in range(layers) for x in ("key", "value")]
    assert inputs == ["input_ids", "attention_mask", "position_ids", *(k.format("past_key_values") for k in kv)]
    assert outputs == ["logits", *(k.format("present") for k in kv)]
    # batch and lengths are dynamic (symbolic), heads and head_dim fixed
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[3].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and isinstance(dims[2], str) and dims[1] == config["num_key_value_heads"]


def test_onnxruntime_kv_cache_decoding_equals_pytorch_greedy(exported):
    out, _ = exported
    config = json.loads((out / "config.json").read_text())
    reference = json.loads((out / "onnx" / "reference_greedy.json").read_text())
    assert len(reference) == 20
    session = ort.InferenceSession(str(out / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
    got = [ort_greedy(session, r["prompt_ids"], config["num_hidden_layers"], config["num_key_value_heads"],
                      config["head_dim"], config["eos_token_id"], 8) for r in reference]
    assert got == [r["tokens"] for r in reference]
    assert sum(len(t) > 1 for t in got) >= 10  # real answers, not an immediate <eos>


def test_int8_graph_is_smaller_and_close(exported):
    out, _ = exported
    fp32, int8 = out / "onnx" / "model.onnx", out / "onnx" / "model_quantized.onnx"
    assert int8.stat().st_size < fp32.stat().st_size / 2
    feed = {"input_ids": np.array([[1, 7, 4, 14, 5, 6, 17]], np.int64), "attention_mask": np.ones((1, 7), np.int64),
            "position_ids": np.arange(7, dtype=np.int64)[None]}
    config = json.loads((out / "config.json").read_text())
    for i in range(config["num_hidden_layers"]):
        for kv in ("key", "value"):
            feed[f"past_key_values.{i}.{kv}"] = np.zeros((1, config["num_key_value_heads"], 0, config["head_dim"]), np.float32)
    a = ort.InferenceSession(str(fp32)).run(["logits"], feed)[0]
    b = ort.InferenceSession(str(int8)).run(["logits"], feed)[0]
    assert np.abs(a - b).max() < 0.5 * np.abs(a).max()


def test_export_into_the_checkpoint_adds_only_onnx(example_model, tmp_path):
    import shutil
    ckpt = tmp_path / "step-3"
    shutil.copytree(example_model, ckpt)
    before = {p.name: p.read_bytes() for p in ckpt.iterdir() if p.is_file()}
    r = export(ckpt, "-o", ckpt)
    assert r.returncode == 0, r.stderr
    assert {p.name: p.read_bytes() for p in ckpt.iterdir() if p.is_file()} == before
    assert (ckpt / "onnx" / "model.onnx").is_file()


def test_architecture_without_a_causal_lm_head_is_one_line(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5", "architectures": ["T5Model"], "d_model": 16,
                                                      "num_layers": 1, "num_heads": 2, "d_kv": 8, "d_ff": 32,
                                                      "vocab_size": 32}))
    r = export(tmp_path, "-o", tmp_path / "out")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot export T5Model: it is not a causal language model"), r.stderr


def test_not_a_model_folder_is_one_line(tmp_path):
    r = export(tmp_path, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {tmp_path}: no config.json here; pass a checkpoint folder (checkpoints/step-N) or a model folder"


def test_bad_reference_prompts_line_is_named(example_model, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "1+1="}\nnot json\n')
    r = export(example_model, "-o", tmp_path / "out", "--reference-prompts", prompts)
    assert r.returncode == 2
    assert r.stderr.strip() == f'error: {prompts}:2: expected a JSON object with a "prompt" string'


def test_reward_model_export_scores_equal_pytorch(example_model, tmp_path):
    from rlhf_trainer.onnx_export import create_tiny_reward_model
    built = create_tiny_reward_model(tmp_path / "rm", example_model)
    samples = [{"prompt": f"{i}+{i}=", "response": str(2 * i) * (1 + i % 5)} for i in range(12)]
    file = tmp_path / "samples.jsonl"
    file.write_text("".join(json.dumps(s) + "\n" for s in samples))
    r = export(built, "-o", tmp_path / "out", "--reference-prompts", file)
    assert r.returncode == 0, r.stderr
    graph = onnx.load(str(tmp_path / "out" / "onnx" / "model.onnx"))
    assert [i.name for i in graph.graph.input] == ["input_ids", "attention_mask"]
    reference = json.loads((tmp_path / "out" / "onnx" / "reference_scores.json").read_text())
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "out")
    batch = tokenizer([s["prompt"] + s["response"] for s in samples], padding=True, padding_side="right", return_tensors="np")
    session = ort.InferenceSession(str(tmp_path / "out" / "onnx" / "model.onnx"))
    got = session.run(["logits"], {"input_ids": batch["input_ids"].astype(np.int64),
                                   "attention_mask": batch["attention_mask"].astype(np.int64)})[0][:, 0]
    assert np.abs(got - np.array([x["score"] for x in reference])).max() < 1e-4
    assert len({round(x["score"], 4) for x in reference}) > 6


def test_reward_model_with_several_labels_is_refused(example_model, tmp_path):
    from rlhf_trainer.onnx_export import create_tiny_reward_model
    built = create_tiny_reward_model(tmp_path / "rm", example_model)
    config = json.loads((built / "config.json").read_text())
    config["id2label"] = {"0": "a", "1": "b"}
    config["label2id"] = {"a": 0, "b": 1}
    (built / "config.json").write_text(json.dumps(config))
    r = export(built, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: cannot export LlamaForSequenceClassification as a reward model: num_labels is 2, a reward model has 1"


def test_a_second_export_replaces_the_first_whole_never_merges(example_model, tmp_path):
    import shutil
    ckpt = tmp_path / "step-3"
    shutil.copytree(example_model, ckpt)
    assert export(ckpt, "-o", ckpt, "--int8").returncode == 0
    assert (ckpt / "onnx" / "model_quantized.onnx").is_file()
    r = export(ckpt, "-o", ckpt)  # fp32 only: the int8 graph of the first export must not stay beside it
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (ckpt / "onnx").iterdir()) == ["export.json", "model.onnx"]
    assert "quantized" not in json.loads((ckpt / "onnx" / "export.json").read_text())
    assert not [p.name for p in ckpt.iterdir() if p.name.startswith(".")]  # no temporary or old folder left


def test_a_checkpoint_without_complete_is_refused_in_one_line(example_model, tmp_path):
    import shutil
    ckpt = tmp_path / "run" / "checkpoints" / "step-000003"  # as a kill mid-save leaves it: no COMPLETE marker
    shutil.copytree(example_model, ckpt)
    r = export(ckpt, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {ckpt}: not a complete checkpoint (no COMPLETE marker: it was cut "
                                             "short or is still being written); export one listed by rlhf checkpoints RUN"]
    assert not (tmp_path / "out").exists()


def test_a_full_disk_leaves_no_partial_files_and_exits_2_in_one_line(example_model, tmp_path, small_fs):
    (small_fs / "filler").write_bytes(b"\0" * (2560 * 1024 - 256 * 1024))  # 256 KiB left: the 0.9 MB graph does not fit
    out = small_fs / "out"
    r = export(example_model, "-o", out)
    assert r.returncode == 2, r.stderr[-3000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: no space left on device writing {out} ("), r.stderr[-3000:]
    assert sorted(p.name for p in small_fs.iterdir()) == ["filler"]  # nothing partial: not out, not a temporary folder
