#!/usr/bin/env bash
# The main job on a fresh clone. Installs what is missing, then runs the smoke sweep.
# Until the local stack (Temporal + MLflow, `mirl up`) lands, the sweep's trials run
# in this process one after another through `mirl trial run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
spec=${1:-sweeps/smoke.yaml}
node bin/mirl.js sweep validate "$spec"
count=$(node bin/mirl.js sweep validate "$spec" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).trialCount))')
for ((i = 0; i < count; i++)); do
  node bin/mirl.js trial run "$spec" --index "$i"
done
