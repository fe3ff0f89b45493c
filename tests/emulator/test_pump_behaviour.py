"""The emulator as a pump should behave (issue 13): floods of unauthenticated sessions do
not evict clinical events, the AUTH refusal is per pump, silent connections are dropped;
and the cycle anchor (issue 16) is fixed at COMMIT."""

from __future__ import annotations

import socket
import time

from programmer.emulator.handler import EmulatorHandler
from programmer.link import MsgType, PumpClient, PumpEndpoint, open_transport
from programmer.link.frames import FrameReader, Kind, encode_frame
from programmer.link.messages import DEMO_KEY, compute_auth_mac
from programmer.link.server import TcpPumpServer

from .helpers import DAY, HOUR, T0, apply, flex13, new_pump, therapy


def hello(seq: int, programmer_id: str = "intruder") -> bytes:
    return encode_frame(
        Kind.REQUEST, seq, MsgType.HELLO, {"programmer_id": programmer_id, "protocol": 1}
    )


def answers(endpoint: PumpEndpoint, data: bytes) -> list[dict[str, object]]:
    return [frame.payload for frame in FrameReader().feed(endpoint.on_bytes(data))]


def test_a_flood_of_unauthenticated_hellos_does_not_push_the_refill_out() -> None:
    pump = new_pump()
    apply(pump, {"refill": {"removed_nl": 0, "added_nl": 20_000_000, "reservoir_nl": 20_000_000}})
    refill_seq = next(seq for seq, _t, code, _d in pump.events.events if code == "refill")
    before = pump.events.last_seq
    handler = EmulatorHandler(pump)
    endpoint = PumpEndpoint(handler, DEMO_KEY)
    for index in range(72_000):
        endpoint.on_bytes(hello(index & 0xFFFF if index & 0xFFFF else 1 + index % 7))
    model = handler.model
    assert model.events.first_seq <= refill_seq  # the refill is still in the log
    assert model.events.last_seq - before <= 2  # aggregated, not one event per HELLO


def test_unauthenticated_attempts_are_summarised_at_the_next_session() -> None:
    pump = new_pump()
    handler = EmulatorHandler(pump)
    endpoint = PumpEndpoint(handler, DEMO_KEY)
    for seq in range(1, 51):
        endpoint.on_bytes(hello(seq))
    reply = answers(endpoint, hello(100, "clinic"))[0]
    mac = compute_auth_mac(DEMO_KEY, reply["nonce"], "clinic")  # type: ignore[arg-type]
    assert answers(endpoint, encode_frame(Kind.REQUEST, 101, MsgType.AUTH, {"mac": mac}))[0]["ok"]
    events = handler.model.events.events
    summaries = [data for _s, _t, code, data in events if code == "access_attempts"]
    # The first attempt's summary at once, the rest when the clinic's session opens.
    assert len(summaries) == 2
    assert sum(s["hellos"] for s in summaries) == 50
    assert all(s["programmer_id"] == "intruder" and s["since_t"] == T0 for s in summaries)
    assert events[-2][2] == "access_attempts"
    assert events[-1][2:] == ["session_opened", {"programmer_id": "clinic"}]


def test_the_auth_refusal_holds_for_the_pump_not_the_connection() -> None:
    clock_now = [1000.0]
    handler = EmulatorHandler(new_pump())
    first = PumpEndpoint(handler, DEMO_KEY, clock=lambda: clock_now[0])
    second = PumpEndpoint(handler, DEMO_KEY, clock=lambda: clock_now[0])
    answers(first, hello(1, "guess"))
    bad = answers(first, encode_frame(Kind.REQUEST, 2, MsgType.AUTH, {"mac": b"\0" * 32}))
    assert bad[0]["ok"] is False
    clock_now[0] += 0.5  # a reconnect half a second later, with the right key
    reply = answers(second, hello(1, "guess"))[0]
    mac = compute_auth_mac(DEMO_KEY, reply["nonce"], "guess")  # type: ignore[arg-type]
    refused = answers(second, encode_frame(Kind.REQUEST, 2, MsgType.AUTH, {"mac": mac}))[0]
    assert refused["ok"] is False and refused["error"] == "unauthorized"
    clock_now[0] += 0.6
    reply = answers(second, hello(3, "guess"))[0]
    mac = compute_auth_mac(DEMO_KEY, reply["nonce"], "guess")  # type: ignore[arg-type]
    assert answers(second, encode_frame(Kind.REQUEST, 4, MsgType.AUTH, {"mac": mac}))[0]["ok"]


def _eof_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_a_silent_connection_is_dropped_and_the_pump_served_again() -> None:
    handler = EmulatorHandler(new_pump())
    server = TcpPumpServer(
        lambda: PumpEndpoint(handler, DEMO_KEY), port=0, unauthenticated_s=0.4, idle_s=30.0
    )
    with server:
        silent = socket.create_connection(("127.0.0.1", server.port))
        try:
            time.sleep(0.1)  # the silent one holds the pump
            assert _eof_within(silent, 3.0)  # dropped: it never authenticated
            client = PumpClient(open_transport(server.address, 2.0), "clinic", timeout=2.0)
            client.connect()
            assert client.get_status()["serial"] == handler.model.serial
            client.close()
        finally:
            silent.close()


def test_an_idle_session_is_dropped() -> None:
    handler = EmulatorHandler(new_pump())
    server = TcpPumpServer(
        lambda: PumpEndpoint(handler, DEMO_KEY), port=0, unauthenticated_s=5.0, idle_s=0.4
    )
    with server:
        sock = socket.create_connection(("127.0.0.1", server.port))
        try:
            sock.sendall(hello(1, "clinic"))
            reader = FrameReader()
            frames: list[object] = []
            sock.settimeout(2.0)
            while not frames:
                frames = list(reader.feed(sock.recv(4096)))
            assert _eof_within(sock, 3.0)
        finally:
            sock.close()


def test_therapy_crc_changes_only_at_commit() -> None:
    pump = new_pump()
    apply(pump, {"therapy": therapy("flex", flex13())})
    anchor = pump.therapy_wire()["cycle_anchor_t"]
    crc = pump.therapy_crc()
    pump.advance(366 * DAY + 5 * HOUR)
    assert pump.therapy_wire()["cycle_anchor_t"] == anchor == T0
    assert pump.therapy_crc() == crc
    pump.set_clock(pump.clock_t, 120)  # a new UTC offset is not a COMMIT either
    assert pump.therapy_crc() == crc
    apply(pump, {"therapy": therapy("flex", flex13(), cycle_days=1, low_alarm_nl=3_000_000)})
    assert pump.therapy_wire()["cycle_anchor_t"] == anchor  # same steps: not re-anchored
    assert pump.therapy_crc() != crc  # but the therapy changed
