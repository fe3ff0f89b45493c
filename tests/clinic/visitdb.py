"""A programmer database holding one real visit: the built-in emulator, a refill with a
priming bolus and a new program, sent through the pump session like the app does."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from fractions import Fraction
from pathlib import Path

from argon2 import PasswordHasher

from programmer.emulator import inprocess
from programmer.emulator.model import PumpModel
from programmer.session.pump_session import PumpSession
from programmer.store import Accounts, AuditTrail, Records, Role, open_store

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
RX = {
    "pump_model": "ITP-40",
    "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "2 mg/mL"}],
    "mode": "flex",
    "steps": [{"start": "00:00", "dose": "0.01 mg/h"}, {"start": "08:00", "dose": "0.02 mg/h"}],
    "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "40 mL", "added": "20 mL"},
    "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}


_made: dict[tuple[int, str], tuple[Path, Path, int]] = {}


def make_visit_db(
    folder: Path, *, start_t: int = 1_767_225_600, serial: str = "ITP40-000001"
) -> tuple[Path, Path, int]:
    """Returns (database, audit key, visit id): a copy of one made once per test run
    (the session and Argon2 cost seconds; each copy is its own file and key)."""
    made = _made.get((start_t, serial))
    if made is None:
        template = Path(tempfile.mkdtemp(prefix="itp-visit-"))
        atexit.register(shutil.rmtree, template, True)
        made = _made[(start_t, serial)] = _make(template, start_t=start_t, serial=serial)
    db, key = folder / "itp.sqlite3", folder / "audit.key"
    shutil.copyfile(made[0], db)
    shutil.copyfile(made[1], key)
    key.chmod(0o600)
    return db, key, made[2]


def _make(folder: Path, *, start_t: int, serial: str) -> tuple[Path, Path, int]:
    db, key = folder / "itp.sqlite3", folder / "audit.key"
    store = open_store(db, create=True)
    trail = AuditTrail.open(store, key)
    accounts = Accounts(store, trail, FAST_HASHER)
    records = Records(store, trail)
    if accounts.is_empty():
        accounts.add("admin", Role.ADMIN, "admin-password", actor=None)
        admin = accounts.sign_in("admin", "admin-password")
        accounts.add("dr.lee", Role.PHYSICIAN, "doctor-password", actor=admin)
    me = accounts.sign_in("dr.lee", "doctor-password")
    inprocess.install(PumpModel("ITP-40", start_t, serial=serial), speed=Fraction(0))
    session = PumpSession(
        address="emulator:", accounts=accounts, records=records, trail=trail, principal=me
    )
    session.connect()
    session.interrogate()
    proposal = session.propose(RX)
    result = session.send(proposal, confirmed=True, password="doctor-password")
    assert result.outcome == "applied", result.message
    visit_id = session.visit_id
    session.close()
    store.close()
    assert visit_id is not None
    return db, key, visit_id
