"""Qt runs offscreen; each test gets a fresh in-process emulator and a throwaway database."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.emulator import inprocess
from programmer.emulator.handler import EmulatorHandler
from programmer.emulator.model import PumpModel
from programmer.store import Role

START_T = 1_767_225_600  # 2026-01-01T00:00:00Z
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
DOC_PW = "physician-pass-1"


@pytest.fixture
def pump() -> EmulatorHandler:
    return inprocess.install(PumpModel("ITP-40", START_T), speed=0)


@pytest.fixture
def app_state(qapp: object, tmp_path: Path, pump: EmulatorHandler) -> Iterator[object]:
    from ui.app_state import AppState

    state = AppState(tmp_path / "itp.sqlite3", audit_key=tmp_path / "audit.key", hasher=FAST)
    yield state
    state.shutdown()


def sign_in_physician(state: object) -> None:
    from ui.app_state import AppState

    assert isinstance(state, AppState)
    state.create_first_admin("admin", "admin-password-1")
    state.accounts.add("dr.lee", Role.PHYSICIAN, DOC_PW, actor=state.principal)
    state.sign_out()
    state.sign_in("dr.lee", DOC_PW)


@pytest.fixture
def filled_state(tmp_path: Path, qtbot: object) -> Iterator[object]:
    """Signed in as a physician, connected to an emulated pump holding morphine 10 mg/mL at
    1 mg/day with 20 mL in its reservoir (conftest_therapy.fill_with_morphine): the state
    most visit screens start from."""
    from tests.ui.conftest_therapy import connect, fill_with_morphine, make_state

    s = make_state(tmp_path)
    connect(qtbot, s)  # type: ignore[arg-type]
    fill_with_morphine(qtbot, s)  # type: ignore[arg-type]
    yield s
    s.shutdown()
