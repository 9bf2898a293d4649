#!/usr/bin/env bash
# Install the proxy that JupyterHub puts in front of the learners' servers:
# configurable-http-proxy, an npm package, into a folder of its own (not the
# project, not the system), for tests/test_jupyterhub.py.
#
# Where: $RADLAB_HUB_TOOLS, else ~/.cache/radlab/hub-tools; the program is then
# <that folder>/node_modules/.bin/configurable-http-proxy, where the test looks
# for it (or put that folder on PATH). Needs Node.js and npm (the machine's).
# Safe to run again: it does nothing when the proxy is already there and runs.
set -euo pipefail

TOOLS="${RADLAB_HUB_TOOLS:-$HOME/.cache/radlab/hub-tools}"
CHP="$TOOLS/node_modules/.bin/configurable-http-proxy"

if [ -x "$CHP" ] && "$CHP" --version >/dev/null 2>&1; then
    echo "configurable-http-proxy $("$CHP" --version) already in $TOOLS"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is missing: install Node.js 20 or newer with npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi
mkdir -p "$TOOLS"
# Major version 5 wants Node.js 20 or newer; on an older Node.js, version 4 still works.
if ! npm install --prefix "$TOOLS" --no-audit --no-fund configurable-http-proxy@5 \
    || ! "$CHP" --version >/dev/null 2>&1; then
    echo "configurable-http-proxy 5 does not run on Node.js $(node --version); installing 4" >&2
    npm install --prefix "$TOOLS" --no-audit --no-fund configurable-http-proxy@4
fi
echo "configurable-http-proxy $("$CHP" --version) in $TOOLS"
