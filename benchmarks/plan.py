"""Prescriptions planned per second, and the import time of `programmer`.

Each figure is printed with a floor measured in the same run:
- planning against json.loads of the same file (the cheapest thing a plan must do);
- `import programmer.planner` against a bare `python -c pass`.
Run: .venv/bin/python benchmarks/plan.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime

from programmer.planner import plan

RX = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}, {"name": "bupivacaine", "concentration": "10 mg/mL"}],
    "mode": "flex",
    "steps": [{"start": f"{h:02d}:00", "dose": f"0.0{h % 9 + 1} mg/h"} for h in range(0, 24, 2)],
    "patient_bolus": {"dose": "0.1 mg", "duration": "10 min", "lockout": "2 h", "max_per_day": 4},
    "catheter": {"length": "60 cm", "volume_per_cm": "0.0026 mL"},
    "refill": {"removed": "4.6 mL", "added": "18 mL", "at": "2025-03-01T09:00:00-06:00",
               "expected": "4.5 mL", "last_fill": "20 mL"},
    "previous": {"drugs": [{"name": "morphine", "concentration": "5 mg/mL"}], "rate": "0.2 mL/day"},
    "bolus": {"kind": "bridge"},
}  # fmt: skip
TEXT = json.dumps(RX)
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def rate(fn, seconds: float = 2.0) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def startup(code: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    plans = rate(lambda: plan(json.loads(TEXT), now=NOW, local_offset_at=lambda t: -360))
    floor = rate(lambda: json.loads(TEXT))
    print(
        f"plans per second: {plans:.0f} (floor json.loads: {floor:.0f}/s; ratio {floor / plans:.0f}x slower than parsing alone)"
    )
    bare = startup("pass")
    core = startup("import programmer.planner")
    print(
        f"import programmer.planner: {core * 1000:.0f} ms (floor python -c pass: {bare * 1000:.0f} ms; ratio {core / bare:.2f})"
    )


if __name__ == "__main__":
    main()
