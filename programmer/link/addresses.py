"""Pump addresses (`tcp://HOST:PORT`, `serial:///path?baud=N`, `emulator:`) to transports.

Schemes are looked up in a registry so that other parts (the built-in emulator) can add
theirs with `register_scheme` without this module importing them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from programmer.link.errors import AddressError
from programmer.link.transport import Transport

TransportFactory = Callable[[str, float], Transport]

DEFAULT_BAUD = 115200
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_WINDOWS_PORT = re.compile(r"/COM\d+", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,7}")

TCP_EXAMPLE = "tcp://127.0.0.1:7433"
SERIAL_EXAMPLE = "serial:///dev/ttyUSB0?baud=115200"

_factories: dict[str, TransportFactory] = {}
_examples: dict[str, str] = {}
# Schemes provided by other packages, imported on first use; importing the package
# must call register_scheme. (The link layer does not import the emulator itself.)
_PROVIDERS: dict[str, str] = {"emulator": "programmer.emulator.inprocess"}


def register_scheme(scheme: str, factory: TransportFactory, example: str | None = None) -> None:
    """Make `open_transport` hand addresses of `scheme` to `factory(address, timeout)`.

    Registering a scheme again replaces its factory. `example` is shown in error messages.
    """
    scheme = scheme.lower()
    if not _SCHEME.fullmatch(scheme):
        raise ValueError(f"not a valid address scheme: {scheme!r}")
    _factories[scheme] = factory
    _examples[scheme] = example or f"{scheme}:"


def known_examples() -> list[str]:
    return [_examples[s] for s in sorted(_examples)]


def open_transport(address: str, timeout: float) -> Transport:
    """Open the transport an address names; `timeout` bounds connecting, in seconds.

    Raises AddressError for a malformed address, LinkError when the pump cannot be reached.
    """
    scheme, colon, _ = address.partition(":")
    scheme = scheme.lower()
    if not colon or not _SCHEME.fullmatch(scheme):
        raise AddressError(
            f"{address!r} is not a pump address: it must start with a scheme such as "
            f"'tcp:'; good examples: {', '.join(known_examples())}"
        )
    factory = _factories.get(scheme) or _import_provider(scheme)
    if factory is None:
        raise AddressError(
            f"unknown pump address scheme {scheme!r} in {address!r}; "
            f"known: {', '.join(known_examples())}"
        )
    return factory(address, timeout)


def _import_provider(scheme: str) -> TransportFactory | None:
    module = _PROVIDERS.get(scheme)
    if module is None:
        return None
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None  # not part of this build
        raise
    return _factories.get(scheme)


def parse_tcp_address(address: str) -> tuple[str, int]:
    """(host, port) of `tcp://HOST:PORT`; IPv6 hosts in brackets."""
    if not address.lower().startswith("tcp://"):
        raise AddressError(f"{address!r}: a TCP address starts with tcp://, e.g. {TCP_EXAMPLE}")
    parts = urlsplit(address)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise AddressError(
            f"{address!r}: a TCP address is only tcp://HOST:PORT, e.g. {TCP_EXAMPLE}"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname:
        raise AddressError(f"{address!r}: the host is missing, e.g. {TCP_EXAMPLE}")
    if port is None:
        raise AddressError(f"{address!r}: the port is missing, e.g. {TCP_EXAMPLE}")
    if not 1 <= port <= 65535:
        raise AddressError(f"{address!r}: the port must be 1 to 65535, e.g. {TCP_EXAMPLE}")
    return parts.hostname, port


def parse_serial_address(address: str) -> tuple[str, int]:
    """(device path, baud) of `serial:///path?baud=N`; baud defaults to 115200.

    On Windows `serial:///COM3` names the port COM3.
    """
    if not address.lower().startswith("serial:"):
        raise AddressError(
            f"{address!r}: a serial address starts with serial:///, e.g. {SERIAL_EXAMPLE}"
        )
    parts = urlsplit(address)
    if not address.lower().startswith("serial:///") or parts.netloc:
        raise AddressError(
            f"{address!r}: a serial address has three slashes before the device path, "
            f"e.g. {SERIAL_EXAMPLE}"
        )
    path = parts.path
    if path in ("", "/"):
        raise AddressError(f"{address!r}: the device path is missing, e.g. {SERIAL_EXAMPLE}")
    if _WINDOWS_PORT.fullmatch(path):
        path = path[1:]
    if parts.fragment:
        raise AddressError(f"{address!r}: unexpected '#' part, e.g. {SERIAL_EXAMPLE}")
    query: dict[str, list[str]] = {}
    for option in parts.query.split("&") if parts.query else []:
        name, _, value = option.partition("=")
        query.setdefault(name, []).append(value)
    unknown = sorted(set(query) - {"baud"})
    if unknown:
        raise AddressError(
            f"{address!r}: unknown option {unknown[0]!r}; only baud is allowed, "
            f"e.g. {SERIAL_EXAMPLE}"
        )
    bauds = query.get("baud", [str(DEFAULT_BAUD)])
    if len(bauds) != 1 or not _DIGITS.fullmatch(bauds[0]) or not 1 <= int(bauds[0]) <= 4_000_000:
        raise AddressError(
            f"{address!r}: baud must be one whole number of bits per second, e.g. {SERIAL_EXAMPLE}"
        )
    return path, int(bauds[0])


def _open_tcp(address: str, timeout: float) -> Transport:
    from programmer.link.tcp import TcpTransport

    host, port = parse_tcp_address(address)
    return TcpTransport.connect(host, port, timeout)


def _open_serial(address: str, timeout: float) -> Transport:
    from programmer.link.serial_link import SerialTransport  # imports pyserial only when used

    path, baud = parse_serial_address(address)
    return SerialTransport.open(path, baud, timeout)


register_scheme("tcp", _open_tcp, TCP_EXAMPLE)
register_scheme("serial", _open_serial, SERIAL_EXAMPLE)
