"""Conformance, section 4: SET_CLOCK, READ_EVENTS and READ_INFUSION over TCP."""

from __future__ import annotations

import msgpack
import pytest

from programmer.link import ProtocolError, PumpClient
from programmer.link.frames import MAX_BODY_SIZE, body_size

from .helpers import DAY, HOUR, T0, therapy


def response_fits(payload: dict[str, object]) -> bool:
    return body_size({"ok": True, **payload}) <= MAX_BODY_SIZE


def test_set_clock_moves_the_clock_and_logs_it(pump: PumpClient) -> None:
    assert pump.set_clock(T0 + 3_600, -300) == {}
    status = pump.get_status()
    assert (status["clock_t"], status["utc_offset_min"]) == (T0 + 3_600, -300)
    last = pump.read_events(status["event_last_seq"], 1)["events"][0]
    assert last["code"] == "clock_set"
    assert last["data"] == {
        "old_t": T0,
        "new_t": T0 + 3_600,
        "old_offset_min": 0,
        "new_offset_min": -300,
    }


@pytest.mark.parametrize("offset", [-840, 840])
def test_set_clock_accepts_offsets_at_the_limits(pump: PumpClient, offset: int) -> None:
    pump.set_clock(T0, offset)
    assert pump.get_status()["utc_offset_min"] == offset


@pytest.mark.parametrize("offset", [-841, 841])
def test_set_clock_refuses_offsets_beyond(pump: PumpClient, offset: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        pump.set_clock(T0, offset)
    assert caught.value.code == "invalid"
    assert caught.value.problems[0]["field"] == "utc_offset_min"


def test_offset_shifts_when_steps_run(pump: PumpClient) -> None:
    staged = pump.stage({"therapy": therapy("flex", [[0, 0], [600, 2_400_000], [660, 0]])})
    pump.commit(staged["staged_crc"])
    pump.set_clock(T0, -60)  # local = UTC-1: the 10:00 local step runs at 11:00 UTC
    pump.sim_advance(DAY)
    page = pump.read_infusion(T0 // HOUR, 24)
    assert page["first_hour"] == T0 // HOUR
    assert page["basal_nl"] == [0] * 11 + [100_000] + [0] * 12
    assert page["bolus_nl"] == [0] * 24


def test_events_are_numbered_from_1_and_paged_to_fit_a_frame(pump: PumpClient) -> None:
    for _ in range(150):  # a PTM refusal is one event each
        pump.sim_ptm()
    last = pump.get_status()["event_last_seq"]
    assert pump.get_status()["event_first_seq"] == 1
    seqs = []
    from_seq = -5  # below the oldest: answered from the oldest
    while from_seq <= last:
        page = pump.read_events(from_seq, 1024)
        assert response_fits(page)
        assert page["last_seq"] == last
        assert page["events"], page
        seqs += [e["seq"] for e in page["events"]]
        from_seq = page["next_seq"]
        assert from_seq == seqs[-1] + 1
    assert seqs == list(range(1, last + 1))
    one = pump.read_events(1, 1)
    assert len(one["events"]) == 1 and one["next_seq"] == 2
    beyond = pump.read_events(last + 10, 5)
    assert beyond["events"] == [] and beyond["last_seq"] == last
    event = pump.read_events(3, 1)["events"][0]
    assert set(event) == {"seq", "t", "code", "data"}
    assert event["code"] == "ptm_request"
    assert event["data"] == {"granted": False, "reason": "disabled"}


def test_a_full_events_page_is_as_full_as_a_frame_allows(pump: PumpClient) -> None:
    for _ in range(200):
        pump.sim_ptm()
    page = pump.read_events(1, 1024)
    count = len(page["events"])
    assert count < 200
    following = pump.read_events(page["next_seq"], 1)["events"]
    bigger = {**page, "events": page["events"] + following, "next_seq": page["next_seq"] + 1}
    assert not response_fits(bigger)


def test_infusion_pages_cover_every_hour(pump: PumpClient) -> None:
    staged = pump.stage({"therapy": therapy(steps=[[0, 234_567]])})
    pump.commit(staged["staged_crc"])
    pump.sim_advance(120 * DAY)
    status = pump.get_status()
    first, last = status["infusion_first_hour"], status["infusion_last_hour"]
    assert first == T0 // HOUR and last == (T0 + 120 * DAY) // HOUR
    basal: list[int] = []
    hour = 0
    pages = 0
    while hour <= last:
        page = pump.read_infusion(hour, 4096)
        assert response_fits(page)
        assert page["first_hour"] == max(hour, first)
        assert (
            len(page["basal_nl"]) == len(page["bolus_nl"]) == page["next_hour"] - page["first_hour"]
        )
        basal += page["basal_nl"]
        hour = page["next_hour"]
        pages += 1
    assert pages > 1
    assert len(basal) == last - first + 1
    assert sum(basal) == 234_567 * 120
    assert 40_000_000 - status["reservoir_nl"] == sum(basal)
    assert len(pump.read_infusion(first, 3)["basal_nl"]) == 3
    assert msgpack.packb(basal)  # plain integers
