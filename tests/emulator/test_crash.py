"""Crash proof: `kill -9` at random instants during COMMITs and SIM_ADVANCEs.

After every restart the pump must hold the old or the new therapy, whole; its event log
must run without gap or duplicate and keep every event seen before the kill; and its
hourly totals must still add up to the fall of its estimated reservoir (the hours and
the reservoir were saved together). ITP_CRASH_KILLS sets the number of kills (200).
"""

from __future__ import annotations

import os
import random
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from programmer.link import LinkError, PumpClient

from .conftest import EmulatorProcess
from .helpers import T0, ptm, therapy

KILLS = int(os.environ.get("ITP_CRASH_KILLS", "200"))
ADVANCE_S = 600


def numbered_therapy(number: int) -> dict[str, Any]:
    """Therapies that differ in every part, so half of one would show."""
    steps = [[0, 48_000 + number], [300 + number % 500, 96_000 + 7 * number], [1_200, 60_000]]
    return therapy(
        "flex",
        steps,
        drugs=[{"name": f"drug-{number}", "conc_ng_ml": 1_000 + number}],
        low_alarm_nl=500_000 + number,
        ptm=ptm(
            volume_nl=1_000 + number, duration_min=1 + number % 60, lockout_min=60 + number % 60
        ),
        catheter_volume_nl=number,
    )


def without_anchor(therapy_now: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in therapy_now.items() if k != "cycle_anchor_t"}


def all_events(client: PumpClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    from_seq = 1
    while True:
        page = client.read_events(from_seq, 1024)
        events += page["events"]
        if page["next_seq"] > page["last_seq"]:
            return events
        from_seq = page["next_seq"]


def all_hours(client: PumpClient) -> int:
    total, hour = 0, 0
    last = client.get_status()["infusion_last_hour"]
    while hour <= last:
        page = client.read_infusion(hour, 4096)
        total += sum(page["basal_nl"]) + sum(page["bolus_nl"])
        hour = page["next_hour"]
    return total


@pytest.mark.slow
def test_kill_9_never_leaves_half_a_change(tmp_path: Path) -> None:
    rng = random.Random(20251122)
    state = tmp_path / "pump.state"
    process = EmulatorProcess(tmp_path, "--speed", "0", "--clock", str(T0), "--state", str(state))
    old: dict[str, Any] | None = None  # the last therapy whose COMMIT was answered
    new: dict[str, Any] | None = None  # the one in flight when the pump died
    clock_old = clock_new = T0
    seen: list[dict[str, Any]] = []
    number = 0
    kills = 0
    outcomes = {"old": 0, "new": 0}
    while True:
        process.start()
        client = process.client("crash", connect=False)
        client.timeout, client.retries = 2.0, 0
        client.connect()
        # --- what survived the last kill
        held = without_anchor(client.get_therapy()["therapy"])
        if old is None:  # the first start: a new pump's own therapy
            old = new = held
        else:
            assert held in (old, new), f"after kill {kills}: a therapy that was never sent"
            if new is not None and held == new != old:
                outcomes["new"] += 1
            else:
                outcomes["old"] += 1
            old = held
        status = client.get_status()
        assert status["clock_t"] in (clock_old, clock_new)
        clock_old = clock_new = status["clock_t"]
        events = all_events(client)
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), "a gap or a duplicate in the event log"
        assert events[: len(seen)] == seen, "an event seen before the kill changed or vanished"
        seen = events
        assert all_hours(client) == 40_000_000 - status["reservoir_nl"]
        if kills == KILLS:
            client.close()
            process.stop()
            break
        # --- work until killed at a random instant
        pid = process.proc.pid if process.proc else 0
        timer = threading.Timer(rng.uniform(0.0, 0.12), os.kill, (pid, signal.SIGKILL))
        timer.start()
        try:
            while True:
                number += 1
                if number % 2:
                    new = numbered_therapy(number)
                    client.commit(client.stage({"therapy": new})["staged_crc"])
                    old = new
                else:
                    clock_new = clock_old + ADVANCE_S
                    clock_old = client.sim_advance(ADVANCE_S)["clock_t"]
        except LinkError:
            pass
        finally:
            timer.join()
            client.close()
            assert process.proc is not None
            process.proc.wait()
        kills += 1
    assert outcomes["new"] + outcomes["old"] == KILLS
