"""One list per fact, Python side: the trainer's estimator lists are the config schema's enum."""

from rlhf_trainer.algorithms import ESTIMATORS, GROUPED_ESTIMATORS, WHITENED_ESTIMATORS
from rlhf_trainer.config import load_schema


def test_estimators_are_the_schema_enum():
    enum = load_schema("config.schema.json")["properties"]["algorithm"]["properties"]["estimator"]["enum"]
    assert sorted(ESTIMATORS) == sorted(enum)
    assert set(GROUPED_ESTIMATORS) <= set(ESTIMATORS) and set(WHITENED_ESTIMATORS) <= set(ESTIMATORS)


def test_run_folder_names_are_written_only_in_the_run_folder_modules():
    """A run-folder name is a constant of names.py (or of checkpoint.py, control.py, resume.py for the names they own);
    any other module that writes it as a literal would drift when the contract changes (src/core/run/names.ts is the
    TypeScript twin, with the same check in test/unit/runFolder.test.ts)."""
    import re
    from pathlib import Path

    from rlhf_trainer import checkpoint, control, names, resume

    owned = {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}
    owned |= {checkpoint.KEEP, control.CONTROL_DIR, resume.RESUME_FILE}
    owners = {"names.py", "checkpoint.py", "control.py", "resume.py"}
    literal = re.compile(r"""(["'])(%s)\1|(["'])(%s)/""" % ("|".join(map(re.escape, owned)), "|".join(map(re.escape, owned))))
    found = []
    for path in sorted(Path(names.__file__).parent.glob("*.py")):
        if path.name in owners:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            found += [f"{path.name}:{n}: {m.group(2) or m.group(4)}" for m in literal.finditer(code)]
    assert found == [], "run-folder names written outside names.py (import them from there):\n" + "\n".join(found)
