#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe), so that the webgpu backend's tests run on a
# machine without a GPU: Dawn refuses Mesa 22 (Debian 12's own; it lacks
# shaderUniform*ArrayDynamicIndexing) and takes Mesa 25, which Debian 12 has in
# bookworm-backports and Debian 13 in its main suite. Installed only when missing.
set -euo pipefail
MIN=25
have() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
new_enough() { [ -n "$1" ] && dpkg --compare-versions "$1" ge "$MIN"; }
if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: trust a lavapipe the Vulkan loader can find; the backend test says if not.
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && exit 0
  echo "[setup-lavapipe] no lavapipe (lvp_icd.json) found: install Mesa >= $MIN's Vulkan drivers" >&2
  exit 1
fi
new_enough "$(have)" && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup-lavapipe] mesa-vulkan-drivers >= $MIN is missing (have: '$(have)') and cannot be installed" \
    "here (needs root and apt-get); on Debian 12 it is in bookworm-backports" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
target=()
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = bookworm ]; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "[setup-lavapipe] adding Debian's bookworm-backports suite (Mesa $MIN)" >&2
    cat >/etc/apt/sources.list.d/mirl-bookworm-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  target=(-t bookworm-backports)
fi
echo "[setup-lavapipe] apt-get install mesa-vulkan-drivers (once per machine)" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${target[@]}" mesa-vulkan-drivers >/dev/null
new_enough "$(have)" || {
  echo "[setup-lavapipe] installed mesa-vulkan-drivers $(have), Dawn needs >= $MIN" >&2
  exit 1
}
