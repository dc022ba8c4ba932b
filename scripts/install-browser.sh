#!/usr/bin/env bash
# Install the headless browser the end-to-end console and report tests drive: Debian's chromium
# (and its driver, and a font with the euro sign and accents). Does nothing when it is already
# there; needs root (or sudo) only when it has to install. The Python side (playwright, which
# drives the installed browser and never downloads one) comes with `pip install -e ".[dev]"`.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x "${FLOWRISK_CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "chromium present: $(chromium --version 2>/dev/null || echo "${FLOWRISK_CHROMIUM}")"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: chromium is missing and this machine has no apt-get; install Chromium and set" \
         "FLOWRISK_CHROMIUM to its path" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian's chromium for the browser tests"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core
chromium --version
