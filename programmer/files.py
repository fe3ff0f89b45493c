"""Reading a file someone handed in (key, prescription, checkpoint, export) with a bound.

`st_size` is 0 for /dev/zero and a FIFO, and a sparse file claims gigabytes it never
stored: a plain read() hangs or exhausts memory. Only regular files are read, the size is
checked before reading, and the read itself stops one byte past the bound, so a file that
grows meanwhile is still refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileRefused(OSError):
    """The file cannot be used: missing, not a regular file, too large, or unreadable.

    An OSError so callers that already turn OSError into a clear message keep doing so;
    the message names the file, what it was for and the limit.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def read_bounded(path: Path | str, max_bytes: int, what: str) -> bytes:
    """The whole content of a regular file of at most max_bytes bytes.

    `what` names the file for the user ("the audit key file"). Opened non-blocking so a
    FIFO with no writer cannot hang the open itself.
    """
    where = f"{what} {path}"
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused(f"{where}: no such file") from None
    except IsADirectoryError:
        raise FileRefused(f"{where}: is a folder, not a file") from None
    except PermissionError:
        raise FileRefused(f"{where}: permission denied") from None
    except OSError as exc:
        raise FileRefused(f"{where}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
            raise FileRefused(f"{where}: is {kind}, not a regular file; it was not read")
        if info.st_size > max_bytes:
            raise FileRefused(
                f"{where}: {info.st_size:,} bytes, more than the limit of {max_bytes:,} bytes; "
                "it was not read"
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise FileRefused(f"{where}: more than the limit of {max_bytes:,} bytes")
        return b"".join(chunks)
    except FileRefused:
        raise
    except OSError as exc:
        raise FileRefused(f"{where}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_bounded_text(path: Path | str, max_bytes: int, what: str) -> str:
    """read_bounded, decoded as UTF-8 (FileRefused when it is not)."""
    data = read_bounded(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(f"{what} {path}: not UTF-8 text") from None


def create_private(path: Path | str, *, exclusive: bool = False) -> int:
    """Open for writing a new or truncated file with mode 0600 (owner only); returns the fd.

    An existing file keeps its inode, so its mode is tightened to 0600 too.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    if exclusive:
        flags |= os.O_EXCL
    fd = os.open(path, flags, 0o600)
    if os.name == "posix":
        os.fchmod(fd, 0o600)
    return fd


def write_private_atomically(path: Path, data: bytes) -> None:
    """Write to a 0600 temporary file beside `path`, fsync, then rename over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = create_private(tmp)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
