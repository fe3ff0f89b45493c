"""Child of the crash test: appends audit records forever, acknowledging each committed seq.

Usage: python crash_child.py DB KEY RUN. Prints "ready", then "ack SEQ REASON" after each
append has returned (committed with synchronous=FULL). The parent SIGKILLs it at random.
"""

from __future__ import annotations

import sys
from pathlib import Path

from programmer.store import AuditAction, AuditTrail, open_store


def main() -> None:
    db, key, run = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    with open_store(db) as store:
        trail = AuditTrail.open(store, key)
        print("ready", flush=True)
        i = 0
        while True:
            reason = f"run{run}-{i}"
            record = trail.append(
                AuditAction.PROGRAM_INTENT,
                account="phil",
                role="physician",
                pump_serial="ITP40-000123",
                before={"rate_nl_day": i},
                after={"rate_nl_day": i + 1},
                reason=reason,
            )
            print(f"ack {record.seq} {reason}", flush=True)
            i += 1


if __name__ == "__main__":
    main()
