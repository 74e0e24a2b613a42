#!/usr/bin/env bash
# Headless Chromium for tools/browser_check.py: Debian's `chromium` package, installed only if missing (about 30 s).
set -euo pipefail
for b in chromium chromium-browser google-chrome; do command -v "$b" >/dev/null 2>&1 && exit 0; done   # GitHub's runners have Chrome
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; }
chromium --version
