"""The serial transport on a pseudo-terminal pair: the programmer opens the slave side
with pyserial, a pump endpoint serves the master side."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from programmer.link.addresses import open_transport
from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import LinkClosed, LinkError
from programmer.link.messages import DEMO_KEY, MsgType
from programmer.link.serial_link import SerialTransport
from programmer.link.server import serve_transport

from .fakes import FakeHandler, FdTransport

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


@pytest.fixture
def pty_pair() -> Iterator[tuple[FdTransport, str]]:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    pump_side = FdTransport(master)
    try:
        yield pump_side, path
    finally:
        os.close(slave)
        with contextlib.suppress(OSError):  # the test may have closed it
            os.close(master)


def test_client_talks_to_a_pump_endpoint_over_a_serial_line(
    pty_pair: tuple[FdTransport, str],
) -> None:
    pump_side, path = pty_pair
    handler = FakeHandler()
    stop = threading.Event()
    server = threading.Thread(
        target=serve_transport, args=(PumpEndpoint(handler, DEMO_KEY), pump_side, stop)
    )
    server.start()
    transport = open_transport(f"serial://{path}?baud=115200", 1.0)
    try:
        client = PumpClient(transport, "serial-prog", timeout=1.0)
        client.connect()
        # Every byte value crosses the line unchanged (raw mode: no echo, no CR/LF mapping).
        blob = bytes(range(256)) * 8
        handler.behaviour[0x0011] = lambda payload: {"blob": blob, "crlf": "\r\n\x03\x11\x13"}
        assert client.request(MsgType.GET_THERAPY, {}) == {"blob": blob, "crlf": "\r\n\x03\x11\x13"}
        for n in range(2, 12):
            assert client.request(MsgType.GET_STATUS, {}) == {"executions": n}
    finally:
        transport.close()
        stop.set()
        server.join()
    assert handler.sessions == ["serial-prog"]


def test_serial_recv_times_out_then_reports_a_vanished_device(
    pty_pair: tuple[FdTransport, str],
) -> None:
    pump_side, path = pty_pair
    transport = SerialTransport.open(path, 115200, 0.5)
    try:
        assert transport.recv(0.05) == b""
        pump_side.send(b"\x01\x02\x00")
        received = b""
        while len(received) < 3:
            received += transport.recv(1.0)
        assert received == b"\x01\x02\x00"
        pump_side.close()  # the telemetry head goes away
        with pytest.raises(LinkClosed):
            for _ in range(10):
                transport.recv(0.2)
    finally:
        transport.close()


def test_a_second_programmer_cannot_open_the_same_port(pty_pair: tuple[FdTransport, str]) -> None:
    _, path = pty_pair
    with SerialTransport.open(path, 115200, 0.5), pytest.raises(LinkError, match=path):
        SerialTransport.open(path, 115200, 0.5)
