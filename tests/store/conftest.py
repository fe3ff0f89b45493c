from __future__ import annotations

import os

# Never the developer's real keyring: keyring's fail backend (no keyring: the key goes to
# a file, and that is said); tests of the keyring path install a stub backend.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from programmer.store import Accounts, AuditTrail, Records, Store, open_store

# Cheap Argon2id for tests that sign in many times; the default profile is tested apart.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class FakeClock:
    """A clock the test moves by hand, so lockouts and ranges need no sleeping."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "itp.sqlite3"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "audit.key"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    with open_store(db_path, clock=clock) as opened:
        yield opened


@pytest.fixture
def trail(store: Store, key_path: Path) -> AuditTrail:
    return AuditTrail.open(store, key_path)


@pytest.fixture
def accounts(store: Store, trail: AuditTrail) -> Accounts:
    return Accounts(store, trail, hasher=FAST_HASHER)


@pytest.fixture
def records(store: Store, trail: AuditTrail) -> Records:
    return Records(store, trail)
