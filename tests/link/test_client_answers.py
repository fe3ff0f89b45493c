"""Every pump answer is checked where it enters (link/answers.py), before anyone reads it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from programmer.link.answers import ImpossibleValue, check_events_page, check_infusion_page
from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint
from programmer.link.inprocess import InProcessPair
from programmer.link.messages import DEMO_KEY, MsgType
from programmer.link.server import serve_transport

from .fakes import FakeHandler

T0 = 1_767_225_600


def good_status() -> dict[str, Any]:
    return {
        "model": "ITP-40", "serial": "ITP40-000123", "firmware": "1.0.0",
        "implanted_t": T0, "clock_t": T0, "utc_offset_min": 60,
        "reservoir_capacity_nl": 40_000_000, "reservoir_nl": 20_000_000,
        "low_alarm_nl": 2_000_000, "therapy_crc": 1, "last_changeset_crc": None,
        "last_changeset_t": None, "delivering": "basal", "bolus_remaining_nl": 0,
        "alarms": [{"code": "eri", "since_t": T0, "critical": False}], "eri_t": T0 + 10**8,
        "event_first_seq": 1, "event_last_seq": 10,
        "infusion_first_hour": T0 // 3600, "infusion_last_hour": T0 // 3600 + 5,
    }  # fmt: skip


def good_therapy() -> dict[str, Any]:
    return {
        "drugs": [{"name": "morphine", "conc_ng_ml": 25_000_000}], "low_alarm_nl": 2_000_000,
        "mode": "flex", "cycle_days": 1, "cycle_anchor_t": T0,
        "steps": [[0, 480_000], [720, 240_000]],
        "ptm": {"enabled": False, "volume_nl": 0, "duration_min": 0, "lockout_min": 0, "max_per_day": 0},
        "catheter_volume_nl": 200_000,
    }  # fmt: skip


@pytest.fixture
def pump() -> Iterator[tuple[FakeHandler, PumpClient]]:
    handler = FakeHandler()
    pair = InProcessPair()
    stop = threading.Event()
    server = threading.Thread(
        target=serve_transport, args=(PumpEndpoint(handler, DEMO_KEY), pair.pump_end, stop)
    )
    server.start()
    client = PumpClient(pair.programmer_end, "p", timeout=0.5, retries=0)
    client.connect()
    try:
        yield handler, client
    finally:
        stop.set()
        server.join()


def answer(handler: FakeHandler, msg: int, payload: dict[str, Any]) -> None:
    handler.behaviour[msg] = lambda _: payload


def test_a_good_status_and_therapy_pass_unchanged(pump: tuple[FakeHandler, PumpClient]) -> None:
    handler, client = pump
    answer(handler, MsgType.GET_STATUS, good_status())
    answer(handler, MsgType.GET_THERAPY, {"therapy": good_therapy()})
    assert client.get_status() == good_status()
    assert client.get_therapy() == {"therapy": good_therapy()}


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("reservoir_nl", 1_000_000_000_000, "reservoir_nl"),  # 1,000,000 mL in a 40 mL pump
        ("reservoir_nl", -5_000_000, "reservoir_nl"),
        ("delivering", None, "delivering"),
        ("reservoir_capacity_nl", 400_000_000, "reservoir_capacity_nl"),
        ("clock_t", 10**12, "clock_t"),
        ("therapy_crc", "7", "therapy_crc"),
        ("event_last_seq", 10**18, "event_last_seq"),
        ("alarms", [{"code": "\x1b[2J", "since_t": T0, "critical": True}], "alarms[0].code"),
        ("serial", "ITP40-999999", "serial"),  # not the serial HELLO gave
        ("low_alarm_nl", True, "low_alarm_nl"),  # a bool is not an int
    ],
)
def test_an_impossible_status_is_refused_naming_the_field(
    pump: tuple[FakeHandler, PumpClient], field: str, value: object, named: str
) -> None:
    handler, client = pump
    answer(handler, MsgType.GET_STATUS, good_status() | {field: value})
    with pytest.raises(ImpossibleValue) as caught:
        client.get_status()
    assert "the pump reported an impossible value" in str(caught.value)
    assert [p.field for p in caught.value.problems] == [named]
    # The rest of the answer is kept for showing; the bad field is not.
    assert caught.value.readable["therapy_crc" if field != "therapy_crc" else "model"]
    assert field not in caught.value.readable or field == "alarms"
    assert "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"steps": [[0, 10**12]]}, "therapy.steps[0].rate_nl_day"),
        ({"steps": [[0, float("inf")]]}, "therapy.steps[0].rate_nl_day"),
        ({"steps": [[0, 480_000], [1440, 1]]}, "therapy.steps[1].start_min"),  # past the cycle
        ({"cycle_days": 10**8}, "therapy.cycle_days"),
        ({"drugs": [{"name": "x" * 33, "conc_ng_ml": 1}]}, "therapy.drugs[0].name"),
        ({"drugs": [{"name": "m", "conc_ng_ml": 10**15}]}, "therapy.drugs[0].conc_ng_ml"),
        ({"mode": "continuous"}, "therapy.steps"),  # two steps in a continuous therapy
        ({"steps": [[0, 480_000]] * 200}, "therapy.steps"),  # more than 13 a day
    ],
)
def test_an_impossible_therapy_is_refused(
    pump: tuple[FakeHandler, PumpClient], change: dict[str, Any], named: str
) -> None:
    handler, client = pump
    answer(handler, MsgType.GET_THERAPY, {"therapy": good_therapy() | change})
    with pytest.raises(ImpossibleValue) as caught:
        client.get_therapy()
    assert named in [p.field for p in caught.value.problems]


def test_a_commit_far_in_the_future_is_refused(pump: tuple[FakeHandler, PumpClient]) -> None:
    handler, client = pump
    answer(handler, MsgType.COMMIT, {"therapy_crc": 7, "applied_t": 10**13})
    with pytest.raises(ImpossibleValue, match="applied_t"):
        client.commit(1)


def _event(seq: int, code: str = "alarm_raised", data: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"seq": seq, "t": T0, "code": code, "data": data if data is not None else {"code": "eri"}}  # fmt: skip


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ({"events": [_event(5)], "next_seq": 5, "last_seq": 9}, "next_seq"),  # no progress
        ({"events": [], "next_seq": 2, "last_seq": 9}, "next_seq"),  # goes back
        ({"events": [_event(5), _event(7)], "next_seq": 8, "last_seq": 9}, "events[1].seq"),
        ({"events": [_event(4)], "next_seq": 5, "last_seq": 9}, "events[0].seq"),  # before from
        ({"events": [_event(5)], "next_seq": 6, "last_seq": 4}, "events[0].seq"),  # past last
        (
            {
                "events": [_event(5, "refill", {"reservoir_nl": "20 mL"})],
                "next_seq": 6,
                "last_seq": 9,
            },
            "events[0].data.reservoir_nl",
        ),
        ({"events": [_event(5)] * 3, "next_seq": 8, "last_seq": 9}, "events"),  # more than asked
        ({"events": "x", "next_seq": 6, "last_seq": 9}, "events"),
    ],
)
def test_an_events_page_must_move_forward_in_order(page: dict[str, Any], why: str) -> None:
    with pytest.raises(ImpossibleValue) as caught:
        check_events_page(page, 5, 2)
    assert why in [p.field for p in caught.value.problems]


def test_a_good_events_page_passes() -> None:
    page = {"events": [_event(5), _event(6)], "next_seq": 7, "last_seq": 9}
    assert check_events_page(page, 5, 2) == page


H0 = T0 // 3600


@pytest.mark.parametrize(
    ("page", "why"),
    [
        ({"first_hour": H0, "basal_nl": [1], "bolus_nl": [0], "next_hour": H0}, "next_hour"),
        ({"first_hour": H0, "basal_nl": [1, 2], "bolus_nl": [0], "next_hour": H0 + 2}, "bolus_nl"),
        ({"first_hour": H0 - 1, "basal_nl": [1], "bolus_nl": [0], "next_hour": H0}, "first_hour"),
        ({"first_hour": H0, "basal_nl": [-1], "bolus_nl": [0], "next_hour": H0 + 1}, "basal_nl[0]"),
        (
            {"first_hour": H0, "basal_nl": [10**12], "bolus_nl": [0], "next_hour": H0 + 1},
            "basal_nl[0]",
        ),
        (
            {"first_hour": 10**7, "basal_nl": [1], "bolus_nl": [0], "next_hour": 10**7 + 1},
            "first_hour",
        ),
    ],
)
def test_an_infusion_page_must_be_consistent(page: dict[str, Any], why: str) -> None:
    with pytest.raises(ImpossibleValue) as caught:
        check_infusion_page(page, H0, 4096)
    assert why in [p.field for p in caught.value.problems]
