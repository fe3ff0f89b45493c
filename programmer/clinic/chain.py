"""The keyless hash chain the clinic checks each programmer's audit records against.

The records' MACs need the programmer's key; the clinic does not hold the keys. So each
push also sends checkpoints: (seq, mac, chain) where
    chain(0) = 64 zeros
    chain(n) = SHA-256(chain(n-1) as text + message(n) + mac(n)), lowercase hex,
with message(n) the record's MAC message (docs/store.md). The programmer computes the
chain from its own trail, the source of truth; `itp audit verify --clinic` recomputes it
from the server's rows. A record changed, removed, inserted or reordered on the server
changes every chain value from there on, so the first checkpoint at or after it no
longer matches; records cut from the end leave a checkpoint beyond the last record.
(Someone who can write the server and recompute every checkpoint too is caught only by
verifying the MACs with the programmer's key: `--audit-key` on the programmer.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from programmer.store.audit_chain import Row, mac_message

GENESIS = "0" * 64


def extend(chain: str, rows: Iterable[Row]) -> str:
    """The chain value after `rows` (FIELDS order, mac last) starting from `chain`."""
    value = chain
    for row in rows:
        h = hashlib.sha256(value.encode())
        h.update(mac_message(row))
        h.update(str(row[12]).encode())
        value = h.hexdigest()
    return value
