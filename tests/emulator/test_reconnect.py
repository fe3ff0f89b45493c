"""Issue 14: a programmer whose link dropped without a word reconnects at once to the same
`itp emulator` and gets a working session, never `busy` from its own dead connection."""

from __future__ import annotations

import socket
import struct

from programmer.link import PumpClient

from .conftest import EmulatorProcess


def _drop(client: PumpClient) -> None:
    """The link dies under the client: the socket reset (RST), no goodbye of any kind."""
    sock: socket.socket = client._transport._sock  # type: ignore[attr-defined]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_dropped_link_reconnects_at_once_to_a_working_session(
    emulator: EmulatorProcess,
) -> None:
    first = emulator.client("same-programmer")
    serial = first.get_status()["serial"]
    _drop(first)
    for _ in range(3):  # at once, and again after each drop
        again = emulator.client("same-programmer")  # HELLO and AUTH: raises on busy
        assert again.get_status()["serial"] == serial
        assert again.get_therapy()["therapy"]["mode"]
        _drop(again)


def test_a_link_closed_in_the_middle_of_a_request_reconnects_too(
    emulator: EmulatorProcess,
) -> None:
    from programmer.link.frames import Kind, encode_frame
    from programmer.link.messages import MsgType

    first = emulator.client("same-programmer")
    # Half a request on the wire, then the reset: the pump never sees the end of it.
    frame = encode_frame(Kind.REQUEST, 99, MsgType.GET_STATUS, {})
    first._transport.send(frame[: len(frame) // 2])
    _drop(first)
    again = emulator.client("same-programmer")
    assert again.get_status()["model"] == "ITP-40"
    again.close()
