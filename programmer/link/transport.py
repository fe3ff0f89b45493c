"""The one interface every byte carrier of the pump link offers (TCP, serial, in-process)."""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    def send(self, data: bytes) -> None:
        """Write all of `data`. Raises LinkClosed when the peer is gone."""
        ...

    def recv(self, timeout: float) -> bytes:
        """Wait up to `timeout` seconds for bytes; b"" on timeout.

        Returns whatever arrived (any chunking). Raises LinkClosed when the peer is gone.
        """
        ...

    def close(self) -> None:
        """Release the carrier; idempotent."""
        ...
