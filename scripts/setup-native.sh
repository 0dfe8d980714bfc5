#!/usr/bin/env bash
# Native TensorFlow for TensorFlow.js without the web: @tensorflow/tfjs-node's install
# script downloads libtensorflow from a bucket that locked-down machines cannot reach.
# TensorFlow's own wheel on PyPI carries the same C API (libtensorflow_cc.so.2 exports
# every TF_/TFE_ function the binding calls) and its headers, so we take the library and
# headers from the wheel and build tfjs-node's small N-API binding against them.
#
# Idempotent and cached: the wheel's parts are unpacked once per machine under
# ~/.cache/mirl; rebuilding the binding into a fresh node_modules takes seconds.
# Best effort: on any failure it says why and exits 0, and `--backend auto` falls back
# to WebAssembly. MIRL_NATIVE=0 skips it. MIRL_NATIVE_VARIANT=gpu builds
# @tensorflow/tfjs-node-gpu against the CUDA-enabled `tensorflow` wheel instead.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "${MIRL_NATIVE:-1}" = "0" ] && exit 0

TFJS_VERSION=4.22.0
TF_VERSION=2.18.1
variant=${MIRL_NATIVE_VARIANT:-cpu}
if [ "$variant" = gpu ]; then wheel_pkg=tensorflow; npm_pkg=@tensorflow/tfjs-node-gpu; else wheel_pkg=tensorflow-cpu; npm_pkg=@tensorflow/tfjs-node; fi
cache=${MIRL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mirl}
tfdir="$cache/libtensorflow-$wheel_pkg-$TF_VERSION"
pkgdir="node_modules/$npm_pkg"
binding="$pkgdir/lib/napi-v8/tfjs_binding.node"
log=$(mktemp)
fail() { echo "[setup-native] native TensorFlow not set up: $1 (falling back to WebAssembly; details: $log)" >&2; exit 0; }

probe() {
  node -e "require('$npm_pkg'); const tf = require('@tensorflow/tfjs'); if (tf.getBackend() !== 'tensorflow') process.exit(1)" >>"$log" 2>&1
}

if [ -f "$binding" ] && probe; then exit 0; fi

if [ ! -f "$tfdir/.complete" ]; then
  echo "[setup-native] unpacking TensorFlow $TF_VERSION's C library from the $wheel_pkg wheel (once per machine)" >&2
  rm -rf "$tfdir" && mkdir -p "$tfdir/wheel"
  # The C library does not depend on the Python version: ask for one fixed wheel.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 311 --platform manylinux2014_x86_64 -d "$tfdir/wheel" "$wheel_pkg==$TF_VERSION" >>"$log" 2>&1 \
    || fail "pip could not download $wheel_pkg==$TF_VERSION"
  whl=$(ls "$tfdir"/wheel/*.whl 2>/dev/null | head -1)
  python3 - "$whl" "$tfdir" >>"$log" 2>&1 <<'PY' || fail "could not unpack the wheel"
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
# Only what the binding compiles and links against: the C API headers and two libraries.
keep = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/',
        'tensorflow/include/tsl/platform/', 'tensorflow/include/xla/tsl/c/')
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name in libs:
            target = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith(keep) and not name.endswith('/'):
            target = os.path.join(out, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(name) as src, open(target, 'wb') as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  rm -rf "$tfdir/wheel"
  ln -sf libtensorflow_cc.so.2 "$tfdir/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$tfdir/lib/libtensorflow_framework.so"
  touch "$tfdir/.complete"
fi

if [ ! -f "$pkgdir/binding.gyp" ]; then
  echo "[setup-native] installing $npm_pkg@$TFJS_VERSION without its download script" >&2
  # --no-save: the package stays optional; package.json and the lockfile never require it.
  npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "$npm_pkg@$TFJS_VERSION" >>"$log" 2>&1 \
    || fail "npm could not install $npm_pkg@$TFJS_VERSION"
fi

rm -rf "$pkgdir/deps" && mkdir -p "$pkgdir/deps"
ln -sfn "$tfdir/include" "$pkgdir/deps/include"
ln -sfn "$tfdir/lib" "$pkgdir/deps/lib"
gyp=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js
[ -f "$gyp" ] || fail "node-gyp (bundled with npm) not found at $gyp"
echo "[setup-native] building the tfjs-node binding against it" >&2
(cd "$pkgdir" && node "$gyp" rebuild --nodedir="${MIRL_NODEDIR:-/usr}" --module_name=tfjs_binding \
  --module_path="$PWD/lib/napi-v8" --napi_build_version=8) >>"$log" 2>&1 || fail "the binding did not build"
probe || fail "the binding built but TensorFlow did not load"
echo "[setup-native] native TensorFlow $TF_VERSION ready ($npm_pkg)" >&2
rm -f "$log"
