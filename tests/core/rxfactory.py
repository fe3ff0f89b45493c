"""Valid prescriptions to start from; tests change one thing at a time."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from programmer.planner import Plan, plan

NOW = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)


def morphine_continuous(rate: str = "0.5 mg/day") -> dict[str, Any]:
    return {
        "pump_model": "ITP-40",
        "jurisdiction": "US",
        "indication": "pain-noncancer",
        "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
        "mode": "continuous",
        "dose": rate,
    }


def baclofen_flex() -> dict[str, Any]:
    return {
        "pump_model": "ITP-20",
        "indication": "spasticity-spinal",
        "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
        "mode": "flex",
        "cycle_days": 1,
        "steps": [
            {"start": "00:00", "dose": "400 mcg/day"},
            {"start": "06:00", "dose": "600 mcg/day"},
            {"start": "22:00", "dose": "400 mcg/day"},
        ],
    }


def ziconotide(dose: str = "2.4 mcg/day", jurisdiction: str = "US") -> dict[str, Any]:
    return {
        "pump_model": "ITP-40",
        "jurisdiction": jurisdiction,
        "drugs": [{"name": "ziconotide", "concentration": "25 mcg/mL"}],
        "mode": "continuous",
        "dose": dose,
    }


def with_(rx: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(rx)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def run(rx: dict[str, Any], **kw: Any) -> Plan:
    kw.setdefault("now", NOW)
    kw.setdefault("local_offset_at", lambda t: 0)
    return plan(rx, **kw)


def codes(p: Plan) -> set[str]:
    return {f.code for f in p.findings}
