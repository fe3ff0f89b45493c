"""The patients part of the clinic chaos run (tests/clinic/chaos.py): each round every
programmer adds patients now and then (some with a constant-flow pump), edits the first
few patients it holds (so the same patient is edited offline on two or three programmers
between syncs) and records constant-flow refills on any pump it holds, its own patients'
or another programmer's. After the final syncs: every programmer holds the same patients,
versions, pumps, visits, refills and conflicts, nothing twice; each programmer's own rows
are on the clinic exactly as it holds them, each content once.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import psycopg

from programmer.clinic.patients_sync import _Ids, _own_rows, patient_conflicts
from programmer.patients.registry import Patients, PumpSpec
from programmer.store import AuditTrail, Principal, Role, Store, open_store
from programmer.store.audit_chain import canonical_json

ME = Principal("dr.lee", Role.PHYSICIAN)  # signed in once at the start
SHARED_POOL = 4  # edits go to the first few patients held: the same ones on every programmer

VIEWS = {
    "patients": "SELECT clinic_id, name, dob, indication, pump_serial, pump_kind, last_visit_at"
    " FROM patients",
    "versions": "SELECT p.clinic_id, v.name, v.dob, v.indication, v.notes, v.at, v.by, v.reason"
    " FROM patient_versions v JOIN patients p ON p.id = v.patient_id",
    "pumps": "SELECT p.clinic_id, pp.serial, pp.kind, pp.model, pp.implanted_on, pp.explanted_on"
    " FROM patient_pumps pp JOIN patients p ON p.id = pp.patient_id",
    "visits": "SELECT p.clinic_id, pp.serial, v.kind, v.at, v.account, v.summary"
    " FROM patient_visits v JOIN patients p ON p.id = v.patient_id"
    " LEFT JOIN patient_pumps pp ON pp.id = v.pump_id",
    "cf_refills": "SELECT pp.serial, r.at, r.removed_nl, r.added_nl, r.measured_flow_nl_day,"
    " r.drugs, r.account, v.kind, v.at, v.summary FROM cf_refills r"
    " JOIN patient_pumps pp ON pp.id = r.pump_id LEFT JOIN patient_visits v ON v.id = r.visit_id",
}


class HasPatients(Protocol):
    db: Path
    key: Path
    serial: str
    patients_added: int


def patient_work(p: HasPatients, store: Store, trail: AuditTrail, rng: random.Random) -> None:
    patients = Patients(store, trail)
    tag = p.serial[-1]
    known = [str(r[0]) for r in store.query("SELECT clinic_id FROM patients ORDER BY id")]
    if not known or rng.random() < 0.25:
        p.patients_added += 1
        cid = f"MRN-{tag}-{p.patients_added:04d}"
        new = patients.add(ME, clinic_id=cid, name=f"Patient {tag} {p.patients_added}",
                           dob="1960-01-01", indication="pain-cancer")  # fmt: skip
        if rng.random() < 0.5:
            patients.add_pump(ME, new.id, PumpSpec(
                "constant-flow", f"CF-{tag}{p.patients_added:05d}", "2025-06-01",
                model="Flow-35", flow="1 mL/day", capacity="35 mL"))  # fmt: skip
        known.append(cid)
    for _ in range(rng.randrange(0, 3)):
        cid = known[rng.randrange(min(len(known), SHARED_POOL))]
        pid = patients.by_clinic_id(ME, cid).id
        patients.update(ME, pid, notes=f"seen on {tag}, note {rng.randrange(10**6)}",
                        reason="chaos edit")  # fmt: skip
    pumps = store.query(
        "SELECT id FROM patient_pumps WHERE kind = 'constant-flow' AND explanted_on IS NULL"
        " ORDER BY id"
    )
    if pumps and rng.random() < 0.6:
        pump_id = int(pumps[rng.randrange(len(pumps))][0])
        patients.record_cf_refill(
            ME, pump_id, at=datetime.now(UTC) - timedelta(minutes=1),
            removed_nl=rng.randrange(35_000_000), added_nl=35_000_000,
            drugs=[{"drug": "morphine", "conc_ng_ml": 10_000_000}],
            measured_flow_nl_day=rng.choice((None, 990_000 + rng.randrange(20_000))),
            plan={"chaos": f"{tag}-{rng.randrange(10**9)}"},
        )  # fmt: skip


def _view(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    out = {name: sorted((tuple(r) for r in store.query(q)), key=repr) for name, q in VIEWS.items()}
    conflicts: list[tuple[Any, ...]] = []
    for pid, cid in store.query("SELECT id, clinic_id FROM patients ORDER BY clinic_id"):
        conflicts += [(cid, *c[1:]) for c in patient_conflicts(store, int(pid))]
    out["conflicts"] = sorted(conflicts, key=repr)
    return out


def check_patients(
    programmers: list[Any], conn: psycopg.Connection[Any], problems: list[str]
) -> dict[str, int]:
    """Appends what is wrong to `problems`; returns counts of what was compared."""
    first: dict[str, list[tuple[Any, ...]]] | None = None
    origins: set[str] = set()
    for p in programmers:
        with open_store(p.db, create=False) as store:
            origin = str(
                store.query("SELECT value FROM clinic_meta WHERE key = 'programmer_id'")[0][0]
            )
            origins.add(origin)
            view = _view(store)
            with store.lock:
                own = {
                    (kind, key): hashlib.sha256(canonical_json(content).encode()).hexdigest()
                    for kind, key, _ck, content in _own_rows(store.conn, _Ids(store.conn, origin))
                }
        for name, rows in view.items():
            extra = sum(n - 1 for n in Counter(rows).values())
            if extra:
                problems.append(f"{p.serial}: {extra} {name} rows twice")
        if first is None:
            first = view
        else:
            for name, rows in view.items():
                if rows != first[name]:
                    problems.append(
                        f"{p.serial}: {name} differ from the first programmer's"
                        f" ({len(rows)} here, {len(first[name])} there)"
                    )
        server = {
            (str(k), str(key)): str(sha)
            for k, key, sha in conn.execute(
                "SELECT DISTINCT ON (kind, local_key) kind, local_key, sha FROM itp.patient_rows"
                " WHERE origin = %s ORDER BY kind, local_key, oseq DESC",
                (origin,),
            ).fetchall()
        }
        if server != own:
            lost = len(set(own) - set(server))
            stale = sum(1 for k in own if k in server and server[k] != own[k])
            problems.append(
                f"{p.serial}: its patient rows on the clinic differ from its own ({lost} missing,"
                f" {stale} not the latest, {len(set(server) - set(own))} unknown here)"
            )
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT sha, lag(sha) OVER (PARTITION BY kind, local_key"
            " ORDER BY oseq) AS before FROM itp.patient_rows WHERE origin = %s) r"
            " WHERE sha = before",
            (origin,),
        ).fetchone()
        if twice and twice[0]:
            problems.append(f"{p.serial}: {twice[0]} patient rows sent twice")
    strangers = conn.execute(
        "SELECT count(*) FROM itp.patient_rows WHERE NOT (origin = ANY(%s))", (sorted(origins),)
    ).fetchone()
    if strangers and strangers[0]:
        problems.append(f"{strangers[0]} patient rows on the clinic from no programmer")
    assert first is not None
    total = conn.execute("SELECT count(*) FROM itp.patient_rows").fetchone()
    return {
        "patient_rows": int(total[0]) if total else 0,
        **{name: len(rows) for name, rows in first.items()},
    }
