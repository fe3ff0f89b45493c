"""A real PostgreSQL server for the clinic tests, started by the tests themselves.

Skipped, with the reason printed, only when the server binaries are absent."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from programmer.clinic import server_schema
from tests.clinic.pgserver import MISSING, PgServer, find_bin_dir, running_server

SYNC_ROLE, SYNC_PW = "itp_sync", "sync-pw-for-tests"
REVIEW_ROLE, REVIEW_PW = "itp_review", "review-pw-for-tests"
_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    if find_bin_dir() is None:
        pytest.skip(MISSING)
    with running_server() as server:
        yield server


@dataclass(frozen=True)
class Clinic:
    server: PgServer
    db: str

    @property
    def sync_url(self) -> str:
        return self.server.url(SYNC_ROLE, self.db, SYNC_PW)

    @property
    def review_url(self) -> str:
        return self.server.url(REVIEW_ROLE, self.db, REVIEW_PW)

    @property
    def admin_url(self) -> str:
        return self.server.url("clinic_admin", self.db, "admin-pw-for-tests")

    def admin(self) -> psycopg.Connection[object]:
        return psycopg.connect(self.admin_url, autocommit=True)


@pytest.fixture
def clinic(pg: PgServer) -> Iterator[Clinic]:
    """A fresh clinic database with the schema and the two roles."""
    name = f"clinic_{next(_names)}"
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    made = Clinic(pg, name)
    with made.admin() as conn:
        server_schema.install(conn)
        server_schema.create_roles(
            conn,
            sync_role=SYNC_ROLE,
            sync_password=SYNC_PW,
            review_role=REVIEW_ROLE,
            review_password=REVIEW_PW,
        )
    yield made
