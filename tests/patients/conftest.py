from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from programmer.patients.registry import Patients
from programmer.store import AuditTrail, Principal, Role, Store, open_store


class FakeClock:
    def __init__(self, start: datetime = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    with open_store(tmp_path / "itp.sqlite3", clock=clock) as opened:
        yield opened


@pytest.fixture
def trail(store: Store, tmp_path: Path) -> AuditTrail:
    return AuditTrail.open(store, tmp_path / "audit.key")


@pytest.fixture
def patients(store: Store, trail: AuditTrail) -> Patients:
    return Patients(store, trail)


@pytest.fixture
def doctor() -> Principal:
    return Principal("dr.lee", Role.PHYSICIAN)


@pytest.fixture
def nurse() -> Principal:
    return Principal("n.kim", Role.NURSE)


@pytest.fixture
def admin() -> Principal:
    return Principal("admin", Role.ADMIN)
