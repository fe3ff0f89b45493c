"""`PumpModel`: one ITP-20 or ITP-40 pump, as section 5 of pump-link-protocol.md describes it.

Time moves only through `advance_to` / `advance`, event by event: from one instant where
something can change (a step boundary, a bolus end, an alarm, a reservoir threshold) to the
next, splitting each constant stretch at UTC hour edges for the hourly totals. Every volume
is an integer in nl; sub-nanolitre remainders are carried (basal: in 1/86400 nl; boluses:
as floors of their exact delivered volume measured from their own start), so the hourly
totals add up exactly to what was programmed.
"""

from __future__ import annotations

from typing import Any

from programmer.emulator import limits as L
from programmer.emulator.boluses import ClinicianBolus, PatientBolus
from programmer.emulator.canonical import canonical_bytes, canonical_crc, crc32
from programmer.emulator.errors import Problem, PumpRefusal
from programmer.emulator.records import EventLog, HourLog
from programmer.emulator.schedule import BasalSchedule, local_midnight
from programmer.emulator.validation import check_changeset

CRITICAL_ALARMS = frozenset({"empty_reservoir", "end_of_service", "motor_stall", "pump_stopped"})
# Alarms under which the motor does not run at all.
HALTING_ALARMS = ("end_of_service", "motor_stall")
FIRMWARE = "emu-1.0"
PTM_REASONS = ("ok", "disabled", "lockout", "max_per_day", "bolus_active", "not_delivering")


def default_therapy() -> dict[str, Any]:
    """A new pump: saline at the minimum rate, patient bolus off (settings within limits)."""
    return {
        "drugs": [],
        "low_alarm_nl": L.LOW_ALARM_DEFAULT_NL,
        "mode": "continuous",
        "cycle_days": 1,
        "steps": [[0, L.MIN_RATE_NL_DAY]],
        "ptm": {
            "enabled": False,
            "volume_nl": L.PTM_VOLUME_MIN_NL,
            "duration_min": L.PTM_DURATION_MIN_MIN,
            "lockout_min": L.PTM_DURATION_MIN_MIN,
            "max_per_day": L.PTM_PER_DAY_MIN,
        },
        "catheter_volume_nl": 0,
    }


ACCESS_SUMMARY_EVERY_S = 86_400  # unauthenticated attempts: at most one event a day each


class AccessAttempts:
    """HELLOs that never authenticated and AUTH failures not logged one by one, since
    `since_t`; written to the log as one `access_attempts` event (docs/emulator.md)."""

    def __init__(self) -> None:
        self.hellos = 0
        self.auth_failures = 0
        self.since_t: int | None = None
        self.programmer_id = ""
        self.last_summary_t: int | None = None
        self.last_failure_logged_t: int | None = None
        self._before_hello = ""

    def attempt(self, now: int, programmer_id: str, *, failed_auth: bool) -> None:
        if self.since_t is None:
            self.since_t = now
        if failed_auth:
            self.auth_failures += 1
        else:
            self.hellos += 1
            self._before_hello = self.programmer_id
        self.programmer_id = programmer_id

    def authenticated(self) -> None:
        """The last HELLO was a session after all: it is not an attempt."""
        if self.hellos:
            self.hellos -= 1
            self.programmer_id = self._before_hello

    def summary(self) -> dict[str, Any]:
        return {
            "hellos": self.hellos,
            "auth_failures": self.auth_failures,
            "since_t": self.since_t,
            "programmer_id": self.programmer_id,
        }

    def clear(self, now: int) -> None:
        self.hellos = self.auth_failures = 0
        self.since_t = None
        self.last_summary_t = now

    def to_wire(self) -> list[Any]:
        return [self.hellos, self.auth_failures, self.since_t, self.programmer_id,
                self.last_summary_t, self.last_failure_logged_t]  # fmt: skip

    @classmethod
    def from_wire(cls, raw: Any) -> AccessAttempts:
        access = cls()
        if isinstance(raw, list) and len(raw) == 6:
            (access.hellos, access.auth_failures, access.since_t, access.programmer_id,
             access.last_summary_t, access.last_failure_logged_t) = raw  # fmt: skip
        return access


class PumpModel:
    """The pump's whole memory plus its behaviour. Not thread-safe: the handler locks."""

    def __init__(
        self,
        model: str,
        clock_t: int,
        *,
        serial: str | None = None,
        implanted_t: int | None = None,
        eri_t: int | None = None,
        utc_offset_min: int = 0,
    ) -> None:
        if model not in L.MODELS:
            raise ValueError(f"unknown pump model {model!r}; expected one of {list(L.MODELS)}")
        self.spec = L.MODELS[model]
        self.serial = serial if serial is not None else f"{self.spec.serial_prefix}-000001"
        self.firmware = FIRMWARE
        self.clock_t = clock_t
        self.utc_offset_min = utc_offset_min
        self.implanted_t = implanted_t if implanted_t is not None else clock_t
        self.eri_t = eri_t if eri_t is not None else self.implanted_t + L.ERI_AFTER_IMPLANT_S
        self.therapy = default_therapy()
        self.anchor_local = local_midnight(self.local_t)
        # The anchor as reported (cycle_anchor_t): the UTC instant of that local midnight
        # under the offset in force when it was set. Fixed until a COMMIT re-anchors, so
        # neither time passing nor a new UTC offset changes therapy_crc.
        self.anchor_t = self.anchor_local - self.utc_offset_min * 60
        self.schedule = self._build_schedule()
        self.reservoir_nl = self.spec.capacity_nl
        self.true_reservoir_nl = self.spec.capacity_nl
        self.true_delivered_nl = 0
        self.true_carry = 0  # in 1/1e6 nl
        self.flow_error_ppm = 0
        self.basal_carry = 0  # in 1/86400 nl
        self.bolus: ClinicianBolus | None = None
        self.ptm: PatientBolus | None = None
        self.ptm_grants: list[int] = []  # start of each granted PTM in the last 24 h
        self.alarms: dict[str, int] = {}  # code -> since_t, in the order raised
        self.stopped_since: int | None = None
        self.last_changeset_crc: int | None = None
        self.last_changeset_t: int | None = None
        self.events = EventLog()
        self.hours = HourLog(clock_t // L.SECONDS_PER_HOUR, [0], [0])
        self.access = AccessAttempts()
        # Session-scoped, never persisted: a restart or a new HELLO forgets them.
        self.staged: tuple[dict[str, Any], bytes, int] | None = None
        self.session_commit: tuple[int, dict[str, Any]] | None = None
        self._raise_due_alarms()

    # ----------------------------------------------------------------- derived values

    @property
    def local_t(self) -> int:
        return self.clock_t + self.utc_offset_min * 60

    @property
    def eos_t(self) -> int:
        return self.eri_t + L.END_OF_SERVICE_AFTER_ERI_S

    def _build_schedule(self) -> BasalSchedule:
        therapy = self.therapy
        return BasalSchedule.from_therapy(
            therapy["mode"], therapy["cycle_days"], therapy["steps"], self.anchor_local
        )

    def therapy_wire(self) -> dict[str, Any]:
        return {**self.therapy, "cycle_anchor_t": self.anchor_t}

    def therapy_crc(self) -> int:
        return canonical_crc(self.therapy_wire())

    def halted_by(self) -> str | None:
        """The critical alarm that keeps the motor still, if any."""
        return next((code for code in HALTING_ALARMS if code in self.alarms), None)

    def delivering(self) -> str:
        if self.halted_by() is not None or self.therapy["mode"] == "stopped":
            return "stopped"
        if "empty_reservoir" in self.alarms:
            return "minimum_rate"
        if self.bolus is not None:
            return "clinician_bolus"
        return "basal"

    def identity(self) -> tuple[str, str, str]:
        return self.spec.name, self.serial, self.firmware

    def status(self) -> dict[str, Any]:
        return {
            "model": self.spec.name,
            "serial": self.serial,
            "firmware": self.firmware,
            "implanted_t": self.implanted_t,
            "clock_t": self.clock_t,
            "utc_offset_min": self.utc_offset_min,
            "reservoir_capacity_nl": self.spec.capacity_nl,
            "reservoir_nl": self.reservoir_nl,
            "low_alarm_nl": self.therapy["low_alarm_nl"],
            "therapy_crc": self.therapy_crc(),
            "last_changeset_crc": self.last_changeset_crc,
            "last_changeset_t": self.last_changeset_t,
            "delivering": self.delivering(),
            "bolus_remaining_nl": (
                self.bolus.volume_nl - self.bolus.delivered_nl if self.bolus is not None else 0
            ),
            "alarms": [
                {"code": code, "since_t": since, "critical": code in CRITICAL_ALARMS}
                for code, since in self.alarms.items()
            ],
            "eri_t": self.eri_t,
            "event_first_seq": self.events.first_seq,
            "event_last_seq": self.events.last_seq,
            "infusion_first_hour": self.hours.first_hour,
            "infusion_last_hour": self.hours.last_hour,
        }

    # ----------------------------------------------------------------- events, alarms

    def log(self, code: str, data: dict[str, Any]) -> None:
        self.events.append(self.clock_t, code, data)

    def _raise(self, code: str) -> None:
        if code not in self.alarms:
            self.alarms[code] = self.clock_t
            self.log("alarm_raised", {"code": code})

    def _clear(self, code: str) -> None:
        if code in self.alarms:
            del self.alarms[code]
            self.log("alarm_cleared", {"code": code})

    def _cancel_boluses(self) -> None:
        if self.bolus is not None:
            bolus, self.bolus = self.bolus, None
            self.log(
                "bolus_cancelled",
                {
                    "kind": bolus.kind,
                    "volume_nl": bolus.volume_nl,
                    "delivered_nl": bolus.delivered_nl,
                },
            )
        if self.ptm is not None:
            ptm, self.ptm = self.ptm, None
            self.log(
                "bolus_cancelled",
                {"kind": "patient", "volume_nl": ptm.volume_nl, "delivered_nl": ptm.delivered_nl},
            )

    def _raise_due_alarms(self) -> None:
        """Everything that is due at the current instant; safe to call at any time."""
        now = self.clock_t
        if self.bolus is not None and now >= self.bolus.end_t:
            bolus, self.bolus = self.bolus, None
            self.log("bolus_completed", {"kind": bolus.kind, "volume_nl": bolus.volume_nl})
        if self.ptm is not None and now >= self.ptm.end_t:
            self.ptm = None
        if now >= self.eri_t:
            self._raise("eri")
        if now >= self.eos_t and "end_of_service" not in self.alarms:
            self._raise("end_of_service")
            self._cancel_boluses()
        if self.stopped_since is not None and now - self.stopped_since > L.PUMP_STOPPED_AFTER_S:
            self._raise("pump_stopped")
        if self.reservoir_nl <= self.therapy["low_alarm_nl"]:
            self._raise("low_reservoir")
        if self.reservoir_nl == 0 and "empty_reservoir" not in self.alarms:
            self._raise("empty_reservoir")
            self._cancel_boluses()

    def _next_due(self) -> int | None:
        """The next instant after now at which `_raise_due_alarms` has work."""
        due = [self.eos_t] if "end_of_service" not in self.alarms else []
        if "eri" not in self.alarms:
            due.append(self.eri_t)
        if self.bolus is not None:
            due.append(self.bolus.end_t)
        if self.ptm is not None:
            due.append(self.ptm.end_t)
        if self.stopped_since is not None and "pump_stopped" not in self.alarms:
            due.append(self.stopped_since + L.PUMP_STOPPED_AFTER_S + 1)
        later = [t for t in due if t > self.clock_t]
        return min(later) if later else None

    # ----------------------------------------------------------------- delivery

    def _basal_rate(self) -> tuple[int, int | None]:
        """(basal nl/day now, seconds it may last): what the motor gives besides boluses."""
        if self.delivering() == "stopped":
            return 0, None
        if "empty_reservoir" in self.alarms:
            return L.KEEP_OPEN_RATE_NL_DAY, None
        rate, lasts = self.schedule.rate_at(self.local_t)
        return (0 if self.bolus is not None else rate), lasts

    def _programmed_by(self, t: int, basal_rate: int) -> int:
        """Whole nl programmed from now to t if nothing changes in between."""
        total = (self.basal_carry + basal_rate * (t - self.clock_t)) // L.SECONDS_PER_DAY
        if self.bolus is not None:
            total += self.bolus.delivered_by(t) - self.bolus.delivered_nl
        if self.ptm is not None:
            total += self.ptm.delivered_by(t) - self.ptm.delivered_nl
        return total

    def _threshold_instant(self, end: int, basal_rate: int) -> int:
        """The first instant in (now, end] at which the estimate reaches a threshold, or end."""
        thresholds = []
        if "empty_reservoir" not in self.alarms:
            thresholds.append(0)
        low = self.therapy["low_alarm_nl"]
        if "low_reservoir" not in self.alarms and self.reservoir_nl > low:
            thresholds.append(low)
        if not thresholds:
            return end
        need = self.reservoir_nl - max(thresholds)
        if self._programmed_by(end, basal_rate) < need:
            return end
        low_t, high_t = self.clock_t, end  # invariant: not reached at low_t, reached at high_t
        while high_t - low_t > 1:
            middle = (low_t + high_t) // 2
            if self._programmed_by(middle, basal_rate) >= need:
                high_t = middle
            else:
                low_t = middle
        return high_t

    def _deliver_until(self, end: int, basal_rate: int) -> None:
        """Runs the motor from now to `end` with nothing changing, hour by hour."""
        hours, bolus, ptm = self.hours, self.bolus, self.ptm
        carry, start, total = self.basal_carry, self.clock_t, 0
        if basal_rate == 0 and bolus is None and ptm is None:
            start = end  # the motor is still: nothing to split into hours
        while start < end:
            hour = start // L.SECONDS_PER_HOUR
            stop = min(end, (hour + 1) * L.SECONDS_PER_HOUR)
            carry += basal_rate * (stop - start)
            basal_nl, carry = divmod(carry, L.SECONDS_PER_DAY)
            bolus_nl = 0
            if bolus is not None:
                given = bolus.delivered_by(stop)
                bolus_nl += given - bolus.delivered_nl
                bolus.delivered_nl = given
            if ptm is not None:
                given = ptm.delivered_by(stop)
                bolus_nl += given - ptm.delivered_nl
                ptm.delivered_nl = given
            if basal_nl or bolus_nl:
                hours.add(hour, basal_nl, bolus_nl)
            total += basal_nl + bolus_nl
            start = stop
        hours.add(end // L.SECONDS_PER_HOUR, 0, 0)  # the current hour always exists
        self.basal_carry = carry
        self.clock_t = end
        self.reservoir_nl = max(0, self.reservoir_nl - total)
        self._really_deliver(total)

    def _really_deliver(self, programmed_nl: int) -> None:
        """What the pump truly gives: programmed × (1 + ppm/1e6), while it has fluid."""
        self.true_carry += programmed_nl * (L.PPM + self.flow_error_ppm)
        whole, self.true_carry = divmod(self.true_carry, L.PPM)
        given = min(whole, self.true_reservoir_nl)
        self.true_reservoir_nl -= given
        self.true_delivered_nl += given

    def advance_to(self, target_t: int) -> None:
        """Runs the pump until `target_t`, event by event."""
        self._raise_due_alarms()
        while self.clock_t < target_t:
            basal_rate, lasts = self._basal_rate()
            end = target_t
            if lasts is not None:
                end = min(end, self.clock_t + lasts)
            due = self._next_due()
            if due is not None:
                end = min(end, due)
            end = self._threshold_instant(end, basal_rate)
            self._deliver_until(end, basal_rate)
            self._raise_due_alarms()

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise PumpRefusal("bad_request", "seconds must not be negative")
        self.advance_to(self.clock_t + seconds)
        return self.clock_t

    # ----------------------------------------------------------------- sessions

    def open_session(self, programmer_id: str) -> bool:
        """A HELLO: not logged by itself (a flood must not fill the log); counted until its
        AUTH succeeds. True when the log changed (a due summary was written)."""
        self.staged = None
        self.session_commit = None
        logged = self._summarise_access(due_only=True)
        self.access.attempt(self.clock_t, programmer_id, failed_auth=False)
        return logged

    def authenticated(self, programmer_id: str) -> None:
        """AUTH succeeded: the attempts before it are summarised, then the session logged."""
        self.access.authenticated()  # this session's own HELLO was no mere attempt
        self._summarise_access(due_only=False)
        self.log("session_opened", {"programmer_id": programmer_id})

    def auth_failed(self, programmer_id: str) -> bool:
        """A wrong MAC: logged at most once a day, the others counted. True if logged."""
        access = self.access
        access.authenticated()  # its HELLO is counted as this failure instead
        last = access.last_failure_logged_t
        if last is None or not 0 <= self.clock_t - last < ACCESS_SUMMARY_EVERY_S:
            access.last_failure_logged_t = self.clock_t
            self.log("auth_failed", {"programmer_id": programmer_id})
            return True
        access.attempt(self.clock_t, programmer_id, failed_auth=True)
        return self._summarise_access(due_only=True)

    def _summarise_access(self, *, due_only: bool) -> bool:
        access = self.access
        if access.since_t is None or not (access.hellos or access.auth_failures):
            return False
        last = access.last_summary_t
        if due_only and last is not None and 0 <= self.clock_t - last < ACCESS_SUMMARY_EVERY_S:
            return False
        self.log("access_attempts", access.summary())
        access.clear(self.clock_t)
        return True

    # ----------------------------------------------------------------- changesets

    def _fault_refusal(self, changeset: dict[str, Any]) -> None:
        """Which parts a critical alarm forbids (documented in docs/emulator.md)."""
        halted = self.halted_by()
        if halted is not None and "bolus" in changeset:
            raise PumpRefusal("pump_fault", f"{halted}: the pump cannot give a bolus")
        if "end_of_service" in self.alarms and "therapy" in changeset:
            raise PumpRefusal(
                "pump_fault", "end_of_service: the battery is spent; the therapy cannot change"
            )

    def _bolus_problems(self, changeset: dict[str, Any]) -> list[Problem]:
        bolus = changeset.get("bolus")
        if bolus is None:
            return []
        problems = []
        refill = changeset.get("refill")
        contents = refill["reservoir_nl"] if refill is not None else self.reservoir_nl
        volume = bolus["volume_nl"]
        if volume < 1:
            problems.append(
                Problem("bolus.volume_nl", "below_min", f"bolus.volume_nl is {volume} nl; min 1 nl")
            )
        elif volume > contents:
            problems.append(
                Problem(
                    "bolus.volume_nl",
                    "above_max",
                    f"bolus.volume_nl is {volume} nl, above the reservoir's contents of "
                    f"{contents} nl",
                )
            )
        therapy = changeset.get("therapy", self.therapy)
        if therapy["mode"] == "stopped":
            problems.append(
                Problem(
                    "bolus", "pump_stopped_mode", "a bolus cannot run while the mode is stopped"
                )
            )
        return problems

    def stage(self, changeset: object) -> dict[str, Any]:
        # A refused STAGE leaves nothing staged, not the earlier changeset it was to replace.
        self.staged = None
        check, understood = check_changeset(changeset, self.spec.capacity_nl)
        if not check.shape:
            self._fault_refusal(understood)
            check.limit.extend(self._bolus_problems(understood))
        check.raise_if_any()
        canonical = canonical_bytes(understood)
        crc = crc32(canonical)
        self.staged = (understood, canonical, crc)
        return {"staged_crc": crc, "canonical": canonical}

    def discard(self) -> None:
        self.staged = None

    def commit(self, staged_crc: int, programmer_id: str) -> dict[str, Any]:
        if self.staged is None or self.staged[2] != staged_crc:
            # A repeat of this session's last COMMIT answers as the first one did.
            if self.session_commit is not None and self.session_commit[0] == staged_crc:
                return dict(self.session_commit[1])
            if self.staged is None:
                raise PumpRefusal("no_staged", "nothing is staged")
            raise PumpRefusal(
                "crc_mismatch",
                f"staged_crc {staged_crc:#010x} is not the staged changeset's {self.staged[2]:#010x}",
            )
        changeset, _canonical, crc = self.staged
        # The pump may have changed since STAGE (time, faults): check again before applying.
        self._fault_refusal(changeset)
        problems = self._bolus_problems(changeset)
        if problems:
            raise PumpRefusal("invalid", problems[0].message, problems)
        parts = self._apply(changeset)
        self.last_changeset_crc = crc
        self.last_changeset_t = self.clock_t
        self.log("changeset_applied", {"crc": crc, "programmer_id": programmer_id, "parts": parts})
        self.staged = None
        response = {"therapy_crc": self.therapy_crc(), "applied_t": self.clock_t}
        self.session_commit = (crc, dict(response))
        return response

    def _apply(self, changeset: dict[str, Any]) -> list[str]:
        parts = []
        if "therapy" in changeset:
            self._apply_therapy(changeset["therapy"])
            parts.append("therapy")
        if "refill" in changeset:
            self._apply_refill(changeset["refill"])
            parts.append("refill")
        if "cancel_bolus" in changeset:
            self._cancel_clinician_bolus()
            parts.append("cancel_bolus")
        if "bolus" in changeset:
            self._start_bolus(changeset["bolus"])
            parts.append("bolus")
        self._raise_due_alarms()
        return parts

    def _apply_therapy(self, therapy: dict[str, Any]) -> None:
        old = self.therapy
        if any(therapy[key] != old[key] for key in ("mode", "steps", "cycle_days")):
            self.anchor_local = local_midnight(self.local_t)
            self.anchor_t = self.anchor_local - self.utc_offset_min * 60
        self.therapy = therapy
        self.schedule = self._build_schedule()
        if therapy["mode"] == "stopped":
            if old["mode"] != "stopped":
                self.stopped_since = self.clock_t
            self._cancel_boluses()
        else:
            self.stopped_since = None
            self._clear("pump_stopped")
        # The alarm follows its new threshold both ways.
        if self.reservoir_nl > therapy["low_alarm_nl"]:
            self._clear("low_reservoir")

    def _apply_refill(self, refill: dict[str, Any]) -> None:
        # What is really in the pump: the syringe draws out what it can, then adds.
        left = max(0, self.true_reservoir_nl - refill["removed_nl"])
        self.true_reservoir_nl = min(self.spec.capacity_nl, left + refill["added_nl"])
        self.reservoir_nl = refill["reservoir_nl"]
        self.log("refill", dict(refill))
        if self.reservoir_nl > 0:
            self._clear("empty_reservoir")
        if self.reservoir_nl > self.therapy["low_alarm_nl"]:
            self._clear("low_reservoir")

    def _cancel_clinician_bolus(self) -> None:
        if self.bolus is not None:
            bolus, self.bolus = self.bolus, None
            self.log(
                "bolus_cancelled",
                {
                    "kind": bolus.kind,
                    "volume_nl": bolus.volume_nl,
                    "delivered_nl": bolus.delivered_nl,
                },
            )

    def _start_bolus(self, bolus: dict[str, Any]) -> None:
        self._cancel_clinician_bolus()  # a new bolus replaces one still running
        self.bolus = ClinicianBolus(
            bolus["kind"], bolus["volume_nl"], bolus["rate_nl_day"], self.clock_t
        )
        self.log(
            "bolus_started",
            {
                "kind": bolus["kind"],
                "volume_nl": bolus["volume_nl"],
                "rate_nl_day": bolus["rate_nl_day"],
            },
        )

    # ----------------------------------------------------------------- clock

    def set_clock(self, clock_t: int, utc_offset_min: int) -> None:
        problems = []
        if not L.CLOCK_MIN_T <= clock_t < L.CLOCK_MAX_T:
            problems.append(
                Problem(
                    "clock_t",
                    "out_of_range",
                    f"clock_t {clock_t} s is outside {L.CLOCK_MIN_T}..{L.CLOCK_MAX_T - 1} s "
                    "(2000-01-01 to 2099-12-31 UTC)",
                )
            )
        if not L.UTC_OFFSET_MIN_MIN <= utc_offset_min <= L.UTC_OFFSET_MAX_MIN:
            problems.append(
                Problem(
                    "utc_offset_min",
                    "out_of_range",
                    f"utc_offset_min is {utc_offset_min} min; it must be "
                    f"{L.UTC_OFFSET_MIN_MIN} to {L.UTC_OFFSET_MAX_MIN} min",
                )
            )
        if problems:
            raise PumpRefusal("invalid", problems[0].message, problems)
        old_t, old_offset = self.clock_t, self.utc_offset_min
        shift = clock_t - old_t
        # The clock was wrong, not time: running timers keep their length.
        for bolus in (self.bolus, self.ptm):
            if bolus is not None:
                bolus.start_t += shift
        self.ptm_grants = [t + shift for t in self.ptm_grants]
        if self.stopped_since is not None:
            self.stopped_since += shift
        # eri_t is a date fixed when the pump was made: it does not move with the clock.
        self.clock_t, self.utc_offset_min = clock_t, utc_offset_min
        self.hours.add(clock_t // L.SECONDS_PER_HOUR, 0, 0)
        self.log(
            "clock_set",
            {
                "old_t": old_t,
                "new_t": clock_t,
                "old_offset_min": old_offset,
                "new_offset_min": utc_offset_min,
            },
        )
        self._raise_due_alarms()

    # ----------------------------------------------------------------- histories

    def read_events(self, from_seq: int, most: int) -> dict[str, Any]:
        return self.events.page(from_seq, most)

    def read_infusion(self, from_hour: int, most: int) -> dict[str, Any]:
        return self.hours.page(from_hour, most)

    # ----------------------------------------------------------------- emulator-only

    def _ptm_refusal(self) -> str | None:
        ptm = self.therapy["ptm"]
        now = self.clock_t
        self.ptm_grants = [t for t in self.ptm_grants if now - t < L.SECONDS_PER_DAY]
        if not ptm["enabled"]:
            return "disabled"
        if self.delivering() in ("stopped", "minimum_rate"):
            return "not_delivering"
        if self.bolus is not None:
            return "bolus_active"
        # The lockout runs from the start of the last granted bolus, and never ends before
        # that bolus does (a shorter lockout may have been programmed since).
        if self.ptm is not None or (
            self.ptm_grants and now < self.ptm_grants[-1] + ptm["lockout_min"] * 60
        ):
            return "lockout"
        if len(self.ptm_grants) >= ptm["max_per_day"]:
            return "max_per_day"
        return None

    def press_ptm(self) -> dict[str, Any]:
        reason = self._ptm_refusal()
        if reason is None:
            ptm = self.therapy["ptm"]
            self.ptm = PatientBolus(ptm["volume_nl"], ptm["duration_min"] * 60, self.clock_t)
            self.ptm_grants.append(self.clock_t)
        granted, reason = reason is None, reason or "ok"
        self.log("ptm_request", {"granted": granted, "reason": reason})
        return {"granted": granted, "reason": reason}

    def fault(self, fault: str) -> None:
        if fault == "motor_stall":
            if "motor_stall" not in self.alarms:
                self._raise("motor_stall")
                self._cancel_boluses()
        elif fault == "clear":
            self._clear("motor_stall")
        else:
            raise PumpRefusal("bad_request", f"fault {fault!r} is not motor_stall or clear")

    def truth(self) -> dict[str, Any]:
        return {
            "true_reservoir_nl": self.true_reservoir_nl,
            "true_delivered_nl": self.true_delivered_nl,
        }

    def set_flow_error(self, ppm: int) -> None:
        if not L.FLOW_ERROR_PPM_MIN <= ppm <= L.FLOW_ERROR_PPM_MAX:
            message = (
                f"flow_error_ppm is {ppm} ppm; it must be {L.FLOW_ERROR_PPM_MIN} to "
                f"{L.FLOW_ERROR_PPM_MAX} ppm"
            )
            raise PumpRefusal(
                "invalid", message, [Problem("flow_error_ppm", "out_of_range", message)]
            )
        self.flow_error_ppm = ppm

    # ----------------------------------------------------------------- persistence

    def to_wire(self) -> dict[str, Any]:
        """Everything a restart must keep (the staged changeset is session state: not kept)."""
        return {
            "format": 1,
            "model": self.spec.name,
            "serial": self.serial,
            "clock_t": self.clock_t,
            "utc_offset_min": self.utc_offset_min,
            "implanted_t": self.implanted_t,
            "eri_t": self.eri_t,
            "therapy": self.therapy,
            "anchor_local": self.anchor_local,
            "anchor_t": self.anchor_t,
            "access": self.access.to_wire(),
            "reservoir_nl": self.reservoir_nl,
            "true": [self.true_reservoir_nl, self.true_delivered_nl, self.true_carry],
            "flow_error_ppm": self.flow_error_ppm,
            "basal_carry": self.basal_carry,
            "bolus": self.bolus.to_wire() if self.bolus is not None else None,
            "ptm": self.ptm.to_wire() if self.ptm is not None else None,
            "ptm_grants": self.ptm_grants,
            "alarms": [[code, since] for code, since in self.alarms.items()],
            "stopped_since": self.stopped_since,
            "last_changeset": [self.last_changeset_crc, self.last_changeset_t],
            "events": self.events.to_wire(),
            "hours": self.hours.to_wire(),
        }

    @classmethod
    def from_wire(cls, raw: dict[str, Any]) -> PumpModel:
        if raw.get("format") != 1:
            raise ValueError(f"unknown state format {raw.get('format')!r}")
        pump = cls(
            raw["model"],
            raw["clock_t"],
            serial=raw["serial"],
            implanted_t=raw["implanted_t"],
            eri_t=raw["eri_t"],
            utc_offset_min=raw["utc_offset_min"],
        )
        pump.therapy = raw["therapy"]
        pump.anchor_local = raw["anchor_local"]
        # A state saved before the anchor was fixed: its anchor under today's offset.
        pump.anchor_t = raw.get("anchor_t", pump.anchor_local - pump.utc_offset_min * 60)
        pump.access = AccessAttempts.from_wire(raw.get("access"))
        pump.schedule = pump._build_schedule()
        pump.reservoir_nl = raw["reservoir_nl"]
        pump.true_reservoir_nl, pump.true_delivered_nl, pump.true_carry = raw["true"]
        pump.flow_error_ppm = raw["flow_error_ppm"]
        pump.basal_carry = raw["basal_carry"]
        pump.bolus = ClinicianBolus.from_wire(raw["bolus"]) if raw["bolus"] is not None else None
        pump.ptm = PatientBolus.from_wire(raw["ptm"]) if raw["ptm"] is not None else None
        pump.ptm_grants = list(raw["ptm_grants"])
        pump.alarms = {code: since for code, since in raw["alarms"]}
        pump.stopped_since = raw["stopped_since"]
        pump.last_changeset_crc, pump.last_changeset_t = raw["last_changeset"]
        pump.events = EventLog.from_wire(raw["events"])
        pump.hours = HourLog.from_wire(raw["hours"])
        return pump
