#!/usr/bin/env bash
# The multi-host suite (docs/RELIABILITY.md, "Across hosts"): the cluster of
# deploy/README.md with each host a network namespace of its own (control: PostgreSQL,
# MLflow with basic auth, Temporal; worker-a, worker-b; client), joined by a bridge.
# Needs root; .ci/run calls it after the fault suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/setup-hosts.sh
shopt -s nullglob
files=(test/hosts/*.test.ts)
echo "== ${#files[@]} multi-host test files" >&2
# One file at a time: each builds its own hosts, servers and workers on two shared cores.
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
