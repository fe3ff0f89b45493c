"""The external checkpoint as a routine (issue 13 s2): written after each session to the
folder the user names, 0600; a checkpoint there ahead of the trail is kept and reported,
and `itp audit verify` checks against it without being told the file."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from programmer.store.cli import main_audit, main_users

PASSWORD = "a-long-enough-passphrase"


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("ITP_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("ITP_PASSWORD", PASSWORD)
    common = ["--db", str(tmp_path / "itp.sqlite3"), "--audit-key", str(tmp_path / "k")]
    assert main_users(["add", "admin", "--role", "admin", *common]) == 0
    return [*common, "--user", "admin"]


def _only_checkpoint(folder: Path) -> tuple[Path, dict[str, object]]:
    (path,) = folder.glob("itp-audit-*.json")
    return path, json.loads(path.read_text())


def test_each_session_leaves_the_head_in_the_named_folder(
    clinic: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "usb"
    assert main_users(["list", *clinic, "--checkpoint-dir", str(folder)]) == 0
    path, first = _only_checkpoint(folder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "audit checkpoint: record" in capsys.readouterr().err
    assert main_users(["list", *clinic, "--checkpoint-dir", str(folder)]) == 0
    _, second = _only_checkpoint(folder)
    assert isinstance(first["seq"], int) and isinstance(second["seq"], int)
    assert second["seq"] > first["seq"]  # the sign-in and sign-out of the second session


def test_the_environment_names_the_folder_too(
    clinic: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ITP_CHECKPOINT_DIR", str(tmp_path / "share"))
    assert main_users(["list", *clinic]) == 0
    assert _only_checkpoint(tmp_path / "share")[1]["format"] == "itp-audit-checkpoint"


def test_a_truncated_trail_is_found_and_the_checkpoint_kept(
    clinic: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "usb"
    for _ in range(3):
        assert main_users(["list", *clinic, "--checkpoint-dir", str(folder)]) == 0
    path, kept = _only_checkpoint(folder)
    conn = sqlite3.connect(tmp_path / "itp.sqlite3")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq > 3")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main_audit(["verify", *clinic, "--checkpoint-dir", str(folder)]) == 1
    captured = capsys.readouterr()
    assert "truncated" in captured.out
    assert "checked against the checkpoint" in captured.err
    assert "WARNING" in captured.err and "was kept" in captured.err
    assert json.loads(path.read_text()) == kept
