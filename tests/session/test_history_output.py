"""`itp history` output is streamed from the store: the same document, constant memory."""

from __future__ import annotations

import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

from programmer.session.history_export import stored_events, stored_hours, write_csv, write_json
from programmer.store import InfusionHour, PumpEvent

from .conftest import Clinic

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SERIAL = "ITP40-000042"


def _fill(clinic: Clinic, events: int, hours: int) -> None:
    clinic.records.upsert_pump(SERIAL, "ITP-40")
    clinic.records.save_events(SERIAL, [
        PumpEvent(i, T0 + timedelta(seconds=i), "ptm_request", {"granted": False, "reason": "disabled"})
        for i in range(1, events + 1)
    ])  # fmt: skip
    clinic.records.save_infusion_hours(SERIAL, [
        InfusionHour(T0 + timedelta(hours=h), 2_000 + h, {"basal_nl": 2_000, "bolus_nl": h})
        for h in range(hours)
    ])  # fmt: skip


def test_the_streamed_json_is_the_document_json_dumps_would_write(clinic: Clinic) -> None:
    _fill(clinic, 7, 5)
    head = {"demo_key": True, "serial": SERIAL, "read": {"complete": True, "gaps": []}}
    out = io.StringIO()
    write_json(out, head, clinic.records, SERIAL)
    whole = head | {
        "events": [{"seq": e.seq, "t": e.at.isoformat(), "code": e.kind, "data": dict(e.data)}
                   for e in clinic.records.events(SERIAL)],
        "infusion": [{"hour": h.hour.isoformat(), "volume_nl": h.volume_nl, **dict(h.data)}
                     for h in clinic.records.infusion_hours(SERIAL, T0, T0 + timedelta(days=1))],
    }  # fmt: skip
    assert out.getvalue() == json.dumps(whole, ensure_ascii=False) + "\n"
    assert [e.seq for e in stored_events(clinic.records, SERIAL, batch=3)] == list(range(1, 8))
    assert len(list(stored_hours(clinic.records, SERIAL, batch=2))) == 5


def test_a_large_history_prints_in_bounded_memory(clinic: Clinic) -> None:
    _fill(clinic, 10_000, 4_000)

    class Sink(io.TextIOBase):
        written = 0

        def write(self, text: str) -> int:
            self.written += len(text)
            return len(text)

    for write in (lambda s: write_json(s, {"serial": SERIAL}, clinic.records, SERIAL),
                  lambda s: write_csv(s, clinic.records, SERIAL)):  # fmt: skip
        sink = Sink()
        tracemalloc.start()
        write(sink)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert sink.written > 700_000
        # 10,000 events held at once take over 10 MB; batches of 2,000 a few.
        assert peak < 8_000_000, f"peak {peak / 1e6:.1f} MB"
