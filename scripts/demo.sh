#!/usr/bin/env bash
# npm run demo: installs what is missing, builds, and trains the embedded example through the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node's postinstall would fetch CUDA libraries from outside the npm registry: the CPU
# binaries ship in the package, and the CUDA provider is used only where the machine has one
export ONNXRUNTIME_NODE_INSTALL=skip
# the npm packages and the Python environment install side by side (network and disk, not CPU)
npm_pid=""
if [ ! -d node_modules/esbuild ]; then npm install --no-audit --no-fund & npm_pid=$!; fi
bash scripts/setup-python.sh
[ -z "$npm_pid" ] || wait "$npm_pid"
node esbuild.mjs
echo "[demo] training examples/arithmetic (REINFORCE++ on a tiny character-level Llama, CPU is fine)"
RLHF_PYTHON="$PWD/.venv/bin/python" node dist/cli.js train examples/arithmetic/config.yaml --runs-dir runs
