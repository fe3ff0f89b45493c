"""The event log and the hourly record: retention, numbering and exact frame-fit paging."""

from __future__ import annotations

import msgpack

from programmer.emulator.limits import EVENTS_KEPT, HOURS_KEPT
from programmer.emulator.records import MAX_PAYLOAD_BYTES, EventLog, HourLog, int_size
from programmer.link.frames import MAX_BODY_SIZE, MAX_PAYLOAD_SIZE, body_size


def fits(payload: dict[str, object]) -> bool:
    return body_size({"ok": True, **payload}) <= MAX_BODY_SIZE


def test_payload_budget_is_the_links() -> None:
    assert MAX_PAYLOAD_BYTES == MAX_PAYLOAD_SIZE


def test_int_size_matches_msgpack() -> None:
    for value in [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, -1, -32, -33,
                  -128, -129, -32_768, -32_769, -(2**31), -(2**31) - 1]:  # fmt: skip
        assert int_size(value) == len(msgpack.packb(value)), value


def test_keeps_at_least_65536_events_and_never_reuses_seqs() -> None:
    log = EventLog()
    for index in range(EVENTS_KEPT + 10_000):
        log.append(index, "ptm_request", {"granted": False, "reason": "disabled"})
    assert log.last_seq == EVENTS_KEPT + 10_000
    assert log.last_seq - log.first_seq + 1 >= EVENTS_KEPT
    page = log.page(1, 1024)  # below the oldest kept: from the oldest
    assert page["events"][0]["seq"] == log.first_seq
    log.append(0, "refill", {"removed_nl": 0, "added_nl": 0, "reservoir_nl": 0})
    assert log.last_seq == EVENTS_KEPT + 10_001


def test_event_pages_are_as_full_as_a_frame_allows() -> None:
    log = EventLog()
    for index in range(3_000):
        log.append(1_735_689_600 + index, "changeset_applied",
                   {"crc": 4_000_000_000 - index, "programmer_id": "p" * (index % 32 + 1),
                    "parts": ["therapy", "refill"][: index % 3]})  # fmt: skip
    from_seq = 1
    while from_seq <= log.last_seq:
        page = log.page(from_seq, 1024)
        assert fits(page)
        if page["next_seq"] <= log.last_seq:
            seq, t, code, data = log.events[page["next_seq"] - 1]
            more = page["events"] + [{"seq": seq, "t": t, "code": code, "data": data}]
            assert not fits({**page, "events": more, "next_seq": page["next_seq"] + 1})
        from_seq = page["next_seq"]


def test_hour_pages_are_as_full_as_a_frame_allows() -> None:
    hours = HourLog(400_000, [i * 7_919 % 300_000 for i in range(10_000)],
                    [i % 3 * 1_000_000 for i in range(10_000)])  # fmt: skip
    hour = 0
    while hour <= hours.last_hour:
        page = hours.page(hour, 4096)
        assert fits(page)
        count = page["next_hour"] - page["first_hour"]
        assert len(page["basal_nl"]) == len(page["bolus_nl"]) == count > 0
        if page["next_hour"] <= hours.last_hour and count < 4096:
            index = page["next_hour"] - hours.first_hour
            bigger = {
                "first_hour": page["first_hour"],
                "basal_nl": page["basal_nl"] + [hours.basal[index]],
                "bolus_nl": page["bolus_nl"] + [hours.bolus[index]],
                "next_hour": page["next_hour"] + 1,
            }
            assert not fits(bigger)
        hour = page["next_hour"]


def test_hours_keep_at_least_five_years_even_after_a_long_jump() -> None:
    hours = HourLog(100, [5], [0])
    hours.add(100 + 10 * HOURS_KEPT, 1, 2)
    assert hours.last_hour - hours.first_hour + 1 >= 5 * 366 * 24
    assert (hours.basal[-1], hours.bolus[-1]) == (1, 2)
    hours.add(hours.last_hour + 3 * 24 * 365 * 5, 0, 0)
    assert len(hours.basal) <= HOURS_KEPT + 4_096
