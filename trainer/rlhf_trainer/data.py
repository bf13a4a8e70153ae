"""Prompt files: one reader for validation and training, so every data mistake is found by
`validate` (file:line, field, fix) before a model loads, and training reads exactly what was checked."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .config import ConfigError
from .runconfig import DataConfig, RunConfig


@dataclass
class Prompt:
    text: str
    label: object
    raw: dict
    file: str = ""  # the dataset file (as resolved from the config) and the row's 1-based line in it:
    line: int = 0   # samples.jsonl records them, so the editor can show a prompt's responses on its line


@dataclass
class PromptRows:
    path: str
    rows: list[tuple[int, dict]]  # (1-based line, row)
    digest: str                   # what the prompt list is, independent of where the file lives


def jsonl_objects(path: str, like: str):
    """(1-based line, object) for each non-blank line of a JSONL file; ConfigError naming file:line at the first
    line that is not one JSON object (`like`: an example object, for the message)."""
    with open(path, encoding="utf-8", errors="strict") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{path}:{lineno}: not valid JSON ({e.msg} at column {e.colno}); each line must be "
                                  f"one JSON object like {like}") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{path}:{lineno}: the line is a JSON {type(row).__name__}, not an object; each line "
                                  f"must be one JSON object like {like}")
            yield lineno, row


def read_rows(path: str, d: DataConfig, limit: int | None) -> PromptRows:
    """The first `limit` prompt rows of a JSONL file; ConfigError on the first bad line."""
    key, chat = d.prompt_key, d.apply_chat_template
    rows: list[tuple[int, dict]] = []
    h = hashlib.sha256(json.dumps([key, d.input_template, chat]).encode())
    for lineno, row in jsonl_objects(path, "{\"" + key + "\": \"...\"}"):
        where = f"{path}:{lineno}"
        if key not in row:
            fields = ", ".join(sorted(row)) or "none"
            raise ConfigError(f"{where}: data.prompt_key: no field '{key}' (fields: {fields}); set data.prompt_key "
                              "to the field that holds the prompt")
        p = row[key]
        ok = isinstance(p, str) and p != "" or (chat and isinstance(p, list) and p
                                                and all(isinstance(m, dict) and "content" in m for m in p))
        if not ok:
            want = "a non-empty string or a list of {role, content} messages" if chat else "a non-empty string"
            hint = "" if chat or not isinstance(p, list) else "; for chat messages set data.apply_chat_template: true"
            raise ConfigError(f"{where}: data.prompt_key: field '{key}' is {json.dumps(p)[:60]}, not {want}{hint}")
        rows.append((lineno, row))
        h.update(json.dumps(p, sort_keys=True).encode() + b"\n")
        if limit and len(rows) >= limit:
            break
    return PromptRows(path, rows, h.hexdigest())


def prompt_text(row: dict, d: DataConfig, tokenizer=None) -> str:
    p = row[d.prompt_key]
    if d.apply_chat_template:
        messages = p if isinstance(p, list) else [{"role": "user", "content": str(p)}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return d.input_template.format(p) if d.input_template else p


def check_prompt_files(rc: RunConfig, fail) -> dict[str, PromptRows]:
    """Reads and checks the training and eval prompt files; fail(path, msg) makes a ConfigError at a
    config key. Returns the rows by role ('train', 'eval')."""
    d, roll = rc.data, rc.rollout
    out = {"train": read_rows(d.prompts, d, d.max_samples)}
    if d.eval_prompts:
        out["eval"] = read_rows(d.eval_prompts, d, rc.eval.max_prompts)
    for role, pr in out.items():
        field = ("data", "prompts") if role == "train" else ("data", "eval_prompts")
        if not pr.rows:
            raise fail(field, f"{pr.path} has no prompts (the file is empty); put one JSON object per line, "
                              f"e.g. {{\"{d.prompt_key}\": \"2+3=\", \"{d.label_key or 'label'}\": \"5\"}}")
        if d.label_key and not any(d.label_key in row for _, row in pr.rows):
            fields = ", ".join(sorted(pr.rows[0][1]))
            raise fail(("data", "label_key"), f"no row of {pr.path} has the field '{d.label_key}' (fields: "
                                              f"{fields}); set data.label_key to the reference answer's field, or "
                                              "to null if the reward needs no label")
    n = len(out["train"].rows)
    if n < roll.batch_size:
        raise fail(("rollout", "batch_size"), f"{d.prompts} has {n} prompts"
                   + (f" (data.max_samples {d.max_samples})" if d.max_samples < 10**8 else "")
                   + f", fewer than one rollout batch of {roll.batch_size}: no step could run; lower "
                     f"rollout.batch_size to at most {n}, or add prompts")
    return out


def load_prompts(rows: PromptRows, d: DataConfig, tokenizer) -> list[Prompt]:
    return [Prompt(prompt_text(row, d, tokenizer), row.get(d.label_key) if d.label_key else None, row,
                   rows.path, lineno)
            for lineno, row in rows.rows]
