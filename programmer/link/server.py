"""Serving a PumpEndpoint over a transport: a loop for serial and in-process links, and
a threaded TCP server for `itp emulator --listen`.

TCP policy: one programmer at a time, as with a telemetry head. A second connection
waits up to `grace` seconds for the first to end (so a quick reconnect is served);
if the pump is still taken, its first request is answered with `busy` and it is closed.
Each accepted connection gets a fresh endpoint from the factory: authentication and
the retry cache never carry over to another connection.

A connection that has not authenticated within `unauthenticated_s` of connecting, or
that sends nothing for `idle_s`, is closed: a silent peer never holds the pump for ever.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import LinkError
from programmer.link.frames import Frame, FrameReader, Kind, encode_frame
from programmer.link.messages import ErrorCode, ProtocolError
from programmer.link.tcp import TcpTransport
from programmer.link.transport import Transport

log = logging.getLogger(__name__)

DEFAULT_PORT = 7433
POLL_S = 0.05  # how often loops look at their stop event
MAX_WAITING_CONNECTIONS = 4  # connections not being served; beyond this, closed at once
UNAUTHENTICATED_S = 5.0  # to say HELLO and AUTH after connecting
IDLE_S = 600.0  # an authenticated session that sends nothing for this long is closed

EndpointFactory = Callable[[], PumpEndpoint]


def serve_transport(
    endpoint: PumpEndpoint,
    transport: Transport,
    stop_event: threading.Event,
    poll_s: float = POLL_S,
    *,
    unauthenticated_s: float | None = None,
    idle_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Answer requests from `transport` until `stop_event` is set, the peer is gone, or
    (when given) the peer has not authenticated within `unauthenticated_s` or has sent
    nothing for `idle_s`."""
    started = last_heard = clock()
    while not stop_event.is_set():
        try:
            data = transport.recv(poll_s)
            if data:
                last_heard = clock()
                reply = endpoint.on_bytes(data)
                if reply:
                    transport.send(reply)
        except LinkError as exc:
            log.info("link ended: %s", exc)
            return
        now = clock()
        late = unauthenticated_s is not None and now - started > unauthenticated_s
        if late and not endpoint.authenticated:
            log.info("link closed: not authenticated within %.1f s", unauthenticated_s)
            return
        if idle_s is not None and now - last_heard > idle_s:
            log.info("link closed: nothing received for %.1f s", idle_s)
            return


def busy_reply(request: Frame, message: str) -> bytes:
    """A `busy` answer to `request`, for a pump that cannot serve it."""
    payload = ProtocolError(ErrorCode.BUSY, message).to_payload()
    return encode_frame(Kind.RESPONSE, request.seq, request.msg_type, payload)


class TcpPumpServer:
    def __init__(
        self,
        endpoint_factory: EndpointFactory,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        grace_s: float = 1.0,
        poll_s: float = POLL_S,
        unauthenticated_s: float | None = UNAUTHENTICATED_S,
        idle_s: float | None = IDLE_S,
    ) -> None:
        self._factory = endpoint_factory
        self._unauthenticated_s = unauthenticated_s
        self._idle_s = idle_s
        self._host = host
        self._requested_port = port
        self._grace_s = grace_s
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._serving = False  # a connection holds the pump
        self._waiting = 0
        self._threads: list[threading.Thread] = []
        self._transports: set[TcpTransport] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self.port = 0  # the bound port, once started (useful with port 0)

    @property
    def address(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"tcp://{host}:{self.port}"

    def start(self) -> None:
        try:
            family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
            listener = socket.create_server((self._host, self._requested_port), family=family)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise LinkError(
                f"cannot listen on {self._host}:{self._requested_port}: {reason}"
            ) from exc
        listener.settimeout(self._poll_s)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"pump-tcp-{self.port}", daemon=True
        )
        self._accept_thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
            transports = list(self._transports)
        for transport in transports:
            transport.close()
        if self._accept_thread is not None:
            self._accept_thread.join()
        for thread in list(self._threads):
            thread.join()
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> TcpPumpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                log.warning("accept failed: %s", exc)
                self._stop.wait(self._poll_s)
                continue
            with self._cond:
                self._threads = [t for t in self._threads if t.is_alive()]
                too_many = self._waiting >= MAX_WAITING_CONNECTIONS
                if not too_many:
                    self._waiting += 1
            if too_many:
                conn.close()
                continue
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            with self._cond:
                self._threads.append(thread)
            thread.start()

    def _connection(self, conn: socket.socket) -> None:
        claimed = False
        transport: TcpTransport | None = None
        try:
            transport = TcpTransport(conn)
            with self._cond:
                self._transports.add(transport)
            claimed = self._claim()
            if claimed:
                try:
                    serve_transport(
                        self._factory(),
                        transport,
                        self._stop,
                        self._poll_s,
                        unauthenticated_s=self._unauthenticated_s,
                        idle_s=self._idle_s,
                    )
                finally:
                    self._release()
            else:
                self._refuse(transport)
        except Exception:
            log.exception("pump connection failed")  # one connection never kills the server
        finally:
            with self._cond:
                if transport is not None:
                    self._transports.discard(transport)
                if not claimed:
                    self._waiting -= 1
            if transport is not None:
                transport.close()
            else:
                conn.close()

    def _claim(self) -> bool:
        """Take the pump, waiting up to the grace period for the current connection."""
        with self._cond:
            self._cond.wait_for(lambda: not self._serving or self._stop.is_set(), self._grace_s)
            if self._serving or self._stop.is_set():
                return False
            self._serving = True
            self._waiting -= 1
            return True

    def _release(self) -> None:
        with self._cond:
            self._serving = False
            self._cond.notify_all()

    def _refuse(self, transport: TcpTransport) -> None:
        # Wait briefly for the first request so that the busy answer echoes its seq.
        reader = FrameReader()
        deadline = time.monotonic() + self._grace_s
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                chunk = transport.recv(min(self._poll_s, remaining))
            except LinkError:
                return
            for frame in reader.feed(chunk):
                if frame.kind == Kind.REQUEST:
                    with contextlib.suppress(LinkError):
                        transport.send(
                            busy_reply(frame, "another programmer is connected to this pump")
                        )
                    return


def serve_tcp(
    endpoint_factory: EndpointFactory,
    host: str,
    port: int,
    stop_event: threading.Event,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until `stop_event` is set; `on_ready(bound_port)` runs once listening."""
    with TcpPumpServer(endpoint_factory, host, port) as server:
        if on_ready is not None:
            on_ready(server.port)
        stop_event.wait()


@contextlib.contextmanager
def running_tcp_server(
    endpoint_factory: EndpointFactory, host: str = "127.0.0.1", port: int = 0
) -> Iterator[TcpPumpServer]:
    """A TcpPumpServer serving in its own threads for the `with` block (tests, demos)."""
    server = TcpPumpServer(endpoint_factory, host, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
