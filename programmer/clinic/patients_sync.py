"""Patients on the clinic: details (versioned), pumps over time, visits and trials.

Every programmer pushes the patient rows it made itself (`itp.patient_rows`, numbered per
programmer like `row_versions`) and pulls the others' into its own patients tables, so a
patient seen on laptop B is there with every version, pump, visit and trial.

Identities are the clinic's, never a programmer's row ids: a patient is its clinic
identifier, a pump its serial, a trial (programmer, its id there), a version (programmer,
its number there). `clinic_patient_map` says which local rows came from another
programmer (they are never pushed back) and where from.

Two edits of one patient made offline (docs/clinic.md): both versions are kept on every
programmer; the current one is the newest by its time (`at`, UTC; then the programmer id
and the version, so every programmer picks the same one). A version pulled after a newer
one is current here is stored below zero (-1, -2...: the patients code numbers the next
edit current + 1). Two versions made on the same version are a conflict while one of
them is current: `patient_conflicts` lists the other; the next edit of the patient (made
seeing both) ends it.

A pump serial linked to two different patients (on two programmers, offline) is a hard
conflict: neither link is changed, the second is not applied here, the sync's report
names it and it is kept in `clinic_patient_conflicts` until the clinic settles it.

A constant-flow pump's refill (`cf_refills`) is one of the patient's visits: it travels as
its own kind after visits, naming its pump by serial and its visit by clinic identity.

Pulls go kind by kind (patients, pumps, trials, visits, refills, trial entries, results), each
with its own watermark per programmer written in the same local transaction as the rows,
so what a row refers to is always pulled before it, and a cut sync resumes exactly.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from programmer.clinic.errors import ClinicError
from programmer.store import AuditAction, AuditTrail, Store
from programmer.store.audit_chain import canonical_json

if TYPE_CHECKING:
    import psycopg

    from programmer.clinic.sync import SyncReport

    PgConn = psycopg.Connection[Any]
else:
    PgConn = Any

KINDS = ("patient", "pump", "trial", "visit", "cf_refill", "trial_entry", "trial_result")
PAGE = 2000
MAX_CONTENT = 400_000  # a visit summary is at most 200 kB
MAX_TEXT = 200_000

LOCAL_DDL = (
    """CREATE TABLE IF NOT EXISTS clinic_patient_map (
        kind TEXT NOT NULL, local_key TEXT NOT NULL, origin TEXT NOT NULL,
        origin_key TEXT NOT NULL, base TEXT, PRIMARY KEY (kind, local_key)) STRICT""",
    """CREATE UNIQUE INDEX IF NOT EXISTS clinic_patient_map_by_origin
        ON clinic_patient_map (kind, origin, origin_key)""",
    """CREATE TABLE IF NOT EXISTS clinic_patient_pulled (
        origin TEXT NOT NULL, kind TEXT NOT NULL, last_oseq INTEGER NOT NULL,
        PRIMARY KEY (origin, kind)) STRICT""",
    """CREATE TABLE IF NOT EXISTS clinic_patient_conflicts (
        serial TEXT NOT NULL, clinic_id TEXT NOT NULL, origin TEXT NOT NULL,
        other_clinic_id TEXT NOT NULL, PRIMARY KEY (serial, clinic_id, origin)) STRICT""",
)

# What each kind sends: (local query of this programmer's rows, fields of the content).
_PATIENT_FIELDS = ("clinic_id", "version", "base", "name", "dob", "indication", "notes", "at",
                   "by", "reason", "created_at", "created_by")  # fmt: skip
_PUMP_FIELDS = ("clinic_id", "kind", "model", "serial", "implanted_on", "explanted_on",
                "explant_reason", "catheter_tip", "catheter_length_mm", "catheter_nl_per_cm",
                "flow_nl_day", "capacity_nl", "created_at", "created_by")  # fmt: skip
_TRIAL_FIELDS = ("id", "clinic_id", "drug", "kind", "conc_ng_ml", "rate_nl_day", "started_at",
                 "started_s", "created_at", "created_by")  # fmt: skip
_VISIT_FIELDS = ("id", "clinic_id", "serial", "kind", "at", "at_s", "account", "summary")
_CF_REFILL_FIELDS = ("clinic_id", "serial", "visit", "at", "at_s", "removed_nl", "added_nl",
                     "measured_flow_nl_day", "drugs", "account")  # fmt: skip
_ENTRY_FIELDS = ("trial", "seq", "kind", "at", "at_s", "amount_ng", "per_day", "scale", "score",
                 "effect", "note", "by")  # fmt: skip
_RESULT_FIELDS = ("trial", "response", "effective_dose_ng", "effect_duration_min", "decision",
                  "decided_by", "decided_at", "rationale")  # fmt: skip
FIELDS = {"patient": _PATIENT_FIELDS, "pump": _PUMP_FIELDS, "trial": _TRIAL_FIELDS,
          "visit": _VISIT_FIELDS, "cf_refill": _CF_REFILL_FIELDS, "trial_entry": _ENTRY_FIELDS, "trial_result": _RESULT_FIELDS}  # fmt: skip


def ensure_local(conn: sqlite3.Connection) -> None:
    for statement in LOCAL_DDL:
        conn.execute(statement)


# -- identities ------------------------------------------------------------------------------


class _Ids:
    """Local row <-> clinic identity, for rows made here and rows pulled."""

    def __init__(self, conn: sqlite3.Connection, origin: str) -> None:
        self.origin = origin
        self.pulled: dict[tuple[str, str], tuple[str, str]] = {
            (str(k), str(lk)): (str(o), str(ok))
            for k, lk, o, ok in conn.execute(
                "SELECT kind, local_key, origin, origin_key FROM clinic_patient_map"
            )
        }

    def of(self, kind: str, local_key: str) -> tuple[str, str]:
        return self.pulled.get((kind, local_key), (self.origin, local_key))

    def mine(self, kind: str, local_key: str) -> bool:
        return (kind, local_key) not in self.pulled


def _vid(ids: _Ids, pid: int, version: int) -> str:
    """A version's clinic identity: (programmer, its number there) as "origin/number"."""
    origin, okey = ids.of("patient", f"{pid}:{version}")
    return f"{origin}/{okey.split(':')[1]}"


def _trial_ref(ids: _Ids, trial_id: int) -> str:
    origin, key = ids.of("trial", str(trial_id))
    return f"{origin}/{key}"


def _visit_ref(ids: _Ids, visit_id: int | None) -> str | None:
    if visit_id is None:
        return None
    origin, key = ids.of("visit", str(visit_id))
    return f"{origin}/{key}"


def _own_rows(conn: sqlite3.Connection, ids: _Ids) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(kind, local key, clinic key, content) of every patient row made on this programmer."""
    out: list[tuple[str, str, str, dict[str, Any]]] = []
    for pid, version, name, dob, indication, notes, at, by, reason, cid, c_at, c_by in conn.execute(
        "SELECT v.patient_id, v.version, v.name, v.dob, v.indication, v.notes, v.at, v.by,"
        " v.reason, p.clinic_id, p.created_at, p.created_by FROM patient_versions v"
        " JOIN patients p ON p.id = v.patient_id ORDER BY v.patient_id, v.version"
    ):
        local_key = f"{pid}:{version}"
        if not ids.mine("patient", local_key):
            continue
        key = str(cid).lower()
        base = _base_of(conn, ids, int(pid), int(version))
        content = dict(zip(_PATIENT_FIELDS, (cid, version, base, name, dob, indication, notes,
                                             at, by, reason, c_at, c_by), strict=True))  # fmt: skip
        out.append(("patient", local_key, key, content))
    for row in conn.execute(
        "SELECT pp.id, p.clinic_id, pp.kind, pp.model, pp.serial, pp.implanted_on,"
        " pp.explanted_on, pp.explant_reason, pp.catheter_tip, pp.catheter_length_mm,"
        " pp.catheter_nl_per_cm, pp.flow_nl_day, pp.capacity_nl, pp.created_at, pp.created_by"
        " FROM patient_pumps pp JOIN patients p ON p.id = pp.patient_id ORDER BY pp.id"
    ):
        # Keyed by serial. A pump pulled from another programmer and explanted here is
        # this one's news to send.
        if ids.mine("pump", str(row[0])) or row[6] is not None:
            content = dict(zip(_PUMP_FIELDS, row[1:], strict=True))
            out.append(("pump", str(row[4]), str(row[1]).lower(), content))
    for row in conn.execute(
        "SELECT t.id, p.clinic_id, t.drug, t.kind, t.conc_ng_ml, t.rate_nl_day, t.started_at,"
        " t.started_s, t.created_at, t.created_by FROM trials t JOIN patients p"
        " ON p.id = t.patient_id ORDER BY t.id"
    ):
        if ids.mine("trial", str(row[0])):
            out.append(("trial", str(row[0]), str(row[1]).lower(),
                        dict(zip(_TRIAL_FIELDS, row, strict=True))))  # fmt: skip
    for row in conn.execute(
        "SELECT v.id, p.clinic_id, pp.serial, v.kind, v.at, v.at_s, v.account, v.summary"
        " FROM patient_visits v JOIN patients p ON p.id = v.patient_id"
        " LEFT JOIN patient_pumps pp ON pp.id = v.pump_id ORDER BY v.id"
    ):
        if ids.mine("visit", str(row[0])):
            out.append(("visit", str(row[0]), str(row[1]).lower(),
                        dict(zip(_VISIT_FIELDS, row, strict=True))))  # fmt: skip
    for row in conn.execute(
        "SELECT r.id, p.clinic_id, pp.serial, r.visit_id, r.at, r.at_s, r.removed_nl,"
        " r.added_nl, r.measured_flow_nl_day, r.drugs, r.account FROM cf_refills r"
        " JOIN patient_pumps pp ON pp.id = r.pump_id JOIN patients p ON p.id = pp.patient_id"
        " ORDER BY r.id"
    ):
        if ids.mine("cf_refill", str(row[0])):
            values = (row[1], row[2], _visit_ref(ids, row[3]), *row[4:])
            out.append(("cf_refill", str(row[0]), str(row[1]).lower(),
                        dict(zip(_CF_REFILL_FIELDS, values, strict=True))))  # fmt: skip
    for row in conn.execute(
        "SELECT e.trial_id, e.seq, e.kind, e.at, e.at_s, e.amount_ng, e.per_day, e.scale,"
        " e.score, e.effect, e.note, e.by, p.clinic_id FROM trial_entries e"
        " JOIN trials t ON t.id = e.trial_id JOIN patients p ON p.id = t.patient_id"
        " ORDER BY e.trial_id, e.seq"
    ):
        local_key = f"{row[0]}:{row[1]}"
        if ids.mine("trial_entry", local_key):
            content = dict(zip(_ENTRY_FIELDS, (_trial_ref(ids, int(row[0])), *row[1:12]),
                               strict=True))  # fmt: skip
            out.append(("trial_entry", local_key, str(row[12]).lower(), content))
    for row in conn.execute(
        "SELECT r.trial_id, r.response, r.effective_dose_ng, r.effect_duration_min, r.decision,"
        " r.decided_by, r.decided_at, r.rationale, p.clinic_id FROM trial_results r"
        " JOIN trials t ON t.id = r.trial_id JOIN patients p ON p.id = t.patient_id"
    ):
        if ids.mine("trial_result", str(row[0])):
            content = dict(zip(_RESULT_FIELDS, (_trial_ref(ids, int(row[0])), *row[1:8]),
                               strict=True))  # fmt: skip
            out.append(("trial_result", str(row[0]), str(row[8]).lower(), content))
    return out


def _base_of(conn: sqlite3.Connection, ids: _Ids, pid: int, version: int) -> str | None:
    """The clinic identity of the version this one was made on (the previous current)."""
    if version <= 1:
        return None
    prev = conn.execute(
        "SELECT max(version) FROM patient_versions WHERE patient_id = ? AND version < ?"
        " AND version > 0",
        (pid, version),
    ).fetchone()[0]
    return None if prev is None else _vid(ids, pid, int(prev))


# -- push ------------------------------------------------------------------------------------

NOT_ON_CLINIC = (
    "the clinic database does not hold patients yet (its schema predates them, or this login"
    " may not read them): patients were not synced. Its administrator updates it with"
    " `itp sync --clinic URL --setup` on the admin login and grants the roles again"
    " (docs/clinic.md, Setting up a clinic)"
)


def on_clinic(conn: PgConn) -> bool:
    """Whether the clinic has the patients table and this login may read it."""
    row = conn.execute(
        "SELECT has_table_privilege(current_user, c.oid, 'SELECT') FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'itp' AND c.relname = 'patient_rows'"
    ).fetchone()
    return row is not None and bool(row[0])


def push(store: Store, conn: PgConn, origin: str, report: SyncReport) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7433005, hashtext(%s))", (origin,))
        latest = {
            (str(kind), str(key)): str(sha)
            for kind, key, sha in conn.execute(
                "SELECT DISTINCT ON (kind, local_key) kind, local_key, sha FROM itp.patient_rows"
                " WHERE origin = %s ORDER BY kind, local_key, oseq DESC",
                (origin,),
            ).fetchall()
        }
        top = conn.execute(
            "SELECT coalesce(max(oseq), 0) FROM itp.patient_rows WHERE origin = %s", (origin,)
        ).fetchone()
        oseq = int(top[0]) if top else 0
        with store.lock:
            ids = _Ids(store.conn, origin)
            rows = _own_rows(store.conn, ids)
        order = {k: i for i, k in enumerate(KINDS)}
        rows.sort(key=lambda r: order[r[0]])
        pending: list[tuple[Any, ...]] = []
        for kind, local_key, clinic_key, content in rows:
            text = canonical_json(content)
            sha = hashlib.sha256(text.encode()).hexdigest()
            if latest.get((kind, local_key)) == sha:
                continue
            oseq += 1
            pending.append((origin, oseq, kind, local_key, clinic_key, text, sha))
            report.add("pushed", f"patients ({kind})", 1)
        if pending:
            with conn.cursor().copy(
                "COPY itp.patient_rows (origin, oseq, kind, local_key, clinic_key, content, sha)"
                " FROM STDIN"
            ) as copy:
                for item in pending:
                    copy.write_row(item)


# -- pull ------------------------------------------------------------------------------------


def pull(
    store: Store, trail: AuditTrail | None, conn: PgConn, origin: str, report: SyncReport
) -> None:
    """The other programmers' patient rows into this store. `trail` None: the review copy
    (read-only for the app, its audit table holds one programmer's trail as it is)."""
    marks = {
        (str(o), str(k)): int(s)
        for o, k, s in store.query("SELECT origin, kind, last_oseq FROM clinic_patient_pulled")
    }
    tops = {
        (str(o), str(k)): int(t)
        for o, k, t in conn.execute(
            "SELECT origin, kind, max(oseq) FROM itp.patient_rows WHERE origin <> %s"
            " GROUP BY origin, kind",
            (origin,),
        ).fetchall()
    }
    for kind in KINDS:
        for other in sorted({o for o, k in tops if k == kind}):
            while tops[(other, kind)] > marks.get((other, kind), 0):
                after = marks.get((other, kind), 0)
                rows = conn.execute(
                    "SELECT oseq, local_key, content FROM itp.patient_rows WHERE origin = %s"
                    " AND kind = %s AND oseq > %s ORDER BY oseq LIMIT %s",
                    (other, kind, after, PAGE),
                ).fetchall()
                if not rows:
                    break
                with store.write() as lconn:
                    applied = 0
                    for _oseq, okey, text in rows:
                        content = _checked(kind, other, str(okey), text)
                        applied += _APPLY[kind](lconn, other, str(okey), content, report)
                    last = int(rows[-1][0])
                    lconn.execute(
                        "INSERT INTO clinic_patient_pulled VALUES (?, ?, ?) ON CONFLICT"
                        " (origin, kind) DO UPDATE SET last_oseq = excluded.last_oseq",
                        (other, kind, last),
                    )
                    if applied and trail is not None:
                        trail.append(
                            AuditAction.PATIENT_CHANGED,
                            account=None,
                            role=None,
                            after={
                                "change": "clinic_sync",
                                "kind": kind,
                                "rows": applied,
                                "programmer": other,
                            },
                            reason=f"clinic sync: patient records from programmer {other[:8]}",
                            outcome="synced",
                        )
                report.add("pulled", f"patients ({kind})", applied)
                marks[(other, kind)] = last
    _note_conflicts(store, report)


def _checked(kind: str, origin: str, key: str, text: Any) -> dict[str, Any]:
    def bad(why: str) -> ClinicError:
        return ClinicError(
            f"a patient record ({kind}) from programmer {origin[:8]} is not valid ({why});"
            " nothing of it was stored"
        )

    if not isinstance(text, str) or len(text) > MAX_CONTENT:
        raise bad("over 400 kB")
    try:
        content = json.loads(text)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(content, dict) or set(content) != set(FIELDS[kind]):
        raise bad("fields")
    for name, value in content.items():
        if value is not None and not isinstance(value, (str, int)):
            raise bad(name)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise bad(f"{name} too long")
    if not isinstance(content.get("clinic_id", content.get("trial")), str):
        raise bad("patient")
    return content


def _map(lconn: sqlite3.Connection, kind: str, local_key: str, origin: str, okey: str,
         base: str | None = None) -> None:  # fmt: skip
    lconn.execute(
        "INSERT INTO clinic_patient_map VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (kind, local_key, origin, okey, base),
    )


def _mapped(lconn: sqlite3.Connection, kind: str, origin: str, okey: str) -> str | None:
    row = lconn.execute(
        "SELECT local_key FROM clinic_patient_map WHERE kind = ? AND origin = ? AND origin_key = ?",
        (kind, origin, okey),
    ).fetchone()
    return None if row is None else str(row[0])


def _patient_id(lconn: sqlite3.Connection, clinic_id: str) -> int | None:
    row = lconn.execute("SELECT id FROM patients WHERE clinic_id = ?", (clinic_id,)).fetchone()
    return None if row is None else int(row[0])


def _version_rank(
    lconn: sqlite3.Connection, origin: str, pid: int, version: int
) -> tuple[Any, ...]:
    """(at, programmer, its number): the newest is current, the same on every programmer."""
    at = lconn.execute(
        "SELECT at FROM patient_versions WHERE patient_id = ? AND version = ?", (pid, version)
    ).fetchone()[0]
    row = lconn.execute(
        "SELECT origin, origin_key FROM clinic_patient_map WHERE kind = 'patient'"
        " AND local_key = ?",
        (f"{pid}:{version}",),
    ).fetchone()
    if row is None:
        return (str(at), origin, version)
    return (str(at), str(row[0]), int(str(row[1]).split(":")[1]))


def _apply_patient(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                   report: SyncReport) -> int:  # fmt: skip
    if _mapped(lconn, "patient", origin, okey) is not None:
        return 0
    name, at = str(c["name"]), str(c["at"])
    pid = _patient_id(lconn, str(c["clinic_id"]))
    if pid is None:
        pid = lconn.execute(
            "INSERT INTO patients (clinic_id, version, name, name_key, dob, indication,"
            " created_at, created_by) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            (c["clinic_id"], name, name.casefold(), c["dob"], c["indication"],
             c["created_at"], c["created_by"]),
        ).lastrowid  # fmt: skip
        assert pid is not None
        number, current = 1, True
    else:
        cur = int(lconn.execute("SELECT version FROM patients WHERE id = ?", (pid,)).fetchone()[0])
        me = _own_origin(lconn)
        current = (at, origin, int(c["version"])) > _version_rank(lconn, me, pid, cur)
        if current:
            number = cur + 1
        else:
            low = lconn.execute(
                "SELECT min(version) FROM patient_versions WHERE patient_id = ?", (pid,)
            ).fetchone()[0]
            number = min(int(low), 0) - 1
    lconn.execute(
        "INSERT INTO patient_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pid, number, name, name.casefold(), c["dob"], c["indication"], c["notes"] or "", at,
         c["by"], c["reason"]),
    )  # fmt: skip
    if current:
        lconn.execute(
            "UPDATE patients SET version = ?, name = ?, name_key = ?, dob = ?, indication = ?"
            " WHERE id = ?",
            (number, name, name.casefold(), c["dob"], c["indication"], pid),
        )
    _map(lconn, "patient", f"{pid}:{number}", origin, okey, c["base"])
    return 1


def _own_origin(lconn: sqlite3.Connection) -> str:
    return str(
        lconn.execute("SELECT value FROM clinic_meta WHERE key = 'programmer_id'").fetchone()[0]
    )


def _apply_pump(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                report: SyncReport) -> int:  # fmt: skip
    pid = _patient_id(lconn, str(c["clinic_id"]))
    if pid is None:
        raise ClinicError(f"pump {c['serial']} came from the clinic before its patient")
    row = lconn.execute(
        "SELECT pp.id, p.clinic_id, pp.explanted_on FROM patient_pumps pp"
        " JOIN patients p ON p.id = pp.patient_id WHERE pp.serial = ?",
        (c["serial"],),
    ).fetchone()
    if row is not None and str(row[1]).lower() != str(c["clinic_id"]).lower():
        lconn.execute(
            "INSERT INTO clinic_patient_conflicts VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (c["serial"], c["clinic_id"], origin, row[1]),
        )
        return 0
    if row is None:
        pump_id = lconn.execute(
            "INSERT INTO patient_pumps (patient_id, kind, model, serial, implanted_on,"
            " explanted_on, explant_reason, catheter_tip, catheter_length_mm,"
            " catheter_nl_per_cm, flow_nl_day, capacity_nl, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pid, *(c[f] for f in _PUMP_FIELDS[1:])),
        ).lastrowid
        _map(lconn, "pump", str(pump_id), origin, okey)
    elif row[2] is None and c["explanted_on"] is not None:
        pump_id = int(row[0])
        lconn.execute(
            "UPDATE patient_pumps SET explanted_on = ?, explant_reason = ? WHERE id = ?",
            (c["explanted_on"], c["explant_reason"], pump_id),
        )
    else:
        return 0  # the same link, already known here
    current = lconn.execute(
        "SELECT serial, kind FROM patient_pumps WHERE patient_id = ? AND explanted_on IS NULL"
        " ORDER BY implanted_on DESC, id DESC LIMIT 1",
        (pid,),
    ).fetchone()
    lconn.execute(
        "UPDATE patients SET pump_serial = ?, pump_kind = ? WHERE id = ?",
        (None if current is None else current[0], None if current is None else current[1], pid),
    )
    return 1


def _apply_trial(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                 report: SyncReport) -> int:  # fmt: skip
    if _mapped(lconn, "trial", origin, okey) is not None:
        return 0
    pid = _patient_id(lconn, str(c["clinic_id"]))
    if pid is None:
        raise ClinicError("a trial came from the clinic before its patient")
    trial_id = lconn.execute(
        "INSERT INTO trials (patient_id, drug, kind, conc_ng_ml, rate_nl_day, started_at,"
        " started_s, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pid, *(c[f] for f in _TRIAL_FIELDS[2:])),
    ).lastrowid
    _map(lconn, "trial", str(trial_id), origin, okey)
    return 1


def _apply_visit(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                 report: SyncReport) -> int:  # fmt: skip
    if _mapped(lconn, "visit", origin, okey) is not None:
        return 0
    pid = _patient_id(lconn, str(c["clinic_id"]))
    if pid is None:
        raise ClinicError("a visit came from the clinic before its patient")
    pump = None
    if c["serial"] is not None:
        found = lconn.execute(
            "SELECT id FROM patient_pumps WHERE serial = ? AND patient_id = ?", (c["serial"], pid)
        ).fetchone()
        pump = None if found is None else int(found[0])
    visit_id = lconn.execute(
        "INSERT INTO patient_visits (patient_id, pump_id, kind, at, at_s, account, summary)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (pid, pump, c["kind"], c["at"], c["at_s"], c["account"], c["summary"]),
    ).lastrowid
    # The latest by (second, exact time), as the patients code keeps it: visits of one
    # second arriving in another order must end the same on every programmer.
    lconn.execute(
        "UPDATE patients SET last_visit_at = ?, last_visit_s = ? WHERE id = ?"
        " AND (last_visit_s IS NULL OR last_visit_s < ? OR"
        " (last_visit_s = ? AND last_visit_at <= ?))",
        (c["at"], c["at_s"], pid, c["at_s"], c["at_s"], c["at"]),
    )
    _map(lconn, "visit", str(visit_id), origin, okey)
    return 1


_MAX_NL = 100_000_000  # 100 mL: what record_cf_refill accepts


def _apply_cf_refill(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                     report: SyncReport) -> int:  # fmt: skip
    if _mapped(lconn, "cf_refill", origin, okey) is not None:
        return 0
    for name in ("removed_nl", "added_nl", "measured_flow_nl_day", "at_s"):
        value = c[name]
        if value is None and name == "measured_flow_nl_day":
            continue
        if not isinstance(value, int) or not 0 <= value <= (_MAX_NL if name != "at_s" else 2**40):
            raise ClinicError(
                f"a constant-flow refill from programmer {origin[:8]} is not valid ({name} must"
                " be whole nL from 0 to 100 mL); nothing of it was stored"
            )
    for name in ("serial", "at", "drugs", "account"):
        if not isinstance(c[name], str):
            raise ClinicError(
                f"a constant-flow refill from programmer {origin[:8]} is not valid ({name});"
                " nothing of it was stored"
            )
    pid = _patient_id(lconn, str(c["clinic_id"]))
    if pid is None:
        raise ClinicError("a constant-flow refill came from the clinic before its patient")
    pump = lconn.execute(
        "SELECT id FROM patient_pumps WHERE serial = ? AND patient_id = ?", (c["serial"], pid)
    ).fetchone()
    if pump is None:
        # The pump is linked to another patient here (a hard conflict, kept and reported):
        # the refill waits with the conflict; it is not attached to the wrong patient.
        report.notes.append(
            f"a constant-flow refill of pump {c['serial']} for patient {c['clinic_id']} was"
            " not stored here: the pump is linked to another patient on this programmer"
        )
        return 0
    visit = None
    if c["visit"] is not None:
        v_origin, _, v_key = str(c["visit"]).partition("/")
        visit = (
            v_key if v_origin == _own_origin(lconn) else _mapped(lconn, "visit", v_origin, v_key)
        )
        if visit is None:
            raise ClinicError("a constant-flow refill came from the clinic before its visit")
    refill_id = lconn.execute(
        "INSERT INTO cf_refills (pump_id, visit_id, at, at_s, removed_nl, added_nl,"
        " measured_flow_nl_day, drugs, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (int(pump[0]), None if visit is None else int(visit),
         *(c[f] for f in _CF_REFILL_FIELDS[3:])),
    ).lastrowid  # fmt: skip
    _map(lconn, "cf_refill", str(refill_id), origin, okey)
    return 1


def _local_trial(lconn: sqlite3.Connection, me: str, ref: str) -> int:
    origin, _, key = ref.partition("/")
    if origin == me:
        return int(key)
    local = _mapped(lconn, "trial", origin, key)
    if local is None:
        raise ClinicError("a trial entry came from the clinic before its trial")
    return int(local)


def _apply_entry(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                 report: SyncReport) -> int:  # fmt: skip
    if _mapped(lconn, "trial_entry", origin, okey) is not None:
        return 0
    trial_id = _local_trial(lconn, _own_origin(lconn), str(c["trial"]))
    seq = int(lconn.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM trial_entries WHERE trial_id = ?", (trial_id,)
    ).fetchone()[0])  # fmt: skip
    lconn.execute(
        "INSERT INTO trial_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (trial_id, seq, *(c[f] for f in _ENTRY_FIELDS[2:])),
    )
    _map(lconn, "trial_entry", f"{trial_id}:{seq}", origin, okey)
    return 1


def _apply_result(lconn: sqlite3.Connection, origin: str, okey: str, c: dict[str, Any],
                  report: SyncReport) -> int:  # fmt: skip
    trial_id = _local_trial(lconn, _own_origin(lconn), str(c["trial"]))
    if lconn.execute("SELECT 1 FROM trial_results WHERE trial_id = ?", (trial_id,)).fetchone():
        return 0  # written once: the first result recorded stands
    lconn.execute(
        "INSERT INTO trial_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (trial_id, *(c[f] for f in _RESULT_FIELDS[1:])),
    )
    _map(lconn, "trial_result", str(trial_id), origin, okey)
    return 1


_APPLY: dict[str, Callable[[sqlite3.Connection, str, str, dict[str, Any], SyncReport], int]] = {
    "patient": _apply_patient,
    "pump": _apply_pump,
    "trial": _apply_trial,
    "visit": _apply_visit,
    "cf_refill": _apply_cf_refill,
    "trial_entry": _apply_entry,
    "trial_result": _apply_result,
}


def _note_conflicts(store: Store, report: SyncReport) -> None:
    for serial, cid, origin, other in store.query(
        "SELECT serial, clinic_id, origin, other_clinic_id FROM clinic_patient_conflicts"
        " ORDER BY serial, origin"
    ):
        report.notes.append(
            f"CONFLICT: pump {serial} is linked to patient {other} here and to patient {cid}"
            f" on programmer {str(origin)[:8]}; neither link was changed. Check the pump's"
            " serial against both patients' records and correct the wrong one"
        )


# -- what the patient screen can show ----------------------------------------------------------


def patient_conflicts(store: Store, patient_id: int) -> list[Sequence[Any]]:
    """Versions made on the same version as the current one (two offline edits): each as
    (local version, name, dob, indication, notes, at, by), newest first; empty when none.
    The next edit of the patient ends the conflict (its base is the current version)."""
    synced = store.query(
        "SELECT count(*) FROM sqlite_schema WHERE name IN ('clinic_patient_map', 'clinic_meta')"
    )
    if synced[0][0] < 2:
        return []  # never synced with a clinic: no conflict possible
    rows = store.query("SELECT version FROM patients WHERE id = ?", (patient_id,))
    if not rows:
        return []
    current = int(rows[0][0])
    with store.lock:
        ids = _Ids(store.conn, _own_origin(store.conn))
        versions = [
            (int(v), tuple(r))
            for v, *r in store.conn.execute(
                "SELECT version, name, dob, indication, notes, at, by FROM patient_versions"
                " WHERE patient_id = ? ORDER BY at DESC, version DESC",
                (patient_id,),
            )
        ]
        bases = {v: _base_id(store.conn, ids, patient_id, v) for v, _ in versions}
    mine = bases.get(current)
    return [(v, *r) for v, r in versions if v != current and bases.get(v) == mine]


def _base_id(conn: sqlite3.Connection, ids: _Ids, pid: int, version: int) -> str | None:
    if ("patient", f"{pid}:{version}") in ids.pulled:
        row = conn.execute(
            "SELECT base FROM clinic_patient_map WHERE kind = 'patient' AND local_key = ?",
            (f"{pid}:{version}",),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])
    return _base_of(conn, ids, pid, version)
