"""`itp sync --clinic URL` and the URL checked where it enters (TLS off loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from programmer.cli import main
from programmer.clinic.connection import parse_url
from programmer.clinic.errors import ClinicError
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import make_visit_db


def test_loopback_may_go_without_tls_elsewhere_only_verify_full() -> None:
    assert parse_url("postgresql://itp@127.0.0.1:5433/clinic").sslmode == "prefer"
    assert parse_url("postgresql://itp@localhost/clinic").port == 5432
    assert parse_url("postgresql://itp@clinic.example.org/clinic").sslmode == "verify-full"
    assert (
        parse_url("postgresql://itp@10.1.2.3/clinic?sslmode=verify-full").sslmode == "verify-full"
    )
    for weak in ("disable", "require", "prefer", "verify-ca"):
        with pytest.raises(ClinicError, match="verify-full"):
            parse_url(f"postgresql://itp@clinic.example.org/clinic?sslmode={weak}")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://itp@h/db", "postgresql://"),
        ("postgresql://h/db", "no user"),
        ("postgresql://itp@h", "no database"),
        ("postgresql://itp@h:99999/db", "port"),
        ("postgresql://itp@h/db?options=-c%20x", "unknown URL option"),
        ("postgresql://itp@h/" + "d" * 3000, "at most 2048"),
    ],
)
def test_bad_urls_are_refused_naming_the_problem(url: str, says: str) -> None:
    with pytest.raises(ClinicError, match=says):
        parse_url(url)


def test_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITP_CLINIC_PASSWORD", "s3cret")
    assert parse_url("postgresql://itp@127.0.0.1/clinic").password == "s3cret"
    assert "s3cret" not in parse_url("postgresql://itp:other@127.0.0.1/clinic").shown()


def test_cli_sync_exit_codes(
    clinic: Clinic,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, key, _ = make_visit_db(tmp_path)
    base = ["sync", "--db", str(db), "--audit-key", str(key)]
    assert main([*base, "--clinic", clinic.sync_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pushed"]["audit"] > 0
    assert main([*base, "--clinic", clinic.sync_url]) == 0
    assert "sent nothing; received nothing" in capsys.readouterr().out
    assert main([*base, "--clinic", "postgresql://itp_sync@127.0.0.1:1/clinic"]) == 1
    assert "cannot reach the clinic database" in capsys.readouterr().err
    assert main([*base, "--clinic", "http://x"]) == 2
    assert main(["sync", "--db", str(tmp_path / "none.sqlite3"), "--clinic", clinic.sync_url]) == 2
    assert main(["sync"]) == 2
    # the sync role may not set up the schema; the clinic's admin can
    monkeypatch.setenv("ITP_CLINIC_PASSWORD", "wrong")
    assert main([*base, "--clinic", clinic.server.url("itp_sync", clinic.db)]) == 1


def test_a_database_restored_from_an_old_copy_is_refused(
    clinic: Clinic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, key, _ = make_visit_db(tmp_path)
    old = tmp_path / "old.sqlite3"
    base = ["--audit-key", str(key), "--clinic", clinic.sync_url]
    assert main(["sync", "--db", str(db), *base]) == 0  # creates the clinic identity
    old.write_bytes(db.read_bytes())  # the backup, taken now
    from programmer.store import AuditTrail, open_store

    with open_store(db, create=False) as store:
        AuditTrail.open(store, key).append("interrogated", account="dr.lee", role="physician")
    assert main(["sync", "--db", str(db), *base]) == 0
    db.write_bytes(old.read_bytes())  # restored: one record fewer than the clinic holds
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    assert main(["sync", "--db", str(db), *base]) == 1
    assert "restored from an older copy" in capsys.readouterr().err
