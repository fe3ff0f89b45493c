from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from programmer.link.addresses import open_transport
from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import LinkClosed, LinkError
from programmer.link.messages import DEMO_KEY, ErrorCode, MsgType, ProtocolError
from programmer.link.server import TcpPumpServer, running_tcp_server, serve_tcp
from programmer.link.tcp import TcpTransport

from .fakes import FakeHandler


def factory_for(handler: FakeHandler) -> tuple[list[PumpEndpoint], Callable[[], PumpEndpoint]]:
    made: list[PumpEndpoint] = []

    def factory() -> PumpEndpoint:
        made.append(PumpEndpoint(handler, DEMO_KEY))
        return made[-1]

    return made, factory


def test_round_trip_on_loopback() -> None:
    handler = FakeHandler()
    made, factory = factory_for(handler)
    with running_tcp_server(factory) as server:
        assert server.port > 0
        assert server.address == f"tcp://127.0.0.1:{server.port}"
        transport = open_transport(server.address, 1.0)
        client = PumpClient(transport, "prog-1", timeout=1.0)
        try:
            client.connect()
            assert client.request(MsgType.GET_STATUS, {}) == {"executions": 1}
            assert client.read_events(1, 10) == {"events": [], "next_seq": 1, "last_seq": 0}
        finally:
            client.close()
    assert handler.sessions == ["prog-1"]
    assert len(made) == 1


def test_each_connection_gets_a_fresh_session_and_disconnects_do_not_stop_the_server() -> None:
    handler = FakeHandler()
    made, factory = factory_for(handler)
    with running_tcp_server(factory) as server:
        first = PumpClient(open_transport(server.address, 1.0), "one", timeout=1.0)
        first.connect()
        first.close()
        for n in range(3):
            # A quick reconnect is served: it waits for the old connection to end.
            transport = open_transport(server.address, 1.0)
            client = PumpClient(transport, f"next-{n}", timeout=1.0)
            with pytest.raises(ProtocolError) as info:
                client.request(MsgType.GET_STATUS, {})  # no HELLO/AUTH on this connection yet
            assert info.value.code == ErrorCode.UNAUTHORIZED
            client.connect()
            client.request(MsgType.GET_STATUS, {})
            transport.close()
    assert len(made) == 4
    assert handler.sessions == ["one", "next-0", "next-1", "next-2"]


def test_a_second_concurrent_connection_gets_busy_and_is_closed() -> None:
    handler = FakeHandler()
    _, factory = factory_for(handler)
    server = TcpPumpServer(factory, "127.0.0.1", 0, grace_s=0.2)
    with server:
        holder = PumpClient(open_transport(server.address, 1.0), "holder", timeout=1.0)
        holder.connect()
        intruder_transport = open_transport(server.address, 1.0)
        intruder = PumpClient(intruder_transport, "intruder", timeout=2.0, retries=0)
        with pytest.raises(ProtocolError) as info:
            intruder.hello()
        assert info.value.code == ErrorCode.BUSY
        assert "another programmer" in info.value.message
        with pytest.raises(LinkClosed):
            for _ in range(20):
                intruder_transport.recv(0.1)
        assert holder.request(MsgType.GET_STATUS, {}) == {
            "executions": 1
        }  # the holder is undisturbed
        holder.close()
        intruder_transport.close()
    assert handler.sessions == ["holder"]


def test_a_peer_sending_garbage_and_vanishing_does_not_kill_the_server() -> None:
    handler = FakeHandler()
    _, factory = factory_for(handler)
    with running_tcp_server(factory) as server:
        raw = socket.create_connection(("127.0.0.1", server.port))
        raw.sendall(b"\xff" * 10_000 + b"\x00\x05\x00")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        raw.close()  # with linger 0: a reset, not a clean close
        client = PumpClient(open_transport(server.address, 1.0), "after", timeout=1.0)
        client.connect()
        client.close()
    assert handler.sessions == ["after"]


def test_connecting_to_a_closed_port_is_a_link_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(LinkError, match=f"tcp://127.0.0.1:{port}"):
        open_transport(f"tcp://127.0.0.1:{port}", 0.5)


def test_listening_on_a_taken_port_is_a_link_error() -> None:
    _, factory = factory_for(FakeHandler())
    with (
        running_tcp_server(factory) as server,
        pytest.raises(LinkError, match="cannot listen"),
    ):
        TcpPumpServer(factory, "127.0.0.1", server.port).start()


def test_tcp_transport_recv_times_out_and_reports_peer_close() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener:
        transport = TcpTransport.connect("127.0.0.1", listener.getsockname()[1], 1.0)
        peer, _ = listener.accept()
        start = time.monotonic()
        assert transport.recv(0.05) == b""
        assert time.monotonic() - start >= 0.04
        peer.sendall(b"abc")
        assert transport.recv(1.0) == b"abc"
        peer.close()
        with pytest.raises(LinkClosed):
            transport.recv(1.0)
        transport.close()
        transport.close()  # idempotent
        with pytest.raises(LinkClosed):
            transport.send(b"x")


def test_serve_tcp_runs_until_stopped() -> None:
    handler = FakeHandler()
    _, factory = factory_for(handler)
    stop = threading.Event()
    ports: list[int] = []
    ready = threading.Event()

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    thread = threading.Thread(
        target=serve_tcp, args=(factory, "127.0.0.1", 0, stop), kwargs={"on_ready": on_ready}
    )
    thread.start()
    try:
        assert ready.wait(5.0)
        client = PumpClient(open_transport(f"tcp://127.0.0.1:{ports[0]}", 1.0), "p", timeout=1.0)
        client.connect()
        client.close()
    finally:
        stop.set()
        thread.join(5.0)
    assert not thread.is_alive()


def test_waiting_connections_are_bounded_and_stop_is_prompt() -> None:
    from programmer.link.server import MAX_WAITING_CONNECTIONS

    _, factory = factory_for(FakeHandler())
    server = TcpPumpServer(factory, "127.0.0.1", 0, grace_s=30.0)
    server.start()
    holder = PumpClient(open_transport(server.address, 1.0), "holder", timeout=1.0)
    holder.connect()  # the pump is taken from here on
    waiting = [
        socket.create_connection(("127.0.0.1", server.port)) for _ in range(MAX_WAITING_CONNECTIONS)
    ]
    extra = socket.create_connection(("127.0.0.1", server.port))
    try:
        extra.settimeout(5.0)
        start = time.monotonic()
        assert extra.recv(16) == b""  # closed at once, without waiting for the grace period
        assert time.monotonic() - start < 4.0
        start = time.monotonic()
        server.stop()  # wakes the waiting connections and the served one
        assert time.monotonic() - start < 4.0
        for sock in waiting:
            sock.settimeout(5.0)
            assert sock.recv(16) == b""
    finally:
        for sock in [*waiting, extra]:
            sock.close()
        holder.close()
        server.stop()
