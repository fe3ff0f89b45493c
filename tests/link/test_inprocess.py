from __future__ import annotations

import threading
import time

import pytest

from programmer.link.errors import LinkClosed
from programmer.link.inprocess import DirectTransport, InProcessPair


def test_bytes_cross_the_pair_in_both_directions() -> None:
    pair = InProcessPair()
    pair.programmer_end.send(b"ab")
    pair.programmer_end.send(b"c")
    assert pair.pump_end.recv(0.1) == b"abc"
    pair.pump_end.send(b"\x00\x01")
    assert pair.programmer_end.recv(0.1) == b"\x00\x01"


def test_recv_returns_empty_after_its_timeout() -> None:
    pair = InProcessPair()
    start = time.monotonic()
    assert pair.programmer_end.recv(0.05) == b""
    assert time.monotonic() - start >= 0.04
    assert pair.programmer_end.recv(0) == b""


def test_recv_wakes_when_another_thread_sends() -> None:
    pair = InProcessPair()
    timer = threading.Timer(0.05, pair.pump_end.send, args=(b"late",))
    timer.start()
    start = time.monotonic()
    assert pair.programmer_end.recv(5.0) == b"late"
    assert time.monotonic() - start < 2.0
    timer.join()


def test_closing_one_end_delivers_what_was_sent_then_reports_closed() -> None:
    pair = InProcessPair()
    pair.pump_end.send(b"last words")
    pair.pump_end.close()
    assert pair.programmer_end.recv(0.1) == b"last words"
    with pytest.raises(LinkClosed):
        pair.programmer_end.recv(0.1)
    with pytest.raises(LinkClosed):
        pair.programmer_end.send(b"x")
    with pytest.raises(LinkClosed):
        pair.pump_end.recv(0.1)


def test_many_threads_sending_lose_no_bytes() -> None:
    pair = InProcessPair()

    def writer(tag: int) -> None:
        for _ in range(200):
            pair.programmer_end.send(bytes([tag]))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(1, 5)]
    for t in threads:
        t.start()
    received = b""
    while len(received) < 800:
        received += pair.pump_end.recv(1.0)
    for t in threads:
        t.join()
    assert sorted(received) == sorted(b"".join(bytes([t]) * 200 for t in range(1, 5)))


def test_direct_transport_queues_the_reply_of_each_write() -> None:
    seen: list[bytes] = []

    def respond(data: bytes) -> bytes:
        seen.append(data)
        return data.upper()

    direct = DirectTransport(respond)
    direct.send(b"abc")
    direct.send(b"de")
    assert seen == [b"abc", b"de"]
    assert direct.recv(0.1) == b"ABCDE"
    start = time.monotonic()
    assert direct.recv(0.05) == b""
    assert time.monotonic() - start >= 0.04
    direct.close()
    with pytest.raises(LinkClosed):
        direct.recv(0.1)
    with pytest.raises(LinkClosed):
        direct.send(b"x")
