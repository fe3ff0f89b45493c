"""Findings: what the checks say, declared as data with a severity and a remedy.

Codes and severities of ../shared/cli-and-prescription.md are kept as they are;
the others are ours. `hard` is never sent, `soft` needs an override with a
reason, `info` is shown and recorded. A `retype` kind is hard until the value
it names is typed again (the app's retype field, `--confirm-value FIELD=VALUE`);
then it is a soft finding that still needs its own reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    INFO = "info"


@dataclass(frozen=True)
class FindingKind:
    code: str
    severity: Severity
    remedy: str
    retype: bool = False  # lethal if wrong: cleared only by typing the value again


_KINDS = [
    # --- the contract's codes ---
    FindingKind(
        "invalid_quantity",
        Severity.HARD,
        "Write the quantity as '<number> <unit>', e.g. '0.5 mg/day'.",
    ),
    FindingKind(
        "unknown_drug",
        Severity.SOFT,
        "Check the spelling; a drug outside the library has no limits checked.",
    ),
    FindingKind(
        "below_min_rate",
        Severity.HARD,
        "Use a rate of 0 or at least the pump's minimum, or a weaker concentration.",
    ),
    FindingKind("above_max_rate", Severity.HARD, "Lower the rate or use a stronger concentration."),
    FindingKind(
        "invalid_profile",
        Severity.HARD,
        "Start at day 1 00:00, keep starts in order and inside the cycle, at most 13 a day.",
    ),
    FindingKind(
        "over_max_concentration",
        Severity.SOFT,
        "Check the concentration against the vial; dilute if needed.",
    ),
    FindingKind(
        "over_max_daily_dose",
        Severity.SOFT,
        "Check the dose; override only with a clinical reason.",
    ),
    FindingKind(
        "over_hard_max_daily_dose",
        Severity.HARD,
        "Lower the dose (patient boluses included) to the label's maximum.",
    ),
    FindingKind(
        "dose_change_too_large",
        Severity.SOFT,
        "Titrate in smaller steps, or override with a clinical reason.",
    ),
    FindingKind(
        "titration_too_frequent",
        Severity.SOFT,
        "Wait for the interval the label asks for, or override with a reason.",
    ),
    FindingKind(
        "unit_suspect",
        Severity.HARD,
        "Check the unit: mg and mcg, per h and per day, are easy to swap. If the value is "
        "right, type it again to confirm it, and give a reason.",
        retype=True,
    ),
    FindingKind(
        "admixture",
        Severity.INFO,
        "Admixtures are off-label and raise the risk of pump failure; watch for motor stalls.",
    ),
    FindingKind(
        "bridge_bolus_needed",
        Severity.SOFT,
        'Add {"kind": "bridge"} so the old drug in the catheter runs out at the old rate.',
    ),
    FindingKind("over_capacity", Severity.HARD, "Fill no more than the reservoir holds."),
    FindingKind(
        "refill_over_infusion",
        Severity.SOFT,
        "The pump delivered more than programmed: check for a pump fault; consider imaging.",
    ),
    FindingKind(
        "refill_under_infusion",
        Severity.SOFT,
        "More fluid than expected came out: check the catheter, and for a pocket fill at the last refill.",
    ),
    FindingKind(
        "pump_serial_mismatch", Severity.HARD, "Use the prescription written for this pump."
    ),
    FindingKind(
        "pump_clock_offset",
        Severity.SOFT,
        "Set the pump's clock offset explicitly, after reviewing how the schedule will shift.",
    ),
    # --- ours ---
    FindingKind(
        "pump_log_flooded",
        Severity.SOFT,
        "Events were lost from the pump's log before this computer read them (a flood of "
        "sessions or alarms): review the pump, and override with a reason to go on.",
    ),
    FindingKind(
        "invalid_prescription", Severity.HARD, "Correct the field named; nothing is guessed."
    ),
    FindingKind(
        "pump_model_mismatch", Severity.HARD, "Use the prescription written for this pump model."
    ),
    FindingKind(
        "invalid_patient_bolus", Severity.HARD, "Keep the patient bolus within the pump's limits."
    ),
    FindingKind(
        "patient_bolus_not_allowed",
        Severity.HARD,
        "Remove the patient bolus: the drug library does not allow it for this drug.",
    ),
    FindingKind(
        "mixing_not_allowed",
        Severity.HARD,
        "Fill this drug on its own: the library forbids mixing it.",
    ),
    FindingKind(
        "invalid_low_reservoir_alarm",
        Severity.HARD,
        "Set the low-reservoir alarm within the pump's range.",
    ),
    FindingKind("invalid_bolus", Severity.HARD, "Correct the one-time bolus; nothing is guessed."),
    FindingKind(
        "bolus_over_reservoir",
        Severity.HARD,
        "A bolus cannot be larger than what the reservoir holds.",
    ),
    FindingKind(
        "off_label",
        Severity.INFO,
        "This drug is not approved for intrathecal pumps; document the indication.",
    ),
    FindingKind(
        "therapy_stopped",
        Severity.SOFT,
        "A stopped pump gives no drug: make sure this is meant, and plan to restart it. "
        "Stopping baclofen abruptly can kill (withdrawal): taper, or fill another drug.",
    ),
    FindingKind(
        "dose_decrease_large",
        Severity.SOFT,
        "A large drop risks withdrawal (baclofen withdrawal can kill): taper instead, or override.",
    ),
    FindingKind(
        "dose_rounded",
        Severity.INFO,
        "The pump stores whole nl/day; the dose shown is the one it will deliver.",
    ),
    FindingKind(
        "fill_below_low_alarm",
        Severity.SOFT,
        "The fill is at or below the low-reservoir alarm: the alarm will sound at once.",
    ),
    FindingKind(
        "refill_removed_over_fill",
        Severity.SOFT,
        "More came out than was put in: the needle may have been in the pocket. Stop and check.",
    ),
    FindingKind(
        "refill_check_skipped",
        Severity.INFO,
        "Give the expected volume and the last fill (or read them from the pump) to check the refill.",
    ),
    FindingKind(
        "previous_unknown",
        Severity.SOFT,
        "Give previous.drugs (the fill in the pump now), or plan a bridge or priming bolus: "
        "a change of drug or concentration needs a bridge decision.",
    ),
    FindingKind(
        "stability_assumed",
        Severity.INFO,
        "The stricter stability rule was used because the fill history is unknown.",
    ),
    FindingKind(
        "dst_changeover",
        Severity.INFO,
        "On that day the wall clock and the pump's fixed-offset clock part; set the pump clock at the next visit.",
    ),
    FindingKind(
        "bridge_from_saline",
        Severity.SOFT,
        "Use a priming bolus: it fills the tubing and catheter with the new drug now.",
    ),
    FindingKind(
        "non_standard_concentration",
        Severity.SOFT,
        "Check the concentration against the vial or the pharmacy label; it is not one of the "
        "library's standard strengths.",
    ),
    FindingKind(
        "drug_name_near_miss",
        Severity.HARD,
        "Correct the drug's name: it is close to a library drug, whose rules would not apply.",
    ),
    FindingKind(
        "two_opioids",
        Severity.SOFT,
        "Two opioids in one pump add their respiratory depression: fill one opioid, or override "
        "with a clinical reason.",
    ),
    FindingKind(
        "over_starting_dose",
        Severity.SOFT,
        "A first fill starts low: check the dose against the drug's starting range.",
    ),
    FindingKind(
        "below_starting_dose",
        Severity.SOFT,
        "Check the dose: it is below the drug's usual starting range (mg and mcg, h and day).",
    ),
    FindingKind(
        "over_starting_dose_limit",
        Severity.HARD,
        "As a first dose this can kill: correct it, or type the value again to confirm it and "
        "give a reason.",
        retype=True,
    ),
    FindingKind(
        "daily_volume_high",
        Severity.SOFT,
        "Check the rate and the concentration: the pump would empty within days.",
    ),
    FindingKind(
        "refill_interval_short",
        Severity.SOFT,
        "Check the rate and the concentration: no clinic plans refills this often.",
    ),
    FindingKind(
        "confirm_value_mismatch",
        Severity.HARD,
        "The value typed again differs from the prescription's: correct whichever is wrong.",
    ),
    FindingKind(
        "confirm_value_unused",
        Severity.INFO,
        "No finding asks to retype this field; the value typed again was not needed.",
    ),
    FindingKind(
        "override_reason_too_short",
        Severity.HARD,
        "Write why the finding is accepted, in at least 3 words, for this finding alone.",
    ),
    FindingKind(
        "override_reason_reused",
        Severity.HARD,
        "Give each overridden finding its own reason.",
    ),
    FindingKind(
        "capacity_unknown",
        Severity.INFO,
        "Give pump_model so the fill can be checked against the right reservoir.",
    ),
    # --- dose-b: rolling 24 h, boluses, priming, titration, stability ---
    FindingKind(
        "worst_24h_over_calendar_day",
        Severity.INFO,
        "Doses across midnight add up: the daily limits hold for any 24 h, not only calendar days.",
    ),
    FindingKind(
        "worst_24h_over_max",
        Severity.HARD,
        "The doses across midnight add up above the maximum: correct the steps, or type the "
        "value again to confirm it and give a reason.",
        retype=True,
    ),
    FindingKind(
        "over_max_clinician_bolus",
        Severity.SOFT,
        "Check the bolus dose against the drug's largest single intrathecal dose.",
    ),
    FindingKind(
        "below_min_clinician_bolus",
        Severity.SOFT,
        "Check the bolus dose: it is below the drug's smallest single intrathecal dose.",
    ),
    FindingKind(
        "over_max_patient_bolus",
        Severity.SOFT,
        "Check the patient bolus: no patient should give himself more than a supervised dose.",
    ),
    FindingKind(
        "below_min_patient_bolus",
        Severity.SOFT,
        "Check the patient bolus: it is below what a patient bolus of this drug usually is.",
    ),
    FindingKind(
        "patient_bolus_off_label",
        Severity.SOFT,
        "The label is for continuous infusion: remove the patient bolus, or override with a reason.",
    ),
    FindingKind(
        "lockout_short",
        Severity.SOFT,
        "Lengthen the lockout, or override with a clinical reason.",
    ),
    FindingKind(
        "priming_path_not_stated",
        Severity.HARD,
        "Say what the fluid path is (a new pump, a new catheter, or emptied and aspirated), or use a bridge bolus.",
    ),
    FindingKind(
        "priming_path_holds_drug",
        Severity.HARD,
        "Never prime a path that holds drug: empty and aspirate it first, or use a bridge bolus.",
    ),
    FindingKind(
        "bolus_dose",
        Severity.INFO,
        "Check the dose each drug gets from the one-time bolus, and how fast.",
    ),
    FindingKind(
        "stability_default",
        Severity.INFO,
        "No sourced stability: a conservative clinic default sets the refill date.",
    ),
    FindingKind(
        "stability_unknown",
        Severity.INFO,
        "Find the date of the last refill: the drug's stability cannot be checked without it.",
    ),
    FindingKind(
        "stability_expired",
        Severity.SOFT,
        "Refill the pump: the drug in it is past its stability limit.",
    ),
    FindingKind(
        "refill_check_impossible",
        Severity.SOFT,
        "Check the expected volume and the last fill: the discrepancy cannot be computed from them.",
    ),
    FindingKind(
        "implausible_date",
        Severity.SOFT,
        "Correct the date: a typo in a date must not switch a check off.",
    ),
    FindingKind(
        "too_many_patient_boluses",
        Severity.SOFT,
        "Lower the daily count or lengthen the lockout; every bolus taken adds to the daily dose.",
    ),
]

KINDS: dict[str, FindingKind] = {k.code: k for k in _KINDS}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message: str
    remedy: str
    retype: bool = False  # cleared only by typing `value` again in `field`
    value: str | None = None  # the prescription's text that must be typed again
    confirmed: bool = False  # typed again and equal: now soft, and needs its own reason

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": str(self.severity),
            "field": self.field,
            "message": self.message,
            "remedy": self.remedy,
        }
        if self.retype:
            out["retype"] = {"value": self.value, "confirmed": self.confirmed}
        return out


def finding(code: str, field: str, message: str, value: str | None = None) -> Finding:
    """A finding of a declared kind. A retype kind names the `value` text to type again."""
    kind = KINDS[code]
    return Finding(code, kind.severity, field, message, kind.remedy, kind.retype, value)


def readable_message(f: Finding) -> str:
    """The message as a person reads it: the drug library's source keys ("ITP_POLICY")
    replaced by their titles. The message itself (the CLI's JSON) is unchanged."""
    from programmer.drugs import default_library  # the library imports nothing from here

    return default_library().readable(f.message)
