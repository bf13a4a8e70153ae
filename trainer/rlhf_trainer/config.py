"""Run config: load YAML, validate against schemas/config.schema.json, fill defaults, resolve paths.

Every problem is reported as one ConfigError line naming the file, the line, the field and the fix,
before any model is loaded.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .algorithms import GROUPED_ESTIMATORS


class ConfigError(Exception):
    """A config problem a user can fix; str() is the one-line message."""


def schemas_dir() -> Path:
    env = os.environ.get("RLHF_SCHEMAS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "schemas"


def load_schema(name: str = "config.schema.json") -> dict:
    return json.loads((schemas_dir() / name).read_text())


def _line_map(text: str) -> dict[tuple, int]:
    """Maps a key path (tuple of keys/indices) to its 1-based line in the YAML text."""
    lines: dict[tuple, int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                p = path + (k.value,)
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                p = path + (i,)
                lines[p] = v.start_mark.line + 1
                walk(v, p)

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def apply_defaults(schema: dict, value: Any) -> Any:
    """Fills the schema's defaults into objects, recursively (arrays of objects too)."""
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(sub, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(schema["items"], v) for v in value]
    return value


def _fmt_path(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _describe(err: jsonschema.ValidationError, schema: dict) -> tuple[tuple, str]:
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        key = extra[0] if extra else "?"
        return path + (key,), f"unknown key '{key}'; allowed here: {', '.join(allowed)}"
    if err.validator == "required":
        return path, f"{err.message}; add it"
    if err.validator == "enum":
        return path, f"{err.instance!r} is not allowed; use one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "type":
        return path, f"expected {err.validator_value}, got {type(err.instance).__name__} {err.instance!r}"
    if err.validator == "oneOf" and "sources" in path and len(path) == 3:
        return path, "give exactly one of 'function', 'worker' or 'http' for this reward source"
    desc = err.schema.get("description")
    return path, err.message + (f" ({desc})" if desc else "")


def _check(cond: bool, src: str, lines: dict, path: tuple, msg: str):
    if not cond:
        line = lines.get(path)
        where = f"{src}:{line}" if line else src
        raise ConfigError(f"{where}: {_fmt_path(path)}: {msg}")


def load_config(path: str | os.PathLike, check_files: bool = True) -> dict:
    """Reads, validates and resolves a config file. Raises ConfigError with one line."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ConfigError(f"{src}: config file not found; pass the path of a YAML run config")
    text = path.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{src}:{mark.line + 1}" if mark else src
        raise ConfigError(f"{where}: YAML syntax error: {getattr(e, 'problem', e)}; fix the indentation or quoting")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: the config must be a mapping of sections (model, data, ...)")
    return resolve_config(raw, path.resolve().parent, src, _line_map(text), check_files)


def resolve_config(raw: dict, base_dir: Path, src: str = "<config>", lines: dict | None = None,
                   check_files: bool = True) -> dict:
    lines = lines or {}
    schema = load_schema()
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    if errors:
        p, msg = _describe(errors[0], schema)
        _check(False, src, lines, p, msg)
    cfg = apply_defaults(schema, copy.deepcopy(raw))

    algo, roll, train = cfg["algorithm"], cfg["rollout"], cfg["train"]
    est, n = algo["estimator"], roll["n_samples_per_prompt"]
    _check(not (est in GROUPED_ESTIMATORS and n < 2), src, lines, ("rollout", "n_samples_per_prompt"),
           f"estimator '{est}' compares samples of the same prompt and needs n_samples_per_prompt >= 2 "
           f"(got {n}); set it to 4, or use estimator reinforce_pp")
    _check(train["micro_batch_size"] <= train["batch_size"], src, lines, ("train", "micro_batch_size"),
           f"micro_batch_size {train['micro_batch_size']} exceeds train.batch_size {train['batch_size']}; lower it")
    _check(train["batch_size"] % train["micro_batch_size"] == 0, src, lines, ("train", "batch_size"),
           f"batch_size {train['batch_size']} is not a multiple of micro_batch_size {train['micro_batch_size']}")
    samples = roll["batch_size"] * n * train["max_epochs"]
    _check(samples >= train["batch_size"], src, lines, ("train", "batch_size"),
           f"a rollout batch holds {roll['batch_size'] * n} samples, fewer than train.batch_size "
           f"{train['batch_size']}: lower train.batch_size or raise rollout.batch_size")
    _check(algo["dual_clip"] is None or algo["dual_clip"] > 1, src, lines, ("algorithm", "dual_clip"),
           "dual_clip must be greater than 1 (3.0 is common) or null")
    lo, hi = algo["reward_clip"]
    _check(lo < hi, src, lines, ("algorithm", "reward_clip"), "reward_clip must be [low, high] with low < high")
    _check(not (algo["kl"]["mode"] == "loss" and algo["kl"]["estimator"] == "k1"), src, lines,
           ("algorithm", "kl", "estimator"),
           "k1 as a loss has no useful gradient (paper appendix B.1); use k2 (or k3) with kl.mode: loss")

    # resolve paths relative to the config file
    def rel(p):
        return str((base_dir / p).resolve()) if p and not Path(p).is_absolute() else p

    model, data = cfg["model"], cfg["data"]
    for key in ("policy", "reference"):
        local = model.get(key) and (model[key].startswith(".") or (base_dir / model[key]).exists()
                                    or (key == "policy" and model["create_if_missing"]))
        if local:
            model[key] = rel(model[key])
    for key in ("prompts", "eval_prompts"):
        data[key] = rel(data[key])
    for i, s in enumerate(cfg["reward"]["sources"]):
        if "function" in s:
            file, fn = s["function"].rsplit(":", 1)
            s["function"] = f"{rel(file)}:{fn}"
            if check_files:
                _check(Path(rel(file)).is_file(), src, lines, ("reward", "sources", i, "function"),
                       f"reward function file {rel(file)} not found; fix the path (relative to the config)")
    if check_files:
        _check(Path(data["prompts"]).is_file(), src, lines, ("data", "prompts"),
               f"prompt file {data['prompts']} not found; fix the path (relative to the config)")
        if data["eval_prompts"]:
            _check(Path(data["eval_prompts"]).is_file(), src, lines, ("data", "eval_prompts"),
                   f"eval prompt file {data['eval_prompts']} not found; fix the path or set it to null")
        pol = Path(model["policy"])
        _check(pol.exists() or model["create_if_missing"] or not model["policy"].startswith("/"), src, lines,
               ("model", "policy"), f"model folder {pol} not found; point it at a save_pretrained folder")
    _check(bool(cfg["reward"]["sources"]) or bool(cfg["reward"]["rules"]), src, lines, ("reward",),
           "no reward: add reward.rules, or reward.sources with a function (file.py:fn), a worker or an http endpoint")
    if cfg["reward"]["rules"] and check_files:
        import shutil
        from .rewards import rule_engine_command
        node, worker = rule_engine_command()
        _check(Path(worker).is_file(), src, lines, ("reward", "rules"),
               f"reward.rules are evaluated by the rule engine {worker}, which is missing; run `npm run build` "
               "(or set RLHF_REWARD_WORKER to dist/reward-worker.js)")
        _check(bool(shutil.which(node)) or Path(node).is_file(), src, lines, ("reward", "rules"),
               f"reward.rules need Node.js to run the rule engine and '{node}' was not found; install Node 20+ or set RLHF_NODE")
    cfg["_config_path"] = str(Path(src).resolve()) if src != "<config>" else None
    cfg["_base_dir"] = str(base_dir)
    return cfg
