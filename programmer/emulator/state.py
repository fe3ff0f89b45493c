"""The pump's memory on disk (`itp emulator --state FILE`).

The whole model is written as one MessagePack document to a temporary file in the same
directory, fsynced, renamed over the old file with `os.replace` (atomic on POSIX and
Windows), and the directory fsynced, so a `kill -9` or power cut at any instant leaves
either the old state or the new one, never a mixture.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgpack

from programmer.emulator.model import PumpModel


class StateFileError(Exception):
    """The state file exists but cannot be read as a pump's memory."""


def save(model: PumpModel, path: Path) -> None:
    data: bytes = msgpack.packb(model.to_wire(), use_bin_type=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; its rename is durable enough
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load(path: Path) -> PumpModel | None:
    """The saved pump, or None if there is no state file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"cannot read state file {path}: {exc.strerror}") from exc
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=False)
        return PumpModel.from_wire(raw)
    except (ValueError, KeyError, TypeError, IndexError, msgpack.UnpackException) as exc:
        raise StateFileError(f"{path} is not an itp emulator state file ({exc})") from exc


def remove_stale_temporaries(path: Path) -> None:
    """Temporaries left by a process killed mid-write are never the state: remove them."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
