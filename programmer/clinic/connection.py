"""Opening the clinic database: the URL checked where it enters, TLS verified off loopback.

`postgresql://USER@HOST:PORT/DB`; the password from ITP_CLINIC_PASSWORD or the URL.
A host that is not loopback gets `sslmode=verify-full` (the server's certificate
checked against the system's or PGSSLROOTCERT's authorities and its name), and a URL
that asks for less is refused. Every connection has a connect timeout and a statement
timeout, so no sync waits for ever on a silent network.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from programmer.clinic.errors import ClinicUnreachable, ClinicUrlError

PASSWORD_ENV = "ITP_CLINIC_PASSWORD"
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 120_000
MAX_URL = 2048
_WEAK_TLS = {"disable", "allow", "prefer", "require", "verify-ca"}


@dataclass(frozen=True)
class ClinicUrl:
    user: str
    host: str
    port: int
    database: str
    password: str | None
    sslmode: str

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def shown(self) -> str:
        """The URL without its password, for messages and logs."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_url(text: str) -> ClinicUrl:
    """Checks the clinic URL; ClinicError names what is wrong with it."""
    if len(text) > MAX_URL:
        raise ClinicUrlError(f"--clinic: the URL is {len(text)} characters; at most {MAX_URL}")
    parts = urlsplit(text)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ClinicUrlError("--clinic: give a postgresql://USER@HOST:PORT/DB URL")
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise ClinicUrlError(f"--clinic: the port is not a number from 1 to 65535 ({exc})") from exc
    if not parts.hostname:
        raise ClinicUrlError("--clinic: the URL names no host (postgresql://USER@HOST:PORT/DB)")
    if not parts.username:
        raise ClinicUrlError("--clinic: the URL names no user (postgresql://USER@HOST:PORT/DB)")
    database = parts.path.lstrip("/")
    if not database or "/" in database:
        raise ClinicUrlError("--clinic: the URL names no database (postgresql://USER@HOST:PORT/DB)")
    query = parse_qs(parts.query)
    unknown = set(query) - {"sslmode", "sslrootcert"}
    if unknown:
        raise ClinicUrlError(f"--clinic: unknown URL option(s) {', '.join(sorted(unknown))}")
    host = parts.hostname
    wanted = query.get("sslmode", [""])[0]
    if is_loopback(host):
        sslmode = wanted or "prefer"
    else:
        if wanted in _WEAK_TLS:
            raise ClinicUrlError(
                f"--clinic: sslmode={wanted} does not verify the server; off this machine "
                "the clinic database is reached only with sslmode=verify-full"
            )
        sslmode = "verify-full"
    password = unquote(parts.password) if parts.password else os.environ.get(PASSWORD_ENV)
    return ClinicUrl(unquote(parts.username), host, port, unquote(database), password, sslmode)


def connect(url: ClinicUrl | str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection with timeouts; ClinicUnreachable (one line) when it cannot be had."""
    target = parse_url(url) if isinstance(url, str) else url
    try:
        return psycopg.connect(
            host=target.host,
            port=target.port,
            dbname=target.database,
            user=target.user,
            password=target.password,
            sslmode=target.sslmode,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="itp",
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            autocommit=autocommit,
            # TCP keepalives: a dropped network ends the sync instead of hanging it
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClinicUnreachable(
            f"cannot reach the clinic database {target.shown()}: {reason}"
        ) from exc
