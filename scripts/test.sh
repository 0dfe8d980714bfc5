#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, type-checks, runs
# unit tests, then integration tests against real servers (each test file starts the
# Temporal dev server or MLflow server it needs from .venv on free local ports).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# Only the tests need a browser (the demo does not): Debian's chromium, when missing.
bash scripts/setup-chromium.sh
# The webgpu backend is tested on Mesa's software Vulkan driver where there is no GPU.
bash scripts/setup-lavapipe.sh
echo "== typecheck" >&2
npx tsc --noEmit -p tsconfig.json
echo "== format (npm run format fixes it)" >&2
npx prettier --check . >&2
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts)
echo "== ${#files[@]} test files" >&2
# One file at a time: TensorFlow.js training and the servers share two cores.
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
