#!/usr/bin/env bash
# Speed at scale: generated states of 1k, 10k and 100k sessions (clawauth-fixture --sessions N,
# ~1.2 KB per entry like real ones) and a journal of 10k transactions; wall time and peak RSS
# (/usr/bin/time -f '%e %M') of status, explain, doctor, a one-session pin and its undo, an
# order set with blast radius, log and show; the median of RUNS runs each. Writes
# bench/RESULTS.md. Not part of `cargo test`.
#
#   bench/run.sh                 # sizes 1000 10000 100000, 3 runs each
#   SIZES="1000" RUNS=1 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-3}
JOURNAL_TXNS=${JOURNAL_TXNS:-10000}
OUT=${OUT:-bench/RESULTS.md}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
command -v python3 >/dev/null || { echo "needs python3 (journal generation, baseline)" >&2; exit 1; }

# the interpreter itself, not a version-manager shim (whose start-up would dominate the baseline)
PY=$(python3 -c 'import sys; print(sys.executable)')
cargo build --release --quiet --workspace --bin clawauth --bin clawauth-fixture
BIN=$PWD/target/release/clawauth
FIX=$PWD/target/release/clawauth-fixture
W=$(mktemp -d /tmp/clawauth-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export CLAWAUTH_NOW=2026-05-01T12:05:00Z CLAWAUTH_USER=bench CLAWAUTH_HOST=bench NO_COLOR=1
BOB=openai-codex:bob@example.com
ALICE=openai-codex:alice@example.com
TEAM=openai-codex:alice-team
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# median of RUNS measurements of one command: prints "seconds kib"
measure() {
  local f="$W/times" i
  : >"$f"
  for ((i = 0; i < RUNS; i++)); do
    "$TIME" -f '%e %M' -a -o "$f" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; echo "FAILED: $*" >&2; exit 1; }
  done
  python3 - "$f" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and l.split()[0][0].isdigit()]
print(f"{statistics.median(float(r[0]) for r in rows):.3f} {int(statistics.median(int(r[1]) for r in rows))}")
EOF
}

# a pair (apply, undo) measured RUNS times; the undo always targets the txn just applied
measure_pair() {
  local state=$1; shift
  local fa="$W/ta" fu="$W/tu" i t
  : >"$fa"; : >"$fu"
  for ((i = 0; i < RUNS; i++)); do
    "$TIME" -f '%e %M' -a -o "$fa" "$BIN" --state-dir "$state" "$@" --yes >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    t=$("$BIN" --state-dir "$state" --json log --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["transactions"][0]["id"])')
    "$TIME" -f '%e %M' -a -o "$fu" "$BIN" --state-dir "$state" undo "$t" --yes >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
  done
  python3 - "$fa" "$fu" <<'EOF'
import statistics, sys
for f in sys.argv[1:]:
    rows = [l.split() for l in open(f) if l.strip() and l.split()[0][0].isdigit()]
    print(f"{statistics.median(float(r[0]) for r in rows):.3f} {int(statistics.median(int(r[1]) for r in rows))}", end=" ")
print()
EOF
}

declare -A R
for n in $SIZES; do
  s="$W/s$n"
  "$FIX" "$s" --layout b --sessions "$n"
  R[$n,bytes]=$(stat -c %s "$s/agents/main/sessions/sessions.json")
  R[$n,status]=$(measure "$BIN" --state-dir "$s" status --json)
  R[$n,status_all]=$(measure "$BIN" --state-dir "$s" status --json --all)
  R[$n,explain]=$(measure "$BIN" --state-dir "$s" explain agent:main:main)
  # doctor exits 4 when it finds problems (the bulk state has some): that is success here
  R[$n,doctor]=$(measure bash -c "'$BIN' --state-dir '$s' doctor; [ \$? -le 4 ]")
  read -r pa pam ua uam <<<"$(measure_pair "$s" pin agent:main:main "$BOB")"
  R[$n,pin]="$pa $pam"; R[$n,pin_undo]="$ua $uam"
  read -r oa oam ua uam <<<"$(measure_pair "$s" order set openai-codex "$BOB" "$ALICE" "$TEAM")"
  R[$n,order]="$oa $oam"; R[$n,order_undo]="$ua $uam"
  # baseline: one full read + JSON parse + write of the same sessions.json (python), and cp
  R[$n,baseline]=$(measure "$PY" -c "
import json,sys
p='$s/agents/main/sessions/sessions.json'
v=json.load(open(p))
open('$W/copy.json','w').write(json.dumps(v, indent=2, ensure_ascii=False))")
  R[$n,cp]=$(measure cp "$s/agents/main/sessions/sessions.json" "$W/copy.json")
done

# a journal of JOURNAL_TXNS transactions in the largest state: real txns cloned
big=$(echo $SIZES | tr ' ' '\n' | sort -n | tail -1)
s="$W/s$big"
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
size() { local t=0 f; for f in "$J" "$J-wal"; do [ -f "$f" ] && t=$((t + $(stat -c %s "$f"))); done; echo $t; }
python3 -c "import sqlite3; c=sqlite3.connect('$J'); c.execute('PRAGMA wal_checkpoint(TRUNCATE)')"
j0=$(size)
"$BIN" --state-dir "$s" pin agent:main:main "$ALICE" --yes >/dev/null
j1=$(size)
python3 -c "import sqlite3; c=sqlite3.connect('$J'); c.execute('PRAGMA wal_checkpoint(TRUNCATE)')"
j2=$(size)
read -r pa pam ua uam <<<"$(measure_pair "$s" pin agent:main:telegram:direct:100000 "$BOB")"
R[j,pin]="$pa $pam"; R[j,undo]="$ua $uam"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

ms() { awk '{printf "%.0f ms", $1*1000}' <<<"$1"; }
mb() { awk '{printf "%.1f MB", $2/1024}' <<<"$1"; }
cell() { echo "$(ms "$1"), $(mb "$1")"; }
{
  echo "# clawauth at scale"
  echo
  echo "Generated by \`bench/run.sh\` on $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, release build."
  echo "Median of $RUNS runs; wall time and peak RSS from \`/usr/bin/time -f '%e %M'\`."
  echo "The machine is shared with other builds: load average $LOAD_START at the start, $LOAD_END at the end."
  echo "States from \`clawauth-fixture --layout b --sessions N\` (layout B, ~1.2 KB per session)."
  echo
  printf "| command |"; for n in $SIZES; do printf " %s sessions |" "$n"; done; echo
  printf "|---|"; for n in $SIZES; do printf -- "---|"; done; echo
  printf "| sessions.json size |"; for n in $SIZES; do printf " %s MB |" "$(awk -v b="${R[$n,bytes]}" 'BEGIN{printf "%.1f", b/1048576}')"; done; echo
  for k in status:"status --json" status_all:"status --json --all" explain:"explain agent:main:main" doctor:"doctor" pin:"pin (one session)" pin_undo:"undo of that pin" order:"order set (blast radius over every session)" order_undo:"undo of that order set" baseline:"baseline: python read + JSON parse + write of sessions.json" cp:"baseline: cp sessions.json"; do
    key=${k%%:*}; label=${k#*:}
    printf "| %s |" "$label"; for n in $SIZES; do printf " %s |" "$(cell "${R[$n,$key]}")"; done; echo
  done
  echo
  echo "Pin vs one full read + write (python baseline):"
  for n in $SIZES; do
    echo "- $n sessions: pin $(ms "${R[$n,pin]}") vs baseline $(ms "${R[$n,baseline]}") = $(awk -v a="${R[$n,pin]%% *}" -v b="${R[$n,baseline]%% *}" 'BEGIN{printf "%.2fx", (b>0? a/b : 0)}')"
  done
  echo
  echo "## A journal of ${R[j,txns]} transactions (in the $big-session state)"
  echo
  echo "| command | wall, peak RSS |"
  echo "|---|---|"
  echo "| log (last 20) | $(cell "${R[j,log]}") |"
  echo "| log --json --limit 10000 | $(cell "${R[j,log_json]}") |"
  echo "| show $((JOURNAL_TXNS / 2)) | $(cell "${R[j,show]}") |"
  echo "| status --json | $(cell "${R[j,status]}") |"
  echo "| pin (one session) | $(cell "${R[j,pin]}") |"
  echo "| undo of that pin | $(cell "${R[j,undo]}") |"
  echo
  echo "Journal growth for one pin on the $big-session store (journal.db + -wal, checkpointed first):"
  echo "$((j1 - j0)) bytes before checkpoint (WAL frames), $((j2 - j0)) bytes after checkpoint."
} >"$OUT"
cat "$OUT"
