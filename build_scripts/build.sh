#!/usr/bin/env bash
# Build the frozen app: ./build_scripts/build.sh [--onefile]
# Output: dist/itp/ (one folder) or dist/itp (one file). Then: dist/itp/itp --self-test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh
mode="${1:-}"
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
  build_scripts/itp.spec -- $mode
if [ "$mode" = "--onefile" ]; then app=dist/itp; else app=dist/itp/itp; fi
echo "built: $app"
du -sh "$(dirname "$app")" 2>/dev/null | tail -1
