"""A pump that answers absurdly or maliciously cannot crash, hang or fool the programmer.

Each scenario runs the real session (and, where the exit code matters, the real
`itp` command in this process) against tests/support/hostile_pump.py: the emulator's
pump behind an answer rewriter on loopback TCP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from programmer.link import MsgType
from programmer.session.pump_session import ImpossibleReading, SessionError
from programmer.session_cli import main_history, main_interrogate
from programmer.store import AuditAction
from tests.support.hostile_pump import DELETE, HostilePump, hostile_pump

from .conftest import PASSWORDS, Clinic

SALINE = {"pump_model": "ITP-40", "drugs": [], "mode": "continuous", "rate": "0.2 mL/day"}
MORPHINE_FILL = {
    "pump_model": "ITP-40", "indication": "pain-noncancer",
    "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}], "mode": "continuous",
    "dose": "0.5 mg/day", "catheter": {"volume": "0.15 mL"},
    "refill": {"removed": "39 mL", "added": "20 mL"}, "bolus": {"kind": "priming", "fluid_path": "new-pump"},
}  # fmt: skip


@pytest.fixture
def pump() -> Iterator[HostilePump]:
    with hostile_pump() as p:
        yield p


def _cli(pump: HostilePump, clinic: Clinic, *extra: str) -> list[str]:
    return ["--pump", pump.address, "--user", "doc", "--db", str(clinic.db),
            "--audit-key", str(clinic.key), *extra]  # fmt: skip


# --- impossible values: refused where they enter, shown with what could be read ----------


@pytest.mark.parametrize(
    ("msg", "path", "value", "field"),
    [
        (MsgType.GET_STATUS, ("reservoir_nl",), 10**12, "reservoir_nl"),  # 1,000,000 mL
        (MsgType.GET_STATUS, ("reservoir_nl",), -5_000_000, "reservoir_nl"),
        (MsgType.GET_STATUS, ("delivering",), None, "delivering"),
        (MsgType.GET_THERAPY, ("therapy", "steps", 0, 1), 10**12, "therapy.steps[0].rate_nl_day"),
        (
            MsgType.GET_THERAPY,
            ("therapy", "steps", 0, 1),
            float("inf"),
            "therapy.steps[0].rate_nl_day",
        ),
        (MsgType.GET_THERAPY, ("therapy", "cycle_days"), 10**8, "therapy.cycle_days"),
    ],
)
def test_an_impossible_value_is_named_and_the_rest_still_shown(
    clinic: Clinic, pump: HostilePump, msg: int, path: tuple[Any, ...], value: object, field: str
) -> None:
    pump.model.fault("motor_stall")  # a critical alarm that must stay readable
    pump.set_field(msg, path, value)
    s = clinic.session("doc", pump.address)
    s.connect()
    with pytest.raises(ImpossibleReading) as caught:
        s.interrogate()
    assert field in [p.field for e in caught.value.errors for p in e.problems]
    readable = caught.value.good.get("GET_STATUS") or caught.value.errors[0].readable
    assert [a["code"] for a in readable["alarms"]] == ["motor_stall"]
    s.close()
    assert not clinic.records.refills(pump.model.serial), "nothing from it was stored"


def test_the_command_line_says_impossible_value_and_shows_the_alarms(
    clinic: Clinic,
    pump: HostilePump,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ITP_PASSWORD", PASSWORDS["doc"])
    pump.model.fault("motor_stall")
    pump.set_field(MsgType.GET_STATUS, ("reservoir_nl",), 10**12)
    code = main_interrogate(_cli(pump, clinic))
    out, err = capsys.readouterr()
    assert code == 2
    assert "impossible value" in err and "reservoir_nl" in err
    assert "motor_stall" in out and "Traceback" not in out + err


def test_a_commit_far_in_the_future_is_never_stored_as_applied(
    clinic: Clinic, pump: HostilePump
) -> None:
    pump.set_field(MsgType.COMMIT, ("applied_t",), 10**13)  # year 318,857
    s = clinic.session("doc", pump.address)
    s.connect()
    proposal = s.propose(SALINE)
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    # The answer is refused; the reconnection reads the pump's own record instead.
    assert result.outcome == "applied" and result.resolved_after_link_loss, result.message
    assert result.applied_t is not None and result.applied_t < 4_102_444_800
    s.close()
    again = clinic.session("doc", pump.address)
    again.connect()
    again.dose_history()  # used to fail with "year out of range" for every later program
    assert again.propose(SALINE | {"rate": "0.3 mL/day"}).plan.ok


@pytest.mark.parametrize("what", ["therapy_crc", "refill_missing", "bolus_missing"])
def test_a_read_back_that_misses_any_part_is_uncertain(
    clinic: Clinic, pump: HostilePump, what: str
) -> None:
    s = clinic.session("doc", pump.address)
    s.connect()
    proposal = s.propose(MORPHINE_FILL)
    assert proposal.plan.ok, proposal.plan.findings
    before = pump.model.status()
    if what == "therapy_crc":
        pump.rewrites[MsgType.COMMIT] = lambda a: a | {"therapy_crc": (a["therapy_crc"] + 1) % 2**32}  # fmt: skip
    else:
        field = "reservoir_nl" if what == "refill_missing" else "bolus_remaining_nl"
        committed = {"done": False}

        def after_commit(a: dict[str, Any]) -> dict[str, Any]:
            committed["done"] = True
            return a

        pump.rewrites[MsgType.COMMIT] = after_commit
        pump.rewrites[MsgType.GET_STATUS] = lambda a: (
            a | {field: before[field]} if committed["done"] else a
        )
    result = s.send(proposal, confirmed=True, password=PASSWORDS["doc"])
    assert result.outcome == "uncertain", result.message
    assert "try again" not in result.message
    assert not clinic.records.refills(pump.model.serial), "an uncertain refill is not recorded"
    s.close()
    pump.rewrites.clear()
    nxt = clinic.session("doc", pump.address)
    [resolution] = nxt.connect()
    assert resolution.applied and pump.applied(proposal.expected_crc) == 1
    # Decided applied: the refill is recorded now, from what the send kept.
    assert [r.added_nl for r in clinic.records.refills(pump.model.serial)] == [20_000_000]


def test_hello_and_status_must_name_the_same_pump(clinic: Clinic, pump: HostilePump) -> None:
    pump.set_field(MsgType.GET_STATUS, ("serial",), "ITP40-999999")
    s = clinic.session("doc", pump.address)
    s.connect()
    with pytest.raises(ImpossibleReading, match="as HELLO said"):
        s.propose(SALINE)
    assert MsgType.STAGE not in pump.calls and MsgType.COMMIT not in pump.calls


def test_an_escape_code_in_a_serial_never_reaches_the_terminal(
    clinic: Clinic,
    pump: HostilePump,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ITP_PASSWORD", PASSWORDS["doc"])
    pump.hello = ("ITP-40", "\x1b]0;pwned\x07\x1b[2J", "1.0")
    assert main_interrogate(_cli(pump, clinic)) == 2
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "\\x1b" in out + err, "shown escaped, so a person sees what was sent"


def test_an_error_message_with_escape_codes_is_shown_escaped(
    clinic: Clinic,
    pump: HostilePump,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from programmer.link.messages import ProtocolError

    def refuse(_: dict[str, Any]) -> dict[str, Any]:
        raise ProtocolError("busy", "\x1b[31mred\u202eevil\u009b2J")

    monkeypatch.setenv("ITP_PASSWORD", PASSWORDS["doc"])
    pump.rewrites[MsgType.GET_THERAPY] = refuse
    assert main_interrogate(_cli(pump, clinic)) == 2
    out, err = capsys.readouterr()
    assert not any(c in out + err for c in "\x1b\u202e\u009b")


# --- bounded work ---------------------------------------------------------------------------


def test_an_infusion_page_that_never_moves_on_ends_the_read(
    clinic: Clinic,
    pump: HostilePump,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pump.model.advance(3 * 86_400)
    pump.rewrites[MsgType.READ_INFUSION] = lambda a: a | {"next_hour": a["first_hour"]}
    monkeypatch.setenv("ITP_PASSWORD", PASSWORDS["doc"])
    started = time.monotonic()
    code = main_history(_cli(pump, clinic))
    assert code == 2 and time.monotonic() - started < 30
    assert "next_hour" in capsys.readouterr().err


def test_absurd_log_sizes_are_read_only_within_the_contract(
    clinic: Clinic, pump: HostilePump
) -> None:
    pump.model.advance(2 * 86_400)
    real = pump.model.status()
    # A log that claims 10^12 events and 10^5 hours (11 years).
    pump.rewrites[MsgType.GET_STATUS] = lambda a: (
        a
        | {
            "event_last_seq": 10**12,
            "infusion_first_hour": a["infusion_last_hour"] - 10**5,
        }
    )
    pump.rewrites[MsgType.READ_EVENTS] = lambda a: a | {"last_seq": 10**12}
    s = clinic.session("doc", pump.address)
    s.connect()
    started = time.monotonic()
    pump.calls.clear()
    result = s.read_history()
    assert time.monotonic() - started < 30
    assert pump.calls.count(MsgType.READ_EVENTS) <= 70
    assert pump.calls.count(MsgType.READ_INFUSION) <= 20
    assert result.hours_added <= real["infusion_last_hour"] - real["infusion_first_hour"] + 1


def test_a_wrong_status_serial_is_audited_as_refused(clinic: Clinic, pump: HostilePump) -> None:
    pump.set_field(MsgType.GET_STATUS, ("model",), DELETE)
    s = clinic.session("doc", pump.address)
    s.connect()
    with pytest.raises(ImpossibleReading):
        s.interrogate()
    records = clinic.trail.query(pump=s.serial, action=AuditAction.INTERROGATED)
    assert records[-1].outcome == "impossible_value"


def test_a_session_refuses_another_pump_behind_the_same_link(clinic: Clinic) -> None:
    with hostile_pump() as pump:
        s = clinic.session("doc", pump.address)
        s.connect()
        pump.hello = ("ITP-40", "ITP40-123456", "1.0")
        with pytest.raises(SessionError, match="not ITP40-000777"):
            s.reconnect()


def test_an_impossible_time_stored_before_the_checks_does_not_break_later_programs(
    clinic: Clinic, pump: HostilePump
) -> None:
    s = clinic.session("doc", pump.address)
    s.connect()
    # What an older version stored from a hostile COMMIT answer.
    clinic.trail.append(AuditAction.PROGRAM_OUTCOME, account="doc", role="physician",
                        pump_serial=s.serial, outcome="applied",
                        after={"outcome": "applied", "applied_t": 10**13,
                               "daily_doses_ng": {"morphine": 1_000_000}})  # fmt: skip
    [dose] = s.dose_history()
    assert dose.daily_ng == 1_000_000 and dose.at.year < 2100
    # Planning works; the impossible record is not silently trusted: it is a soft
    # implausible_date the physician sees (issue 12 class 9), never a crash.
    saline = s.propose(SALINE).plan
    assert {f.code for f in saline.findings if f.severity != "info"} == {"implausible_date"}
    assert not saline.hard
