"""A throwaway PostgreSQL server for the clinic tests, benchmarks and reliability runs.

initdb in a temporary folder, pg_ctl start on a free loopback port, password
authentication (scram) for every role, stopped and deleted at the end. No containers, no
system service. The server refuses to run as root, so as root the folder is given to the
`postgres` account the Debian package creates and the binaries run as that account.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ADMIN = "clinic_admin"
ADMIN_PASSWORD = "admin-pw-for-tests"


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when the server is not installed."""
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


MISSING = (
    "PostgreSQL server binaries (initdb, pg_ctl) are not installed: the clinic tests "
    "cannot start their server (run scripts/postgres.sh as root, or apt-get install postgresql)"
)


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    folder: Path

    def url(self, user: str = ADMIN, db: str = "clinic", password: str | None = None) -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{db}"

    @property
    def admin_url(self) -> str:
        return self.url(ADMIN, "postgres", ADMIN_PASSWORD)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("postgres")  # made by the Debian package
    return entry.pw_uid, entry.pw_gid


def _run(cmd: list[str], ids: tuple[int, int] | None) -> None:
    as_user = {} if ids is None else {"user": ids[0], "group": ids[1], "extra_groups": []}
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False, cwd="/", **as_user
    )
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError(MISSING)
    ids = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="itp-pg-"))
    data = folder / "data"
    pwfile = folder / "pw"
    pwfile.write_text(ADMIN_PASSWORD + "\n")
    if ids is not None:
        os.chown(folder, *ids)
        os.chown(pwfile, *ids)
    port = _free_port()
    try:
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", ADMIN, "--pwfile", str(pwfile),
             "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C"],
            ids,
        )  # fmt: skip
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=on -c full_page_writes=off -c max_connections=200"
        )
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
             str(folder / "log"), "-w", "-t", "60", "start"],
            ids,
        )  # fmt: skip
        yield PgServer("127.0.0.1", port, folder)
    finally:
        with contextlib.suppress(Exception):
            _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], ids)
        shutil.rmtree(folder, ignore_errors=True)
