"""A visit with one pump: connect, interrogate, program, refill, history, clock, end.

Safety rules, in the order the code follows them:
- Before anything else on connect, an outcome left uncertain for this pump is
  resolved from the pump's own record (`last_changeset_crc`), and audited.
- Nothing is sent while an outcome is uncertain.
- A program is sent only when the plan is ok (soft findings overridden with a
  reason), the change was confirmed, the password was given again, and the
  audit intent was written; then STAGE, the pump's canonical read back and
  compared, COMMIT, and the therapy read back and compared whole.
- A link lost after COMMIT was sent makes the outcome uncertain, never
  "applied" or "not applied" by guess.
"""

from __future__ import annotations

import contextlib
import socket
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import msgpack

from programmer.checks import check_pump_clock
from programmer.findings import Finding, finding
from programmer.link import DEMO_KEY, LinkError, ProtocolError, PumpClient, open_transport
from programmer.link.answers import T_MAX, T_MIN, ImpossibleValue
from programmer.planner import Plan, PumpContext, plan
from programmer.prescription import DoseRecord
from programmer.session.alarms import AlarmAdvice, advice_for
from programmer.session.changes import ChangeRow, daily_change, one_time_rows, therapy_changes
from programmer.session.clock_check import span_text
from programmer.session.display_text import display_text
from programmer.session.readback import readback_mismatches
from programmer.session.unresolved import Decision, decide_send, unresolved_sends
from programmer.store import (
    Accounts,
    Action,
    AuditAction,
    AuditTrail,
    InfusionHour,
    Principal,
    ProgramOutcome,
    PumpEvent,
    Records,
    StoreError,
)
from programmer.therapy import Therapy
from programmer.timeutil import OffsetAt, system_offset_at

EVENT_PAGE = 1024
EVENTS_KEPT = 65_536  # the contract's log: no read goes further back than this
HOURS_KEPT = 5 * 366 * 24 + 24  # five years of hours, the contract's infusion history
INFUSION_PAGE = 4096
LAST_REFILL_SCAN_PAGES = 64


def clock_change_text(status: Mapping[str, Any], clock_t: int, utc_offset_min: int) -> str:
    """What setting the pump's clock does, in words, before it is done."""
    shift = utc_offset_min - int(status["utc_offset_min"])
    move = clock_t - int(status["clock_t"])
    way = "forward" if move >= 0 else "back"
    text = f"the pump's clock moves {way} by {span_text(move)} ({move} s)"
    if shift:
        text += (f"; its UTC offset changes by {shift} min, so every step of the schedule runs "
                 f"{abs(shift)} min {'earlier' if shift > 0 else 'later'} in UTC (same local times)")  # fmt: skip
    return text


def canonical_bytes(value: Any) -> bytes:
    """MessagePack with every map's keys sorted: the pump's canonical form."""

    def norm(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {k: norm(v[k]) for k in sorted(v)}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        return v

    packed: bytes = msgpack.packb(norm(value), use_bin_type=True)
    return packed


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


class SessionError(Exception):
    """An operation refused, with a message for a person."""


class UncertainOutstanding(SessionError):
    """An earlier outcome is still uncertain: nothing new may be sent."""


class NotConnected(SessionError):
    pass


class ImpossibleReading(SessionError):
    """The pump reported impossible values: nothing of it is used; `errors` name each bad
    field, `good` holds the answers that passed whole (by message name)."""

    def __init__(self, errors: list[ImpossibleValue], good: dict[str, dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors
        self.good = good


@dataclass(frozen=True)
class Alarm:
    code: str
    since_t: int
    critical: bool
    advice: AlarmAdvice


@dataclass(frozen=True)
class Interrogation:
    model: str
    serial: str
    firmware: str
    status: dict[str, Any]
    therapy: Therapy
    cycle_anchor_t: int
    alarms: list[Alarm]
    clock_drift_s: int  # pump clock minus this computer's clock
    local_offset_min: int
    clock_findings: list[Finding]
    last_fill_nl: int | None
    last_refill_t: int | None
    demo_key: bool
    log_findings: list[Finding] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return bool(self.status["delivering"] == "stopped")

    @property
    def critical(self) -> list[Alarm]:
        return [a for a in self.alarms if a.critical]

    def pump_context(self) -> PumpContext:
        return PumpContext(
            model=self.model,
            serial=self.serial,
            therapy=self.therapy,
            reservoir_nl=int(self.status["reservoir_nl"]),
            utc_offset_min=int(self.status["utc_offset_min"]),
            cycle_anchor_t=self.cycle_anchor_t,
            eri_t=int(self.status["eri_t"]),
            last_fill_nl=self.last_fill_nl,
            first_fill=None,
            last_refill_t=self.last_refill_t,
        )


@dataclass(frozen=True)
class Resolution:
    prescription_id: int | None
    crc: int
    applied: bool
    applied_t: int | None = None
    changeset: dict[str, Any] | None = None


@dataclass
class Proposal:
    """What would be sent, shown side by side before anyone confirms it."""

    prescription: dict[str, Any]
    plan: Plan
    changeset: dict[str, Any]
    expected_crc: int
    changes: list[ChangeRow]
    daily_change: Fraction | None
    base: Interrogation
    overrides: dict[str, str]

    @property
    def needs_program_right(self) -> bool:
        return "therapy" in self.changeset or "bolus" in self.changeset


@dataclass
class ProgramResult:
    outcome: str  # applied | not_applied | uncertain | refused
    message: str
    therapy_crc: int | None = None
    applied_t: int | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    resolved_after_link_loss: bool = False
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryResult:
    events_added: int
    events_known: int
    hours_added: int
    hours_known: int
    gaps: list[tuple[int, int]]
    complete: bool
    message: str


@dataclass(frozen=True)
class EndResult:
    ended: bool
    warnings: list[str]


Progress = Callable[[str], None]


def _default_programmer_id() -> str:
    return f"itp-{socket.gethostname()}"[:32]


class PumpSession:
    """One signed-in person's visit with one pump. Not thread-safe: run it on the device worker."""

    def __init__(
        self,
        *,
        address: str,
        accounts: Accounts,
        records: Records,
        trail: AuditTrail,
        principal: Principal,
        key: bytes = DEMO_KEY,
        programmer_id: str | None = None,
        timeout: float = 0.5,
        retries: int = 4,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        local_offset_at: OffsetAt = system_offset_at,
        protocol: int | None = None,
    ) -> None:
        self.address = address
        self.accounts = accounts
        self.records = records
        self.trail = trail
        self.principal = principal
        self.key = key
        self.programmer_id = programmer_id or _default_programmer_id()
        self.timeout = timeout
        self.retries = retries
        self.protocol = protocol  # the link version to speak; None: the highest both speak
        self.now = now
        self.local_offset_at = local_offset_at
        self.client: PumpClient | None = None
        self.identity: dict[str, Any] | None = None
        self.visit_id: int | None = None
        self.uncertain: list[int] = []  # prescriptions_sent ids still uncertain
        self.resolved_now: list[Resolution] = []  # decided at the last connection
        self.clock_notes: list[str] = []  # clock changes left uncertain, decided at connection
        self.last: Interrogation | None = None
        self._log_matches_store: bool | None = None  # decided once per connection
        self.log_findings: list[Finding] = []  # what the last interrogation saw in the log

    # --- connection ---------------------------------------------------------------------

    @property
    def serial(self) -> str:
        if self.identity is None:
            raise NotConnected("not connected to a pump")
        return str(self.identity["serial"])

    @property
    def link_protocol(self) -> int | None:
        """The link protocol version negotiated with the pump (None when not connected)."""
        return self.client.protocol if self.client is not None else None

    @property
    def demo_key(self) -> bool:
        return bool(self.key == DEMO_KEY)

    def _audit(self, action: AuditAction, **kw: Any) -> None:
        self.trail.append(
            action,
            account=self.principal.name,
            role=str(self.principal.role),
            pump_serial=self.identity["serial"] if self.identity else None,
            **kw,
        )

    def _open_client(self) -> PumpClient:
        transport = open_transport(self.address, max(self.timeout * 4, 2.0))
        client = PumpClient(
            transport, self.programmer_id, self.key, self.timeout, self.retries,
            protocol=self.protocol,
        )  # fmt: skip
        try:
            self.identity = client.connect()
        except BaseException:
            client.close()
            raise
        return client

    def connect(self) -> list[Resolution]:
        """HELLO, AUTH, record the pump, then resolve any unresolved send first: nothing
        else is read or sent before the pump's own record has decided it."""
        self.accounts.authorize(self.principal, Action.INTERROGATE)
        known = self.identity
        self.client = self._open_client()
        self._log_matches_store = None
        self.log_findings = []
        if known is not None and (known["serial"], known["model"]) != (
            self.serial,
            self.identity["model"] if self.identity else None,
        ):
            self.close()
            raise SessionError(
                f"the pump now answering is {display_text(self.serial)}, not "
                f"{display_text(known['serial'])} this session began with: nothing was sent"
            )
        serial = self.serial
        # Unresolved sends block everything until decided, also if deciding fails here.
        self.uncertain = [pid for pid, _ in unresolved_sends(self.records, serial)]
        try:
            return self._record_connection_and_resolve(serial)
        except StoreError as exc:
            if not self.uncertain:
                raise
            raise UncertainOutstanding(
                "an earlier send to this pump is unresolved, and this computer cannot write "
                f"its database ({type(exc).__name__}): nothing is sent until the pump's record "
                "of it is recorded; make room for the database, then connect to the pump again"
            ) from exc

    def _record_connection_and_resolve(self, serial: str) -> list[Resolution]:
        self.records.upsert_pump(serial, str(self.identity["model"]) if self.identity else None)
        if self.visit_id is None:
            self.visit_id = self.records.start_visit(serial, self.principal)
            self._audit(
                AuditAction.PUMP_CONNECTED,
                after={
                    "address": self.address,
                    "model": self.identity["model"] if self.identity else None,
                    "firmware": self.identity["firmware"] if self.identity else None,
                    "demo_key": self.demo_key,
                },
                outcome="connected",
            )
        resolutions = self.resolve_uncertain()
        self.resolved_now = resolutions
        self.clock_notes = self._resolve_clock_uncertain()
        return resolutions

    def reconnect(self) -> list[Resolution]:
        """A new link and a new HELLO after a failure; resolves what the failure left."""
        if self.client is not None:
            self.client.close()
            self.client = None
        return self.connect()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def _client(self) -> PumpClient:
        if self.client is None:
            raise NotConnected("not connected to a pump")
        return self.client

    # --- uncertainty --------------------------------------------------------------------

    def resolve_uncertain(self) -> list[Resolution]:
        """Decide every unresolved send of this pump (left pending or uncertain by a link
        lost, a killed program or a full disk) from the pump's own record, and audit it."""
        rows = unresolved_sends(self.records, self.serial)
        if not rows:
            self.uncertain = []
            return []
        self.accounts.authorize(self.principal, Action.RESOLVE_UNCERTAIN)
        status = self._client().get_status()
        used: set[int] = set()
        resolutions = []
        for pid, program in rows:
            crc = int(program["crc"])
            decision = decide_send(program, status, self._changesets_applied(program, status), used)
            outcome = ProgramOutcome.APPLIED if decision.applied else ProgramOutcome.NOT_APPLIED
            try:
                with (
                    self.records.store.write()
                ):  # the decision, its audit and a refill: all or none
                    self._record_decision(pid, program, status, decision, outcome)
            except StoreError as exc:
                # Still unresolved (and so still blocking): never "try again" to send it.
                raise UncertainOutstanding(
                    f"an earlier send to this pump was {'APPLIED' if decision.applied else 'NOT applied'}"
                    f" (the pump's own record), but this computer could not record that "
                    f"({type(exc).__name__}); it stays unresolved and nothing is sent until it is"
                    " recorded: make room for the database, then connect to the pump again"
                ) from exc
            resolutions.append(
                Resolution(pid, crc, decision.applied, decision.applied_t, program.get("changeset"))
            )
            self.uncertain = [p for p in self.uncertain if p != pid]
        self.uncertain = []
        return resolutions

    def _record_decision(self, pid: int, program: Mapping[str, Any], status: Mapping[str, Any],
                         decision: Decision, outcome: ProgramOutcome) -> None:  # fmt: skip
        crc = int(program["crc"])
        self.records.set_prescription_outcome(
            pid, str(outcome), f"{status['therapy_crc']:08x}" if decision.applied else None
        )
        self._audit(
            AuditAction.PROGRAM_OUTCOME,
            before={"prescription_id": pid, "crc": crc, "outcome": "uncertain"},
            after={
                "outcome": str(outcome),
                "prescription_id": pid,
                "last_changeset_crc": status["last_changeset_crc"],
                "last_changeset_t": status["last_changeset_t"],
                "applied_t": decision.applied_t,
                "daily_doses_ng": program.get("daily_doses_ng") if decision.applied else None,
                "changeset": program.get("changeset"),
            },
            outcome=str(ProgramOutcome.UNCERTAIN_RESOLVED),
            reason=f"resolved from the pump's own record at connection: {decision.how}",
        )
        if decision.applied and program.get("refill_record"):
            self._record_refill_from(program["refill_record"])

    def _changesets_applied(
        self, program: Mapping[str, Any], status: Mapping[str, Any]
    ) -> list[PumpEvent] | None:
        """The pump's `changeset_applied` events since the send, or None when its log no
        longer covers that span (then only `last_changeset_crc` can decide)."""
        before = program.get("before_event_seq")
        first, last = int(status["event_first_seq"]), int(status["event_last_seq"])
        if not isinstance(before, int) or before + 1 < first or last - before > EVENTS_KEPT:
            return None
        found: list[PumpEvent] = []
        seq = before + 1
        while seq <= last:  # bounded: at most EVENTS_KEPT events, and every page moves on
            events, seq = self._read_event_page(seq, last)
            found += [e for e in events if e.kind == "changeset_applied"]
            if not events:
                break
        return found

    def _require_certain(self) -> None:
        if self.uncertain or (
            self.identity is not None and unresolved_sends(self.records, self.serial)
        ):
            raise UncertainOutstanding(
                "an earlier program's outcome is uncertain: reconnect to the pump so it can be "
                "resolved before anything else is sent"
            )

    # --- interrogation ------------------------------------------------------------------

    def _read_event_page(self, seq: int, end: int) -> tuple[list[PumpEvent], int]:
        """One READ_EVENTS from `seq`, events up to `end`; and where the next page starts."""
        page = self._client().read_events(seq, min(EVENT_PAGE, end - seq + 1))
        events = [
            PumpEvent(int(e["seq"]), datetime.fromtimestamp(int(e["t"]), UTC),
                      str(e["code"]), dict(e["data"]))
            for e in page["events"] if int(e["seq"]) <= end
        ]  # fmt: skip
        next_seq = int(page["next_seq"]) if page["events"] else end + 1
        return events, max(next_seq, seq + 1)

    def _last_refill(self, status: Mapping[str, Any]) -> tuple[int | None, int | None]:
        """The reservoir just after the last refill, and when.

        The pump's status does not say; its event log does. The log is scanned newest
        first, but only the parts the local store does not hold yet (what is read is
        stored): a pump with no refill in a long log would otherwise be read whole at
        every visit, 1,069 exchanges and minutes on a telemetry head. When the pump's
        log no longer holds the refill (it was pushed out), the store's copy decides;
        events lost before they were read are a finding of their own.
        """
        serial = self.serial
        first, last = int(status["event_first_seq"]), int(status["event_last_seq"])
        if last <= 0 or last < first:
            return None, None
        if not self._log_continues_store(first, last):
            # Another life of this serial: the store says nothing about it.
            return self._last_refill_on_pump(first, last)
        known_last = self.records.last_event_seq(serial)
        if known_last is not None and known_last + 1 < first and not self.log_findings:
            # Kept for the whole connection: what was read now is stored, not the lost part.
            self.log_findings.append(finding(
                "pump_log_flooded", "pump.event_first_seq",
                f"the pump's log now begins at event {first}; events {known_last + 1} to "
                f"{first - 1} were pushed out before this computer read them (the stored "
                "refill and history are used; what those events held is not known)"))  # fmt: skip
        # Never further back than the contract's log, whatever the pump claims to keep.
        window = max(first, last - EVENTS_KEPT + 1)
        stored = self.records.last_event_of_kind(serial, "refill")
        for low, high in reversed(self.records.missing_event_ranges(serial, window, last)):
            if stored is not None and stored.seq > high:
                break  # the newest refill lies in what is already stored
            end = high
            while end >= low:  # bounded: at most EVENTS_KEPT events, every page moves on
                start = max(low, end - EVENT_PAGE + 1)
                chunk: list[PumpEvent] = []
                seq = start
                while seq <= end:
                    events, seq = self._read_event_page(seq, end)
                    chunk += events
                if self.records.save_events(serial, chunk).conflicts:
                    return self._last_refill_on_pump(first, last)  # the store disagrees
                refills = [e for e in chunk if e.kind == "refill"]
                if refills:
                    return int(refills[-1].data["reservoir_nl"]), int(refills[-1].at.timestamp())
                end = start - 1
        stored = self.records.last_event_of_kind(serial, "refill")
        if stored is None:
            return None, None
        return int(stored.data["reservoir_nl"]), int(stored.at.timestamp())

    def _log_continues_store(self, first: int, last: int) -> bool:
        """Whether the pump's event log is the one the store holds for this serial.

        One pump never reuses a sequence number, so a log that ends before the stored
        one, or whose event at the newest stored number differs from ours, belongs to
        another life of the serial (a reset pump, a replacement given the old serial, an
        emulator started afresh). Its events must not be mixed with the stored ones, nor
        its last refill taken from them. Costs one one-event read per connection.
        """
        if self._log_matches_store is None:
            known_last = self.records.last_event_seq(self.serial)
            if known_last is None or known_last < first:
                matches = True  # nothing stored, or all of it older than the pump's log
            elif known_last > last:
                matches = False
            else:
                events, _ = self._read_event_page(known_last, known_last)
                saved = self.records.save_events(self.serial, events)
                matches = bool(events) and not saved.conflicts
            self._log_matches_store = matches
        return self._log_matches_store

    def _log_mismatch_text(self) -> str:
        return (
            f"this pump's event log does not continue the one stored on this computer for "
            f"serial {self.serial}: the pump was reset, or is another pump (or a new emulator) "
            f"under the same serial. Its history was not stored, so that two logs are never "
            f"mixed; the history shown for {self.serial} is the earlier one's. To keep this "
            f"pump's history, use another database (--db)"
        )

    def _last_refill_on_pump(self, first: int, last: int) -> tuple[int | None, int | None]:
        """The newest refill in the pump's own log, nothing stored or trusted."""
        end = last
        first = max(first, last - EVENTS_KEPT + 1)
        for _ in range(LAST_REFILL_SCAN_PAGES):
            if end < first:
                break
            start = max(first, end - EVENT_PAGE + 1)
            seq, refills = start, list[PumpEvent]()
            while seq <= end:
                events, seq = self._read_event_page(seq, end)
                refills += [e for e in events if e.kind == "refill"]
            if refills:
                return int(refills[-1].data["reservoir_nl"]), int(refills[-1].at.timestamp())
            end = start - 1
        return None, None

    def interrogate(self) -> Interrogation:
        self.accounts.authorize(self.principal, Action.INTERROGATE)
        client = self._client()
        status, raw = self._read_status_and_therapy(client)
        therapy = Therapy.from_wire(raw)
        now_t = int(self.now().timestamp())
        local = self.local_offset_at(now_t)
        last_fill, last_refill_t = self._last_refill(status)
        alarms = [
            Alarm(
                str(a["code"]), int(a["since_t"]), bool(a["critical"]), advice_for(str(a["code"]))
            )
            for a in status["alarms"]
        ]
        result = Interrogation(
            model=str(status["model"]),
            serial=str(status["serial"]),
            firmware=str(status["firmware"]),
            status=status,
            therapy=therapy,
            cycle_anchor_t=int(raw["cycle_anchor_t"]),
            alarms=alarms,
            clock_drift_s=int(status["clock_t"]) - now_t,
            local_offset_min=local,
            clock_findings=check_pump_clock(int(status["utc_offset_min"]), local),
            last_fill_nl=last_fill,
            last_refill_t=last_refill_t,
            demo_key=self.demo_key,
            log_findings=list(self.log_findings),
        )
        self.last = result
        self._audit(
            AuditAction.INTERROGATED,
            after={
                "therapy_crc": status["therapy_crc"],
                "reservoir_nl": status["reservoir_nl"],
                "delivering": status["delivering"],
                "alarms": [a.code for a in alarms],
                # where the pump's log stood: the app's "since the last visit" starts here
                "event_last_seq": status.get("event_last_seq"),
                "clock_t": status.get("clock_t"),
            },
            outcome="ok",
        )
        return result

    def _read_status_and_therapy(self, client: PumpClient) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both answers, or ImpossibleReading naming every bad field of either, with what
        could be read (the alarms above all), so that a bad field hides nothing else."""
        errors: list[ImpossibleValue] = []
        good: dict[str, dict[str, Any]] = {}
        status = therapy = None
        try:
            status = good["GET_STATUS"] = client.get_status()
        except ImpossibleValue as exc:
            errors.append(exc)
        try:
            therapy = client.get_therapy()["therapy"]
            good["GET_THERAPY"] = therapy
        except ImpossibleValue as exc:
            errors.append(exc)
        if errors or status is None or therapy is None:
            self._audit(AuditAction.INTERROGATED, outcome="impossible_value", after={
                "problems": [f"{e.answer} {p.field}: {p.rule}" for e in errors for p in e.problems][:50]})  # fmt: skip
            raise ImpossibleReading(errors, good)
        return status, therapy

    # --- programming --------------------------------------------------------------------

    def dose_history(self) -> list[DoseRecord]:
        """Daily doses this pump was given, from the audit trail of applied programs."""
        out: list[DoseRecord] = []
        for rec in self.trail.query(pump=self.serial, action=AuditAction.PROGRAM_OUTCOME):
            value = rec.after_value()
            after = value if isinstance(value, dict) else None
            if not after or after.get("outcome") != "applied" or after.get("applied_t") is None:
                continue
            applied_t = after["applied_t"]
            if type(applied_t) is not int or not T_MIN <= applied_t <= T_MAX:
                # An impossible time stored before answers were checked: the record's own
                # time is when this computer learned of it, close enough and never lost.
                applied_t = rec.ts_s
            at = datetime.fromtimestamp(int(applied_t), UTC)
            for drug, ng in (after.get("daily_doses_ng") or {}).items():
                out.append(DoseRecord(at, drug, Fraction(ng)))
        return out

    def propose(
        self,
        prescription: dict[str, Any],
        overrides: Mapping[str, str] | None = None,
        confirmations: Mapping[str, str] | None = None,
    ) -> Proposal:
        """Plan against the pump as it is now; nothing is sent.

        `overrides` (code -> its own reason) and `confirmations` (field -> value typed
        again) count for this proposal only.
        """
        self.accounts.authorize(self.principal, Action.CHECK_PRESCRIPTION)
        base = self.interrogate()
        pump_now = datetime.fromtimestamp(int(base.status["clock_t"]), UTC)
        result = plan(
            prescription,
            now=pump_now,
            pump=base.pump_context(),
            overrides=overrides,
            local_offset_at=self.local_offset_at,
            dose_history=self.dose_history(),
            confirmations=confirmations,
            # overridable like the plan's own
            extra_findings=[*base.clock_findings, *base.log_findings],
        )
        changeset: dict[str, Any] = {}
        if result.therapy is not None and result.therapy != base.therapy:
            # An unchanged therapy is not sent: a refill alone needs only the refill right.
            changeset["therapy"] = result.therapy.to_wire()
        if result.prescription.refill is not None:
            r = result.prescription.refill
            changeset["refill"] = {
                "removed_nl": r.removed_nl,
                "added_nl": r.added_nl,
                "reservoir_nl": r.added_nl,
            }
        if result.bolus is not None:
            changeset["bolus"] = result.bolus.to_wire()
        changes = therapy_changes(base.therapy, result.therapy) if result.therapy else []
        changes += one_time_rows(changeset, int(base.status["reservoir_nl"]))
        self._audit(
            AuditAction.PRESCRIPTION_CHECKED,
            after={"ok": result.ok, "findings": [f.code for f in result.findings]},
            outcome="ok" if result.ok else "findings",
        )
        return Proposal(
            prescription=prescription,
            plan=result,
            changeset=changeset,
            expected_crc=crc32(canonical_bytes(changeset)),
            changes=changes,
            daily_change=daily_change(base.therapy, result.therapy) if result.therapy else None,
            base=base,
            overrides=dict(result.overrides),
        )

    def send(self, proposal: Proposal, *, confirmed: bool, password: str,
             progress: Progress | None = None) -> ProgramResult:  # fmt: skip
        """Stage, verify, commit and read back. Returns the outcome; never guesses it."""
        say = progress or (lambda _: None)
        self._require_certain()
        for r in self.resolved_now:
            if r.applied and (
                r.crc == proposal.expected_crc
                or ("bolus" in (r.changeset or {}) and "bolus" in proposal.changeset)
            ):
                return ProgramResult(
                    "refused",
                    "nothing was sent: an earlier send left uncertain"
                    f"{' with the same change' if r.crc == proposal.expected_crc else ' with a bolus'}"
                    " was APPLIED (decided at this connection from the pump's own record). "
                    "Review the pump; to send it anyway, read the pump again and plan again",
                )
        p = proposal.plan
        if not p.ok or not proposal.changeset:
            stand = [f.code for f in p.hard + p.unresolved_soft]
            return ProgramResult(
                "refused",
                "nothing was sent: findings stand: " + ", ".join(stand)
                if stand
                else "nothing to send",
            )
        if not confirmed:
            return ProgramResult("refused", "nothing was sent: the change was not confirmed")
        right = Action.PROGRAM if proposal.needs_program_right else Action.RECORD_REFILL
        self.accounts.authorize(self.principal, right)
        if proposal.overrides:
            self.accounts.authorize(self.principal, Action.OVERRIDE_FINDING)
        self.accounts.reauthenticate(self.principal, password)
        client = self._client()
        status = client.get_status()
        if status["therapy_crc"] != proposal.base.status["therapy_crc"] or (
            status.get("last_changeset_crc") != proposal.base.status.get("last_changeset_crc")
        ):
            return ProgramResult(
                "refused", "nothing was sent: the pump changed since the plan was made; plan again"
            )
        daily = {d.drug: round(d.amount_ng) for d in p.daily_doses}
        program = {
            "changeset": proposal.changeset,
            "crc": proposal.expected_crc,
            "before_crc": status.get("last_changeset_crc"),
            "before_t": status.get("last_changeset_t"),
            # Where the pump's log stood: its changeset_applied events after this decide
            # the outcome if this send is left unresolved.
            "before_event_seq": int(status["event_last_seq"]),
            "daily_doses_ng": daily,
            "refill_record": self._refill_record(proposal),
        }
        try:
            for code, reason in proposal.overrides.items():
                self._audit(
                    AuditAction.FINDING_OVERRIDDEN,
                    after={"code": code},
                    reason=reason,
                    outcome="overridden",
                )
            # Every send is tracked, a refill alone too, so a lost COMMIT can be resolved.
            pid: int | None = self.records.record_prescription_sent(
                self.principal,
                self.serial,
                proposal.prescription,
                program,
                self.visit_id,
                right=right,
            )
            self._audit(
                AuditAction.PROGRAM_INTENT,
                before=proposal.base.therapy.to_wire(),
                after={
                    "changeset": proposal.changeset,
                    "crc": proposal.expected_crc,
                    "prescription_id": pid,
                },
                outcome="intent",
            )
        except StoreError as exc:
            return ProgramResult(
                "refused", f"nothing was sent: the audit intent could not be written ({exc})"
            )
        steps: list[str] = []
        commit_sent = False

        def finish(outcome: str, message: str, **kw: Any) -> ProgramResult:
            try:
                with self.records.store.write():  # the outcome, its audit and a refill: all or none
                    record(outcome, message, **kw)
            except StoreError as exc:
                if not commit_sent:
                    raise
                # COMMIT went out: the row already says uncertain, and the next connection
                # decides it from the pump. Never "try again": that could deliver it twice.
                self.uncertain = [pid] if pid is not None else []
                return ProgramResult(
                    "uncertain",
                    f"{message}; but this computer could not record the outcome "
                    f"({type(exc).__name__}: the database could not be written). It stays "
                    "UNCERTAIN and is decided from the pump's own record at the next "
                    "connection: do not send it again before then",
                    steps=steps,
                )
            return ProgramResult(outcome, message, steps=steps, **kw)

        def record(outcome: str, message: str, **kw: Any) -> None:
            if pid is not None and outcome in ("applied", "not_applied", "uncertain"):
                crc_text = f"{kw['therapy_crc']:08x}" if kw.get("therapy_crc") is not None else None
                self.records.set_prescription_outcome(pid, outcome, crc_text)
            self._audit(
                AuditAction.PROGRAM_OUTCOME,
                after={
                    "outcome": outcome,
                    "prescription_id": pid,
                    "crc": proposal.expected_crc,
                    "therapy_crc": kw.get("therapy_crc"),
                    "applied_t": kw.get("applied_t"),
                    "daily_doses_ng": daily if outcome == "applied" else None,
                },
                reason=message,
                outcome=outcome,
            )
            if outcome == "applied" and proposal.changeset.get("refill"):
                self._record_refill(proposal)

        # STAGE: nothing changes on the pump until COMMIT.
        say("stage")
        try:
            staged = client.stage(proposal.changeset)
        except ProtocolError as exc:
            return finish(
                "not_applied",
                f"the pump refused the changeset: {exc.message}",
                problems=list(exc.problems),
            )
        except LinkError as exc:
            return finish(
                "not_applied",
                f"the link failed before COMMIT was sent ({exc}); nothing was committed",
            )
        steps.append("staged")
        say("verify")
        try:
            understood = msgpack.unpackb(staged["canonical"], raw=False, strict_map_key=False)
        except Exception:
            understood = None
        if (
            understood != proposal.changeset
            or crc32(staged["canonical"]) != staged["staged_crc"]
            or staged["staged_crc"] != proposal.expected_crc
        ):
            with contextlib.suppress(ProtocolError, LinkError):
                client.discard()  # not committed either way; the next HELLO discards it too
            return finish(
                "not_applied",
                "the pump understood a different changeset from the one meant; it was discarded",
            )
        steps.append("verified")
        # Uncertain from here on, recorded before COMMIT leaves: whatever stops this
        # program next (a kill, a full disk, a lost link) leaves a row the next
        # connection decides from the pump before anything else is sent.
        try:
            if pid is not None:
                self.records.set_prescription_outcome(pid, "uncertain")
            self._audit(
                AuditAction.PROGRAM_OUTCOME,
                after={"outcome": "uncertain", "prescription_id": pid,
                       "crc": proposal.expected_crc, "step": "commit"},
                reason="COMMIT is being sent: uncertain until the pump's read-back",
                outcome=str(ProgramOutcome.UNCERTAIN),
            )  # fmt: skip
        except StoreError as exc:
            with contextlib.suppress(ProtocolError, LinkError):
                client.discard()
            return ProgramResult(
                "not_applied",
                "nothing was committed: this computer could not record the send before COMMIT "
                f"({exc}); the staged change was discarded",
                steps=steps,
            )
        say("commit")
        commit_sent = True
        try:
            committed = client.commit(int(staged["staged_crc"]))
        except ProtocolError as exc:
            return finish("not_applied", f"the pump refused COMMIT: {exc.code}: {exc.message}")
        except LinkError as exc:
            return self._after_lost_commit(
                proposal, pid, finish, f"the link failed at COMMIT ({exc})"
            )
        steps.append("committed")
        say("read back")
        try:
            back = client.get_therapy()["therapy"]
            after_status = client.get_status()
        except (ProtocolError, LinkError) as exc:
            return self._after_lost_commit(
                proposal, pid, finish, f"the read-back failed after COMMIT ({exc})"
            )
        steps.append("read back")
        mismatches = readback_mismatches(
            proposal.changeset,
            proposal.expected_crc,
            base_status=status,
            committed=committed,
            status=after_status,
            therapy=back,
        )
        if mismatches:
            self.uncertain = [pid] if pid is not None else []
            return finish(
                "uncertain",
                "; ".join(mismatches) + ": the outcome is uncertain until the pump's own "
                "record decides it at the next connection; do not send it again before then",
            )
        return finish(
            "applied",
            "applied, and the pump's read-back matches what was sent",
            therapy_crc=int(committed["therapy_crc"]),
            applied_t=int(committed["applied_t"]),
        )

    def _after_lost_commit(self, proposal: Proposal, pid: int | None,
                           finish: Callable[..., ProgramResult], why: str) -> ProgramResult:  # fmt: skip
        """COMMIT may or may not have taken effect: record uncertain, then try to learn which."""
        result = finish("uncertain", why + "; the outcome is uncertain until the pump is read")
        self.uncertain = [pid] if pid is not None else []
        try:
            resolutions = self.reconnect()
        except (LinkError, ProtocolError, OSError, SessionError, StoreError):
            return result
        for r in resolutions:
            if r.prescription_id == pid:
                outcome = "applied" if r.applied else "not_applied"
                return ProgramResult(
                    outcome,
                    f"{why}; reconnected and read the pump: {'applied' if r.applied else 'not applied'}",
                    applied_t=r.applied_t,
                    resolved_after_link_loss=True,
                    steps=result.steps,
                )
        return result

    def _refill_record(self, proposal: Proposal) -> dict[str, Any] | None:
        """What `record_refill` stores for this send's refill, kept with the send so that
        a refill decided applied at a later connection is recorded too."""
        rx = proposal.plan.prescription
        if rx.refill is None or "refill" not in proposal.changeset:
            return None
        check = proposal.plan.refill_check
        codes = [f.code for f in proposal.plan.findings if f.code.startswith("refill_")]
        return {
            "removed_nl": rx.refill.removed_nl,
            "added_nl": rx.refill.added_nl,
            "expected_nl": int(proposal.base.status["reservoir_nl"]),
            "last_fill_nl": proposal.base.last_fill_nl,
            # display only, never dose maths
            "discrepancy_pct": float(check.deviation * 100) if check else None,
            "finding": ",".join(codes) or None,
            "drugs": [
                {"name": d.name, "conc_ng_ml": d.conc_ng_ml}
                for d in (proposal.plan.therapy.drugs if proposal.plan.therapy else ())
            ],
        }

    def _record_refill(self, proposal: Proposal) -> None:
        record = self._refill_record(proposal)
        if record is not None:
            self._record_refill_from(record)

    def _record_refill_from(self, record: Mapping[str, Any]) -> None:
        self.records.record_refill(
            self.principal, self.serial, visit_id=self.visit_id, **dict(record)
        )

    # --- history ------------------------------------------------------------------------

    def read_history(self, progress: Progress | None = None,
                     should_stop: Callable[[], bool] = lambda: False) -> HistoryResult:  # fmt: skip
        """Events and hourly infusion, page by page from what the store has; resumable."""
        self.accounts.authorize(self.principal, Action.READ_HISTORY)
        say = progress or (lambda _: None)
        client = self._client()
        serial = self.serial
        status = client.get_status()
        first, last = int(status["event_first_seq"]), int(status["event_last_seq"])
        if last > 0 and not self._log_continues_store(first, last):
            self._audit(AuditAction.HISTORY_READ, after={"events_added": 0, "hours_added": 0,
                        "log_matches_store": False}, outcome="refused",
                        reason=self._log_mismatch_text())  # fmt: skip
            raise SessionError(self._log_mismatch_text())
        # Every part of the pump's log not stored yet: the new end, and whatever an
        # interrogation's refill scan left unread before what it stored.
        # Never further back than the contract's log (65,536 events), whatever the pump
        # claims: a bogus event_last_seq must not make the read endless.
        window = max(first, last - EVENTS_KEPT + 1)
        missing = self.records.missing_event_ranges(serial, window, last) if last > 0 else []
        added = known = 0
        complete = True
        for low, high in missing:
            seq = low
            while seq <= high:
                if should_stop():
                    complete = False
                    break
                events, seq = self._read_event_page(seq, high)
                if not events:
                    break
                saved = self.records.save_events(serial, events)
                added += saved.added
                known += saved.already_known
                say(f"events {seq - 1} of {last}")
            if not complete:
                break
        hours_added = hours_known = 0
        h_first, h_last = int(status["infusion_first_hour"]), int(status["infusion_last_hour"])
        rows = self.records.store.query(
            "SELECT max(hour_s) FROM infusion_hours WHERE pump_serial = ?", (serial,)
        )
        known_hour = int(rows[0][0]) // 3600 if rows and rows[0][0] is not None else None
        # At most the contract's five years of hours, whatever the pump claims.
        h_first = max(h_first, h_last - HOURS_KEPT + 1)
        hour = max(h_first, (known_hour + 1) if known_hour is not None else h_first)
        while complete and hour <= h_last:  # bounded: every page moves `hour` on
            if should_stop():
                complete = False
                break
            page = client.read_infusion(hour, INFUSION_PAGE)
            start = int(page["first_hour"])
            hours = [
                InfusionHour(
                    datetime.fromtimestamp((start + i) * 3600, UTC),
                    int(b) + int(p),
                    {"basal_nl": int(b), "bolus_nl": int(p)},
                )
                for i, (b, p) in enumerate(zip(page["basal_nl"], page["bolus_nl"], strict=True))
                if start + i <= h_last
            ]
            if not hours or int(page["next_hour"]) <= hour:
                break
            saved = self.records.save_infusion_hours(serial, hours)
            hours_added += saved.added
            hours_known += saved.already_known
            hour = int(page["next_hour"])
            say(f"hours {hour - h_first} of {h_last - h_first + 1}")
        gaps = self.records.missing_event_ranges(serial)
        self._audit(
            AuditAction.HISTORY_READ,
            after={
                "events_added": added,
                "hours_added": hours_added,
                "gaps": gaps,
                "complete": complete,
            },
            outcome="complete" if complete else "partial",
        )
        msg = f"{added} new events, {hours_added} new hours" + (f"; gaps at {gaps}" if gaps else "")
        return HistoryResult(added, known, hours_added, hours_known, gaps, complete, msg)

    # --- clock --------------------------------------------------------------------------

    def clock_change_text(self, clock_t: int, utc_offset_min: int) -> str:
        base = self.last or self.interrogate()
        return clock_change_text(base.status, clock_t, utc_offset_min)

    def set_clock(self, clock_t: int, utc_offset_min: int, *, confirmed: bool) -> str:
        """Only on explicit request, after saying how the schedule shifts; then the pump's
        own log must show the new clock (its `clock_set` event), or it is not done."""
        self._require_certain()
        self.accounts.authorize(self.principal, Action.SET_CLOCK)
        text = self.clock_change_text(clock_t, utc_offset_min)
        if not confirmed:
            raise SessionError("the clock was not changed: confirm after reading: " + text)
        client = self._client()
        status = client.get_status()
        before = {"clock_t": int(status["clock_t"]), "utc_offset_min": int(status["utc_offset_min"]),
                  "event_last_seq": int(status["event_last_seq"])}  # fmt: skip
        wanted = {"clock_t": clock_t, "utc_offset_min": utc_offset_min}
        self._audit(
            AuditAction.CLOCK_SET, before=before, after=wanted, outcome="intent", reason=text
        )
        self.last = None
        try:
            client.set_clock(clock_t, utc_offset_min)
        except LinkError:
            self._audit(AuditAction.CLOCK_SET, before=before, after=wanted, outcome="uncertain",
                        reason="the link failed after SET_CLOCK was sent; the pump's log decides "
                        "at the next connection")  # fmt: skip
            raise
        landed = self._clock_set_in_log(before["event_last_seq"], clock_t, utc_offset_min)
        offset_now = int(client.get_status()["utc_offset_min"])
        if not landed or offset_now != utc_offset_min:
            self._audit(AuditAction.CLOCK_SET, before=before,
                        after={**wanted, "read_back_offset_min": offset_now, "in_log": landed},
                        outcome="mismatch")  # fmt: skip
            raise SessionError(
                "the pump answered, but its read-back does not show the new clock "
                f"(log: {'yes' if landed else 'no'}, offset now {offset_now} min): "
                "read the pump again before anything else"
            )
        self._audit(AuditAction.CLOCK_SET, before=before, after=wanted, outcome="applied")
        return text

    def clock_now_here(self) -> tuple[int, int]:
        """This computer's time and UTC offset now: what "set the pump's clock" sends."""
        now_t = int(self.now().timestamp())
        return now_t, self.local_offset_at(now_t)

    def set_clock_to_this_computer(self, *, confirmed: bool) -> str:
        """Set the pump's clock and offset to this computer's, taken at the moment of sending."""
        clock_t, offset = self.clock_now_here()
        return self.set_clock(clock_t, offset, confirmed=confirmed)

    def _clock_set_in_log(self, after_seq: int, clock_t: int, utc_offset_min: int) -> bool:
        """Whether the pump logged this very clock change after `after_seq`."""
        last = int(self._client().get_status()["event_last_seq"])
        last = min(last, after_seq + EVENTS_KEPT)  # never more than the contract's log
        seq = after_seq + 1
        while seq <= last:
            events, seq = self._read_event_page(seq, last)
            for e in events:
                if e.kind == "clock_set" and (
                    e.data.get("new_t"),
                    e.data.get("new_offset_min"),
                ) == (clock_t, utc_offset_min):
                    return True
            if not events:
                break
        return False

    def _resolve_clock_uncertain(self) -> list[str]:
        """A clock change whose answer was lost is decided from the pump's log, first."""
        records = self.trail.query(pump=self.serial, action=AuditAction.CLOCK_SET)
        if not records or records[-1].outcome != "uncertain":
            return []
        rec = records[-1]
        before, wanted = rec.before_value(), rec.after_value()
        applied = self._clock_set_in_log(int(before["event_last_seq"]), int(wanted["clock_t"]),
                                         int(wanted["utc_offset_min"]))  # fmt: skip
        self._audit(AuditAction.CLOCK_SET, before=before, after={**wanted, "applied": applied},
                    outcome="uncertain_resolved",
                    reason="decided from the pump's clock_set events at connection")  # fmt: skip
        return [f"an earlier clock change was {'APPLIED' if applied else 'NOT applied'}"]

    # --- end ----------------------------------------------------------------------------

    def end(self, acknowledge: str | None = None) -> EndResult:
        """Refuses to end quietly while the pump is stopped or an outcome is uncertain."""
        warnings: list[str] = []
        if self.uncertain:
            warnings.append(
                "an outcome is uncertain: the pump's therapy is not known until it is read again"
            )
        stopped = None
        try:
            if self.client is not None:
                status = self.client.get_status()
                stopped = status["delivering"] == "stopped"
                if stopped:
                    warnings.append("the pump is STOPPED: the patient is getting no drug")
                critical = [a["code"] for a in status["alarms"] if a["critical"]]
                if critical:
                    warnings.append("critical alarms: " + ", ".join(critical))
        except (LinkError, ProtocolError) as exc:
            warnings.append(f"the pump could not be read at the end of the session ({exc})")
        if warnings and not acknowledge:
            return EndResult(False, warnings)
        if self.visit_id is not None:
            self.records.end_visit(self.visit_id)
        self._audit(AuditAction.SESSION_ENDED, after={"warnings": warnings, "stopped": stopped},
                    reason=acknowledge, outcome="ended")  # fmt: skip
        self.close()
        return EndResult(True, warnings)


class EmulatorControls:
    """The emulator-only messages, for demos and training: a real pump answers `unsupported`."""

    def __init__(self, session: PumpSession) -> None:
        self.session = session

    def advance(self, seconds: int) -> int:
        clock: int = self.session._client().sim_advance(seconds, timeout=30.0)["clock_t"]
        return clock

    def press_patient_bolus(self) -> dict[str, Any]:
        return self.session._client().sim_ptm()

    def fault(self, fault: str) -> None:
        self.session._client().sim_fault(fault)

    def set_flow_error(self, ppm: int) -> None:
        self.session._client().sim_set(ppm)

    def truth(self) -> dict[str, Any]:
        return self.session._client().sim_truth()
