"""TCP transport: the programmer's client side, and the pump server's accepted connections."""

from __future__ import annotations

import contextlib
import socket
import threading

from programmer.link.errors import LinkClosed, LinkError

# A frame is at most ~4 KiB, so a send that cannot finish in this time means a dead peer.
SEND_TIMEOUT_S = 5.0
_RECV_CHUNK = 65536


class TcpTransport:
    def __init__(self, sock: socket.socket) -> None:
        # Frames are small and stop-and-wait: Nagle's delay would only add latency.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._closed = False
        self._close_lock = threading.Lock()

    @classmethod
    def connect(cls, host: str, port: int, timeout: float) -> TcpTransport:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise LinkError(f"cannot connect to tcp://{host}:{port}: {reason}") from exc
        return cls(sock)

    def send(self, data: bytes) -> None:
        if self._closed:
            raise LinkClosed("the TCP transport is closed")
        try:
            self._sock.settimeout(SEND_TIMEOUT_S)
            self._sock.sendall(data)
        except TimeoutError as exc:
            raise LinkError("sending to the pump timed out") from exc
        except OSError as exc:
            raise LinkClosed(f"the connection is gone: {exc}") from exc

    def recv(self, timeout: float) -> bytes:
        if self._closed:
            raise LinkClosed("the TCP transport is closed")
        try:
            self._sock.settimeout(max(timeout, 0.0))
            data = self._sock.recv(_RECV_CHUNK)
        except (TimeoutError, BlockingIOError):
            return b""
        except OSError as exc:
            raise LinkClosed(f"the connection is gone: {exc}") from exc
        if not data:
            raise LinkClosed("the peer closed the connection")
        return data

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        # shutdown first, so that a recv blocked in another thread wakes up now
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def __enter__(self) -> TcpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
