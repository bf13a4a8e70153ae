#!/usr/bin/env bash
# Creates the project-local .venv with the trainer's requirements.
#   bash scripts/setup-python.sh          the runtime set (trainer/requirements.txt): npm run demo
#   bash scripts/setup-python.sh dev      plus tests, ruff and the ONNX exporter (trainer/requirements-dev.txt):
#                                         npm test, npm run lint
# The pins live in trainer/pyproject.toml; the requirements files list the same (a pytest test checks it).
# torch is pinned: an unpinned torch pulls a multi-GB CUDA build from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.rlhf-setup-v1
case "${1:-runtime}" in
  runtime) REQ=trainer/requirements.txt; want=$(cat trainer/requirements.txt) ;;
  dev) REQ=trainer/requirements-dev.txt; want=$(cat trainer/requirements.txt trainer/requirements-dev.txt) ;;
  *) echo "usage: setup-python.sh [runtime|dev]" >&2; exit 2 ;;
esac
# the stamp holds what was installed last (runtime, or runtime + dev): a set it starts with is already there
if [ -f "$STAMP" ]; then case "$(cat "$STAMP")" in "$want"*) exit 0 ;; esac; fi
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi
echo "[setup] installing $REQ into .venv (torch 2.13.0 CPU build unless one is present)"
# --no-compile: byte-compiling every module of torch and transformers up front took ~30 s of a
# 55 s setup; Python compiles the few it imports on first use instead
.venv/bin/python -m pip install --disable-pip-version-check -q --no-compile -r "$REQ"
.venv/bin/python -m pip install --disable-pip-version-check -q --no-compile --no-deps -e trainer
if [ "${1:-runtime}" = dev ]; then
  # ...unless PYTHONDONTWRITEBYTECODE is set (CI shells often set it): then every trainer and pytest
  # subprocess compiled torch and transformers again from source (~6 CPU-s a start, hundreds of starts
  # in npm test). Compiled once here (~40 CPU-s), they are read, never written, from then on. A few
  # files in site-packages are not Python 3 (test data of some packages): compileall's exit status is not ours.
  echo "[setup] byte-compiling .venv's site-packages once for the test suite"
  .venv/bin/python -m compileall -q -j0 "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
fi
printf '%s\n' "$want" > "$STAMP"
echo "[setup] .venv ready"
