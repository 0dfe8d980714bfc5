#!/usr/bin/env bash
# The fault suite (docs/RELIABILITY.md): a sweep against real Temporal, MLflow and worker
# processes while workers are killed, servers restart, checkpoints rot and bad specs
# arrive. Slower than `npm test`, so it runs on its own; .ci/run calls both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
shopt -s nullglob
files=(test/faults/*.test.ts)
echo "== ${#files[@]} fault test files" >&2
# One file at a time: each starts its own servers and workers on two shared cores.
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
