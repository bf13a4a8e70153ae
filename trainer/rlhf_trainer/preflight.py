"""Checks that need more than the config file: the prompt files, the reward code, the rule engine and
the model's size limits. `validate` and `run` call them before any model weights load, so each mistake
is one line naming file, line and field (exit 2) instead of a stack trace minutes later. Every check runs,
and all their problems are reported together, except a check whose input already has a problem (it
would only repeat it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .config import ConfigError, Problems, locator
from .data import PromptRows, check_prompt_files, prompt_text
from .runconfig import ModelConfig, RunConfig

POSITION_KEYS = ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx")


def preflight(cfg: dict, found: list | None = None) -> dict[str, PromptRows]:
    """The prompt rows; ConfigError with every problem: `found` (load_config's, when it collected them) and these."""
    fail, rc = locator(cfg), RunConfig.from_dict(cfg)  # the schema holds by now: only semantic problems are found
    p = Problems("", {}, found)

    def attempt(path: tuple, check):
        try:
            return check()
        except ConfigError as e:
            p.add(path, e)
            return None

    rows = None if p.has("data") else attempt(("data",), lambda: check_prompt_files(rc, fail))
    for i, source in enumerate(rc.reward.sources):
        if not p.has("reward", "sources", i):
            attempt(("reward", "sources", i), lambda i=i: check_reward_function(rc, i, fail))
            if source.reward_model is not None:
                attempt(("reward", "sources", i), lambda i=i: check_reward_model(rc, i, fail))
    if not p.has("reward", "rules"):
        attempt(("reward", "rules"), lambda: check_rules(rc, cfg.get("_base_dir"), fail))
    if rows is not None and not p.has("model"):
        attempt(("model", "policy"), lambda: check_model_limits(rc, rows, fail))
    if rc.model.lora and not p.has("model") and Path(rc.model.policy).exists():
        attempt(("model", "lora"), lambda: check_lora_targets(rc, fail))
    p.raise_any()
    return rows


def check_lora_targets(rc: RunConfig, fail):
    from .lora import check_targets
    problem = check_targets(rc.model.policy, rc.model.lora, rc.model.trust_remote_code)
    if problem:
        raise fail(("model", "lora", "target_modules"), problem)


def check_reward_model(rc: RunConfig, i: int, fail):
    """A reward_model source: a sequence-classification model with one label (its config.json, no weights)."""
    from .reward_model import reward_model_problem
    problem = reward_model_problem(rc.reward.sources[i].reward_model, rc.model.trust_remote_code)
    if problem:
        raise fail(("reward", "sources", i, "reward_model"), problem)


def check_reward_function(rc: RunConfig, i: int, fail):
    """Reward source i's file.py:fn must parse and define fn at top level (read, not run: importing may
    load a model)."""
    function = rc.reward.sources[i].function
    if function is None:
        return
    file, fn = function.rsplit(":", 1)
    field = ("reward", "sources", i, "function")
    try:
        tree = ast.parse(Path(file).read_text(), filename=file)
    except SyntaxError as e:
        raise ConfigError(f"{file}:{e.lineno}: reward.sources[{i}].function: syntax error ({e.msg}); fix the reward file") from None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    if fn not in names:
        defined = ", ".join(sorted(n for n in names if not n.startswith("_"))) or "none"
        raise fail(field, f"{file} defines no function '{fn}' (top-level names: {defined}); fix the name after ':'")


def check_rules(rc: RunConfig, base_dir: str | None, fail):
    """Has the rule engine compile reward.rules (regexes, module files, TypeScript) exactly as training will."""
    rules = rc.reward.rules
    if not rules:
        return
    from .rewards import rule_worker
    try:
        rule_worker(rc.reward, base_dir).close()
    except Exception as e:
        msg = str(e).removeprefix("reward worker rules failed to start: ")
        m = re.search(r"reward\.rules\[(\d+)\]", msg)
        index = int(m.group(1)) if m else next(
            (k for k, r in enumerate(rules) if r.get("kind") == "module" and Path(r["path"]).name in msg), None)
        field = ("reward", "rules", index) if index is not None else ("reward", "rules")
        if m:  # the engine's message already names the rule; keep one copy of the name
            msg = msg[m.end():].lstrip(" :")
            name = re.match(r"\(([^)]*)\):?\s*", msg)
            msg = msg[name.end():] if name else msg
        raise fail(field, f"{msg}; fix the rule") from None


def model_positions(mcfg: ModelConfig):
    """(positions, where the number comes from) from the model's config.json, or None; no weights load."""
    from transformers import AutoConfig
    conf = AutoConfig.from_pretrained(mcfg.policy, trust_remote_code=mcfg.trust_remote_code, local_files_only=True)
    conf = conf.get_text_config() if hasattr(conf, "get_text_config") else conf
    for key in POSITION_KEYS:
        value = getattr(conf, key, None)
        if isinstance(value, int) and value > 0:
            return value, key
    return None


def load_tokenizer(path: str, trust_remote_code: bool):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code, local_files_only=True)
    tok.padding_side = "left"
    tok.truncation_side = "left"  # an over-long prompt keeps its end, next to the response (as OpenRLHF does)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def prompt_token_lengths(texts: list[str], tokenizer) -> list[int]:
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def longest_prompt(rc: RunConfig, rows: dict[str, PromptRows], tok) -> tuple[int, int]:
    """(tokens the longest prompt takes in a rollout, after data.max_prompt_tokens; its tokens before that)."""
    longest = max(prompt_token_lengths([prompt_text(r, rc.data, tok) for pr in rows.values() for _, r in pr.rows], tok))
    return min(longest, rc.data.max_prompt_tokens), longest


def check_model_limits(rc: RunConfig, rows: dict[str, PromptRows], fail):
    """Prompt (after data.max_prompt_tokens) + rollout.max_new_tokens must fit the model's positions."""
    mcfg = rc.model
    if not Path(mcfg.policy).exists() and mcfg.create_if_missing:
        return  # the embedded model is built at start; its positions fit its own example
    try:
        found = model_positions(mcfg)
        tok = load_tokenizer(mcfg.policy, mcfg.trust_remote_code)
    except Exception as e:
        raise fail(("model", "policy"), f"cannot read the model's config.json and tokenizer from {mcfg.policy} "
                                        f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                                        "point it at a save_pretrained folder") from None
    if tok.pad_token_id is None:  # load_tokenizer pads with eos when there is no pad token: neither is there
        raise fail(("model", "policy"), f"the tokenizer in {mcfg.policy} has neither a pad token nor an eos token; "
                                        "rollouts pad batches and stop at eos: set eos_token (and pad_token) in its "
                                        "tokenizer_config.json")
    if found is None:
        return
    positions, key = found
    prompt, longest = longest_prompt(rc, rows, tok)
    new = rc.rollout.max_new_tokens
    if prompt + new > positions:
        raise fail(("rollout", "max_new_tokens"),
                   f"the longest prompt has {prompt} tokens" + (" (after data.max_prompt_tokens)" if longest > prompt else "")
                   + f"; with max_new_tokens {new} that is {prompt + new}, beyond the model's {positions} positions "
                   f"({key} in config.json); {length_fixes(prompt, new, positions)}")


def length_fixes(prompt: int, new: int, positions: int) -> str:
    """The splits of the positions that work, as the message's fixes (each `set|lower FIELD to N`, so the
    editor offers it as a Quick Fix): fewer new tokens when the longest prompt leaves room for at least one;
    a shorter prompt cap only when it keeps at least half of the longest prompt (cutting more from every long
    prompt is no fix: "max_prompt_tokens 1" would leave one token of each); else both, the positions split in
    the config's proportion with at least half of them (or the whole prompt) for the prompt."""
    fixes = []
    if positions - prompt >= 1:
        fixes.append(f"lower rollout.max_new_tokens to {positions - prompt}")
    if positions - new >= max(1, -(-prompt // 2)):
        fixes.append(f"lower data.max_prompt_tokens to {positions - new}")
    if fixes:
        return " or ".join(fixes)
    keep = max(1, min(prompt, positions // 2, positions - 1))
    return f"set data.max_prompt_tokens to {keep} and set rollout.max_new_tokens to {positions - keep}"
