#!/usr/bin/env bash
# The main job on a fresh clone: installs what is missing, starts a local Temporal dev
# server (SQLite under .mirl/, UI on 8233) and one worker, runs sweeps/smoke.yaml through
# them to the end, prints the sweep's status, then stops what it started.
# (`mirl up` / `mirl down` with MLflow will take over the stack part.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
spec=${1:-sweeps/smoke.yaml}
mkdir -p .mirl/logs
port=${MIRL_TEMPORAL_PORT:-7233}
ui_port=${MIRL_TEMPORAL_UI_PORT:-8233}
export TEMPORAL_ADDRESS=127.0.0.1:$port

node bin/mirl.js sweep validate "$spec"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "[demo] using the Temporal server already listening on $TEMPORAL_ADDRESS" >&2
else
  echo "[demo] starting the Temporal dev server on $TEMPORAL_ADDRESS (UI http://127.0.0.1:$ui_port)" >&2
  .venv/bin/temporal server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
    --db-filename .mirl/temporal.db --namespace default --log-level warn \
    --search-attribute MirlSweep=Keyword --search-attribute MirlStudy=Keyword \
    > .mirl/logs/temporal.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.5
  done
fi

echo "[demo] starting a worker (logs: .mirl/logs/worker.log)" >&2
node bin/mirl.js worker > .mirl/logs/worker.log 2>&1 &
pids+=($!)

node bin/mirl.js sweep launch "$spec" --wait --json > .mirl/last-launch.json
id=$(node -e 'const r=JSON.parse(require("fs").readFileSync(".mirl/last-launch.json","utf8"));console.log(r.sweepId??r.id)')
node bin/mirl.js sweep status "$id"
echo
echo "Temporal UI: http://127.0.0.1:$ui_port/namespaces/default/workflows?query=MirlSweep%3D%22$id%22"
