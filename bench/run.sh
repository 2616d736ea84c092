#!/usr/bin/env bash
# Speed at scale, every layout, each figure beside its physical floor measured in the same run.
#
# States (bench/mkstate.py): A and B from `clawauth-fixture --sessions N` (~1.2 KB per entry like
# real ones); C and D from the committed real-OpenClaw fixtures with the same bulk sessions added
# (C in sessions.json, D as valid session_nodes rows). Per layout and size: status, status --all,
# explain, doctor, a one-session pin and its undo, an order set with its blast radius and its undo;
# on the largest B state also a journal of 10k transactions (log, show). Wall time and peak RSS
# (bench/measure.py: perf_counter, `/usr/bin/time -f %M`), median of RUNS runs, taken in RUNS
# rounds that each sample every measurement of a state once (floors and commands interleaved).
#
# Floors (clawauth-floor, a Rust process like clawauth, same bundled SQLite):
#   JSON sessions (A, B, C): `read` of sessions.json; `rewrite` = copy + fsync + rename of it
#   session_nodes (D):       `select` of every entry_json; `update` of one row as OpenClaw's
#                            writer leaves it (one BEGIN IMMEDIATE, entry_valid back to 1)
# plus, on B, a python json.load + json.dumps of sessions.json (the seed script's approach).
#
#   bench/run.sh                          # layouts a b c d, sizes 100 1000 10000 100000, 3 runs
#   SIZES="1000" LAYOUTS="b d" RUNS=1 bench/run.sh
# Many agents (MANY=AxN, default 20x10000, "" to skip): a layout-B state of A agents of N sessions
# each (agents/main copied, its keys renamed), status --all-agents and doctor beside the same
# commands on one agent of N sessions and on one agent of A*N sessions: linear in total sessions.
#
#   bench/run.sh --smoke                  # seconds: debug build, 100 sessions, 1 run, every
#                                         # command once; checks the bench works (CI), not a time
set -euo pipefail
cd "$(dirname "$0")/.."
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
if [ $SMOKE = 1 ]; then
  SIZES=${SIZES:-"100"}; RUNS=${RUNS:-1}; JOURNAL_TXNS=${JOURNAL_TXNS:-50}; MANY=${MANY-"3x100"}
else
  SIZES=${SIZES:-"100 1000 10000 100000"}; RUNS=${RUNS:-3}; JOURNAL_TXNS=${JOURNAL_TXNS:-10000}; MANY=${MANY-"20x10000"}
  OUT=${OUT:-bench/RESULTS.md}
fi
LAYOUTS=${LAYOUTS:-"a b c d"}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
command -v python3 >/dev/null || { echo "needs python3 (state generation, timing loop)" >&2; exit 1; }
PY=$(python3 -c 'import sys; print(sys.executable)')

if [ $SMOKE = 1 ]; then
  cargo build --quiet --locked --workspace --bins
  T=$PWD/target/debug
else
  cargo build --release --quiet --locked --workspace --bins
  T=$PWD/target/release
fi
BIN=$T/clawauth FIX=$T/clawauth-fixture FLOOR=$T/clawauth-floor
W=$(mktemp -d /tmp/clawauth-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
[ $SMOKE = 1 ] && OUT=${OUT:-$W/RESULTS.md}
export CLAWAUTH_NOW=2026-05-01T12:05:00Z CLAWAUTH_USER=bench CLAWAUTH_HOST=bench NO_COLOR=1
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
M="$PY bench/measure.py"
measure() { $M run "$RUNS" "$@"; }

# a pair (apply, undo) RUNS times; the undo always targets the txn just applied: "s kib s kib"
measure_pair() {
  local state=$1 i; shift
  rm -f "$W/m.pair" "$W/m.pair_undo"
  for ((i = 0; i < RUNS; i++)); do sample_pair pair "$state" "$@"; done
  echo "$($M median "$W/m.pair") $($M median "$W/m.pair_undo")"
}

# one sample of a measurement K into $W/m.K (the rest: [--ok CODES --] CMD...)
sample() { local k=$1; shift; $M once "$W/m.$k" "$@"; }
# one sample of an applied repair K and one of its undo (K_undo)
sample_pair() {
  local k=$1 state=$2 t; shift 2
  $M once "$W/m.$k" -- "$BIN" --state-dir "$state" "$@" --yes
  t=$("$BIN" --state-dir "$state" --json log --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"][0]["id"])')
  $M once "$W/m.${k}_undo" -- "$BIN" --state-dir "$state" undo "$t" --yes
}
declare -A R
big=$(echo $SIZES | tr ' ' '\n' | sort -n | tail -1)
for l in $LAYOUTS; do
  case $l in a | b) P=openai-codex ;; *) P=openai ;; esac
  for n in $SIZES; do
    s="$W/$l$n"
    $PY bench/mkstate.py "$FIX" "$l" "$n" "$s" >/dev/null
    # the generated state's writeback must not land on the first fsyncs measured
    sync
    db="$s/agents/main/agent/openclaw-agent.sqlite" f="$s/agents/main/sessions/sessions.json"
    if [ "$l" = d ]; then R[$l,$n,bytes]=$(stat -c %s "$db"); else R[$l,$n,bytes]=$(stat -c %s "$f"); fi
    # RUNS rounds, each taking one sample of every measurement in turn: a burst of noise on
    # this shared machine lands on a floor and the commands beside it alike, instead of on
    # every run of one of them
    rm -f "$W"/m.*
    for ((r = 0; r < RUNS; r++)); do
      if [ "$l" = d ]; then
        sample floor_read "$FLOOR" select "$db"
        sample floor_write "$FLOOR" update "$db" agent:main:main
      else
        sample floor_read "$FLOOR" read "$f"
        sample floor_write "$FLOOR" rewrite "$f"
      fi
      sample status "$BIN" --state-dir "$s" status --json
      sample status_all "$BIN" --state-dir "$s" status --json --all
      sample explain "$BIN" --state-dir "$s" explain agent:main:main
      # doctor exits 4 when it finds problems (the states have some): that is success here
      sample doctor --ok 0,4 -- "$BIN" --state-dir "$s" doctor
      sample_pair pin "$s" pin agent:main:main "$P:bob@example.com"
      sample_pair order "$s" order set "$P" "$P:bob@example.com" "$P:alice@example.com" "$P:alice-team"
    done
    for k in floor_read floor_write status status_all explain doctor pin pin_undo order order_undo; do
      R[$l,$n,$k]=$($M median "$W/m.$k")
    done
    if [ "$l" = b ] && [ $SMOKE = 0 ]; then
      R[$l,$n,python]=$(measure "$PY" -c "
import json
v = json.load(open('$s/agents/main/sessions/sessions.json'))
open('$W/copy.json', 'w').write(json.dumps(v, indent=2, ensure_ascii=False))")
    fi
    if [ "$l" = b ] && [ "$n" = "$big" ]; then
      # a journal of JOURNAL_TXNS transactions: real txns cloned
      J="$s/.clawauth/journal.db"
      python3 - "$J" "$JOURNAL_TXNS" <<'EOF'
import sqlite3, sys
db, want = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
ids = [r[0] for r in c.execute("SELECT id FROM txn ORDER BY id")]
nxt = max(ids) + 1
cols = lambda t: [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
tc = [x for x in cols("txn") if x != "id"]
while nxt <= want:
    src = ids[(nxt - 1) % len(ids)]
    c.execute(f"INSERT INTO txn (id, {','.join(tc)}) SELECT ?, {','.join(tc)} FROM txn WHERE id = ?", (nxt, src))
    c.execute("UPDATE txn SET reverts_txn = NULL WHERE id = ?", (nxt,))
    for t in ("step", "change", "snapshot"):
        oc = [x for x in cols(t) if x != "txn_id"]
        c.execute(f"INSERT INTO {t} (txn_id, {','.join(oc)}) SELECT ?, {','.join(oc)} FROM {t} WHERE txn_id = ?", (nxt, src))
    nxt += 1
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.close()
EOF
      R[j,txns]=$(python3 -c "import sqlite3; print(sqlite3.connect('$J').execute('select count(*) from txn').fetchone()[0])")
      R[j,log]=$(measure "$BIN" --state-dir "$s" log)
      R[j,log_json]=$(measure "$BIN" --state-dir "$s" --json log --limit 10000)
      R[j,show]=$(measure "$BIN" --state-dir "$s" show $((JOURNAL_TXNS / 2)))
      R[j,status]=$(measure "$BIN" --state-dir "$s" status --json)
      read -r pa pam ua uam <<<"$(measure_pair "$s" pin agent:main:telegram:direct:100000 "$P:bob@example.com")"
      R[j,pin]="$pa $pam"; R[j,undo]="$ua $uam"
    fi
    rm -rf "$s"
  done
done
if [ -n "$MANY" ]; then
  na=${MANY%x*} nn=${MANY#*x}
  one="$W/many1" all="$W/many$na" big1="$W/manybig"
  "$FIX" "$one" --layout b --sessions "$nn" >/dev/null
  "$FIX" "$big1" --layout b --sessions $((na * nn)) >/dev/null
  cp -a "$one" "$all"
  for ((i = 1; i < na; i++)); do
    id=$(printf "agent%02d" "$i")
    cp -a "$all/agents/main" "$all/agents/$id"
    sed -i "s/\"agent:main:/\"agent:$id:/g" "$all/agents/$id/sessions/sessions.json"
  done
  sync
  for st in one all big1; do
    d=${!st}
    R[m,$st,status]=$(measure "$BIN" --state-dir "$d" status --json --all-agents)
    R[m,$st,doctor]=$(measure --ok 0,4 -- "$BIN" --state-dir "$d" doctor)
  done
  rm -rf "$one" "$all" "$big1"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

ms() { awk '{ if ($1 < 0.1) printf "%.1f ms", $1*1000; else printf "%.0f ms", $1*1000 }' <<<"$1"; }
mb() { awk '{printf "%.1f MB", $2/1024}' <<<"$1"; }
cell() { echo "$(ms "$1"), $(mb "$1")"; }
# "a / b" of the wall times, as "N.NNx"
ratio() { awk -v a="${1%% *}" -v b="${2%% *}" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else printf "-" }'; }
name() { case $1 in a) echo "A (auth-profiles.json, sessions.json)" ;; b) echo "B (auth-profiles.json + auth-state.json, sessions.json)" ;;
  c) echo "C (agent SQLite auth rows, sessions.json)" ;; d) echo "D (state/openclaw.sqlite, sessions in session_nodes)" ;; esac; }
small=$(echo $SIZES | tr ' ' '\n' | sort -n | head -1)
{
  echo "# clawauth at scale"
  echo
  echo "Generated by \`bench/run.sh\` on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $([ $SMOKE = 1 ] && echo debug || echo release) build."
  echo "Median of $RUNS runs, taken in $RUNS rounds that each sample every measurement of a state once (floors and commands"
  echo "interleaved, so that a burst of noise on the shared machine lands on a floor and the commands beside it alike);"
  echo "wall time (perf_counter around the process) and peak RSS (\`/usr/bin/time -f %M\`)."
  echo "The machine is shared with other builds: load average $LOAD_START at the start, $LOAD_END at the end."
  echo "Each ratio is clawauth's median over the floor's median, both measured in this run (\`clawauth-floor\`,"
  echo "a Rust process like clawauth): **read** = reading sessions.json whole (A–C) or selecting every"
  echo "\`entry_json\` of \`session_nodes\` (D); **write** = copy + fsync + rename of sessions.json (A–C) or one"
  echo "\`session_nodes\` row updated in one \`BEGIN IMMEDIATE\` as OpenClaw's writer leaves it (D)."
  for l in $LAYOUTS; do
    echo
    echo "## Layout $(name "$l")"
    echo
    printf "| command |"; for n in $SIZES; do printf " %s sessions |" "$n"; done; echo
    printf "|---|"; for n in $SIZES; do printf -- "---|"; done; echo
    printf "| %s size |" "$([ "$l" = d ] && echo "agent database" || echo "sessions.json")"
    for n in $SIZES; do printf " %s MB |" "$(awk -v b="${R[$l,$n,bytes]}" 'BEGIN{printf "%.1f", b/1048576}')"; done; echo
    printf "| floor: read |"; for n in $SIZES; do printf " %s |" "$(cell "${R[$l,$n,floor_read]}")"; done; echo
    printf "| floor: write |"; for n in $SIZES; do printf " %s |" "$(cell "${R[$l,$n,floor_write]}")"; done; echo
    for k in status:"status --json:floor_read" status_all:"status --json --all:floor_read" explain:"explain agent:main:main:floor_read" \
      doctor:"doctor:floor_read" pin:"pin (one session):floor_write" pin_undo:"undo of that pin:floor_write" \
      order:"order set (blast radius over every session):floor_read" order_undo:"undo of that order set:floor_write"; do
      key=${k%%:*}; rest=${k#*:}; label=${rest%:*}; fl=${rest##*:}
      printf "| %s |" "$label"
      for n in $SIZES; do printf " %s (%s %s) |" "$(cell "${R[$l,$n,$key]}")" "$(ratio "${R[$l,$n,$key]}" "${R[$l,$n,$fl]}")" "${fl#floor_}"; done; echo
    done
    if [ -n "${R[$l,$big,python]:-}" ]; then
      printf "| python json.load + dumps of sessions.json |"; for n in $SIZES; do printf " %s |" "$(cell "${R[$l,$n,python]}")"; done; echo
    fi
    echo
    echo "- one-session pin, $big vs $small sessions: $(ms "${R[$l,$big,pin]}") vs $(ms "${R[$l,$small,pin]}") = $(ratio "${R[$l,$big,pin]}" "${R[$l,$small,pin]}")"
    echo "- pin + undo vs twice the write floor at $big: $(ratio "$(awk '{print $1+$3}' <<<"${R[$l,$big,pin]} ${R[$l,$big,pin_undo]}")" "$(awk '{print 2*$1}' <<<"${R[$l,$big,floor_write]}")")"
    echo "- doctor vs status at $big: $(ratio "${R[$l,$big,doctor]}" "${R[$l,$big,status]}")"
    if [ -n "${R[$l,$big,python]:-}" ]; then
      echo "- status vs python json.load + dumps at $big: $(ratio "${R[$l,$big,python]}" "${R[$l,$big,status]}") faster, $(awk -v a="${R[$l,$big,status]#* }" -v b="${R[$l,$big,python]#* }" 'BEGIN{printf "%.2f", a/b}') of its memory"
    fi
  done
  if [ -n "${R[m,one,status]:-}" ]; then
    echo
    echo "## Many agents (layout B, ${MANY%x*} agents of ${MANY#*x} sessions)"
    echo
    echo "| command | 1 agent, ${MANY#*x} sessions | ${MANY%x*} agents, ${MANY#*x} each | 1 agent, $(( ${MANY%x*} * ${MANY#*x} )) sessions |"
    echo "|---|---|---|---|"
    for k in status:"status --json --all-agents" doctor:"doctor"; do
      key=${k%%:*}; label=${k#*:}
      echo "| $label | $(cell "${R[m,one,$key]}") | $(cell "${R[m,all,$key]}") ($(ratio "${R[m,all,$key]}" "${R[m,one,$key]}") of one agent) | $(cell "${R[m,big1,$key]}") |"
    done
  fi
  if [ -n "${R[j,txns]:-}" ]; then
    echo
    echo "## A journal of ${R[j,txns]} transactions (in the $big-session layout-B state)"
    echo
    echo "| command | wall, peak RSS |"
    echo "|---|---|"
    echo "| log (last 20) | $(cell "${R[j,log]}") |"
    echo "| log --json --limit 10000 | $(cell "${R[j,log_json]}") |"
    echo "| show $((JOURNAL_TXNS / 2)) | $(cell "${R[j,show]}") |"
    echo "| status --json | $(cell "${R[j,status]}") |"
    echo "| pin (one session) | $(cell "${R[j,pin]}") |"
    echo "| undo of that pin | $(cell "${R[j,undo]}") |"
  fi
} >"$OUT"
if [ $SMOKE = 1 ]; then
  # every layout's table, with a figure and a ratio in each row
  for l in $LAYOUTS; do grep -q "^## Layout $(name "$l" | cut -c1)" "$OUT" || { echo "bench smoke: no table for layout $l" >&2; exit 1; }; done
  want=$(( 8 * $(wc -w <<<"$LAYOUTS") * $(wc -w <<<"$SIZES") ))
  got=$(grep -oE '[0-9.]+ ms, [0-9.]+ MB \([0-9.]+x (read|write)\)' "$OUT" | wc -l)
  if [ "$got" != "$want" ]; then
    echo "bench smoke: $got of $want figures with their ratio:" >&2; cat "$OUT" >&2; exit 1
  fi
  [ -z "$MANY" ] || grep -q "^## Many agents" "$OUT" || { echo "bench smoke: no many-agents table" >&2; exit 1; }
  echo "bench smoke: ok (layouts $LAYOUTS at $SIZES sessions: every command and floor ran, RESULTS rendered)"
else
  cat "$OUT"
fi
