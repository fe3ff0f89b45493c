"""Benchmark: redraw of the history charts with 5 years of hourly data, while panning and
zooming from years to hours, offscreen; against a floor measured in the same run: the
same charts holding 1 day of data (axes, titles, markers: everything but the data).

Each step sets a new visible range (a zoom or a pan) and processes events: pyqtgraph
clips and downsamples, and the shown widget repaints once (a full redraw, offscreen). Prints the
median and 95th percentile per redraw for both, and the ratio. Target: under 30 ms.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_history_redraw.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from argon2 import PasswordHasher
from PySide6.QtWidgets import QApplication

from programmer.history_series import load_history
from ui.app_state import AppState
from ui.history.charts import HistoryCharts
from ui.history.demo import SERIAL, fill_demo_history

END_T = 1_767_225_600  # 2026-01-01T00:00:00Z
TARGET_MS = 30.0
DAY = 86_400


def ranges(end: int) -> list[tuple[float, float]]:
    """Zoom in from 5 years to 3 hours, pan at each zoom, then zoom back out."""
    spans = [5 * 365 * DAY, 365 * DAY, 90 * DAY, 14 * DAY, 2 * DAY, 3 * 3600]
    out: list[tuple[float, float]] = []
    for span in spans:
        for k in range(6):  # pan left by a fifth of the view each step
            right = end - k * span / 5
            out.append((right - span, right))
    for span in reversed(spans):
        out.append((end - span, end))
    return out


def measure(
    chart: HistoryCharts, app: QApplication, views: list[tuple[float, float]]
) -> list[float]:
    times: list[float] = []
    for _ in range(2):  # the first pass warms caches; both are counted
        for a, b in views:
            started = time.perf_counter()
            chart.daily.setXRange(a, b, padding=0)
            app.processEvents()  # clip, downsample and paint the visible widget once
            times.append((time.perf_counter() - started) * 1000)
    return times


def chart_for(days: int, folder: Path) -> tuple[HistoryCharts, AppState, int]:
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    state = AppState(folder / "db.sqlite3", audit_key=folder / "k", hasher=fast)
    fill_demo_history(state.records, end_t=END_T, days=days, hour_gap_days=None if days < 300 else (200, 203))  # fmt: skip
    history = load_history(state.records, SERIAL)
    chart = HistoryCharts()
    chart.resize(1100, 560)
    chart.show()
    chart.show_history(history, "morphine")
    return chart, state, len(history.hour_starts)


def main() -> int:
    app = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp())
    (tmp / "big").mkdir()
    (tmp / "small").mkdir()
    big, big_state, big_hours = chart_for(5 * 365, tmp / "big")
    small, small_state, small_hours = chart_for(1, tmp / "small")
    views = ranges(END_T)
    figure = measure(big, app, views)
    floor = measure(small, app, views)

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    med, flo = statistics.median(figure), statistics.median(floor)
    print(f"views: {len(views)} pans and zooms (5 years down to 3 hours), x2 passes, 1100x560 px")
    print(f"5 years  ({big_hours} hours): median {med:.1f} ms, p95 {p95(figure):.1f} ms, max {max(figure):.1f} ms per redraw")  # fmt: skip
    print(
        f"floor    ({small_hours} hours): median {flo:.1f} ms, p95 {p95(floor):.1f} ms per redraw"
    )
    print(f"ratio (median): {med / flo:.2f}x; target under {TARGET_MS:.0f} ms per redraw: "
          f"{'met' if p95(figure) < TARGET_MS else 'NOT met'} (p95)")  # fmt: skip
    big_state.shutdown()
    small_state.shutdown()
    return 0 if p95(figure) < TARGET_MS else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown of Qt objects (a PySide6 exit-time crash)
