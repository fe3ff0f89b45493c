"""The audit record, its MAC encoding, and chain verification, independent of SQLite.

Kept apart from the database so an exported trail can be verified with the same code
(and re-implemented elsewhere from docs/store.md).

MAC of record n = HMAC-SHA256(key, message(n)), lowercase hex. message(n) is the UTF-8
encoding of "itp-audit-v1;" followed by the 12 fields below in this order, each as
  None -> "N;"   int -> "I" + decimal + ";"   text -> "S" + its length in Unicode code
  points + ":" + the text + ";"
(code points, not bytes: Python's len(), which keeps the hot path to one f-string).
prev_mac of record 1 is 64 zeros; of record n it is the MAC of record n-1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from programmer.files import FileRefused, read_bounded_text
from programmer.store.errors import StoreError

MAX_CHECKPOINT_BYTES = 64 * 1024  # a checkpoint is one line of about 200 bytes
MAC_ENCODING = "itp-audit-v1"
GENESIS_MAC = "0" * 64
# Column order of the audit table; the MAC covers all but the last.
FIELDS = (
    "seq",
    "ts",
    "ts_s",
    "action",
    "account",
    "role",
    "pump_serial",
    "before",
    "after",
    "reason",
    "outcome",
    "prev_mac",
    "mac",
)

Row = Sequence[Any]  # one record as a tuple in FIELDS order


def mac_message(fields: Row) -> bytes:
    """The canonical bytes the MAC covers (see the module docstring).

    Raises TypeError for a field of the wrong type. Written as one expression because
    verifying 1,000,000 records runs it 1,000,000 times.
    """
    seq, ts, ts_s, action, account, role, pump, before, after, reason, outcome, prev = fields[:12]
    if type(seq) is not int or type(ts_s) is not int:
        raise TypeError("seq and ts_s must be integers")
    return (
        f"{MAC_ENCODING};I{seq};S{len(ts)}:{ts};I{ts_s};S{len(action)}:{action};"
        f"{'N;' if account is None else f'S{len(account)}:{account};'}"
        f"{'N;' if role is None else f'S{len(role)}:{role};'}"
        f"{'N;' if pump is None else f'S{len(pump)}:{pump};'}"
        f"{'N;' if before is None else f'S{len(before)}:{before};'}"
        f"{'N;' if after is None else f'S{len(after)}:{after};'}"
        f"{'N;' if reason is None else f'S{len(reason)}:{reason};'}"
        f"{'N;' if outcome is None else f'S{len(outcome)}:{outcome};'}"
        f"S{len(prev)}:{prev};"
    ).encode()


class Mac:
    """HMAC-SHA256 with the key's inner and outer pads hashed once (RFC 2104).

    Same result as hmac.digest(key, msg, "sha256"), about twice as fast per record.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def pads(self) -> tuple[Any, Any]:
        """The hashed inner and outer pads, to copy per message."""
        return self._inner, self._outer

    def __call__(self, fields: Row) -> str:
        inner = self._inner.copy()
        inner.update(mac_message(fields))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def compute_mac(key: bytes, fields: Row) -> str:
    return Mac(key)(fields)


def canonical_json(value: Any) -> str:
    """Before/after values as canonical JSON (sorted keys, no spaces, no NaN)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    ts: str
    ts_s: int
    action: str
    account: str | None
    role: str | None
    pump_serial: str | None
    before: str | None  # canonical JSON text, exactly as MACed
    after: str | None
    reason: str | None
    outcome: str | None
    prev_mac: str
    mac: str

    @classmethod
    def from_row(cls, row: Row) -> AuditRecord:
        return cls(*row)

    def as_row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def before_value(self) -> Any:
        return None if self.before is None else json.loads(self.before)

    def after_value(self) -> Any:
        return None if self.after is None else json.loads(self.after)


class CheckpointError(StoreError):
    """A checkpoint file cannot be read or is not a checkpoint."""


@dataclass(frozen=True)
class Checkpoint:
    """The head of the trail (last seq and its MAC), to keep somewhere else."""

    seq: int
    mac: str
    at: str | None = None
    key_id: str | None = None

    def to_json(self) -> str:
        body = {"format": "itp-audit-checkpoint", "version": 1, **self.__dict__}
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        try:
            body = json.loads(text)
            if body.get("format") != "itp-audit-checkpoint":
                raise ValueError("not an itp audit checkpoint")
            seq, mac = body["seq"], body["mac"]
            if type(seq) is not int or seq < 0 or not _is_mac(mac):
                raise ValueError("bad seq or mac")
            return cls(seq, mac, body.get("at"), body.get("key_id"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"not a valid audit checkpoint: {exc}") from exc

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        try:
            text = read_bounded_text(path, MAX_CHECKPOINT_BYTES, "the checkpoint")
        except FileRefused as exc:
            raise CheckpointError(str(exc)) from None
        return cls.from_json(text)


def _is_mac(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


class Problem(StrEnum):
    WRONG_KEY = "wrong_key"  # the key is not the one this trail was written with
    MISSING = "missing"  # a sequence number is absent: a record was deleted
    OUT_OF_ORDER = "out_of_order"  # a sequence number repeats or goes back
    BROKEN_LINK = "broken_link"  # prev_mac is not the previous record's MAC
    BAD_MAC = "bad_mac"  # a field was changed, or the record forged
    MALFORMED = "malformed"  # a field has an impossible type or value
    TRUNCATED = "truncated"  # fewer records than the checkpoint says
    ROLLED_BACK = "rolled_back"  # the record at the checkpoint's seq is not the same
    ROW_ALTERED = "row_altered"  # a sealed row (account, cached event, outcome...) was edited


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int  # records that verified, from the start
    head: Checkpoint  # last good record
    first_bad_seq: int | None = None
    problem: Problem | None = None
    message: str = "the audit trail verifies"
    row_problems: tuple[Any, ...] = ()  # seals.RowProblem: sealed rows changed outside itp


@dataclass(frozen=True)
class Walk:
    """What checking a run of consecutive records found."""

    count: int  # good records from the start of the run
    first_prev: str | None  # prev_mac of the run's first record (to link runs together)
    last_mac: str | None  # MAC of the last good record
    bad_seq: int | None = None
    problem: Problem | None = None
    message: str = ""


def walk(
    rows: Iterable[Row], key: bytes, expected: int = 1, prev: str | None = GENESIS_MAC
) -> Walk:
    """Check records in seq order starting at `expected`; stop at the first bad one.

    prev=None accepts whatever the first record links to (a run checked in parallel;
    the caller links the runs).
    """
    mac = Mac(key)
    inner0, outer0 = mac.pads()  # Mac.__call__ inlined below: this loop runs per record
    start = expected
    first_prev: str | None = None
    last: str | None = None

    def fail(seq: int, problem: Problem, message: str) -> Walk:
        return Walk(expected - start, first_prev, last, seq, problem, message)

    for row in rows:
        seq = row[0]
        if type(seq) is not int:
            return fail(expected, Problem.MALFORMED, f"record {expected}: bad sequence number")
        if seq > expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            return fail(expected, Problem.MISSING, f"record {missing} missing (deleted?)")
        if seq < expected:
            return fail(seq, Problem.OUT_OF_ORDER, f"record {seq} appears twice or out of order")
        if seq == start:
            first_prev = row[11]
            if prev is None:
                prev = row[11]
        if row[11] != prev:
            return fail(seq, Problem.BROKEN_LINK, f"record {seq} does not follow record {seq - 1}")
        try:
            inner = inner0.copy()
            inner.update(mac_message(row))
            outer = outer0.copy()
            outer.update(inner.digest())
            good = hmac.compare_digest(outer.hexdigest(), row[12])
        except (TypeError, ValueError):  # wrong type, or text that is not valid Unicode
            return fail(seq, Problem.MALFORMED, f"record {seq} has a field of the wrong type")
        if not good:
            return fail(seq, Problem.BAD_MAC, f"record {seq} was altered or forged (MAC mismatch)")
        prev = last = row[12]
        expected += 1
    return Walk(expected - start, first_prev, last)


def result_of(
    walk_: Walk, checkpoint: Checkpoint | None, mac_at: Callable[[int], str | None]
) -> VerifyResult:
    """Turn a walk of the whole trail into a result, checking it against a checkpoint.

    mac_at(seq) gives the stored MAC of a record the walk found good.
    """
    count = walk_.count
    head = Checkpoint(count, walk_.last_mac or GENESIS_MAC)
    if walk_.problem is not None:
        return VerifyResult(False, count, head, walk_.bad_seq, walk_.problem, walk_.message)
    if checkpoint is None:
        return VerifyResult(True, count, head)
    if count < checkpoint.seq:
        return VerifyResult(
            False,
            count,
            head,
            count + 1,
            Problem.TRUNCATED,
            f"the trail ends at record {count} but the checkpoint has {checkpoint.seq}: "
            "records were removed (truncated or rolled back)",
        )
    stored = GENESIS_MAC if checkpoint.seq == 0 else mac_at(checkpoint.seq)
    if stored is None or not hmac.compare_digest(stored, checkpoint.mac):
        return VerifyResult(
            False,
            count,
            head,
            checkpoint.seq,
            Problem.ROLLED_BACK,
            f"record {checkpoint.seq} is not the one in the checkpoint: "
            "the trail was replaced or rolled back",
        )
    return VerifyResult(True, count, head)


def verify_rows(
    rows: Iterable[Row], key: bytes, checkpoint: Checkpoint | None = None
) -> VerifyResult:
    """Check a whole trail given as rows in seq order, from record 1."""
    macs: dict[int, str] = {}
    wanted = checkpoint.seq if checkpoint is not None else None

    def watching(rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            if row[0] == wanted:
                macs[row[0]] = row[12]
            yield row

    return result_of(walk(watching(rows), key), checkpoint, macs.get)
