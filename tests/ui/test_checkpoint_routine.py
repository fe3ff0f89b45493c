"""Issue 13: the external checkpoint is a routine. The app writes the audit trail's head to
the folder the user named at every sign-out (the end of a session at the programmer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.conftest_therapy import make_state

pytestmark = pytest.mark.gui


def test_sign_out_writes_the_checkpoint_to_the_named_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "usb-stick"
    folder.mkdir()
    monkeypatch.setenv("ITP_CHECKPOINT_DIR", str(folder))
    state = make_state(tmp_path)
    said: list[tuple[str, str]] = []
    state.sig_message.connect(lambda level, text: said.append((level, text)))
    try:
        state.sign_out()
        files = list(folder.iterdir())
        assert len(files) == 1, said
        head = state.trail.head()
        written = json.loads(files[0].read_text())
        assert written["seq"] == head.seq, written
        assert said and said[-1][0] == "info"
        assert files[0].stat().st_mode & 0o077 == 0, "created 0600"
    finally:
        state.shutdown()


def test_without_a_named_folder_nothing_is_written_and_nothing_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ITP_CHECKPOINT_DIR", raising=False)
    state = make_state(tmp_path)
    said: list[tuple[str, str]] = []
    state.sig_message.connect(lambda level, text: said.append((level, text)))
    try:
        state.sign_out()
        assert not [s for s in said if "checkpoint" in s[1].lower()]
    finally:
        state.shutdown()
