"""The per-installation audit key: 32 random bytes kept outside the database.

Whoever can write the database but not read the key cannot forge or re-chain records.
By default the key lives in the OS keyring (Secret Service, Keychain, Credential
Manager, through the `keyring` package), which other programs of the same user cannot
read without asking. Only where no keyring exists is it a 0600 file, and the user is
told so (`KeyLocation.notice`). `--audit-key FILE` always means that file.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from programmer.files import FileRefused, read_bounded
from programmer.store.errors import StoreError

KEY_BYTES = 32
KEYRING_SERVICE = "itp"
KEYRING_ENTRY = "audit-key"


class AuditKeyError(StoreError):
    """The audit key file is missing, unreadable, malformed or too open."""


def default_key_path() -> Path:
    return platformdirs.user_config_path("itp") / "audit.key"


def key_id(key: bytes) -> str:
    """A public fingerprint of the key, stored in the database to spot a wrong key early."""
    return hmac.new(key, b"itp-audit-key-id", hashlib.sha256).hexdigest()[:16]


def load_key(path: Path) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AuditKeyError(f"the audit key file {path} does not exist") from None
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key file {path}: {exc}") from exc
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        # Like ssh: a key others can read protects nothing.
        raise AuditKeyError(
            f"the audit key file {path} can be read by other users; run: chmod 600 {path}"
        )
    try:
        data = read_bounded(path, KEY_BYTES + 1, "the audit key file")
    except FileRefused as exc:
        raise AuditKeyError(str(exc)) from None
    if len(data) != KEY_BYTES:
        raise AuditKeyError(f"the audit key file {path} is not a {KEY_BYTES}-byte key")
    return data


def create_key(path: Path) -> bytes:
    """Write a new random key with mode 0600; never overwrites an existing key.

    Written to a temporary file, synced, then linked into place, so a crash leaves
    either no key or a whole one (an empty key file would lock the trail for good).
    """
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if a key appeared meanwhile: keep that one
        except FileExistsError:
            return load_key(path)
        except OSError:
            if path.exists():  # a file system without hard links (FAT, some shares)
                return load_key(path)
            os.replace(tmp, path)
        _sync_folder(path.parent)
    except OSError as exc:
        raise AuditKeyError(f"cannot create the audit key file {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return key


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; NTFS journals the link
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class KeyLocation:
    key: bytes
    where: str  # "the OS keyring (...)" or "the file ..."
    notice: str | None = None  # to show the user: the key is in a file for want of a keyring


def _no_keyring_notice(path: Path, why: str) -> str:
    return (
        f"{why}: the audit key is kept in the file {path}, which any program running as "
        "this user can read (and then re-chain the audit trail). Keep an external "
        "checkpoint (--checkpoint-dir) and the key file's backups apart."
    )


def keyring_backend() -> Any | None:
    """The OS keyring backend, or None when this system has none.

    On Linux the Secret Service backend is asked directly: keyring's general chooser
    probes for the macOS libraries first, 0.2 s at every start. PYTHON_KEYRING_BACKEND
    (keyring's own setting; the tests use it) is honoured.
    """
    try:
        if os.environ.get("PYTHON_KEYRING_BACKEND") or sys.platform in ("darwin", "win32"):
            import keyring
            from keyring.backends import fail, null

            backend = keyring.get_keyring()
            if isinstance(backend, fail.Keyring | null.Keyring):
                return None
            if getattr(backend, "backends", None) == []:  # a chainer with nothing in it
                return None
            return backend
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            # No session bus, no Secret Service (keyring says the same, after 0.2 s of
            # imports that every start would pay on a headless machine).
            return None
        from keyring.backends import SecretService

        candidate: Any = SecretService.Keyring()  # type: ignore[no-untyped-call]
        return candidate if candidate.priority > 0 else None
    except Exception:  # no D-Bus, no secretstorage, an unusable backend: no keyring
        return None


def default_key(records: Callable[[], int]) -> KeyLocation:
    """The audit key of this OS user: from the keyring, else the default file.

    A key found nowhere is created (in the keyring when there is one), unless the trail
    already has records (`records()` > 0): a new key would make them all look forged.
    """
    path = default_key_path()
    backend = keyring_backend()
    if backend is None:
        why = "this system has no OS keyring"
        if path.exists():
            return KeyLocation(load_key(path), f"the file {path}", _no_keyring_notice(path, why))
        _refuse_new_key(records(), path)
        return KeyLocation(create_key(path), f"the file {path}", _no_keyring_notice(path, why))
    name = f"the OS keyring ({type(backend).__module__.rsplit('.', 1)[-1]})"
    try:
        stored = backend.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
    except Exception as exc:  # locked, D-Bus error, refused
        if path.exists():
            why = f"{name} could not be read ({exc})"
            return KeyLocation(load_key(path), f"the file {path}", _no_keyring_notice(path, why))
        raise AuditKeyError(
            f"{name} could not be read ({exc}); unlock it and try again (no new key was made)"
        ) from None
    if stored is not None:
        return KeyLocation(_from_keyring(stored, name), name)
    if path.exists():  # an installation from before the keyring: its key stays where it is
        why = "the audit key predates the OS keyring"
        return KeyLocation(load_key(path), f"the file {path}", _no_keyring_notice(path, why))
    _refuse_new_key(records(), name)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        backend.set_password(KEYRING_SERVICE, KEYRING_ENTRY, key.hex())
        stored = backend.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
    except Exception as exc:
        why = f"{name} could not store the key ({exc})"
        return KeyLocation(create_key(path), f"the file {path}", _no_keyring_notice(path, why))
    if stored is None:
        why = f"{name} did not keep the key"
        return KeyLocation(create_key(path), f"the file {path}", _no_keyring_notice(path, why))
    return KeyLocation(_from_keyring(stored, name), name)  # another process's, if it won


def find_key() -> KeyLocation | None:
    """This OS user's audit key where `default_key` keeps it, or None; never makes one
    (reviewing a copy must not leave a key behind)."""
    path = default_key_path()
    backend = keyring_backend()
    if backend is not None:
        name = f"the OS keyring ({type(backend).__module__.rsplit('.', 1)[-1]})"
        try:
            stored = backend.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
        except Exception:  # locked, D-Bus error: look for the file
            stored = None
        if stored is not None:
            return KeyLocation(_from_keyring(stored, name), name)
    if path.exists():
        return KeyLocation(load_key(path), f"the file {path}")
    return None


def _from_keyring(stored: Any, name: str) -> bytes:
    try:
        key = bytes.fromhex(str(stored))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditKeyError(f"the audit key in {name} is not a {KEY_BYTES}-byte key")
    return key


def _refuse_new_key(records: int, where: object) -> None:
    if records:
        raise AuditKeyError(
            f"the audit key is missing from {where} but the trail has {records} records; "
            "restore the key from backup (a new key cannot verify the old records)"
        )
