"""Two edits of a shared record made offline: the three-way merge, field by field.

`base` is the version both sides last agreed on (None before the first sync). For each
field: equal on both sides -> that value; changed on one side only -> that side's
value; changed on both -> the table's rule for the field (for accounts: disabled wins,
the later lockout wins, the higher failure count wins), else the clinic's (server's)
value, the edit that reached the clinic first. Nothing is lost: every version stays in
the clinic's `shared_versions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programmer.clinic.tables import SharedTable


def merge(
    spec: SharedTable,
    local: Mapping[str, Any] | None,
    base: Mapping[str, Any] | None,
    server: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    if server is None:
        return None if local is None else dict(local)
    if local is None:
        return dict(server)
    out: dict[str, Any] = {}
    for field in spec.fields:
        mine, theirs = local.get(field), server.get(field)
        agreed = None if base is None else base.get(field)
        if mine == theirs:
            out[field] = mine
        elif base is not None and mine == agreed:
            out[field] = theirs
        elif base is not None and theirs == agreed:
            out[field] = mine
        else:
            rule = spec.rules.get(field)
            out[field] = theirs if rule is None else rule(mine, theirs)
    return out
