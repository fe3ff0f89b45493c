"""The external checkpoint as a routine: the head of the trail, written after each session.

A shorter trail still verifies (records removed from the end, or the database put back
from an older copy); only a checkpoint kept elsewhere shows it. The user names a folder
(another disk, a share, a USB stick): `--checkpoint-dir DIR`, the environment variable
ITP_CHECKPOINT_DIR, or the setting `audit_checkpoint_folder`. After each session the
head is written there, as `itp-audit-<key id>.json` (0600, atomically). A checkpoint
there that is ahead of the trail is never overwritten: it is the evidence, and the user
is told.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from programmer.files import FileRefused
from programmer.store.audit import AuditTrail
from programmer.store.audit_chain import Checkpoint, CheckpointError
from programmer.store.errors import StoreError

SETTING = "audit_checkpoint_folder"
ENVIRONMENT = "ITP_CHECKPOINT_DIR"


@dataclass(frozen=True)
class RoutineResult:
    path: Path
    written: bool  # False: not written, see message
    message: str


def checkpoint_path(trail: AuditTrail, folder: Path) -> Path:
    """One file per trail (the key id tells trails apart) in the named folder."""
    return folder / f"itp-audit-{trail.key_id}.json"


def configured_folder(option: Path | None, setting: object = None) -> Path | None:
    """The folder the user named: the option, else the environment, else the setting."""
    if option is not None:
        return option
    if os.environ.get(ENVIRONMENT):
        return Path(os.environ[ENVIRONMENT])
    if isinstance(setting, str) and setting:
        return Path(setting)
    return None


def previous_checkpoint(trail: AuditTrail, folder: Path) -> Checkpoint | None:
    path = checkpoint_path(trail, folder)
    if not path.exists():
        return None
    return Checkpoint.load(path)


def write_after_session(trail: AuditTrail, folder: Path) -> RoutineResult:
    """Write the trail's head to the folder, unless a checkpoint there is ahead of it."""
    path = checkpoint_path(trail, folder)
    head = trail.head()
    try:
        earlier = previous_checkpoint(trail, folder)
    except CheckpointError as exc:
        earlier = None
        note = f" (the one there could not be read: {exc})"
    else:
        note = ""
    if earlier is not None and earlier.seq > head.seq:
        return RoutineResult(
            path,
            False,
            f"the checkpoint {path} names record {earlier.seq} but the trail ends at "
            f"{head.seq}: records were removed or the database was put back from an older "
            f"copy. The checkpoint was kept; run `itp audit verify --checkpoint {path}`",
        )
    if earlier is not None and earlier.seq > 0:
        stored = trail.store.query("SELECT mac FROM audit WHERE seq = ?", (earlier.seq,))
        if not stored or stored[0][0] != earlier.mac:
            return RoutineResult(
                path,
                False,
                f"the checkpoint {path} names another record {earlier.seq} than the trail "
                "holds: the trail was replaced or rolled back. The checkpoint was kept; run "
                f"`itp audit verify --checkpoint {path}`",
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        trail.checkpoint(path)
    except (OSError, FileRefused, StoreError) as exc:
        return RoutineResult(path, False, f"the checkpoint could not be written to {path}: {exc}")
    return RoutineResult(path, True, f"audit checkpoint: record {head.seq} -> {path}{note}")
