"""`itp --self-test`: prove this installation works, frozen or not, without touching real data.

Starts the built-in emulator, a throwaway database and account, interrogates,
plans and programs a prescription, reads it back with the protocol alone,
writes a visit report PDF, and exits 0 only if every step worked.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

STEPS = [
    "database",
    "emulator",
    "sign in",
    "interrogate",
    "plan",
    "program",
    "read back",
    "visit report",
    "screens",
]
SCREENS = ["ui.connect.page", "ui.overview.page", "ui.therapy.page", "ui.refill.wizard", "ui.history.page",
           "ui.audit.page", "ui.accounts.page", "ui.emulator.page", "ui.confirm.dialog",
           "ui.overview.clock_dialog"]  # fmt: skip


def main(argv: Sequence[str] = ()) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    done: list[str] = []

    def ok(step: str, detail: str = "") -> None:
        done.append(step)
        print(f"self-test: {step}: ok{(' — ' + detail) if detail else ''}")

    try:
        from argon2 import PasswordHasher
        from PySide6.QtGui import QGuiApplication

        from programmer.emulator import inprocess
        from programmer.emulator.model import PumpModel
        from programmer.link import PumpClient, open_transport
        from programmer.session.pump_session import PumpSession
        from programmer.session.visit_report import VisitReport
        from programmer.store import Accounts, AuditTrail, Records, Role, open_store
        from ui.report.pdf import write_pdf

        app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
        tmp = Path(tempfile.mkdtemp(prefix="itp-self-test-"))
        store = open_store(tmp / "itp.sqlite3", create=True)
        trail = AuditTrail.open(store, tmp / "audit.key")
        accounts = Accounts(
            store, trail, PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
        )
        records = Records(store, trail)
        ok("database", str(tmp))
        handler = inprocess.install(PumpModel("ITP-40", 1_767_225_600), speed=Fraction(0))
        ok("emulator", "ITP-40 in process")
        accounts.add("selftest-admin", Role.ADMIN, "self-test-admin-pw", actor=None)
        admin = accounts.sign_in("selftest-admin", "self-test-admin-pw")
        accounts.add("selftest-doc", Role.PHYSICIAN, "self-test-doc-pw", actor=admin)
        me = accounts.sign_in("selftest-doc", "self-test-doc-pw")
        ok("sign in", me.name)
        session = PumpSession(
            address="emulator:", accounts=accounts, records=records, trail=trail, principal=me
        )
        session.connect()
        before = session.interrogate()
        ok("interrogate", f"{before.model} {before.serial}, {before.status['delivering']}")
        rx = {"pump_model": "ITP-40", "indication": "pain-noncancer", "drugs": [{"name": "morphine", "concentration": "2 mg/mL"}],
              "mode": "flex", "steps": [{"start": "00:00", "dose": "0.01 mg/h"}, {"start": "08:00", "dose": "0.02 mg/h"}],
              "catheter": {"volume": "0.15 mL"}, "refill": {"removed": "40 mL", "added": "20 mL"}, "bolus": {"kind": "priming", "fluid_path": "new-pump"}}  # fmt: skip
        proposal = session.propose(rx)
        if not proposal.plan.ok:
            raise RuntimeError(f"the plan has findings: {[f.code for f in proposal.plan.findings]}")
        ok("plan", ", ".join(d.to_json()["text"] for d in proposal.plan.daily_doses))
        result = session.send(proposal, confirmed=True, password="self-test-doc-pw")
        if result.outcome != "applied":
            raise RuntimeError(f"program {result.outcome}: {result.message}")
        ok("program", " → ".join(result.steps))
        session.close()
        client = PumpClient(open_transport("emulator:", 2.0), "self-test-reader")
        client.connect()
        held = {k: v for k, v in client.get_therapy()["therapy"].items() if k != "cycle_anchor_t"}
        client.close()
        assert proposal.plan.therapy is not None
        if (
            held != proposal.plan.therapy.to_wire()
            or handler.model.therapy["drugs"] != held["drugs"]
        ):
            raise RuntimeError("the pump's therapy differs from the one sent")
        ok("read back", "whole therapy equal")
        report = VisitReport(me.name, str(me.role), f"{before.model} {before.serial}", before, proposal, result,
                             trail.query(pump=before.serial), demo_key=True)  # fmt: skip
        pdf = write_pdf(report.html(), tmp / "visit-report.pdf")
        if not pdf.read_bytes().startswith(b"%PDF") or pdf.stat().st_size < 1000:
            raise RuntimeError("the visit report PDF is empty")
        ok("visit report", str(pdf))
        import importlib

        for name in SCREENS:  # a frozen build must carry every screen (they are imported by name)
            importlib.import_module(name)
        import pyqtgraph

        ok("screens", f"{len(SCREENS)} modules, pyqtgraph {pyqtgraph.__version__}")
        store.close()
        del app
    except Exception as exc:  # report, never a traceback: a self-test is read by a person
        failed = next((s for s in STEPS if s not in done), "?")
        print(f"self-test: {failed}: FAILED — {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"self-test: passed ({len(done)} steps in {time.perf_counter() - started:.2f} s)")
    return 0
