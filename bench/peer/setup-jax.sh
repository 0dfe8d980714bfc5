#!/usr/bin/env bash
# Provides the JAX peer that `mirl bench --peer jax` compares against, in a venv of its own
# under the same per-user cache as scripts/setup-python.sh. Only the benchmark calls this:
# JAX is several hundred MB that neither `npm ci` nor `npm test` should ever pay for.
# Idempotent: the venv is keyed by the pins and the Python version, and built once.
# Prints the venv's python on stdout (the last line); progress goes to stderr.
set -euo pipefail
JAX_VERSION=0.10.2
PY=${PYTHON:-python3}
# jaxlib pinned too: jax[cpu] alone allows a newer jaxlib on a later install.
pins=("jax[cpu]==$JAX_VERSION" "jaxlib==$JAX_VERSION")
want="${pins[*]}"
cache=${MIRL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mirl}
key=$(printf '%s %s' "$want" "$("$PY" --version 2>&1)" | sha256sum | cut -c1-12)
target="$cache/peer-jax-$key"

if [ ! -f "$target/.mirl-pins" ]; then
  echo "[setup-jax] installing $want into $target (once per machine)" >&2
  # As setup-python.sh: built in place, the pins file written last marks it complete.
  rm -rf "$target"
  mkdir -p "$cache"
  "$PY" -m venv "$target"
  "$target/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
  echo "$want" > "$target/.mirl-pins"
fi
"$target/bin/python" -c 'import jax; jax.numpy.zeros(1).block_until_ready()' >/dev/null
echo "[setup-jax] JAX $JAX_VERSION ready in $target" >&2
echo "$target/bin/python"
