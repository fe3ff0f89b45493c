#!/usr/bin/env bash
# Creates .venv with the pinned dependencies, once; later calls are a cheap check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${ITP_PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py="$cand"; break; fi
  done
fi
[ -n "$py" ] || { echo "bootstrap: Python 3.11 or newer is needed" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv || { echo "bootstrap: could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 2; }
fi
stamp=.venv/.itp-installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
  echo "$want" > "$stamp"
fi
