#!/usr/bin/env bash
# Runs the whole test suite, headless. Sets up .venv with the pinned dependencies first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
scripts/bootstrap.sh
scripts/postgres.sh
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
