"""Consistent Overhead Byte Stuffing (Cheshire and Baker, 1999).

A frame on the pump link is COBS(body) followed by one zero byte. COBS output never
contains a zero, so a zero always ends a frame and a receiver resynchronises there.
"""

from __future__ import annotations

import re

_FULL_BLOCK = 254  # data bytes in a block whose code is 0xFF (no implied zero after it)


class CobsError(ValueError):
    """The bytes are not a valid COBS encoding."""


_ZERO_RUN = re.compile(b"\x00+")
_ONE_RUN = re.compile(b"\x01+")
_CODE = [bytes((n + 1,)) for n in range(_FULL_BLOCK)]  # the code byte of a block of n data bytes


def _emit(out: bytearray, chunk: bytes, last: bool) -> None:
    """One zero-free chunk: full 254-byte blocks, then its remainder block."""
    pos, size = 0, len(chunk)
    while size - pos >= _FULL_BLOCK:
        out.append(0xFF)
        out += chunk[pos : pos + _FULL_BLOCK]
        pos += _FULL_BLOCK
    if last and size > 0 and pos == size:
        return
    out.append(size - pos + 1)
    out += chunk[pos:]


def encode(data: bytes) -> bytes:
    """COBS-encode `data`; the result has no zero byte and no trailing delimiter.

    Canonical form: a final block of exactly 254 data bytes gets no extra 0x01 code
    (as in the reference examples); `decode` accepts both forms. Runs of zeros (lists
    of zero counts are common in pump history) are written in one step, not byte by byte.
    """
    data = bytes(data)
    chunks = data.split(b"\x00")
    if max(map(len, chunks)) < _FULL_BLOCK:
        # The common case: every zero-free run is shorter than a full block, so each is
        # simply its length code then its bytes (the last one included).
        return b"".join([_CODE[len(chunk)] + chunk for chunk in chunks])
    out = bytearray()
    pos = 0
    for run in _ZERO_RUN.finditer(data):
        _emit(out, data[pos : run.start()], last=False)
        out += b"\x01" * (run.end() - run.start() - 1)  # each further zero: an empty block
        pos = run.end()
    _emit(out, data[pos:], last=True)
    return bytes(out)


def decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (without its zero delimiter).

    Raises CobsError for an empty input, a zero byte, or a block running past the end.
    """
    size = len(data)
    if size == 0:
        raise CobsError("empty COBS frame")
    zero_at = data.find(b"\x00")
    if zero_at >= 0:
        raise CobsError(f"zero byte at offset {zero_at} inside a COBS frame")
    out = bytearray()
    pos = 0
    while pos < size:
        code = data[pos]
        if code == 1:
            # A run of empty blocks: one zero each, but none after the frame's last block.
            run = _ONE_RUN.match(data, pos)
            assert run is not None
            end = run.end()
            out += bytes(end - pos if end < size else end - pos - 1)
            pos = end
            continue
        end = pos + code
        if end > size:
            raise CobsError(f"COBS block at offset {pos} runs past the end of the frame")
        out += data[pos + 1 : end]
        pos = end
        if code != 0xFF and pos < size:
            out.append(0)
    return bytes(out)


def max_encoded_size(body_size: int) -> int:
    """The longest valid encoding of a body of `body_size` bytes (both forms accepted)."""
    return body_size + body_size // _FULL_BLOCK + 1
