#!/usr/bin/env bash
# The Ray test cluster: .venv-ray (ray[default,train] pinned + the trainer's runtime requirements, never the
# user's .venv) and a local Ray head on 127.0.0.1 for the Ray integration test.
#   scripts/setup-ray.sh           create/refresh .venv-ray, start the head (if not up), wait for its dashboard
#   scripts/setup-ray.sh --venv    only create/refresh .venv-ray
#   scripts/setup-ray.sh --stop    stop the head this script started (only processes of its temp dir)
# Idempotent. RLHF_RAY_PORT: the dashboard port (default 8265); the test reads the address from
# .venv-ray/head-address. The head runs with 2 CPUs: 2 workers of 1 CPU each.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV=.venv-ray
RAY_VERSION=2.60.0
PORT=${RLHF_RAY_PORT:-8265}
GCS_PORT=${RLHF_RAY_GCS_PORT:-6380}
TMPD=$ROOT/$VENV/tmp
STAMP=$VENV/.rlhf-setup-v1

head_pids() { # every process whose command line names this script's Ray temp dir (the head and its workers)
  for d in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$TMPD" && echo "${d#/proc/}"
  done
  return 0
}

stop_head() {
  local pids; pids=$(head_pids)
  [ -z "$pids" ] && { echo "[ray] no head running from $TMPD"; rm -f "$VENV/head-address"; return 0; }
  echo "[ray] stopping the head ($(echo "$pids" | wc -l) processes)"
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 50); do [ -z "$(head_pids)" ] && break; sleep 0.2; done
  pids=$(head_pids)
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  rm -f "$VENV/head-address"
}

setup_venv() {
  # the trainer's runtime requirements (tests and export tools stay in .venv), torch pinned as there
  local want; want=$(printf 'ray[default,train]==%s\n' "$RAY_VERSION"; grep -vE '^(pytest|ruff|onnx)' trainer/requirements.txt)
  if [ -f "$STAMP" ] && [ "$want" = "$(cat "$STAMP")" ]; then return 0; fi
  [ -x "$VENV/bin/python" ] || { echo "[ray] creating $VENV with $($PY --version 2>&1)"; "$PY" -m venv "$VENV"; }
  echo "[ray] installing ray $RAY_VERSION and the trainer's requirements into $VENV"
  echo "$want" >"$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-compile -r "$VENV/requirements.txt"
  echo "$want" >"$STAMP"
}

case "${1:-}" in
  --stop) stop_head; exit 0 ;;
  --venv) setup_venv; exit 0 ;;
  "") ;;
  *) echo "usage: scripts/setup-ray.sh [--venv | --stop]" >&2; exit 2 ;;
esac

# Ray's raylet waits a fixed 15 s for the node's dashboard agent to write its port file and aborts past that; on a
# loaded machine the agent's Python start-up can take longer. Its imports are warmed first, and a start whose
# raylet died is retried.
raylet_alive() { # a raylet that aborted stays a zombie until `ray start` reaps it: not alive
  for p in $(head_pids); do
    grep -q raylet "/proc/$p/comm" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ] && return 0
  done
  return 1
}

start_once() {
  [ -n "$(head_pids)" ] && stop_head  # a half-started or broken head of ours
  mkdir -p "$TMPD"
  echo "[ray] starting a head at $URL (temp dir $TMPD)"
  "$VENV/bin/python" -c "import ray.dashboard.agent, ray.dashboard.modules.job.job_agent" >/dev/null 2>&1 || true
  # PATH: a job's entrypoint `python` is the venv's, as on a Ray image; generous registration timeouts for
  # workers that import torch on a loaded machine; workers at the tests' own priority (Ray's default niceness 15
  # starved them on a shared 2-core machine: minutes per worker start)
  RAY_USAGE_STATS_ENABLED=0 RAY_worker_register_timeout_seconds=300 RAY_worker_niceness=0 \
    PATH="$ROOT/$VENV/bin:$PATH" "$VENV/bin/ray" start --head --node-ip-address 127.0.0.1 --port "$GCS_PORT" \
    --dashboard-host 127.0.0.1 --dashboard-port "$PORT" --num-cpus 2 --temp-dir "$TMPD" \
    --disable-usage-stats >"$VENV/ray-start.log" 2>&1 || return 1
  for _ in $(seq 1 600); do
    # ready: the dashboard answers and the node's agent (which takes job submissions) has registered
    if curl -fsS "$URL/api/version" >/dev/null 2>&1 && compgen -G "$TMPD/session_latest/dashboard_agent_listen_port_*" >/dev/null; then
      raylet_alive && return 0
    fi
    raylet_alive || return 1
    sleep 0.5
  done
  return 1
}

setup_venv
URL="http://127.0.0.1:$PORT"
if curl -fsS "$URL/api/version" >/dev/null 2>&1 && raylet_alive; then echo "$URL" >"$VENV/head-address"; echo "[ray] head up at $URL"; exit 0; fi
for attempt in 1 2 3; do
  if start_once; then echo "$URL" >"$VENV/head-address"; echo "[ray] head ready at $URL"; exit 0; fi
  echo "[ray] the head did not come up (attempt $attempt); $TMPD/session_latest/logs/raylet.out says why" >&2
done
tail -5 "$VENV/ray-start.log" >&2
stop_head
exit 1
