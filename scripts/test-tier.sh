#!/usr/bin/env bash
# One test tier, a folder of test/ (README, "Tests"):
#   unit         no servers; TensorFlow.js, spec, workflow logic (replayed histories)
#   integration  one Temporal dev server and one MLflow server for the tier, each file
#                on a namespace and experiments of its own; the CLI, workers, Chromium
#   faults       a local stack per scenario broken on purpose (docs/RELIABILITY.md)
#   hosts        a cluster of network namespaces (needs root; deploy/README.md)
#   gpu-route    the webgpu backend on lavapipe and the packed GPU check
# Installs what is missing first (MIRL_SKIP_INSTALL=1 skips that, for callers that did).
# Extra arguments name test files to run instead of the whole folder.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-}
case "$tier" in
  unit | integration | faults | hosts | gpu-route) shift ;;
  *)
    echo "usage: bash scripts/test-tier.sh unit|integration|faults|hosts|gpu-route [FILE...]" >&2
    exit 2
    ;;
esac
if [ "${MIRL_SKIP_INSTALL:-0}" != 1 ]; then
  bash scripts/install.sh
  case "$tier" in
    integration) bash scripts/setup-chromium.sh ;; # the browser test opens both UIs
    hosts) bash scripts/setup-hosts.sh ;;
    gpu-route) bash scripts/setup-lavapipe.sh ;; # Mesa's software Vulkan for webgpu
  esac
fi
exec node --import tsx test/support/tier.ts "$tier" "$@"
