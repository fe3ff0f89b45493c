#!/usr/bin/env bash
# Build the frozen app: ./build_scripts/build.sh [--onefile]
# Output: dist/itp/ (one folder) or dist/onefile/itp (one file). Then: dist/itp/itp --self-test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
mode="${1:-}"
if [ "$mode" = "--onefile" ]; then dist=dist/onefile; app=dist/onefile/itp; else dist=dist; app=dist/itp/itp; fi
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath build/pyinstaller \
  build_scripts/itp.spec -- $mode
echo "built: $app"
if [ "$mode" = "--onefile" ]; then du -sh "$app"; else du -sh "$(dirname "$app")"; fi
