"""Run config: load YAML, validate against schemas/config.schema.json, fill defaults, resolve paths.

Every problem is reported as one ConfigError line naming the file, the line, the field and the fix,
before any model is loaded; a config with several problems gets all of them at once (one line each).
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
    """Config problems a user can fix: one line each in .lines; str() joins them (usually just one)."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class Problems:
    """Collects every problem of a config instead of stopping at the first, each as its
    `file:line: field: message` line with the key path it is about (so checks that depend on a broken
    key can be skipped instead of repeating it). `found` may be shared with a later stage (preflight)."""

    def __init__(self, src: str, lines: dict, found: list | None = None):
        self.src, self.lines = src, lines
        self.found: list[tuple[tuple, str]] = found if found is not None else []

    def line(self, path: tuple, msg: str) -> str:
        line = self.lines.get(path)
        return f"{f'{self.src}:{line}' if line else self.src}: {_fmt_path(path)}: {msg}"

    def check(self, cond: bool, path: tuple, msg: str) -> bool:
        if not cond:
            self.found.append((path, self.line(path, msg)))
        return cond

    def add(self, path: tuple, error: ConfigError):
        """A check that raised (its lines may name another file, e.g. a prompt file's line)."""
        self.found.extend((path, line) for line in error.lines)

    def has(self, *prefix) -> bool:
        return any(p[:len(prefix)] == prefix for p, _ in self.found)

    def raise_any(self):
        if self.found:
            raise ConfigError(*(line for _, line in self.found))


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
    if err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[err.validator]
        desc = err.schema.get("description")
        return path, (f"must be {op} {err.validator_value} (got {err.instance!r}); change it"
                      + (f" ({desc})" if desc else ""))
    if err.validator == "pattern" and path[-1:] == ("webhook_env",):  # the value may be the secret URL: not echoed
        return path, ("must be the NAME of an environment variable (letters, digits, _), not the URL: export "
                      "RLHF_ALERT_WEBHOOK=<your webhook URL> where the trainer starts and set webhook_env: RLHF_ALERT_WEBHOOK")
    if err.validator == "oneOf" and "sources" in path and len(path) == 3:
        return path, "give exactly one of 'function', 'worker', 'http' or 'reward_model' for this reward source"
    desc = err.schema.get("description")
    return path, err.message + (f" ({desc})" if desc else "")


def _down_from(start: int, ok) -> int | None:
    return next((d for d in range(start, 0, -1) if ok(d)), None)


def _rollout_message(rb: int, n: int, tb: int, epochs: int, micro: int) -> str:
    samples = rb * n
    d = _down_from(min(tb, samples), lambda x: samples % x == 0 and x % micro == 0)
    fix_rb = next(r for r in range(rb + 1, rb * tb + 2) if r * n % tb == 0)
    fixes = ([f"set train.batch_size to {d}"] if d is not None else []) + [f"set rollout.batch_size to {fix_rb}"]
    return (f"a rollout batch holds {samples} samples (rollout.batch_size {rb} x n_samples_per_prompt {n}), "
            f"not a multiple of train.batch_size {tb}: each of the {epochs} epoch(s) would train on "
            f"{samples // tb * tb} and skip {samples % tb}; " + " or ".join(fixes))


def batch_problems(rb: int, n: int, tb: int, mb: int, epochs: int) -> list[tuple[tuple, str]]:
    """Every rollout sample is trained on, in whole optimizer steps of whole micro-batches; else steps are
    silently skipped (a rollout smaller than train.batch_size took no optimizer step at all) and the LR
    schedule's length disagrees with the steps taken. At most one problem per field, each naming its fixes.
    src/core/batches.ts gives the same problems (trainer/tests/fixtures/batch_rules.json: both are tested on it)."""
    samples = rb * n
    if mb > tb:  # the micro-batch is the memory limit: the whole train batch is below it
        micro = (("train", "micro_batch_size"), f"micro_batch_size {mb} exceeds train.batch_size {tb}; lower it to {tb}")
        return [micro, (("train", "batch_size"), _rollout_message(rb, n, tb, epochs, 1))] if samples % tb else [micro]
    if tb % mb:  # one line for train.batch_size, naming the rollout rule too when the train batch breaks it as well
        rollout_ok = samples % tb == 0
        fixes = []
        d = _down_from(tb, lambda x: samples % x == 0 and x % mb == 0)
        if d is not None:
            fixes.append(f"set train.batch_size to {d}")
        if rollout_ok:
            fixes.append(f"set train.micro_batch_size to {_down_from(mb, lambda x: tb % x == 0)}")
        if not fixes:  # no train batch fits both: first one the rollout divides; its micro-batch is the next fix
            fixes.append(f"set train.batch_size to {_down_from(tb, lambda x: samples % x == 0)}")
        rollout = "" if rollout_ok else (f", nor does it divide a rollout batch of {samples} samples (rollout.batch_size {rb} "
                                         f"x n_samples_per_prompt {n}), so {samples % tb} would be skipped each epoch")
        return [(("train", "batch_size"), f"batch_size {tb} is not a multiple of micro_batch_size {mb}{rollout}; "
                 + " or ".join(fixes))]
    return [(("train", "batch_size"), _rollout_message(rb, n, tb, epochs, mb))] if samples % tb else []


def _check_input_template(data: dict, p: Problems):
    import string
    tpl = data["input_template"]
    if tpl is None:
        return
    try:
        fields = [(name, spec, conv) for _lit, name, spec, conv in string.Formatter().parse(tpl) if name is not None]
    except ValueError as e:
        fields, bad = None, str(e)
    if fields is not None:
        bad = "" if fields == [("", "", None)] else f"it has {len(fields)} placeholder(s): " + ", ".join(
            "{" + n + (f"!{c}" if c else "") + (f":{sp}" if sp else "") + "}" for n, sp, c in fields)
    p.check(not bad, ("data", "input_template"),
            f"needs exactly one {{}} where the prompt goes ({bad}); write literal braces as {{{{ and }}}}")


def resolve_model(value: str, base_dir: Path, will_build: bool, check_files: bool, check) -> str:
    """A model folder (relative paths against the config's folder), or a hub id in the local cache.
    A relative path that is neither is an error here: from_pretrained would try the hub instead."""
    p = Path(value).expanduser()
    if p.is_absolute():
        return str(p)
    local = (base_dir / p).resolve()
    if local.exists() or will_build or value.startswith(".") or not check_files:
        return str(local)
    check(_in_hf_cache(value), f"model folder {local} not found (relative paths are resolved against the "
                               f"config's folder), and '{value}' is not a model in the local Hugging Face cache; "
                               "fix the path, or download the model first")
    return value


def _in_hf_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # not a valid repo id, or no huggingface_hub
        return False


def locator(cfg: dict):
    """fail(path, msg) -> ConfigError naming the config file and the path's line (checks after loading)."""
    src = cfg.get("_config_path") or "<config>"
    try:
        lines = _line_map(Path(src).read_text())
    except OSError:
        lines = {}

    problems = Problems(src, lines)

    def fail(path: tuple, msg: str) -> ConfigError:
        return ConfigError(problems.line(path, msg))
    return fail


def read_config_file(path: str | os.PathLike) -> tuple[dict, dict]:
    """(the YAML mapping, its line map); ConfigError when the file is missing, not YAML or not a mapping."""
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
        raise ConfigError(f"{where}: YAML syntax error: {getattr(e, 'problem', e)}; fix the indentation or quoting") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: the config must be a mapping of sections (model, data, ...)")
    return raw, _line_map(text)


def config_kind(raw: dict) -> str:
    """`kind: reward_model` marks a reward-model run (schemas/reward-model-config.schema.json); else a policy run."""
    return "reward_model" if raw.get("kind") == "reward_model" else "policy"


def load_config(path: str | os.PathLike, check_files: bool = True, found: list | None = None) -> dict:
    """Reads, validates and resolves a config file. Raises ConfigError with a line per problem; with `found`
    (a list) the semantic problems are appended there instead, for the caller to add its own and raise."""
    raw, lines = read_config_file(path)
    path = Path(path)
    return resolve_config(raw, path.resolve().parent, str(path), lines, check_files, found)


def check_schema(raw: dict, schema: dict, src: str, lines: dict):
    """Every schema problem at once, one line each (ConfigError); later checks need the schema's shape."""
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    shape = Problems(src, lines)
    for err in errors:
        path, msg = _describe(err, schema)
        if shape.line(path, msg) not in (line for _, line in shape.found):
            shape.check(False, path, msg)
    shape.raise_any()


def resolve_config(raw: dict, base_dir: Path, src: str = "<config>", lines: dict | None = None,
                   check_files: bool = True, found: list | None = None) -> dict:
    lines = lines or {}
    schema = load_schema()
    check_schema(raw, schema, src, lines)
    cfg = apply_defaults(schema, copy.deepcopy(raw))
    p = Problems(src, lines, found)

    algo, roll, train = cfg["algorithm"], cfg["rollout"], cfg["train"]
    est, n = algo["estimator"], roll["n_samples_per_prompt"]
    p.check(not (est in GROUPED_ESTIMATORS and n < 2), ("rollout", "n_samples_per_prompt"),
            f"estimator '{est}' compares samples of the same prompt and needs n_samples_per_prompt >= 2 "
            f"(got {n}); set it to 4, or use estimator reinforce_pp")
    for path, msg in batch_problems(roll["batch_size"], n, train["batch_size"], train["micro_batch_size"], train["max_epochs"]):
        p.check(False, path, msg)
    p.check(algo["dual_clip"] is None or algo["dual_clip"] > 1, ("algorithm", "dual_clip"),
            "dual_clip must be greater than 1 (3.0 is common) or null")
    lo, hi = algo["reward_clip"]
    p.check(lo < hi, ("algorithm", "reward_clip"), "reward_clip must be [low, high] with low < high")
    p.check(not (algo["kl"]["mode"] == "loss" and algo["kl"]["estimator"] == "k1"), ("algorithm", "kl", "estimator"),
            "k1 as a loss has no useful gradient (paper appendix B.1); use k2 (or k3) with kl.mode: loss")

    _check_input_template(cfg["data"], p)
    p.check(not (cfg["model"]["lora"] and train["strategy"] == "fsdp2"), ("model", "lora"),
            "LoRA with train.strategy fsdp2 is refused: fsdp2 checkpoints gather whole sharded model states, while "
            "peft saves and loads adapters of unsharded modules; set train.strategy: ddp (only the adapters train, "
            "so each rank adds just their gradients and AdamW moments to the base weights)")

    # resolve paths relative to the config file
    def rel(p):
        return str((base_dir / p).resolve()) if p and not Path(p).is_absolute() else p

    model, data = cfg["model"], cfg["data"]
    for key in ("policy", "reference"):
        if model.get(key):
            model[key] = resolve_model(model[key], base_dir, key == "policy" and bool(model["create_if_missing"]),
                                        check_files, lambda ok, msg, k=key: p.check(ok, ("model", k), msg))
    for key in ("prompts", "eval_prompts"):
        data[key] = rel(data[key])
    for i, s in enumerate(cfg["reward"]["sources"]):
        if "reward_model" in s:
            s["reward_model"] = resolve_model(s["reward_model"], base_dir, False, check_files,
                                              lambda ok, msg, i=i: p.check(ok, ("reward", "sources", i, "reward_model"), msg))
        if "function" in s:
            file, fn = s["function"].rsplit(":", 1)
            s["function"] = f"{rel(file)}:{fn}"
            if check_files:
                p.check(Path(rel(file)).is_file(), ("reward", "sources", i, "function"),
                        f"reward function file {rel(file)} not found; fix the path (relative to the config)")
    if check_files:
        p.check(Path(data["prompts"]).is_file(), ("data", "prompts"),
                f"prompt file {data['prompts']} not found; fix the path (relative to the config)")
        if data["eval_prompts"]:
            p.check(Path(data["eval_prompts"]).is_file(), ("data", "eval_prompts"),
                    f"eval prompt file {data['eval_prompts']} not found; fix the path or set it to null")
        pol = Path(model["policy"])
        p.check(pol.exists() or model["create_if_missing"] or not pol.is_absolute() or p.has("model", "policy"),
                ("model", "policy"), f"model folder {pol} not found; point it at a save_pretrained folder")
    p.check(bool(cfg["reward"]["sources"]) or bool(cfg["reward"]["rules"]), ("reward",),
            "no reward: add reward.rules, or reward.sources with a function (file.py:fn), a worker, an http endpoint "
            "or a reward_model")
    if cfg["reward"]["rules"] and check_files:
        import shutil
        from .rewards import rule_engine_command
        node, worker = rule_engine_command()
        p.check(Path(worker).is_file(), ("reward", "rules"),
                f"reward.rules are evaluated by the rule engine {worker}, which is missing; run `npm run build` "
               "(or set RLHF_REWARD_WORKER to dist/reward-worker.js)")
        p.check(bool(shutil.which(node)) or Path(node).is_file(), ("reward", "rules"),
                f"reward.rules need Node.js to run the rule engine and '{node}' was not found; install Node 20+ or set RLHF_NODE")
    if found is None:
        p.raise_any()
    cfg["_config_path"] = str(Path(src).resolve()) if src != "<config>" else None
    cfg["_base_dir"] = str(base_dir)
    return cfg
