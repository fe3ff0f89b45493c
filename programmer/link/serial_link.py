"""Serial transport to a telemetry head: pyserial, 8 data bits, no parity, 1 stop bit."""

from __future__ import annotations

import contextlib
from typing import Any

import serial

from programmer.link.errors import LinkClosed, LinkError

# A frame is at most ~4.1 KB: about 0.4 s at 115200 baud; much longer means a stuck port.
WRITE_TIMEOUT_S = 5.0


class SerialTransport:
    def __init__(self, port: Any) -> None:
        self._port = port
        self._closed = False

    @classmethod
    def open(cls, path: str, baud: int, timeout: float) -> SerialTransport:
        try:
            port = serial.Serial(
                port=path,
                baudrate=baud,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=max(timeout, 0.0),
                write_timeout=WRITE_TIMEOUT_S,
                # one programmer per telemetry head: a second opener fails instead of
                # interleaving its frames with ours
                exclusive=True,
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise LinkError(f"cannot open serial port {path} at {baud} baud: {exc}") from exc
        return cls(port)

    def send(self, data: bytes) -> None:
        if self._closed:
            raise LinkClosed("the serial transport is closed")
        try:
            self._port.write(data)
        except serial.SerialTimeoutException as exc:
            raise LinkError("writing to the serial port timed out") from exc
        except (serial.SerialException, OSError) as exc:
            raise LinkClosed(f"the serial port is gone: {exc}") from exc

    def recv(self, timeout: float) -> bytes:
        if self._closed:
            raise LinkClosed("the serial transport is closed")
        try:
            timeout = max(timeout, 0.0)
            if self._port.timeout != timeout:
                self._port.timeout = timeout
            first: bytes = self._port.read(1)
            if not first:
                return b""
            waiting: int = self._port.in_waiting
            return first + (self._port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError) as exc:
            raise LinkClosed(f"the serial port is gone: {exc}") from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(serial.SerialException, OSError):  # maybe already unplugged
            self._port.close()

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
