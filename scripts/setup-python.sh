#!/usr/bin/env bash
# Creates the project-local .venv with the trainer and its test dependencies.
# torch is pinned: an unpinned torch pulls a multi-GB CUDA build from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.rlhf-setup-v1
REQ=trainer/requirements.txt
if [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then exit 0; fi
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi
echo "[setup] installing trainer requirements into .venv (torch 2.13.0 CPU build unless one is present)"
# --no-compile: byte-compiling every module of torch and transformers up front took ~30 s of a
# 55 s setup; Python compiles the few it imports on first use instead
.venv/bin/python -m pip install --disable-pip-version-check -q --no-compile -r "$REQ"
.venv/bin/python -m pip install --disable-pip-version-check -q --no-compile --no-deps -e trainer
cp "$REQ" "$STAMP"
echo "[setup] .venv ready"
