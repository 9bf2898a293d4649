#!/usr/bin/env bash
# Install the browser that tests/test_widgets_browser.py drives: Debian's Chromium.
# Run as root on a fresh Debian machine. The Python package `playwright` comes
# from the project's dev extra (pip install -e ".[dev]"); never run
# `playwright install` (it downloads its own browsers from the web).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    /usr/bin/chromium --version 2>/dev/null || true
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version 2>/dev/null || true
