"""Start to first window shown: `itp gui` against a bare PySide6 window, in the same run.

Each run is a new process that exits as soon as its first window is shown
(ITP_EXIT_WHEN_SHOWN=1). Reports medians; the frozen app too when dist/itp exists.
Targets: under 1.0 s unfrozen and within 2x the bare window; frozen under 1.5 s.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_startup.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
ROOT = Path(__file__).resolve().parent.parent
BARE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv)
w = QLabel("bare"); w.show()
QTimer.singleShot(0, app.quit)
app.exec()
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "ITP_EXIT_WHEN_SHOWN": "1",
    }
    db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    bare = timed([sys.executable, "-c", BARE], env)
    app = timed([sys.executable, "-m", "programmer.cli", "gui", "--db", str(db)], env)
    print(
        f"start to first window (unfrozen): {app:.3f} s (target < 1.0 s; floor bare PySide6 window {bare:.3f} s; ratio {app / bare:.2f}, target <= 2)"
    )
    frozen = ROOT / "dist" / "itp" / "itp"
    if frozen.exists():
        f = timed([str(frozen), "gui", "--db", str(db)], env)
        print(
            f"start to first window (frozen one-folder): {f:.3f} s (target < 1.5 s; ratio to the bare window {f / bare:.2f})"
        )


if __name__ == "__main__":
    main()
