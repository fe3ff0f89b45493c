"""A failed clinic sync is told in words (ui/error_words), never as a Python class name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.clinic import sync_status
from ui.clinic.sync_status import SyncRunner


def test_an_unexpected_sync_failure_is_told_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(url: str) -> object:
        raise ConnectionResetError("the peer reset the connection")

    monkeypatch.setattr(sync_status, "parse_url", broken)
    runner = SyncRunner(tmp_path / "db.sqlite3", b"k" * 32, "postgresql://itp@clinic:5432/itp")
    said: list[tuple[str, str]] = []
    runner.sig_state.connect(lambda kind, text: said.append((kind, text)))
    runner._run()
    kind, text = said[-1]
    assert kind == "failed"
    assert "ConnectionResetError" not in text and "Error:" not in text, text
    assert "A file or connection failed" in text and "the peer reset the connection" in text, text
