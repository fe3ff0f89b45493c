"""Conformance, section 5b: the options of `itp emulator`, and its memory across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import EmulatorProcess, run_cli
from .helpers import DAY, T0, therapy


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--listen", "nowhere"], "HOST:PORT"),
        (["--listen", "127.0.0.1:70000"], "port"),
        (["--model", "ITP-30"], "invalid choice"),
        (["--speed", "fast"], "decimal"),
        (["--speed", "-1"], "decimal"),
        (["--clock", "yesterday"], "ISO 8601"),
        (["--clock", "2025-01-01T00:00:00"], "offset"),
        (["--clock", "0"], "2000-01-01"),
        (["--key-file", "/nonexistent/key"], "cannot read"),
        (["--unknown"], "unrecognized"),
        (["--state", "/nonexistent/dir/pump.state"], "cannot write"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], words: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_key_file_must_be_exactly_32_bytes(tmp_path: Path, size: int) -> None:
    (tmp_path / "key").write_bytes(b"k" * size)
    result = run_cli("--key-file", str(tmp_path / "key"))
    assert result.returncode == 2
    assert f"has {size} bytes" in result.stderr and "32" in result.stderr


def test_help_exits_0() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--listen", "--model", "--state", "--key-file", "--clock", "--speed"):
        assert option in result.stdout


def test_a_busy_port_is_a_clear_error(emulator: EmulatorProcess) -> None:
    result = run_cli("--listen", f"127.0.0.1:{emulator.port}")
    assert result.returncode == 2
    assert "cannot listen" in result.stderr


def test_model_and_clock_options(tmp_path: Path) -> None:
    process = EmulatorProcess(
        tmp_path, "--model", "ITP-20", "--speed", "0", "--clock", "2025-01-01T00:00:00Z",
        "--serial", "ITP20-004242", "--implanted", "2024-01-01T00:00:00Z",
    ).start()  # fmt: skip
    try:
        client = process.client()
        status = client.get_status()
        assert (status["model"], status["serial"], status["clock_t"]) == (
            "ITP-20",
            "ITP20-004242",
            T0,
        )
        assert status["reservoir_capacity_nl"] == 20_000_000
        assert status["implanted_t"] == 1_704_067_200
        client.close()
    finally:
        process.stop()
    assert "GET_STATUS seq=" in process.stderr() and " ok" in process.stderr()


def test_speed_runs_the_clock_in_real_time(tmp_path: Path) -> None:
    process = EmulatorProcess(tmp_path, "--speed", "3600", "--clock", str(T0)).start()
    try:
        client = process.client()
        first = client.get_status()["clock_t"]
        time.sleep(0.5)
        second = client.get_status()["clock_t"]
        assert 1_000 <= second - first <= 3_600 * 5
        client.close()
    finally:
        process.stop()


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "pump.state"
    process = EmulatorProcess(tmp_path, "--speed", "0", "--clock", str(T0), "--state", str(state))
    process.start()
    client = process.client()
    staged = client.stage({"therapy": therapy(steps=[[0, 500_000]])})
    client.commit(staged["staged_crc"])
    client.sim_advance(DAY)
    before = client.get_status()
    client.close()
    process.stop()
    restarted = EmulatorProcess(
        tmp_path, "--speed", "0", "--clock", str(T0 + 99), "--state", str(state)
    )
    restarted.start()
    try:
        client = restarted.client()
        after = client.get_status()
        assert after["clock_t"] == T0 + DAY
        assert after["reservoir_nl"] == before["reservoir_nl"] == 40_000_000 - 500_000
        assert after["last_changeset_crc"] == staged["staged_crc"]
        assert after["event_last_seq"] == before["event_last_seq"] + 1  # one more session
        client.close()
    finally:
        restarted.stop()
    assert "applies to a new pump only" in restarted.stderr()


def test_state_of_another_model_or_garbage_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "pump.state"
    process = EmulatorProcess(tmp_path, "--speed", "0", "--state", str(state)).start()
    process.stop()
    result = run_cli("--state", str(state), "--model", "ITP-20")
    assert result.returncode == 2 and "ITP-40" in result.stderr
    state.write_bytes(b"\x00garbage")
    result = run_cli("--state", str(state))
    assert result.returncode == 2 and "not an itp emulator state file" in result.stderr
