"""Saving a visit report: the file dialog opens in the user's documents folder, and a
cancelled dialog saves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget

from ui.report import save


def test_the_dialog_starts_in_documents_and_cancel_saves_nothing(
    qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(save, "documents_folder", lambda: tmp_path)
    asked: list[str] = []
    chosen = tmp_path / "chosen.pdf"

    def dialog(parent: QWidget, title: str, start: str, kinds: str) -> tuple[str, str]:
        asked.append(start)
        return (str(chosen) if len(asked) == 1 else "", kinds)

    monkeypatch.setattr(save.QFileDialog, "getSaveFileName", staticmethod(dialog))
    parent = QWidget()
    assert save.save_report_pdf(parent, "<h1>Visit</h1>", None) == chosen
    assert asked[0] == str(tmp_path / "visit-report.pdf")
    assert chosen.read_bytes().startswith(b"%PDF")
    assert save.save_report_pdf(parent, "<h1>Visit</h1>", None) is None, "cancelled"
