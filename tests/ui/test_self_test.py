"""`itp --self-test` is what proves an installation (CI runs it on the frozen build): it
must pass on the code as it is, dose rules included."""

from __future__ import annotations

import pytest

from ui.selftest import main

pytestmark = pytest.mark.gui


def test_the_self_test_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code = main([])
    said = capsys.readouterr()
    assert code == 0, said.out + said.err
    assert "self-test: passed" in said.out + said.err
