#!/usr/bin/env bash
# The main job on a fresh clone, in one command: installs what is missing, brings up the
# local stack (`mirl up`: Temporal dev server, MLflow server and one worker, state under
# .mirl/), runs a sweep (default sweeps/smoke.yaml) to the end while watching it, compares
# its configurations from MLflow, and prints where to look in both UIs. The stack stays
# up afterwards; `mirl down` stops it and `mirl up` brings it back with its data.
#
#   npm run demo                                  # sweeps/smoke.yaml
#   npm run demo -- sweeps/smoke.yaml --profile quick
#   MIRL_TEMPORAL_PORT=17233 MIRL_MLFLOW_PORT=15000 npm run demo   # next to another stack
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

spec=${1:-sweeps/smoke.yaml}
[ $# -gt 0 ] && shift
mirl() { node bin/mirl.js "$@"; }

# The demo is about the local stack: addresses come from its state file, not from
# whatever cluster this shell happens to point at.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(TEMPORAL_|MLFLOW_TRACKING_)' || true)

up_flags=()
[ -n "${MIRL_TEMPORAL_PORT:-}" ] && up_flags+=(--temporal-port "$MIRL_TEMPORAL_PORT")
[ -n "${MIRL_TEMPORAL_UI_PORT:-}" ] && up_flags+=(--temporal-ui-port "$MIRL_TEMPORAL_UI_PORT")
[ -n "${MIRL_MLFLOW_PORT:-}" ] && up_flags+=(--mlflow-port "$MIRL_MLFLOW_PORT")

# A bad spec stops the demo before anything starts.
mirl sweep validate "$spec" "$@" > /dev/null
echo "== mirl up" >&2
if ! mirl up ${up_flags[@]+"${up_flags[@]}"}; then
  echo "[demo] the stack did not come up; for other ports set MIRL_TEMPORAL_PORT, MIRL_TEMPORAL_UI_PORT or MIRL_MLFLOW_PORT" >&2
  exit 1
fi

echo "== mirl sweep launch $spec $*" >&2
launch=$(mirl sweep launch "$spec" "$@" --json)
read -r id temporal_link < <(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.sweepId, r.ui)' "$launch")

echo "== mirl sweep watch $id" >&2
outcome=0
mirl sweep watch "$id" || outcome=$?

echo "== mirl compare $id" >&2
mirl compare "$id" || outcome=1
mlflow_link=$(mirl compare "$id" --json | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const r = JSON.parse(s); console.log(r.runsUrl); })') || mlflow_link="(not available)"

cat <<MSG

Sweep $id
  Temporal UI (this sweep):   $temporal_link
  MLflow UI (its runs): $mlflow_link
The stack is still running: \`node bin/mirl.js down\` stops it (data stays in .mirl/),
\`node bin/mirl.js up\` brings it back.
MSG
exit "$outcome"
