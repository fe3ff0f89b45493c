from __future__ import annotations

import pytest

import programmer.link.addresses as addresses
from programmer.link.addresses import (
    open_transport,
    parse_serial_address,
    parse_tcp_address,
    register_scheme,
)
from programmer.link.errors import AddressError
from programmer.link.inprocess import InProcessPair
from programmer.link.transport import Transport


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("tcp://127.0.0.1:7433", ("127.0.0.1", 7433)),
        ("tcp://localhost:1", ("localhost", 1)),
        ("tcp://[::1]:65535", ("::1", 65535)),
        ("TCP://pump.local:7433/", ("pump.local", 7433)),
    ],
)
def test_good_tcp_addresses(address: str, expected: tuple[str, int]) -> None:
    assert parse_tcp_address(address) == expected


@pytest.mark.parametrize(
    ("address", "fault"),
    [
        ("tcp://127.0.0.1", "port is missing"),
        ("tcp://:7433", "host is missing"),
        ("tcp://127.0.0.1:0", "1 to 65535"),
        ("tcp://127.0.0.1:65536", "1 to 65535"),
        ("tcp://127.0.0.1:port", "1 to 65535"),
        ("tcp://127.0.0.1:7433/x", "only tcp://HOST:PORT"),
        ("tcp://127.0.0.1:7433?a=1", "only tcp://HOST:PORT"),
        ("tcp:127.0.0.1:7433", "starts with tcp://"),
    ],
)
def test_bad_tcp_addresses_name_the_fault_and_show_an_example(address: str, fault: str) -> None:
    with pytest.raises(AddressError, match=fault) as info:
        parse_tcp_address(address)
    assert "tcp://127.0.0.1:7433" in str(info.value)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("serial:///dev/ttyUSB0?baud=115200", ("/dev/ttyUSB0", 115200)),
        ("serial:///dev/ttyACM1?baud=9600", ("/dev/ttyACM1", 9600)),
        ("serial:///dev/ttyUSB0", ("/dev/ttyUSB0", 115200)),
        ("serial:///COM3?baud=57600", ("COM3", 57600)),
    ],
)
def test_good_serial_addresses(address: str, expected: tuple[str, int]) -> None:
    assert parse_serial_address(address) == expected


@pytest.mark.parametrize(
    ("address", "fault"),
    [
        ("serial://dev/ttyUSB0", "three slashes"),
        ("serial:/dev/ttyUSB0", "three slashes"),
        ("serial:///", "device path is missing"),
        ("serial:///dev/ttyUSB0?baud=fast", "baud must be"),
        ("serial:///dev/ttyUSB0?baud=0", "baud must be"),
        ("serial:///dev/ttyUSB0?baud=1&baud=2", "baud must be"),
        ("serial:///dev/ttyUSB0?parity=E", "unknown option 'parity'"),
        ("serial:///dev/ttyUSB0?baud", "baud must be"),
    ],
)
def test_bad_serial_addresses_name_the_fault_and_show_an_example(address: str, fault: str) -> None:
    with pytest.raises(AddressError, match=fault) as info:
        parse_serial_address(address)
    assert "serial:///dev/ttyUSB0?baud=115200" in str(info.value)


@pytest.mark.parametrize("address", ["", "pump", "127.0.0.1:7433", "gopher://x", "1tcp://x:1"])
def test_unknown_or_missing_scheme_lists_good_examples(address: str) -> None:
    with pytest.raises(AddressError) as info:
        open_transport(address, 0.1)
    message = str(info.value)
    assert "tcp://127.0.0.1:7433" in message
    assert "serial:///dev/ttyUSB0?baud=115200" in message


def test_registered_scheme_receives_the_address_and_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without_emulator(monkeypatch)  # a private copy of the registry
    pair = InProcessPair()
    seen: list[tuple[str, float]] = []

    def factory(address: str, timeout: float) -> Transport:
        seen.append((address, timeout))
        return pair.programmer_end

    register_scheme("linktest", factory, "linktest:")
    assert open_transport("LinkTest:pump-1", 0.25) is pair.programmer_end
    assert seen == [("LinkTest:pump-1", 0.25)]
    with pytest.raises(AddressError, match="linktest:"):
        open_transport("nowhere:", 0.1)


def test_tcp_open_parses_before_connecting() -> None:
    with pytest.raises(AddressError, match="port is missing"):
        open_transport("tcp://127.0.0.1", 0.1)


def test_serial_open_reports_a_missing_device_as_a_link_error() -> None:
    from programmer.link.errors import LinkError

    with pytest.raises(LinkError, match="/dev/does-not-exist"):
        open_transport("serial:///dev/does-not-exist?baud=115200", 0.1)


def _without_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry without `emulator:`, restored after the test."""
    for name in ("_factories", "_examples"):
        table = dict(getattr(addresses, name))
        table.pop("emulator", None)
        monkeypatch.setattr(addresses, name, table)


def test_emulator_scheme_is_imported_from_its_provider_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = InProcessPair()
    imported: list[str] = []

    def fake_import(module: str) -> None:
        imported.append(module)
        register_scheme("emulator", lambda address, timeout: pair.programmer_end, "emulator:")

    _without_emulator(monkeypatch)
    monkeypatch.setattr(addresses.importlib, "import_module", fake_import)
    assert open_transport("emulator:", 0.1) is pair.programmer_end
    assert open_transport("emulator:", 0.1) is pair.programmer_end
    assert imported == ["programmer.emulator.inprocess"]  # imported once, then registered


def test_a_missing_emulator_provider_is_an_address_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(module: str) -> None:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    _without_emulator(monkeypatch)
    monkeypatch.setattr(addresses.importlib, "import_module", missing)
    with pytest.raises(AddressError, match="unknown pump address scheme 'emulator'"):
        open_transport("emulator:", 0.1)
