"""Files handed in (issue 13, section 5): read with a bound, only regular files.

/dev/zero, a FIFO and a 4 GB sparse file used to hang or exhaust memory (st_size is 0
for devices and pipes). Every reader goes through programmer.files.read_bounded.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from programmer.cli_support import CliUsage, read_key_file
from programmer.files import FileRefused, read_bounded
from programmer.prescription import PrescriptionFileError, load_prescription_file
from programmer.store.audit_chain import Checkpoint, CheckpointError
from programmer.store.audit_export import ExportUnreadable, read_export
from programmer.store.audit_key import AuditKeyError, load_key

pytestmark = pytest.mark.skipif(os.name != "posix", reason="devices and FIFOs are POSIX")


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path, 0o600)
    return path


def _sparse(tmp_path: Path) -> Path:
    path = tmp_path / "sparse"
    with open(path, "wb") as handle:
        handle.truncate(4 * 1024**3)  # 4 GB that take no disk space
    path.chmod(0o600)
    return path


def _hostile(tmp_path: Path) -> dict[str, Path]:
    return {"dev-zero": Path("/dev/zero"), "fifo": _fifo(tmp_path), "sparse": _sparse(tmp_path)}


KINDS = ("dev-zero", "fifo", "sparse")


@pytest.mark.parametrize("kind", KINDS)
def test_read_bounded_refuses_without_reading(kind: str, tmp_path: Path) -> None:
    path = _hostile(tmp_path)[kind]
    started = time.monotonic()
    with pytest.raises(FileRefused) as refused:
        read_bounded(path, 1000, "the test file")
    assert time.monotonic() - started < 2
    message = str(refused.value)
    assert "the test file" in message and str(path) in message
    if kind == "sparse":
        assert "4,294,967,296 bytes" in message and "1,000 bytes" in message
    else:
        assert "not a regular file" in message


def test_read_bounded_reads_a_regular_file_and_refuses_one_over(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    assert read_bounded(path, 1000, "f") == b"x" * 1000
    with pytest.raises(FileRefused, match="1,000 bytes, more than the limit of 999 bytes"):
        read_bounded(path, 999, "f")
    with pytest.raises(FileRefused, match="no such file"):
        read_bounded(tmp_path / "nope", 10, "f")
    with pytest.raises(FileRefused, match="folder"):
        read_bounded(tmp_path, 10, "f")


@pytest.mark.parametrize("kind", KINDS)
def test_prescription_loader(kind: str, tmp_path: Path) -> None:
    with pytest.raises(PrescriptionFileError, match="prescription file"):
        load_prescription_file(_hostile(tmp_path)[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_clinic_key_file(kind: str, tmp_path: Path) -> None:
    with pytest.raises(CliUsage, match="key file"):
        read_key_file(_hostile(tmp_path)[kind])


@pytest.mark.parametrize("kind", ("fifo", "sparse"))
def test_audit_key_file(kind: str, tmp_path: Path) -> None:
    with pytest.raises(AuditKeyError, match="audit key file"):
        load_key(_hostile(tmp_path)[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint(kind: str, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint"):
        Checkpoint.load(_hostile(tmp_path)[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_export(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ExportUnreadable, match="audit export"):
        list(read_export(_hostile(tmp_path)[kind]))
