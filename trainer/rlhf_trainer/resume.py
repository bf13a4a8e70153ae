"""Resuming with a changed config is never half-applied.

Each key's rule is `x-on-resume` in schemas/config.schema.json (default: applied), so docs/config.md
and this check cannot disagree. A refused change stops the start (exit 2) before any model loads,
naming the key and both values; an applied one is named in a warning event.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .config import load_schema, locator
from .names import CONFIG_FILE

RESUME_FILE = "resume.json"
MISSING = object()


def public(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def write_resume_info(folder: Path, cfg: dict, prompts_digest: str):
    (folder / RESUME_FILE).write_text(json.dumps({"config": public(cfg), "prompts_digest": prompts_digest}))


def _resume_json(ckpt: Path) -> dict:
    """The checkpoint's resume.json; ValueError saying what is wrong when it is damaged (torn, truncated, edited)."""
    try:
        info = json.loads((ckpt / RESUME_FILE).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("it is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"it is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise ValueError('it has no "config" object')
    info.setdefault("prompts_digest", None)
    return info


def _read_resume_info(ckpt: Path) -> dict | None:
    if (ckpt / RESUME_FILE).is_file():
        return _resume_json(ckpt)
    run_config = ckpt.parent.parent / CONFIG_FILE  # checkpoints written before resume.json existed
    if run_config.is_file():
        return {"config": yaml.safe_load(run_config.read_text()), "prompts_digest": None}
    return None


def _leaves(schema: dict, prefix: tuple = ()):
    """(path, rule) for every config key; objects with properties are walked, everything else is a leaf."""
    for key, sub in schema.get("properties", {}).items():
        path = prefix + (key,)
        if sub.get("type") == "object" and "properties" in sub:
            yield from _leaves(sub, path)
        else:
            yield path, sub.get("x-on-resume", {"policy": "apply", "why": ""})


def _get(cfg: dict, path: tuple):
    for k in path:
        if not isinstance(cfg, dict) or k not in cfg:
            return MISSING
        cfg = cfg[k]
    return cfg


def _show(v) -> str:
    return "(unset)" if v is MISSING else json.dumps(v)


def check_resume(cfg: dict, ckpt: Path, prompts_digest: str) -> list[str]:
    """Raises ConfigError for a refused change; returns one message per applied change."""
    info = _read_resume_info(ckpt)
    if info is None:
        return [f"{ckpt} has no {RESUME_FILE} and no run config.yaml next to it: config changes since the "
                "checkpoint cannot be checked"]
    old, fail = info["config"], locator(cfg)
    applied, content_keys = [], []
    for path, rule in _leaves(load_schema()):
        before, now = _get(old, path), _get(cfg, path)
        dotted = ".".join(path)
        if rule["policy"] == "refuse-if-prompts-change":
            content_keys.append(dotted)
            continue
        if before == now or before is MISSING or rule["policy"] == "ignore":
            continue
        if rule["policy"] == "refuse":
            raise fail(path, f"changed from {_show(before)} to {_show(now)} since checkpoint {ckpt.name}; a resumed "
                             f"run cannot change it ({rule['why']}): set it back to {_show(before)}, or start a new "
                             "run instead of resuming")
        applied.append(f"resumed with {dotted} changed from {_show(before)} to {_show(now)}: applied"
                       + (f" ({rule['why']})" if rule["why"] else ""))
    if info["prompts_digest"] and info["prompts_digest"] != prompts_digest:
        changed = [k for k in content_keys if _get(old, tuple(k.split("."))) != _get(cfg, tuple(k.split(".")))]
        raise fail(("data", "prompts"), f"the prompt list differs from the one checkpoint {ckpt.name} was trained on "
                                        f"({', '.join(changed) or 'the content of ' + cfg['data']['prompts']} changed); "
                                        "the data position would point into other prompts: restore them, or start "
                                        "a new run instead of resuming")
    return applied


def resume_error(ckpt: str | None) -> str | None:
    """A --resume argument that is not a complete checkpoint, as one line (None when it is fine)."""
    from .checkpoint import COMPLETE, STATE_FILE
    if ckpt is None:
        return None
    p = Path(ckpt)
    if not p.is_dir():
        return f"--resume {ckpt}: no such checkpoint folder"
    if not (p / COMPLETE).is_file() or not (p / STATE_FILE).is_file():
        return f"--resume {ckpt}: not a complete checkpoint (no {COMPLETE} marker or {STATE_FILE}); use one listed by `rlhf runs`"
    if (p / RESUME_FILE).is_file():
        try:
            _resume_json(p)
        except (OSError, ValueError) as e:
            return (f"--resume {ckpt}: its {RESUME_FILE} is damaged ({e}); resume from another checkpoint "
                    "(rlhf checkpoints RUN lists them) or restore the file")
    return None

