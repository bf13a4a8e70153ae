#!/usr/bin/env bash
# npm test: everything — typecheck, linters (eslint, ruff), TS unit and integration tests, the trainer's pytest suite, the e2e test
# in a real VS Code (code-server) in Debian's Chromium. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node's postinstall would fetch CUDA libraries from outside the npm registry: the CPU
# binaries ship in the package, and the CUDA provider is used only where the machine has one
export ONNXRUNTIME_NODE_INSTALL=skip
[ -d node_modules/esbuild ] || npm install --no-audit --no-fund || exit 1
bash scripts/setup-python.sh dev || exit 1
# verl's and OpenRLHF's own config schema and parser, for the export checks (no torch, no GPU stack)
bash scripts/setup-checks.sh || exit 1
fail=0
mkdir -p out
# what only the e2e part needs (Node 24 and code-server, ~2 min of downloads and native builds) is installed in
# the background while the checks and the other tiers run; the e2e part waits for it and prints its log
# (its exit status goes to a file: the e2e part waits for it from a subshell, which cannot `wait` for it)
rm -f out/setup-e2e.rc
if [ "${RLHF_SKIP_E2E:-0}" != "1" ]; then { bash scripts/setup-e2e.sh > out/setup-e2e.log 2>&1; echo $? > out/setup-e2e.rc; } & fi
# the same for .venv-ray and the Ray head the Ray tests submit to (pip installs, then the head's start)
bash scripts/setup-ray.sh > out/setup-ray.log 2>&1 & ray_setup=$!
ray_cluster() { wait "$ray_setup"; local rc=$?; cat out/setup-ray.log; return $rc; }
e2e() {
  while [ ! -s out/setup-e2e.rc ]; do sleep 1; done
  local rc; rc=$(cat out/setup-e2e.rc); cat out/setup-e2e.log
  [ $rc -eq 0 ] || { echo "[e2e-setup] failed (exit $rc): out/setup-e2e.log above says why"; return 1; }
  # npm run test:e2e without its build: dist/ was built above, and the integration tier beside this part runs its files
  npm run -s package && node test/e2e/run.mjs
}
# the embedded example's model (cached, gitignored): built once here so parallel tests share it
[ -d examples/arithmetic/model ] || .venv/bin/python -m rlhf_trainer.bootstrap model examples/arithmetic/model || exit 1
# each part says how long it took (CI has 25 minutes for all of them on 2 cores)
step() {
  local name=$1 t0=$SECONDS; shift; echo; echo "=== $name"
  "$@" || { echo "=== FAILED: $*"; fail=1; }
  echo "=== $name: $((SECONDS - t0)) s"; timings+=("$((SECONDS - t0)) s  $name")
}
timings=()
step "typecheck" npx tsc -p . --noEmit
step "lint: eslint (type-aware)" npx eslint
step "lint: dependency rules (dependency-cruiser)" npm run -s lint:deps
step "lint: ruff" .venv/bin/ruff check trainer
step "build" node esbuild.mjs
# the one-node Slurm the Slurm tests submit to (root only: it starts daemons; .ci/run installs it); idempotent
if [ "$(id -u)" = 0 ]; then step "slurm test cluster" bash scripts/setup-slurm.sh; fi
# .venv-ray (ray pinned, never the user's .venv) and a Ray head on 127.0.0.1 for the Ray tests; idempotent
step "ray test cluster" ray_cluster
step "TS unit tests (test/unit)" npm run -s test:unit
# The e2e part runs beside the integration tier: both mostly wait (on the browser; on trainers, Slurm and Ray),
# about a core between them. The e2e's output follows the integration tier's. Then the pytest suite, alone.
e2e_pid=
if [ "${RLHF_SKIP_E2E:-0}" = "1" ]; then echo; echo "=== e2e skipped (RLHF_SKIP_E2E=1)"
else ( t0=$SECONDS; e2e > out/e2e.log 2>&1; rc=$?; echo "$((SECONDS - t0))" > out/e2e.seconds; exit $rc ) & e2e_pid=$!; fi
# two test files at a time (node's default is one on 2 cores): most of their time is waiting on trainers,
# Slurm and Ray, not computing
step "TS integration tests (test/integration: real trainer, Python, browser)" node --test --test-concurrency=2 --test-reporter=spec out/test-integration/
bash scripts/setup-ray.sh --stop  # the head and its workers end with the tests that use them
if [ -n "$e2e_pid" ]; then
  e2e_wait() { wait "$e2e_pid"; local rc=$?; cat out/e2e.log; echo "(the e2e part took $(cat out/e2e.seconds) s, beside the integration tier)"; return $rc; }
  step "end-to-end in code-server + chromium (waiting for its end)" e2e_wait
fi
# two pytest workers (pytest-xdist), a test file each at a time (module fixtures are built once): a test spends
# half its time starting Python and waiting on its trainer subprocess
step "trainer pytest suite" .venv/bin/python -m pytest -q -n 2 --dist loadfile --durations=15 trainer/tests
echo; echo "=== time per part"; printf '  %s\n' "${timings[@]}"; echo "  ${SECONDS} s  in all"
if [ $fail -ne 0 ]; then echo "npm test: FAILED"; exit 1; fi
echo "npm test: all suites passed"
