"""Nothing a safety decision reads may be editable unseen (issue 13, section 2).

Each test edits the database with plain sqlite3, as the issue's attacker did: a nurse's
role set to physician, the cached refill changed from 20 to 24 mL, an uncertain outcome
marked applied, a lockout cleared. Before row seals `itp audit verify` said ok and the
edited value was used; now it is found where it is read (and refused) and by verify.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from programmer.store import (
    MAX_FAILED_SIGN_INS,
    Accounts,
    Action,
    AuditTrail,
    AuthError,
    NotAllowed,
    Principal,
    Problem,
    PumpEvent,
    Records,
    Role,
    Store,
    open_store,
)
from programmer.store.accounts import AccountTampered
from programmer.store.schema import MIGRATIONS
from programmer.store.seals import TamperedRow

from .conftest import FAST_HASHER, FakeClock

ADMIN_PW = "admin-secret-1"
NURSE_PW = "nurse-secret-1"
DOC_PW = "doctor-secret-1"
SERIAL = "ITP40-000123"
ML = 1_000_000  # nL


@pytest.fixture
def clinic(
    store: Store, trail: AuditTrail, accounts: Accounts, records: Records
) -> Iterator[tuple[Store, AuditTrail, Accounts, Records]]:
    accounts.add("root", Role.ADMIN, ADMIN_PW, actor=None)
    admin = accounts.sign_in("root", ADMIN_PW)
    accounts.add("nina", Role.NURSE, NURSE_PW, actor=admin)
    accounts.add("dr.lee", Role.PHYSICIAN, DOC_PW, actor=admin)
    yield store, trail, accounts, records


def _raw(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    """An edit from outside itp: another connection, no key."""
    assert store.path is not None
    conn = sqlite3.connect(store.path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def _verify_finds(trail: AuditTrail, table: str, words: str) -> None:
    result = trail.verify()
    assert not result.ok
    assert result.problem is Problem.ROW_ALTERED
    assert any(p.table == table for p in result.row_problems)
    assert words in result.message


def test_a_nurse_made_physician_in_the_database_cannot_program(clinic) -> None:
    store, trail, accounts, _ = clinic
    assert trail.verify().ok
    nurse_before = accounts.sign_in("nina", NURSE_PW)
    _raw(store, "UPDATE accounts SET role = 'physician' WHERE name = 'nina'")
    with pytest.raises(AccountTampered):
        accounts.sign_in("nina", NURSE_PW)
    with pytest.raises(NotAllowed):  # the role she signed in with
        accounts.authorize(nurse_before, Action.PROGRAM)
    with pytest.raises(AccountTampered):  # the role the edited row claims
        accounts.authorize(Principal("nina", Role.PHYSICIAN), Action.PROGRAM)
    _verify_finds(trail, "accounts", "nina")
    # The physician's account is untouched and still works.
    doc = accounts.sign_in("dr.lee", DOC_PW)
    accounts.authorize(doc, Action.PROGRAM)


def test_an_old_account_row_put_back_whole_is_found_by_verify(clinic) -> None:
    store, trail, accounts, _ = clinic
    admin = accounts.sign_in("root", ADMIN_PW)
    old = store.query("SELECT * FROM accounts WHERE name = 'nina'")[0]
    accounts.disable("nina", actor=admin)
    columns = [r[1] for r in store.query("PRAGMA table_info(accounts)")]
    _raw(store, "DELETE FROM accounts WHERE name = 'nina'")
    _raw(
        store,
        f"INSERT INTO accounts ({', '.join(columns)}) VALUES ({', '.join('?' * len(old))})",
        old,
    )
    _verify_finds(trail, "accounts", "nina is enabled")


def test_deleting_every_account_does_not_open_a_first_admin_without_password(clinic) -> None:
    store, _, accounts, _ = clinic
    _raw(store, "DELETE FROM accounts")
    assert not accounts.is_empty()
    with pytest.raises(AuthError):
        accounts.add("mallory", Role.ADMIN, "mallory-secret-1", actor=None)


def test_the_cached_refill_edited_from_20_to_24_ml_is_not_trusted(clinic) -> None:
    store, trail, _, records = clinic
    records.upsert_pump(SERIAL, "ITP-40")
    at = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    records.save_events(
        SERIAL,
        [
            PumpEvent(1, at, "program", {"crc": 1}),
            PumpEvent(2, at, "refill", {"reservoir_nl": 20 * ML}),
        ],
    )
    stored = records.last_event_of_kind(SERIAL, "refill")
    assert stored is not None and stored.data["reservoir_nl"] == 20 * ML
    _raw(
        store,
        "UPDATE pump_events SET data = replace(data, '20000000', '24000000') WHERE seq = 2",
    )
    with pytest.raises(TamperedRow, match="stored pump event"):
        records.last_event_of_kind(SERIAL, "refill")
    with pytest.raises(TamperedRow):
        records.events(SERIAL)
    _verify_finds(trail, "pump_events", "stored pump event")


def test_an_uncertain_outcome_marked_applied_is_found(clinic) -> None:
    store, trail, accounts, records = clinic
    records.upsert_pump(SERIAL, "ITP-40")
    doc = accounts.sign_in("dr.lee", DOC_PW)
    sent = records.record_prescription_sent(doc, SERIAL, {"mode": "flex"}, {"crc": 7})
    records.set_prescription_outcome(sent, "uncertain")
    assert records.uncertain_prescriptions(SERIAL) == [sent]
    assert records.prescription_program(sent) == {"crc": 7}
    _raw(store, "UPDATE prescriptions_sent SET outcome = 'applied' WHERE id = ?", (sent,))
    with pytest.raises(TamperedRow, match="prescription sent"):
        records.uncertain_prescriptions(SERIAL)
    with pytest.raises(TamperedRow):
        records.unresolved_prescriptions(SERIAL)
    _verify_finds(trail, "prescriptions_sent", "prescription sent")


def test_a_refill_record_and_a_setting_edited_are_found(clinic) -> None:
    store, trail, accounts, records = clinic
    records.upsert_pump(SERIAL, "ITP-40")
    nurse = accounts.sign_in("nina", NURSE_PW)
    records.record_refill(nurse, SERIAL, removed_nl=4 * ML, added_nl=20 * ML)
    admin = accounts.sign_in("root", ADMIN_PW)
    records.set_setting(admin, "checkpoint_folder", "/backups")
    assert records.refills(SERIAL)[0].added_nl == 20 * ML
    _raw(store, "UPDATE refills SET added_nl = ?", (24 * ML,))
    with pytest.raises(TamperedRow, match="refill record"):
        records.refills(SERIAL)
    _raw(store, "UPDATE settings SET value = '\"/tmp\"'")
    with pytest.raises(TamperedRow, match="setting"):
        records.get_setting("checkpoint_folder")
    result = trail.verify()
    assert {p.table for p in result.row_problems} >= {"refills", "settings"}


def test_a_lockout_cleared_in_the_database_does_not_let_anyone_in(clinic, clock: FakeClock) -> None:
    store, trail, accounts, _ = clinic
    for _ in range(MAX_FAILED_SIGN_INS):
        with pytest.raises(AuthError):
            accounts.sign_in("nina", "not-her-password")
    _raw(store, "UPDATE accounts SET failed_count = 0, locked_until_s = NULL WHERE name = 'nina'")
    with pytest.raises(AccountTampered):
        accounts.sign_in("nina", NURSE_PW)
    _verify_finds(trail, "accounts", "nina")


def test_itp_audit_verify_reports_an_edited_row(
    clinic, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key_path: Path
) -> None:
    from programmer.store.cli import main_audit

    store, *_ = clinic
    _raw(store, "UPDATE accounts SET role = 'physician' WHERE name = 'nina'")
    monkeypatch.setenv("ITP_PASSWORD", ADMIN_PW)
    args = ["verify", "--db", str(store.path), "--audit-key", str(key_path), "--user", "root"]
    assert main_audit(args) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "nina" in out and "changed outside itp" in out


def test_rows_of_a_version_1_database_are_sealed_once_on_upgrade(
    db_path: Path, key_path: Path, clock: FakeClock
) -> None:
    conn = sqlite3.connect(db_path)
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("INSERT INTO pumps VALUES (?, 'ITP-40', NULL, 'x', 0, 'x', 0)", (SERIAL,))
    conn.execute(
        "INSERT INTO pump_events VALUES (?, 1, '2026-02-01T09:00:00+00:00', 1769936400,"
        " 'refill', '{\"reservoir_nl\":20000000}', 'x')",
        (SERIAL,),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with open_store(db_path, clock=clock) as store:
        trail = AuditTrail.open(store, key_path)
        records = Records(store, trail)
        event = records.last_event_of_kind(SERIAL, "refill")
        assert event is not None and event.data["reservoir_nl"] == 20 * ML
        assert trail.verify().ok
        (sealing,) = trail.query()
        assert sealing.after_value() == {"row_seals": "itp-row-v1", "sealed_rows": 1}
    # Once sealed, an unsealed row is an edit, never sealed again.
    _raw_path(db_path, "UPDATE pump_events SET seal = NULL")
    _raw_path(db_path, "INSERT INTO meta VALUES ('legacy_rows_unsealed', '1')")
    with open_store(db_path, clock=clock) as store:
        trail = AuditTrail.open(store, key_path)
        with pytest.raises(TamperedRow):
            Records(store, trail).last_event_of_kind(SERIAL, "refill")
        assert len(trail.query()) == 1


def _raw_path(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


def test_accounts_fixture_uses_cheap_hashing(accounts: Accounts) -> None:
    assert accounts.hasher is FAST_HASHER
