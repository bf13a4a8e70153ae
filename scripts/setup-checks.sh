#!/usr/bin/env bash
# Creates .venv-checks: Hydra, OmegaConf and datasets, plus verl and OpenRLHF without their
# dependencies (no torch, no GPU stack), so that npm test checks the verl and OpenRLHF exports
# against those frameworks' own config schema and command-line parser (test/integration/exportJob.test.ts).
# Everything comes from PyPI, pinned; a second call with the same pins does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
REQ=test/fixtures/frameworks/requirements-checks.txt
FRAMEWORKS="verl==0.9.1 openrlhf==0.11.2"
STAMP=.venv-checks/.rlhf-setup-v1
if [ -f "$STAMP" ] && [ "$(cat "$REQ"; echo "$FRAMEWORKS")" = "$(cat "$STAMP")" ]; then exit 0; fi
[ -x .venv-checks/bin/python ] || "$PY" -m venv .venv-checks
echo "[setup] installing the export checks' packages into .venv-checks (verl and OpenRLHF without dependencies)"
.venv-checks/bin/python -m pip install --disable-pip-version-check -q --no-compile -r "$REQ"
# shellcheck disable=SC2086
.venv-checks/bin/python -m pip install --disable-pip-version-check -q --no-compile --no-deps $FRAMEWORKS
# compiled once, as scripts/setup-python.sh dev does: the export checks start Python with these imports
.venv-checks/bin/python -m compileall -q -j0 "$(.venv-checks/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
{ cat "$REQ"; echo "$FRAMEWORKS"; } > "$STAMP"
echo "[setup] .venv-checks ready"
