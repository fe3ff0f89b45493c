"""The pump's canonical encoding: MessagePack with every map's keys sorted, and its CRC-32."""

from __future__ import annotations

import zlib
from typing import Any

import msgpack


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    """Same bytes for the same value, whatever order its maps were built in."""
    packed: bytes = msgpack.packb(_sorted(value), use_bin_type=True)
    return packed


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def canonical_crc(value: Any) -> int:
    return crc32(canonical_bytes(value))
