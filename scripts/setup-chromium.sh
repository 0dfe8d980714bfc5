#!/usr/bin/env bash
# Chromium for the browser test (test/integration/browser.test.ts), which opens the report
# and both UIs: Debian's package, because puppeteer-core downloads no browser and these
# machines reach Debian's archive but not Chrome's downloads. Installed only when missing,
# since apt-get update alone takes tens of seconds; MIRL_CHROMIUM names another binary.
set -euo pipefail
if [ -n "${MIRL_CHROMIUM:-}" ]; then
  [ -x "$MIRL_CHROMIUM" ] || { echo "[setup-chromium] MIRL_CHROMIUM=$MIRL_CHROMIUM is not an executable" >&2; exit 1; }
  exit 0
fi
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "[setup-chromium] chromium is missing and cannot be installed here (needs root and apt-get):" \
    "install Debian's chromium package, or set MIRL_CHROMIUM to a Chromium or Chrome binary" >&2
  exit 1
fi
echo "[setup-chromium] apt-get install chromium (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Without recommends (udev, mesa, printing) the install is smaller; the fonts it would
# have brought are named, so pages and screenshots render text with real glyphs.
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
command -v chromium >/dev/null
