"""The audit key in the OS keyring, a file only where there is none (issue 13 s2).

Before: always a file the same OS account can read. The tests never touch a real
keyring: keyring's fail backend stands for "no keyring", a stub for a working one.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from programmer.store import AuditAction, AuditKeyError, AuditTrail, Store, open_store
from programmer.store.audit_key import KEYRING_ENTRY, KEYRING_SERVICE
from programmer.store.cli import main_users

from .conftest import FakeClock


class StubKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.broken = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.broken:
            raise keyring.errors.KeyringLocked("the keyring is locked")
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "itp" / "audit.key"


@pytest.fixture
def stub() -> Iterator[StubKeyring]:
    backend = StubKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(fail.Keyring())


@pytest.fixture
def fresh(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    with open_store(db_path, clock=clock) as store:
        yield store


def test_the_key_goes_to_the_keyring_and_no_file_is_written(
    fresh: Store, config: Path, stub: StubKeyring
) -> None:
    trail = AuditTrail.open(fresh)
    assert not config.exists()
    assert bytes.fromhex(stub.entries[(KEYRING_SERVICE, KEYRING_ENTRY)]) == trail.key
    assert "OS keyring" in trail.key_location and trail.key_notice is None
    trail.append(AuditAction.SIGN_IN, account="a", role="admin")
    again = AuditTrail.open(fresh)
    assert again.key == trail.key and again.verify().ok


def test_without_a_keyring_the_key_is_a_private_file_and_that_is_said(
    fresh: Store, config: Path
) -> None:
    trail = AuditTrail.open(fresh)
    assert config.read_bytes() == trail.key
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert trail.key_notice is not None
    assert "no OS keyring" in trail.key_notice and str(config) in trail.key_notice


def test_the_command_line_says_when_the_key_is_in_a_file(
    db_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ITP_NEW_PASSWORD", "a-long-enough-passphrase")
    assert main_users(["add", "admin", "--role", "admin", "--db", str(db_path)]) == 0
    assert "no OS keyring: the audit key is kept in the file" in capsys.readouterr().err


def test_a_locked_keyring_makes_no_new_key(fresh: Store, config: Path, stub: StubKeyring) -> None:
    stub.broken = True
    with pytest.raises(AuditKeyError, match="could not be read"):
        AuditTrail.open(fresh)
    assert not config.exists() and not stub.entries


def test_a_trail_with_records_never_gets_a_new_key(
    fresh: Store, config: Path, stub: StubKeyring, tmp_path: Path
) -> None:
    AuditTrail.open(fresh, tmp_path / "elsewhere.key").append(
        AuditAction.SIGN_IN, account="a", role="admin"
    )
    with pytest.raises(AuditKeyError, match="restore the key"):
        AuditTrail.open(fresh)
    assert not stub.entries and not config.exists()
