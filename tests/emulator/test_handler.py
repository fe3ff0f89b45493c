"""The handler (speed, persistence, rollback) and the in-process `emulator:` address."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from programmer.emulator import inprocess, state
from programmer.emulator.handler import EmulatorHandler
from programmer.link import AddressError, MsgType, ProtocolError, PumpClient, open_transport

from .helpers import DAY, T0, new_pump, therapy


@pytest.fixture(autouse=True)
def _fresh_in_process_pump() -> Iterator[None]:
    """Other tests using `emulator:` must not inherit a pump installed here."""
    yield
    inprocess.reset()


class FakeClock:
    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns


def test_speed_turns_real_time_into_whole_simulated_seconds() -> None:
    clock = FakeClock()
    handler = EmulatorHandler(new_pump(), speed=Fraction(1, 2), now_ns=clock)
    clock.ns = 3_000_000_000  # 3 s real = 1.5 s simulated: 1 s now, 0.5 s carried
    assert handler.handle(MsgType.GET_STATUS, {}, "p")["clock_t"] == T0 + 1
    clock.ns = 4_000_000_000  # +1 s real = 0.5 s, plus the carried 0.5 s
    assert handler.handle(MsgType.GET_STATUS, {}, "p")["clock_t"] == T0 + 2


def test_speed_zero_moves_only_on_sim_advance() -> None:
    clock = FakeClock()
    handler = EmulatorHandler(new_pump(), speed=Fraction(0), now_ns=clock)
    clock.ns = 10**15
    assert handler.handle(MsgType.GET_STATUS, {}, "p")["clock_t"] == T0
    assert handler.handle(MsgType.SIM_ADVANCE, {"seconds": DAY}, "p") == {"clock_t": T0 + DAY}


def test_every_change_is_saved_before_it_is_answered(tmp_path: Path) -> None:
    path = tmp_path / "s"
    handler = EmulatorHandler(new_pump(), path)
    staged = handler.handle(MsgType.STAGE, {"changeset": {"therapy": therapy()}}, "p")
    handler.handle(MsgType.COMMIT, {"staged_crc": staged["staged_crc"]}, "p")
    saved = state.load(path)
    assert saved is not None and saved.therapy == therapy()
    handler.handle(MsgType.SIM_ADVANCE, {"seconds": 60}, "p")
    saved = state.load(path)
    assert saved is not None and saved.clock_t == T0 + 60
    assert saved.to_wire() == handler.model.to_wire()


def test_a_failed_save_undoes_the_change_and_says_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s"
    handler = EmulatorHandler(new_pump(), path)

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state, "save", full_disk)
    with pytest.raises(ProtocolError) as caught:
        handler.handle(MsgType.SIM_ADVANCE, {"seconds": 60}, "p")
    assert caught.value.code == "busy" and "not done" in caught.value.message
    assert handler.model.clock_t == T0


def test_refusals_become_protocol_errors_with_problems() -> None:
    handler = EmulatorHandler(new_pump())
    with pytest.raises(ProtocolError) as caught:
        handler.handle(MsgType.STAGE, {"changeset": {"therapy": therapy(low_alarm_nl=1)}}, "p")
    assert caught.value.code == "invalid"
    assert caught.value.problems[0]["field"] == "therapy.low_alarm_nl"


def test_in_process_emulator_address() -> None:
    handler = inprocess.install(new_pump("ITP-20"), speed=Fraction(0))
    client = PumpClient(open_transport("emulator:", 1.0), "inproc", timeout=2.0)
    assert client.connect()["model"] == "ITP-20"
    client.sim_advance(DAY)
    client.close()
    again = PumpClient(open_transport("emulator:", 1.0), "inproc", timeout=2.0)
    again.connect()
    assert again.get_status()["clock_t"] == T0 + DAY  # the same pump behind every connection
    again.close()
    assert handler.model.clock_t == T0 + DAY
    with pytest.raises(AddressError):
        open_transport("emulator:elsewhere", 1.0)


def test_in_process_emulator_can_keep_its_memory(tmp_path: Path) -> None:
    path = tmp_path / "inproc.state"
    inprocess.install(new_pump(), speed=Fraction(0), state_path=path)
    client = PumpClient(open_transport("emulator:", 1.0), "inproc", timeout=2.0)
    client.connect()
    client.sim_advance(60)
    client.close()
    handler = inprocess.install(speed=Fraction(0), state_path=path)  # as after a restart
    assert handler.model.clock_t == T0 + 60
