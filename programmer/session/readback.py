"""The read-back after COMMIT: every part of the changeset against what the pump reports.

A COMMIT answer alone proves little: the pump may have applied something else, or
only part. So the status and therapy are read again and each part is compared; any
difference leaves the outcome uncertain (the pump's own record decides it later),
never "applied".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programmer.formatting import volume_text
from programmer.pump_limits import MAX_RATE_NL_DAY

SECONDS_PER_DAY = 86_400
CLOCK_SLACK_S = 60  # the pump's clock ticks between its COMMIT answer and the status read


def _most_delivered_nl(seconds: int, rate_nl_day: int) -> int:
    """The most a pump can deliver in `seconds` (and the slack) at `rate_nl_day`, rounded up."""
    return -(-(max(seconds, 0) + CLOCK_SLACK_S) * rate_nl_day // SECONDS_PER_DAY)


def readback_mismatches(
    changeset: Mapping[str, Any],
    expected_crc: int,
    *,
    base_status: Mapping[str, Any],
    committed: Mapping[str, Any],
    status: Mapping[str, Any],
    therapy: Mapping[str, Any],
) -> list[str]:
    """What the pump reports after COMMIT that does not match the changeset sent; [] if all do.

    `base_status` is the status read just before STAGE, `committed` COMMIT's answer,
    `status` and `therapy` what GET_STATUS and GET_THERAPY answered after it.
    """
    out: list[str] = []
    if status["last_changeset_crc"] != expected_crc:
        out.append("the pump does not report this changeset as its last one")
    if status["last_changeset_t"] != committed["applied_t"]:
        out.append("the pump's time of its last change is not the one COMMIT answered")
    if committed["therapy_crc"] != status["therapy_crc"]:
        out.append("COMMIT's therapy checksum differs from the one the status reports")
    held = {k: v for k, v in therapy.items() if k != "cycle_anchor_t"}
    if "therapy" in changeset:
        if held != changeset["therapy"]:
            out.append("the therapy read back differs from the one sent")
    elif status["therapy_crc"] != base_status["therapy_crc"]:
        out.append("the pump's therapy changed although no therapy was sent")
    since = int(status["clock_t"]) - int(committed["applied_t"])
    bolus = changeset.get("bolus")
    refill = changeset.get("refill")
    if refill:
        top = int(refill["reservoir_nl"])
        # Delivered since COMMIT: at most the fastest rate for the time passed, and the bolus.
        low = (
            top - _most_delivered_nl(since, MAX_RATE_NL_DAY) - (bolus["volume_nl"] if bolus else 0)
        )
        if not low <= int(status["reservoir_nl"]) <= top:
            out.append(
                f"the reservoir read back ({volume_text(status['reservoir_nl'])}) is not the "
                f"refill's {volume_text(top)}"
            )
    if bolus:
        volume, remaining = int(bolus["volume_nl"]), int(status["bolus_remaining_nl"])
        could_finish = volume <= _most_delivered_nl(since, int(bolus["rate_nl_day"]))
        running = status["delivering"] == "clinician_bolus" and 0 < remaining <= volume
        if not (running or (remaining == 0 and could_finish)):
            out.append(
                f"the pump does not show the bolus of {volume_text(volume)} running "
                f"({status['delivering']}, {volume_text(remaining)} to go)"
            )
    if changeset.get("cancel_bolus") and (
        status["bolus_remaining_nl"] or status["delivering"] == "clinician_bolus"
    ):
        out.append("the pump still shows a clinician bolus after its cancellation")
    return out
