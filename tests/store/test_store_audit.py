from __future__ import annotations

import io
import json
import shutil
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programmer.store import (
    AppendOnlyViolation,
    AuditAction,
    AuditKeyError,
    AuditTrail,
    Checkpoint,
    Problem,
    Store,
    StoreReadOnly,
    open_memory_store,
    open_store,
    verify_export,
)
from programmer.store.audit_chain import GENESIS_MAC, compute_mac, mac_message

from .conftest import FakeClock


def fill(trail: AuditTrail, n: int, clock: FakeClock | None = None) -> None:
    for i in range(n):
        trail.append(
            AuditAction.INTERROGATED,
            account="phil",
            role="physician",
            pump_serial=f"ITP40-{i % 3:06d}",
            before={"rate_nl_day": i},
            after={"rate_nl_day": i + 1},
            reason=f"reason {i}",
            outcome="ok",
        )
        if clock is not None:
            clock.advance(hours=1)


def raw(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    """An attacker's write: bypass the triggers on a separate raw connection."""
    assert store.path is not None
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    conn.execute(sql, params)
    conn.close()


def test_append_stores_every_field_and_chains(trail: AuditTrail, clock: FakeClock) -> None:
    first = trail.append(
        AuditAction.FINDING_OVERRIDDEN,
        account="phil",
        role="physician",
        pump_serial="ITP40-000123",
        before={"b": 1, "a": [1.5, "µg"]},
        after={"code": "over_max_daily_dose"},
        reason="palliative care, agreed with patient",
        outcome="accepted",
    )
    clock.advance(seconds=90)
    second = trail.append(AuditAction.SIGN_OUT, account="phil", role="physician")
    assert (first.seq, second.seq) == (1, 2)
    assert first.ts == "2026-03-01T09:00:00.000000Z"
    assert first.ts_s == int(datetime(2026, 3, 1, 9, 0, tzinfo=UTC).timestamp())
    assert second.ts_s - first.ts_s == 90
    assert first.before == '{"a":[1.5,"µg"],"b":1}'  # canonical JSON
    assert first.after_value() == {"code": "over_max_daily_dose"}
    assert first.prev_mac == GENESIS_MAC
    assert second.prev_mac == first.mac
    assert second.pump_serial is None and second.reason is None
    assert trail.query() == [first, second]


def test_unknown_action_is_refused(trail: AuditTrail) -> None:
    with pytest.raises(ValueError):
        trail.append("reprogram_everything", account="x", role="admin")
    assert trail.verify().records == 0


def test_mac_encoding_is_the_documented_one() -> None:
    row = (7, "2026-03-01T09:00:00.000000Z", 1772355600, "sign_in", "zoë", "nurse", None,
           None, '{"a":1}', "", None, GENESIS_MAC)  # fmt: skip
    expected = (
        b"itp-audit-v1;I7;S27:2026-03-01T09:00:00.000000Z;I1772355600;S7:sign_in;"
        b'S3:zo\xc3\xab;S5:nurse;N;N;S7:{"a":1};S0:;N;S64:' + GENESIS_MAC.encode() + b";"
    )
    assert mac_message(row) == expected
    import hashlib
    import hmac

    for key in (bytes(range(32)), b"k" * 64, b"long" * 40):
        assert compute_mac(key, row) == hmac.new(key, expected, hashlib.sha256).hexdigest()


def test_triggers_refuse_update_and_delete(store: Store, trail: AuditTrail) -> None:
    fill(trail, 3)
    with pytest.raises(AppendOnlyViolation), store.write() as conn:
        conn.execute("UPDATE audit SET reason = 'nothing happened' WHERE seq = 2")
    with pytest.raises(AppendOnlyViolation), store.write() as conn:
        conn.execute("DELETE FROM audit WHERE seq = 3")
    assert store.path is not None
    other = sqlite3.connect(store.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        other.execute("DELETE FROM audit")
    other.close()
    assert trail.verify().records == 3


def test_verify_names_the_first_altered_record(store: Store, trail: AuditTrail) -> None:
    fill(trail, 20)
    assert trail.verify().ok
    raw(store, "UPDATE audit SET after = '{\"rate_nl_day\":999}' WHERE seq = 12")
    raw(store, "UPDATE audit SET reason = 'x' WHERE seq = 15")
    result = trail.verify()
    assert not result.ok
    assert (result.first_bad_seq, result.problem) == (12, Problem.BAD_MAC)
    assert result.records == 11
    assert "12" in result.message


def test_verify_detects_a_deleted_record(store: Store, trail: AuditTrail) -> None:
    fill(trail, 10)
    raw(store, "DELETE FROM audit WHERE seq = 4")
    result = trail.verify()
    assert (result.first_bad_seq, result.problem) == (4, Problem.MISSING)


def test_truncation_is_only_caught_with_a_checkpoint(
    store: Store, trail: AuditTrail, tmp_path: Path
) -> None:
    fill(trail, 10)
    point = trail.checkpoint(tmp_path / "head.json")
    assert (point.seq, point.mac) == (10, trail.query()[-1].mac)
    raw(store, "DELETE FROM audit WHERE seq > 7")
    assert trail.verify().ok  # without the checkpoint a shorter trail looks whole
    result = trail.verify(Checkpoint.load(tmp_path / "head.json"))
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 8, Problem.TRUNCATED)


def test_rollback_to_an_old_copy_is_caught(
    db_path: Path, key_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    with open_store(db_path, clock=clock) as store:
        trail = AuditTrail.open(store, key_path)
        fill(trail, 5)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(db_path, tmp_path / "old.sqlite3")
        fill(trail, 5)
        point = trail.checkpoint()
    # The old copy comes back and gets new, validly chained records on top.
    with open_store(tmp_path / "old.sqlite3", clock=clock) as store:
        trail = AuditTrail.open(store, key_path)
        clock.advance(minutes=1)  # otherwise the replayed records would be identical
        fill(trail, 5)
        assert trail.verify().ok
        result = trail.verify(point)
        assert (result.ok, result.first_bad_seq, result.problem) == (False, 10, Problem.ROLLED_BACK)


def test_checkpoint_of_the_current_head_verifies(trail: AuditTrail, tmp_path: Path) -> None:
    empty = trail.checkpoint()
    assert trail.verify(empty).ok
    fill(trail, 4)
    point = trail.checkpoint(tmp_path / "cp.json")
    fill(trail, 4)
    assert trail.verify(Checkpoint.load(tmp_path / "cp.json")).ok
    assert trail.verify(point).ok


def test_wrong_key_is_named(store: Store, trail: AuditTrail, tmp_path: Path) -> None:
    fill(trail, 3)
    other = AuditTrail(store, b"\x01" * 32)
    result = other.verify()
    assert (result.ok, result.problem) == (False, Problem.WRONG_KEY)
    with pytest.raises(AuditKeyError, match="does not belong"):
        other.append(AuditAction.EXPORT, account="a", role="admin")
    assert trail.verify().records == 3


def test_key_file_is_created_private_and_required_later(store: Store, key_path: Path) -> None:
    assert not key_path.exists()
    trail = AuditTrail.open(store, key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert len(key_path.read_bytes()) == 32
    fill(trail, 1)
    key_path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        AuditTrail.open(store, key_path)
    key_path.unlink()
    with pytest.raises(AuditKeyError, match="restore the key"):
        AuditTrail.open(store, key_path)
    assert not key_path.exists()  # no silent new key


def test_fail_closed_when_the_intent_cannot_be_written(db_path: Path, key_path: Path) -> None:
    with open_store(db_path) as store:
        fill(AuditTrail.open(store, key_path), 1)
    sent: list[str] = []

    def program_pump(trail: AuditTrail) -> None:
        # What the pump session does: intent first, send only if it was recorded.
        trail.append(AuditAction.PROGRAM_INTENT, account="phil", role="physician")
        sent.append("program")

    with open_store(db_path, read_only=True) as store, pytest.raises(StoreReadOnly):
        program_pump(AuditTrail.open(store, key_path))
    assert sent == []


def test_query_filters_by_pump_account_action_and_time(trail: AuditTrail, clock: FakeClock) -> None:
    start = clock.now
    fill(trail, 30, clock)  # one record an hour, pumps cycling 0,1,2
    trail.append(AuditAction.EXPORT, account="nina", role="nurse")
    hits = trail.query(
        pump="ITP40-000001", since=start + timedelta(hours=5), until=start + timedelta(hours=20)
    )
    assert [r.seq for r in hits] == [8, 11, 14, 17, 20]
    assert [r.seq for r in trail.query(account="nina")] == [31]
    assert [r.seq for r in trail.query(action=AuditAction.EXPORT)] == [31]
    assert len(trail.query(limit=4)) == 4


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_round_trips_and_verifies_elsewhere(
    trail: AuditTrail, key_path: Path, tmp_path: Path, fmt: str
) -> None:
    fill(trail, 5)
    trail.append(
        AuditAction.FINDING_OVERRIDDEN,
        account="phil",
        role="physician",
        reason='line one\nline "two"\r, with comma;\r and µ',
        after={"note": "=cmd|' /C calc'!A0"},
    )
    out = io.StringIO()
    assert trail.export(fmt, out) == 6
    path = tmp_path / f"trail.{fmt}"
    path.write_text(out.getvalue(), encoding="utf-8")
    key = key_path.read_bytes()
    result = verify_export(path, key, trail.checkpoint())
    assert result.ok and result.records == 6
    if fmt == "json":
        body = json.loads(out.getvalue())
        assert body["records"][5]["reason"].startswith("line one\n")
        assert body["key_id"] == trail.key_id
    tampered = path.read_text(encoding="utf-8").replace("reason 3", "reason 9")
    path.write_text(tampered, encoding="utf-8")
    bad = verify_export(path, key)
    assert (bad.ok, bad.first_bad_seq, bad.problem) == (False, 4, Problem.BAD_MAC)


def test_the_verifier_in_the_docs_works(
    trail: AuditTrail, key_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(trail, 3)
    trail.append(AuditAction.SIGN_IN, account="zoë", role="nurse", reason='ünïcödé, "q"\nx')
    docs = (Path(__file__).parents[2] / "docs" / "store.md").read_text(encoding="utf-8")
    blocks = [block.split("```")[0] for block in docs.split("```python\n")[1:]]
    snippet = next(block for block in blocks if "itp-audit-v1" in block)
    monkeypatch.chdir(tmp_path)
    shutil.copy(key_path, tmp_path / "audit.key")
    with open(tmp_path / "trail.csv", "w", encoding="utf-8", newline="") as out:
        trail.export("csv", out)
    exec(snippet, {})  # raises AssertionError on a bad record
    text = (tmp_path / "trail.csv").read_text(encoding="utf-8")
    (tmp_path / "trail.csv").write_text(text.replace("zoë", "zoe"), encoding="utf-8")
    with pytest.raises(AssertionError, match="record 4 is bad"):
        exec(snippet, {})


def test_multi_process_verify_agrees_with_one_walk(store: Store, trail: AuditTrail) -> None:
    fill(trail, 10)
    point = trail.checkpoint()

    def both() -> tuple[object, object]:
        one, many = trail.verify(point, workers=1), trail.verify(point, workers=2)
        return (one.ok, one.first_bad_seq, one.problem, one.records), (
            many.ok,
            many.first_bad_seq,
            many.problem,
            many.records,
        )

    one, many = both()
    assert one == many == (True, None, None, 10)
    raw(store, "UPDATE audit SET prev_mac = ? WHERE seq = 6", ("f" * 64,))  # first of run 2
    one, many = both()
    assert one == many == (False, 6, Problem.BROKEN_LINK, 5)
    raw(store, "DELETE FROM audit WHERE seq = 5")  # last of run 1
    one, many = both()
    assert one == many == (False, 5, Problem.MISSING, 4)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=5, max_size=5),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    ),
)
def test_any_text_round_trips_through_both_exports(
    tmp_path: Path, texts: list[str | None], value: object
) -> None:
    store = open_memory_store()
    trail = AuditTrail(store, b"k" * 32)
    account, role, pump, reason, outcome = texts
    trail.append(
        AuditAction.EXPORT, account=account, role=role, pump_serial=pump,
        before=value, after={"v": value}, reason=reason, outcome=outcome,
    )  # fmt: skip
    assert trail.verify().ok
    for fmt in ("csv", "json"):
        path = tmp_path / f"t.{fmt}"
        with open(path, "w", encoding="utf-8", newline="") as out:
            trail.export(fmt, out)
        result = verify_export(path, b"k" * 32)
        assert result.ok and result.records == 1, (fmt, result)
    store.close()


def test_creating_a_key_never_replaces_one(tmp_path: Path) -> None:
    from programmer.store.audit_key import create_key

    path = tmp_path / "cfg" / "audit.key"
    first = create_key(path)
    assert create_key(path) == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["audit.key"]  # no temp left


def test_a_worker_thread_appends_while_the_gui_thread_verifies_and_exports(
    store: Store, trail: AuditTrail
) -> None:
    import threading

    errors: list[BaseException] = []

    def device_worker() -> None:
        try:
            for i in range(300):
                trail.append(AuditAction.HISTORY_READ, account="nina", role="nurse", reason=str(i))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    worker = threading.Thread(target=device_worker)
    worker.start()
    seen = []
    while worker.is_alive():
        result = trail.verify()
        assert result.ok, result.message
        seen.append(result.records)
        assert trail.export("json", io.StringIO()) >= result.records
    worker.join()
    assert errors == []
    assert trail.verify().records == 300
    assert seen == sorted(seen)  # each snapshot is a consistent prefix
