"""Each Python requirement is pinned once: requirements.txt / requirements-dev.txt list what pyproject.toml says."""
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the .venv npm test creates has it

TRAINER = Path(__file__).resolve().parents[1]


def requirement_lines(name: str) -> list[str]:
    lines = [line.strip() for line in (TRAINER / name).read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_requirement_files_list_the_pyproject_pins():
    project = tomllib.loads((TRAINER / "pyproject.toml").read_text())["project"]
    assert requirement_lines("requirements.txt") == project["dependencies"]
    assert requirement_lines("requirements-dev.txt") == ["-r requirements.txt", *project["optional-dependencies"]["dev"]]


def test_runtime_set_has_no_development_tools():
    names = {line.split("=")[0].split(">")[0].split("<")[0].lower() for line in requirement_lines("requirements.txt")}
    assert not names & {"pytest", "ruff", "onnx", "onnxruntime"}, names
