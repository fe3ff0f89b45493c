#!/usr/bin/env bash
# Starts the desktop app on the built-in pump emulator. Sets up .venv first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh
exec .venv/bin/itp "$@"
