"""The first, block-by-block COBS codec: kept as the reference the fast one is checked against.

A frame on the pump link is COBS(body) followed by one zero byte. COBS output never
contains a zero, so a zero always ends a frame and a receiver resynchronises there.
"""

from __future__ import annotations

_FULL_BLOCK = 254  # data bytes in a block whose code is 0xFF (no implied zero after it)


class CobsError(ValueError):
    """The bytes are not a valid COBS encoding."""


def encode(data: bytes) -> bytes:
    """COBS-encode `data`; the result has no zero byte and no trailing delimiter.

    Canonical form: a final block of exactly 254 data bytes gets no extra 0x01 code
    (as in the reference examples); `decode` accepts both forms.
    """
    out = bytearray()
    chunks = bytes(data).split(b"\x00")
    last = len(chunks) - 1
    for index, chunk in enumerate(chunks):
        pos = 0
        size = len(chunk)
        while size - pos >= _FULL_BLOCK:
            out.append(0xFF)
            out += chunk[pos : pos + _FULL_BLOCK]
            pos += _FULL_BLOCK
        if index == last and size > 0 and pos == size:
            break
        out.append(size - pos + 1)
        out += chunk[pos:]
    return bytes(out)


def decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (without its zero delimiter).

    Raises CobsError for an empty input, a zero byte, or a block running past the end.
    """
    size = len(data)
    if size == 0:
        raise CobsError("empty COBS frame")
    out = bytearray()
    pos = 0
    while pos < size:
        code = data[pos]
        if code == 0:
            raise CobsError(f"zero byte at offset {pos} inside a COBS frame")
        end = pos + code
        if end > size:
            raise CobsError(f"COBS block at offset {pos} runs past the end of the frame")
        block = data[pos + 1 : end]
        if b"\x00" in block:
            raise CobsError(f"zero byte inside the COBS block at offset {pos}")
        out += block
        pos = end
        if code != 0xFF and pos < size:
            out.append(0)
    return bytes(out)


def max_encoded_size(body_size: int) -> int:
    """The longest valid encoding of a body of `body_size` bytes (both forms accepted)."""
    return body_size + body_size // _FULL_BLOCK + 1
