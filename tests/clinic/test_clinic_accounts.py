"""A clinic account works on every programmer that syncs; a disabled account is disabled
everywhere at the next sync; lockouts travel; two offline edits merge by the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from programmer.clinic.connection import parse_url
from programmer.clinic.merge import merge
from programmer.clinic.run import run_sync
from programmer.clinic.tables import ACCOUNTS
from programmer.store import (
    AccountDisabled,
    AccountLocked,
    Accounts,
    AuditTrail,
    AuthError,
    open_store,
)
from tests.clinic.conftest import Clinic
from tests.clinic.visitdb import FAST_HASHER, make_visit_db


def _accounts(db: Path, key: Path) -> tuple[Accounts, object]:
    store = open_store(db, create=False)
    trail = AuditTrail.open(store, key)
    return Accounts(store, trail, FAST_HASHER), store


@pytest.fixture
def two(clinic: Clinic, tmp_path: Path) -> tuple[Clinic, tuple[Path, Path], tuple[Path, Path]]:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    db_a, key_a, _ = make_visit_db(a)
    db_b, key_b, _ = make_visit_db(b, serial="ITP40-000002")
    return clinic, (db_a, key_a), (db_b, key_b)


def test_an_account_added_on_one_programmer_signs_in_on_another(two) -> None:  # type: ignore[no-untyped-def]
    clinic, (db_a, key_a), (db_b, key_b) = two
    url = parse_url(clinic.sync_url)
    accounts, store = _accounts(db_a, key_a)
    admin = accounts.sign_in("admin", "admin-password")
    accounts.add("nurse.kim", "nurse", "nurse-password", actor=admin)
    store.close()  # type: ignore[attr-defined]
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    accounts_b, store_b = _accounts(db_b, key_b)
    assert accounts_b.sign_in("nurse.kim", "nurse-password").name == "nurse.kim"
    # the change came with an audit record on b
    rows = store_b.query(  # type: ignore[attr-defined]
        "SELECT after, outcome FROM audit WHERE action = 'account_changed' AND outcome = 'synced'"
    )
    assert any('"name":"nurse.kim"' in r[0] for r in rows)
    store_b.close()  # type: ignore[attr-defined]


def test_disabled_on_one_programmer_is_disabled_everywhere_at_next_sync(two) -> None:  # type: ignore[no-untyped-def]
    clinic, (db_a, key_a), (db_b, key_b) = two
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)  # both know dr.lee now
    accounts, store = _accounts(db_a, key_a)
    accounts.disable("dr.lee", actor=accounts.sign_in("admin", "admin-password"), reason="left")
    store.close()  # type: ignore[attr-defined]
    accounts_b, store_b = _accounts(db_b, key_b)
    assert accounts_b.sign_in("dr.lee", "doctor-password").name == "dr.lee"  # not yet synced
    store_b.close()  # type: ignore[attr-defined]
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    accounts_b, store_b = _accounts(db_b, key_b)
    with pytest.raises(AccountDisabled):
        accounts_b.sign_in("dr.lee", "doctor-password")
    store_b.close()  # type: ignore[attr-defined]


def test_a_lockout_travels(two) -> None:  # type: ignore[no-untyped-def]
    clinic, (db_a, key_a), (db_b, key_b) = two
    url = parse_url(clinic.sync_url)
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    accounts, store = _accounts(db_a, key_a)
    for _ in range(5):
        with pytest.raises(AuthError):
            accounts.sign_in("dr.lee", "wrong-password")
    store.close()  # type: ignore[attr-defined]
    run_sync(db_a, key_a, url)
    run_sync(db_b, key_b, url)
    accounts_b, store_b = _accounts(db_b, key_b)
    with pytest.raises(AccountLocked):
        accounts_b.sign_in("dr.lee", "doctor-password")
    store_b.close()  # type: ignore[attr-defined]


def test_two_offline_edits_merge_field_by_field() -> None:
    base = {"name": "x", "role": "nurse", "password_hash": "h0", "enabled": 1,
            "failed_count": 0, "locked_until_s": None}  # fmt: skip
    here = {**base, "enabled": 1, "password_hash": "h1"}  # a new password here
    there = {**base, "enabled": 0}  # disabled there
    merged = merge(ACCOUNTS, here, base, there)
    assert merged is not None
    assert merged["enabled"] == 0 and merged["password_hash"] == "h1"
    # both changed the same field: disabled wins, the later lock wins, the clinic's hash
    both = merge(ACCOUNTS, {**base, "enabled": 1, "locked_until_s": 50, "password_hash": "a"},
                 {**base, "enabled": 1}, {**base, "enabled": 0, "locked_until_s": 90,
                                           "password_hash": "b"})  # fmt: skip
    assert both is not None
    assert (both["enabled"], both["locked_until_s"], both["password_hash"]) == (0, 90, "b")
    # re-enabled here while disabled there (both changed): disabled wins
    again = merge(ACCOUNTS, {**base, "enabled": 1}, {**base, "enabled": 0}, {**base, "enabled": 0})
    assert again is not None and again["enabled"] == 1  # only here changed: the enable stands


def test_a_malformed_account_from_the_clinic_is_refused_not_applied(
    clinic: Clinic, tmp_path: Path
) -> None:
    import psycopg

    from programmer.clinic.errors import ClinicError

    db, key, _ = make_visit_db(tmp_path)
    url = parse_url(clinic.sync_url)
    run_sync(db, key, url)
    with psycopg.connect(clinic.admin_url) as conn:
        origin = conn.execute("SELECT id FROM itp.programmers").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO itp.shared_versions (kind, key, version, origin, state) VALUES"
            " ('accounts', 'mallory', 1, %s, %s)",
            (origin, '{"name":"mallory","role":"root","password_hash":"x","enabled":1,'
                     '"failed_count":0,"locked_until_s":null,"created_at":"","created_s":0,"created_by":null}'),
        )  # fmt: skip
    with pytest.raises(ClinicError, match="not valid"):
        run_sync(db, key, url)
    with open_store(db, create=False) as store:
        assert store.query("SELECT count(*) FROM accounts WHERE name = 'mallory'")[0][0] == 0
