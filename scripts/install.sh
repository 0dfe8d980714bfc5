#!/usr/bin/env bash
# Installs what mirl needs and is missing: node modules (when package-lock.json changed
# since the last install), native TensorFlow for TensorFlow.js where it can be built
# (best effort; MIRL_NATIVE=0 skips it), and the Python venv with the Temporal CLI and MLflow.
set -euo pipefail
cd "$(dirname "$0")/.."
lock_hash=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f node_modules/.mirl-lock ] || [ "$(cat node_modules/.mirl-lock)" != "$lock_hash" ]; then
  echo "[install] npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.mirl-lock
fi
bash scripts/setup-native.sh
bash scripts/setup-python.sh
