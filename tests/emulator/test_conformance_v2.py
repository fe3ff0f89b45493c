"""Protocol version 2 (contract section 7): negotiation both ways, and packed history reads
that give exactly what version 1 gives for the same records."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programmer.emulator import inprocess, records
from programmer.emulator.errors import PumpRefusal
from programmer.emulator.model import PumpModel
from programmer.link import LinkError, MsgType, ProtocolError, PumpClient, open_transport
from programmer.link.frames import MAX_BODY_SIZE, body_size
from programmer.link.packed import decode_events, decode_hours

from .conftest import EmulatorProcess
from .helpers import DAY, HOUR, T0, apply, flex13, new_pump, ptm, therapy


@pytest.fixture(autouse=True)
def _fresh_in_process_pump() -> Iterator[None]:
    yield
    inprocess.reset()


def client_for(
    model: PumpModel, *, pump_speaks: int = 2, programmer_says: int | None = None
) -> PumpClient:
    inprocess.install(model, speed=0, protocol=pump_speaks)  # type: ignore[arg-type]
    client = PumpClient(
        open_transport("emulator:", 2.0), "conformance", timeout=5.0, protocol=programmer_says
    )
    client.connect()
    return client


def read_history(client: PumpClient, max_events: int = 1024) -> dict[str, Any]:
    """Everything the pump keeps, paged as the session pages it."""
    status = client.get_status()
    events: list[dict[str, Any]] = []
    seq = status["event_first_seq"]
    while seq <= status["event_last_seq"]:
        page = client.read_events(seq, max_events)
        assert len(page["events"]) <= max_events
        if not page["events"]:
            break
        events += page["events"]
        seq = page["next_seq"]
    basal: list[int] = []
    bolus: list[int] = []
    hour = first_hour = status["infusion_first_hour"]
    while hour <= status["infusion_last_hour"]:
        page = client.read_infusion(hour, 4096)
        assert page["first_hour"] == hour
        basal += page["basal_nl"]
        bolus += page["bolus_nl"]
        hour = page["next_hour"]
    return {"events": events, "first_hour": first_hour, "basal": basal, "bolus": bolus}


def truth(model: PumpModel) -> dict[str, Any]:
    return {
        "events": [{"seq": s, "t": t, "code": c, "data": d} for s, t, c, d in model.events.events],
        "first_hour": model.hours.first_hour,
        "basal": model.hours.basal,
        "bolus": model.hours.bolus,
    }


# ----------------------------------------------------------------- negotiation


def test_a_version_2_programmer_and_pump_speak_version_2() -> None:
    client = client_for(new_pump())
    assert client.protocol == 2 and client.pump_identity is not None
    assert client.pump_identity["protocol"] == 2
    client.close()


def test_a_version_2_programmer_falls_back_to_version_1_with_an_old_pump() -> None:
    pump = new_pump()
    client = client_for(pump, pump_speaks=1)
    assert client.protocol == 1
    with pytest.raises(ProtocolError) as caught:  # the old pump has no packed reads
        client.request(MsgType.READ_EVENTS_PACKED, {"from_seq": 1})
    assert caught.value.code == "unsupported"
    assert read_history(client) == truth(pump)
    client.close()


def test_a_version_1_programmer_is_served_by_a_version_2_pump_as_version_1() -> None:
    client = client_for(new_pump(), programmer_says=1)
    assert client.protocol == 1 and client.pump_identity is not None
    assert client.pump_identity["protocol"] == 1
    with pytest.raises(ProtocolError) as caught:
        client.request(MsgType.READ_INFUSION_PACKED, {"from_hour": 0})
    assert caught.value.code == "unsupported"
    client.close()


def test_asking_for_version_2_of_an_old_pump_is_a_clear_link_error() -> None:
    inprocess.install(new_pump(), protocol=1)
    client = PumpClient(open_transport("emulator:", 2.0), "c", timeout=5.0, protocol=2)
    with pytest.raises(LinkError, match="does not speak protocol version 2"):
        client.connect()
    client.close()


def test_itp_emulator_protocol_1_is_an_old_pump(tmp_path: Any) -> None:
    process = EmulatorProcess(tmp_path, "--speed", "0", "--protocol", "1").start()
    try:
        client = process.client(protocol=None)  # offers 2, falls back
        assert client.protocol == 1
        client.close()
    finally:
        process.stop()


# ----------------------------------------------------------------- same history


@st.composite
def histories(draw: st.DrawFn) -> PumpModel:
    """A pump driven through what pumps live through: therapies, patient boluses, refills,
    clinician boluses, faults, clock changes both ways, long silences (gaps)."""
    pump = new_pump("ITP-20")
    apply(pump, {"therapy": therapy("flex", flex13(), ptm=ptm(lockout_min=30, max_per_day=12))})
    for _ in range(draw(st.integers(1, 25))):
        action = draw(st.sampled_from(["advance", "ptm", "ptm", "refill", "bolus", "stop",
                                       "flex", "fault", "clock", "gap"]))  # fmt: skip
        try:
            if action == "advance":
                pump.advance(draw(st.integers(0, 3 * DAY)))
            elif action == "ptm":
                for _ in range(draw(st.integers(1, 6))):
                    pump.press_ptm()
                    pump.advance(draw(st.integers(60, 3 * HOUR)))
            elif action == "refill":
                left = draw(st.integers(0, 20_000_000))
                apply(pump, {"refill": {"removed_nl": left, "added_nl": 20_000_000,
                                        "reservoir_nl": 20_000_000}})  # fmt: skip
            elif action == "bolus":
                apply(pump, {"bolus": {"kind": draw(st.sampled_from(["single", "bridge"])),
                                       "volume_nl": draw(st.integers(1, 200_000)),
                                       "rate_nl_day": 1_000_000}})  # fmt: skip
            elif action == "stop":
                apply(pump, {"therapy": therapy("stopped")})
            elif action == "flex":
                steps = [[0, draw(st.integers(48_000, 2_000_000))], [draw(st.integers(1, 1439)), 0]]
                apply(pump, {"therapy": therapy("flex", steps, ptm=ptm())})
            elif action == "fault":
                pump.fault(draw(st.sampled_from(["motor_stall", "clear"])))
            elif action == "clock":
                pump.set_clock(pump.clock_t + draw(st.integers(-2 * DAY, 2 * DAY)),
                               draw(st.integers(-840, 840)))  # fmt: skip
            else:
                pump.advance(draw(st.integers(10 * DAY, 60 * DAY)))
        except PumpRefusal:
            pass  # a refused change is part of life too
    return pump


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.sampled_from([1024, 1, 7]))
def test_version_2_and_version_1_read_the_same_history(pump: PumpModel, max_events: int) -> None:
    v2 = client_for(pump)
    v1 = client_for(pump, programmer_says=1)  # both connected (and logged) before reading
    got_v2 = read_history(v2, max_events)
    got_v1 = read_history(v1, max_events)
    v2.close()
    v1.close()
    assert got_v2 == got_v1 == truth(pump)


def odd_log(count: int, seed: int) -> records.EventLog:
    """Events that compress badly (random crcs and ids), so pages end early and often."""
    rng = random.Random(seed)
    log = records.EventLog()
    t = T0
    for _ in range(count):
        t += rng.choice([0, 1, 59, 3_600, 86_400 * 40, -3_600])
        kind = rng.randrange(4)
        if kind == 0:
            pid = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 32)))
            data: dict[str, Any] = {"crc": rng.getrandbits(32), "programmer_id": pid,
                                    "parts": rng.sample(["therapy", "refill", "bolus"], 2)}  # fmt: skip
            log.append(t, "changeset_applied", data)
        elif kind == 1:
            log.append(t, "refill", {"removed_nl": rng.getrandbits(24), "added_nl": 20_000_000,
                                     "reservoir_nl": rng.getrandbits(25)})  # fmt: skip
        elif kind == 2:
            log.append(t, "vendor_note", {"blob": rng.randbytes(rng.randint(0, 40))})
        else:
            log.append(t, "ptm_request", {"granted": False, "reason": "lockout"})
    return log


def test_page_boundaries_at_every_position() -> None:
    log = odd_log(400, 16)
    wire = [{"seq": s, "t": t, "code": c, "data": d} for s, t, c, d in log.events]
    counts = set()
    for from_seq in range(-1, log.last_seq + 3):
        page = log.packed_page(from_seq)
        assert body_size({"ok": True, **page}) <= MAX_BODY_SIZE
        start = max(from_seq, 1)
        assert page["first_seq"] == start and page["next_seq"] == start + page["count"]
        events = decode_events(page["first_seq"], page["count"], page["packed"])
        assert events == wire[start - 1 : start - 1 + page["count"]]
        assert page["count"] >= 1 or start > log.last_seq
        counts.add(page["count"])
    assert min(c for c in counts if c) < 200  # pages really did end inside the log


def test_hour_pages_fill_the_frame_and_cover_every_hour() -> None:
    rng = random.Random(3)
    basal = [rng.choice([0, 41_666, 41_667, rng.getrandbits(30)]) for _ in range(20_000)]
    bolus = [rng.choice([0, 0, 0, rng.getrandbits(20)]) for _ in range(20_000)]
    hours = records.HourLog(400_000, basal, bolus)
    hour, got_basal, got_bolus = 400_000, [], []
    while hour <= hours.last_hour:
        page = hours.packed_page(hour)
        assert body_size({"ok": True, **page}) <= MAX_BODY_SIZE
        b, p = decode_hours(page["first_hour"], page["count"], page["packed"])
        got_basal += b
        got_bolus += p
        hour = page["next_hour"]
    assert (got_basal, got_bolus) == (basal, bolus)
    past = hours.packed_page(hours.last_hour + 10)
    assert past["count"] == 0 and past["next_hour"] == hours.last_hour + 10


def test_the_oldest_kept_event_moving_while_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "EVENTS_KEPT", 300)
    monkeypatch.setattr(records, "_TRIM_SLACK", 20)
    pump = new_pump()
    pump.events = odd_log(310, 5)
    histories: dict[int, list[dict[str, Any]]] = {}
    for version in (1, 2):
        model = PumpModel.from_wire(pump.to_wire())
        client = client_for(model, programmer_says=version)
        got: list[dict[str, Any]] = []
        seq = 1
        while seq <= model.events.last_seq:
            page = client.read_events(seq, 50)
            got += page["events"]
            seq = page["next_seq"]
            if len(got) >= 50 and model.events.last_seq < 700:
                for index in range(400):  # the pump logs on and forgets its oldest
                    model.log("ptm_request", {"granted": False, "reason": f"r{index % 3}"})
        client.close()
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(set(seqs))  # no duplicate, in order
        kept = {s: {"seq": s, "t": t, "code": c, "data": d} for s, t, c, d in model.events.events}
        # Whatever was read is the pump's own record; from the oldest kept on, all of it.
        assert all(e == kept[e["seq"]] for e in got if e["seq"] in kept)
        assert [e for e in got if e["seq"] >= model.events.first_seq] == list(kept.values())
        histories[version] = [e for e in got if e["seq"] >= model.events.first_seq]
    assert histories[1] == histories[2]


def test_hours_from_a_kept_page_are_never_stale() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy("flex", flex13())})
    pump.advance(3 * DAY + HOUR // 2)
    client = client_for(pump)
    hour = pump.hours.first_hour
    got: list[int] = []
    while hour <= pump.hours.last_hour:
        page = client.read_infusion(hour, 5)
        assert len(page["basal_nl"]) <= 5 and page["first_hour"] == hour
        got += page["basal_nl"]
        hour = page["next_hour"]
        if len(got) == 10:
            pump.advance(HOUR)  # time passes with no request: the current hour fills
    assert got == pump.hours.basal  # the hour that was current was read after it filled
    before = client.read_infusion(pump.hours.first_hour, 4)
    client.sim_advance(0)  # any other request forgets the kept page
    pump.hours.basal[0] += 1  # (as a clock set back would add to an earlier hour)
    after = client.read_infusion(pump.hours.first_hour, 4)
    assert after["basal_nl"][0] == before["basal_nl"][0] + 1
    client.close()


def test_itp_emulator_over_tcp_reads_the_same_in_both_versions(tmp_path: Any) -> None:
    process = EmulatorProcess(tmp_path, "--speed", "0", "--clock", str(T0)).start()
    try:
        setup = process.client(protocol=None)
        assert setup.protocol == 2
        staged = setup.stage({"therapy": therapy("flex", flex13(), ptm=ptm(lockout_min=30))})
        setup.commit(staged["staged_crc"])
        for _ in range(300):
            setup.sim_ptm()
            setup.sim_advance(1_000)
        setup.close()
        v1 = process.client(protocol=1)  # one programmer at a time on TCP
        got_v1 = read_history(v1)
        v1.close()
        v2 = process.client(protocol=None)
        got_v2 = read_history(v2)
        v2.close()
        # The second connection's own session_opened is the one event more.
        assert got_v2["events"][-1]["code"] == "session_opened"
        assert {**got_v2, "events": got_v2["events"][:-1]} == got_v1
        assert len(got_v1["events"]) > 300
        assert v2.bytes_received * 4 < v1.bytes_received
    finally:
        process.stop()
