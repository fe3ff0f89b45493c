"""The per-installation audit key: 32 random bytes in a 0600 file outside the database.

Whoever can write the database but not read this file cannot forge or re-chain records.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import platformdirs

from programmer.files import FileRefused, read_bounded
from programmer.store.errors import StoreError

KEY_BYTES = 32


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
