"""Conformance, section 4 (GET_STATUS, GET_THERAPY, STAGE, COMMIT, DISCARD) and the limits
of section 5, through `itp emulator` over TCP."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from programmer.link import ProtocolError, PumpClient

from .conftest import EmulatorProcess
from .helpers import DAY, T0, flex13, ptm, therapy

STATUS_FIELDS = {
    "model": str,
    "serial": str,
    "firmware": str,
    "implanted_t": int,
    "clock_t": int,
    "utc_offset_min": int,
    "reservoir_capacity_nl": int,
    "reservoir_nl": int,
    "low_alarm_nl": int,
    "therapy_crc": int,
    "last_changeset_crc": (int, type(None)),
    "last_changeset_t": (int, type(None)),
    "delivering": str,
    "bolus_remaining_nl": int,
    "alarms": list,
    "eri_t": int,
    "event_first_seq": int,
    "event_last_seq": int,
    "infusion_first_hour": int,
    "infusion_last_hour": int,
}


def sorted_pack(value: Any) -> bytes:
    """The document's canonical encoding, written here: maps with keys sorted."""

    def sort(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: sort(v[k]) for k in sorted(v)}
        if isinstance(v, list):
            return [sort(i) for i in v]
        return v

    packed: bytes = msgpack.packb(sort(value), use_bin_type=True)
    return packed


def commit(pump: PumpClient, changeset: dict[str, Any]) -> dict[str, Any]:
    staged = pump.stage(changeset)
    return pump.commit(staged["staged_crc"])


def test_status_has_every_field_of_the_document(pump: PumpClient) -> None:
    status = pump.get_status()
    assert set(status) == set(STATUS_FIELDS)
    for name, kind in STATUS_FIELDS.items():
        assert isinstance(status[name], kind), name
    assert status["clock_t"] == T0
    assert status["reservoir_capacity_nl"] == 40_000_000
    assert status["delivering"] in ("basal", "clinician_bolus", "stopped", "minimum_rate")
    assert status["eri_t"] == status["implanted_t"] + 205_124_400  # 6.5 years of 365.25 days
    assert status["infusion_first_hour"] <= T0 // 3600 <= status["infusion_last_hour"]


def test_therapy_crc_is_the_crc_of_the_canonical_therapy(pump: PumpClient) -> None:
    therapy_now = pump.get_therapy()["therapy"]
    assert set(therapy_now) == {
        "drugs", "low_alarm_nl", "mode", "cycle_days", "cycle_anchor_t", "steps", "ptm",
        "catheter_volume_nl",
    }  # fmt: skip
    assert pump.get_status()["therapy_crc"] == zlib.crc32(sorted_pack(therapy_now))


def test_stage_reads_back_canonical_and_commit_applies(pump: PumpClient) -> None:
    wanted = therapy("flex", flex13(), ptm=ptm())
    staged = pump.stage({"therapy": wanted})
    assert staged["canonical"] == sorted_pack({"therapy": wanted})
    assert msgpack.unpackb(staged["canonical"]) == {"therapy": wanted}
    assert staged["staged_crc"] == zlib.crc32(staged["canonical"])
    pump.sim_advance(5 * 3600)
    applied = pump.commit(staged["staged_crc"])
    assert applied["applied_t"] == T0 + 5 * 3600
    got = pump.get_therapy()["therapy"]
    assert got == {**wanted, "cycle_anchor_t": T0}  # re-anchored at the local midnight
    status = pump.get_status()
    assert status["therapy_crc"] == applied["therapy_crc"] == zlib.crc32(sorted_pack(got))
    assert status["last_changeset_crc"] == staged["staged_crc"]
    assert status["last_changeset_t"] == T0 + 5 * 3600
    last = pump.read_events(status["event_last_seq"], 1)["events"][0]
    assert last["code"] == "changeset_applied"
    assert last["data"] == {
        "crc": staged["staged_crc"],
        "programmer_id": "conformance",
        "parts": ["therapy"],
    }


def test_commit_errors(pump: PumpClient) -> None:
    with pytest.raises(ProtocolError) as caught:
        pump.commit(1)
    assert caught.value.code == "no_staged"
    staged = pump.stage({"cancel_bolus": True})
    with pytest.raises(ProtocolError) as caught:
        pump.commit(staged["staged_crc"] ^ 0xFFFF)
    assert caught.value.code == "crc_mismatch"
    pump.discard()
    with pytest.raises(ProtocolError) as caught:
        pump.commit(staged["staged_crc"])
    assert caught.value.code == "no_staged"


def test_a_new_hello_discards_the_staged_changeset(pump: PumpClient) -> None:
    staged = pump.stage({"therapy": therapy()})
    pump.connect()
    with pytest.raises(ProtocolError) as caught:
        pump.commit(staged["staged_crc"])
    assert caught.value.code == "no_staged"


def test_invalid_changeset_stages_nothing(pump: PumpClient) -> None:
    earlier = pump.stage({"therapy": therapy()})
    with pytest.raises(ProtocolError) as caught:
        pump.stage({"therapy": therapy(steps=[[0, 47_999]])})
    error = caught.value
    assert error.code == "invalid"
    assert error.problems[0]["field"] == "therapy.steps[0].rate_nl_day"
    assert "48000" in error.problems[0]["message"]
    assert "nl/day" in error.problems[0]["message"]
    with pytest.raises(ProtocolError) as caught:
        pump.commit(earlier["staged_crc"])
    assert caught.value.code == "no_staged"


def test_refill_bolus_and_cancel(pump: PumpClient) -> None:
    commit(
        pump,
        {"refill": {"removed_nl": 5_000_000, "added_nl": 20_000_000, "reservoir_nl": 30_000_000}},
    )
    assert pump.get_status()["reservoir_nl"] == 30_000_000
    commit(pump, {"bolus": {"kind": "priming", "volume_nl": 290_000, "rate_nl_day": 24_000_000}})
    status = pump.get_status()
    assert status["delivering"] == "clinician_bolus" and status["bolus_remaining_nl"] == 290_000
    pump.sim_advance(60)
    assert pump.get_status()["bolus_remaining_nl"] == 290_000 - 24_000_000 * 60 // DAY
    commit(pump, {"cancel_bolus": True})
    status = pump.get_status()
    assert status["delivering"] == "basal" and status["bolus_remaining_nl"] == 0
    codes = [e["code"] for e in pump.read_events(1, 100)["events"]]
    assert codes[-6:] == [
        "refill",
        "changeset_applied",
        "bolus_started",
        "changeset_applied",
        "bolus_cancelled",
        "changeset_applied",
    ]


# Limits through the wire: allowed AT each limit, refused one unit beyond (section 5).
LIMIT_CASES: list[tuple[str, dict[str, Any], str | None]] = [
    ("rate_min", {"therapy": therapy(steps=[[0, 48_000]])}, None),
    ("rate_below", {"therapy": therapy(steps=[[0, 47_999]])}, "therapy.steps[0].rate_nl_day"),
    ("rate_max", {"therapy": therapy(steps=[[0, 24_000_000]])}, None),
    ("rate_above", {"therapy": therapy(steps=[[0, 24_000_001]])}, "therapy.steps[0].rate_nl_day"),
    ("rate_zero", {"therapy": therapy(steps=[[0, 0]])}, None),
    ("low_min", {"therapy": therapy(low_alarm_nl=500_000)}, None),
    ("low_below", {"therapy": therapy(low_alarm_nl=499_999)}, "therapy.low_alarm_nl"),
    ("low_max", {"therapy": therapy(low_alarm_nl=10_000_000)}, None),
    ("low_above", {"therapy": therapy(low_alarm_nl=10_000_001)}, "therapy.low_alarm_nl"),
    ("ptm_vol_min", {"therapy": therapy(ptm=ptm(volume_nl=1_000))}, None),
    ("ptm_vol_below", {"therapy": therapy(ptm=ptm(volume_nl=999))}, "therapy.ptm.volume_nl"),
    ("ptm_vol_max", {"therapy": therapy(ptm=ptm(volume_nl=1_000_000))}, None),
    ("ptm_vol_above", {"therapy": therapy(ptm=ptm(volume_nl=1_000_001))}, "therapy.ptm.volume_nl"),
    ("ptm_dur_min", {"therapy": therapy(ptm=ptm(duration_min=1, lockout_min=1))}, None),
    (
        "ptm_dur_below",
        {"therapy": therapy(ptm=ptm(duration_min=0, lockout_min=1))},
        "therapy.ptm.duration_min",
    ),
    ("ptm_dur_max", {"therapy": therapy(ptm=ptm(duration_min=60, lockout_min=60))}, None),
    (
        "ptm_dur_above",
        {"therapy": therapy(ptm=ptm(duration_min=61, lockout_min=61))},
        "therapy.ptm.duration_min",
    ),
    ("ptm_lock_at_dur", {"therapy": therapy(ptm=ptm(duration_min=20, lockout_min=20))}, None),
    (
        "ptm_lock_below",
        {"therapy": therapy(ptm=ptm(duration_min=20, lockout_min=19))},
        "therapy.ptm.lockout_min",
    ),
    ("ptm_lock_max", {"therapy": therapy(ptm=ptm(lockout_min=1440))}, None),
    ("ptm_lock_above", {"therapy": therapy(ptm=ptm(lockout_min=1441))}, "therapy.ptm.lockout_min"),
    ("ptm_day_min", {"therapy": therapy(ptm=ptm(max_per_day=1))}, None),
    ("ptm_day_below", {"therapy": therapy(ptm=ptm(max_per_day=0))}, "therapy.ptm.max_per_day"),
    ("ptm_day_max", {"therapy": therapy(ptm=ptm(max_per_day=24))}, None),
    ("ptm_day_above", {"therapy": therapy(ptm=ptm(max_per_day=25))}, "therapy.ptm.max_per_day"),
    (
        "drugs_4",
        {"therapy": therapy(drugs=[{"name": f"d{i}", "conc_ng_ml": 500} for i in range(4)])},
        None,
    ),
    (
        "drugs_5",
        {"therapy": therapy(drugs=[{"name": f"d{i}", "conc_ng_ml": 500} for i in range(5)])},
        "therapy.drugs",
    ),
    ("name_32", {"therapy": therapy(drugs=[{"name": "n" * 32, "conc_ng_ml": 1}])}, None),
    (
        "name_33",
        {"therapy": therapy(drugs=[{"name": "n" * 33, "conc_ng_ml": 1}])},
        "therapy.drugs[0].name",
    ),
    (
        "name_0",
        {"therapy": therapy(drugs=[{"name": "", "conc_ng_ml": 1}])},
        "therapy.drugs[0].name",
    ),
    ("cycle_1", {"therapy": therapy("flex", [[0, 48_000]], 1)}, None),
    ("cycle_0", {"therapy": therapy("flex", [[0, 48_000]], 0)}, "therapy.cycle_days"),
    ("cycle_7", {"therapy": therapy("flex", [[0, 48_000]], 7)}, None),
    ("last_start", {"therapy": therapy("flex", [[0, 0], [2879, 48_000]], 2)}, None),
    (
        "start_beyond",
        {"therapy": therapy("flex", [[0, 0], [2880, 48_000]], 2)},
        "therapy.steps[1].start_min",
    ),
    ("steps_26", {"therapy": therapy("flex", [[i * 100, 48_000] for i in range(26)], 2)}, None),
    (
        "steps_27",
        {"therapy": therapy("flex", [[i * 100, 48_000] for i in range(27)], 2)},
        "therapy.steps",
    ),
    ("cycle_8", {"therapy": therapy("flex", [[0, 48_000]], 8)}, "therapy.cycle_days"),
    ("steps_13", {"therapy": therapy("flex", [[i * 100, 48_000] for i in range(13)])}, None),
    (
        "steps_14",
        {"therapy": therapy("flex", [[i * 100, 48_000] for i in range(14)])},
        "therapy.steps",
    ),
    (
        "refill_cap",
        {"refill": {"removed_nl": 0, "added_nl": 40_000_000, "reservoir_nl": 40_000_000}},
        None,
    ),
    (
        "refill_over",
        {"refill": {"removed_nl": 0, "added_nl": 0, "reservoir_nl": 40_000_001}},
        "refill.reservoir_nl",
    ),
    (
        "added_over",
        {"refill": {"removed_nl": 0, "added_nl": 40_000_001, "reservoir_nl": 0}},
        "refill.added_nl",
    ),
    ("bolus_min", {"bolus": {"kind": "single", "volume_nl": 1, "rate_nl_day": 48_000}}, None),
    (
        "bolus_zero",
        {"bolus": {"kind": "single", "volume_nl": 0, "rate_nl_day": 48_000}},
        "bolus.volume_nl",
    ),
    (
        "bolus_all",
        {"bolus": {"kind": "single", "volume_nl": 40_000_000, "rate_nl_day": 24_000_000}},
        None,
    ),
    (
        "bolus_more",
        {"bolus": {"kind": "single", "volume_nl": 40_000_001, "rate_nl_day": 24_000_000}},
        "bolus.volume_nl",
    ),
    (
        "bolus_slow",
        {"bolus": {"kind": "bridge", "volume_nl": 10, "rate_nl_day": 47_999}},
        "bolus.rate_nl_day",
    ),
    (
        "bolus_fast",
        {"bolus": {"kind": "bridge", "volume_nl": 10, "rate_nl_day": 24_000_001}},
        "bolus.rate_nl_day",
    ),
]


@pytest.fixture(scope="module")
def shared_pump(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PumpClient]:
    """STAGE changes nothing that lasts, so one emulator serves every limit case."""
    process = EmulatorProcess(tmp_path_factory.mktemp("limits"), "--speed", "0", "--clock", str(T0))
    process.start()
    client = process.client()
    yield client
    client.close()
    process.stop()


@pytest.mark.parametrize(
    ("changeset", "field"), [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES]
)
def test_limits_over_the_wire(
    shared_pump: PumpClient, changeset: dict[str, Any], field: str | None
) -> None:
    if field is None:
        staged = shared_pump.stage(changeset)
        assert msgpack.unpackb(staged["canonical"]) == changeset
        return
    with pytest.raises(ProtocolError) as caught:
        shared_pump.stage(changeset)
    assert caught.value.code == "invalid"
    assert field in [p["field"] for p in caught.value.problems]
    assert all(set(p) == {"field", "code", "message"} for p in caught.value.problems)
