#!/usr/bin/env bash
# `npm test`: from a fresh clone, installs what is missing, type-checks, checks the
# formatting, then runs the unit tier and the integration tier (scripts/test-tier.sh;
# the integration tier starts one Temporal and one MLflow server for all its files).
# The other tiers (faults, hosts, gpu-route) run in .ci/run, or one by one with
# `npm run test:TIER`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/setup-chromium.sh
echo "== typecheck" >&2
npx tsc --noEmit -p tsconfig.json
echo "== format (npm run format fixes it)" >&2
npx prettier --check . >&2
export MIRL_SKIP_INSTALL=1
bash scripts/test-tier.sh unit
bash scripts/test-tier.sh integration
