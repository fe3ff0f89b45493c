"""End to end: random and mutated bytes to a TCP emulator never crash it, and a valid
request afterwards is still answered. (Reader-level fuzzing is the link's own test.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programmer.link.frames import Kind, encode_frame
from programmer.link.messages import MsgType

from .conftest import EmulatorProcess, RawLink
from .helpers import T0

VALID_REQUESTS = [
    (MsgType.GET_STATUS, {}),
    (MsgType.STAGE, {"changeset": {"cancel_bolus": True}}),
    (MsgType.SIM_ADVANCE, {"seconds": 60}),
    (MsgType.READ_EVENTS, {"from_seq": 1, "max": 5}),
    (MsgType.SET_CLOCK, {"clock_t": T0, "utc_offset_min": 60}),
]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    process = EmulatorProcess(
        workdir, "--speed", "0", "--clock", str(T0), "--state", str(workdir / "s")
    )
    process.start()
    yield process
    assert process.proc is not None and process.proc.poll() is None, "the emulator died"
    process.stop()


def mutate(frame: bytes, flips: list[tuple[int, int]]) -> bytes:
    data = bytearray(frame)
    for position, value in flips:
        data[position % len(data)] = value
    return bytes(data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    garbage=st.binary(max_size=600),
    which=st.integers(0, len(VALID_REQUESTS) - 1),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    seq=st.integers(0, 0xFFFF),
)
def test_garbage_then_a_valid_request_is_answered(
    fuzz_target: EmulatorProcess,
    garbage: bytes,
    which: int,
    flips: list[tuple[int, int]],
    seq: int,
) -> None:
    link = RawLink(fuzz_target.address)
    try:
        link.login()
        msg_type, payload = VALID_REQUESTS[which]
        link.send(garbage)
        link.send(mutate(encode_frame(Kind.REQUEST, seq, msg_type, payload), flips))
        # Whatever came before, a zero byte resynchronises; then a fresh request works.
        link.send(b"\x00")
        answer = link.exchange((seq + 1) & 0xFFFF, MsgType.GET_STATUS, {})
        assert answer["ok"] is True and answer["model"] == "ITP-40"
    finally:
        link.close()
