"""What a clinician reads for a finding: a short title, the remedy, the severity in words.

Declared as data (as Orange3 declares its widget messages), for every code the
checks can emit: the contract's codes (cli-and-prescription.md) and ours. The
JSON and the command line keep `code` and `message` exactly as the contract says;
only the app shows these words. Qt-free, so the app and any report share them.
"""

from __future__ import annotations

from dataclasses import dataclass

from programmer import care_findings as _care_findings  # registers the trial/flow codes
from programmer.findings import KINDS, Finding, Severity

del _care_findings

TITLES: dict[str, str] = {
    # --- the contract's codes ---
    "invalid_quantity": "Quantity not understood",
    "unknown_drug": "Drug not in the library",
    "below_min_rate": "Rate below the pump's minimum",
    "above_max_rate": "Rate above the pump's maximum",
    "invalid_profile": "Schedule not valid",
    "over_max_concentration": "Above the maximum concentration",
    "over_max_daily_dose": "Above the maximum daily dose",
    "over_hard_max_daily_dose": "Above the absolute daily limit",
    "dose_change_too_large": "Dose increase too large",
    "titration_too_frequent": "Increases too frequent",
    "unit_suspect": "Unit slip suspected",
    "admixture": "More than one drug",
    "bridge_bolus_needed": "Bridge bolus needed",
    "over_capacity": "Fill above the reservoir's capacity",
    "refill_over_infusion": "Pump delivered more than programmed",
    "refill_under_infusion": "Pump delivered less than programmed",
    "pump_serial_mismatch": "Prescription for another pump",
    "pump_clock_offset": "Pump clock in another time zone",
    # --- ours ---
    "pump_log_flooded": "Pump log lost events",
    "invalid_prescription": "Prescription not valid",
    "pump_model_mismatch": "Prescription for another pump model",
    "invalid_patient_bolus": "Patient bolus not valid",
    "patient_bolus_not_allowed": "Patient bolus not allowed for this drug",
    "mixing_not_allowed": "Drug may not be mixed",
    "invalid_low_reservoir_alarm": "Low-reservoir alarm out of range",
    "invalid_bolus": "Bolus not valid",
    "bolus_over_reservoir": "Bolus larger than the reservoir holds",
    "off_label": "Not approved for intrathecal use",
    "therapy_stopped": "Pump stopped",
    "dose_decrease_large": "Large dose decrease",
    "dose_rounded": "Dose rounded by the pump",
    "fill_below_low_alarm": "Fill at or below the low-reservoir alarm",
    "refill_removed_over_fill": "More removed than was filled",
    "refill_check_skipped": "Refill not checked",
    "previous_unknown": "Drug in the pump now unknown",
    "stability_assumed": "Stricter stability assumed",
    "dst_changeover": "Daylight-saving change",
    "bridge_from_saline": "Priming bolus advised",
    "non_standard_concentration": "Not a standard strength",
    "drug_name_near_miss": "Drug name close to a library drug",
    "two_opioids": "Two opioids",
    "over_starting_dose": "Above the starting dose",
    "below_starting_dose": "Below the starting dose",
    "over_starting_dose_limit": "Far above a safe first dose",
    "daily_volume_high": "Daily volume high",
    "refill_interval_short": "Refill interval very short",
    "confirm_value_mismatch": "Value typed again differs",
    "confirm_value_unused": "Value typed again not needed",
    "override_reason_too_short": "Reason too short",
    "override_reason_reused": "Same reason for two findings",
    "capacity_unknown": "Reservoir size unknown",
    "worst_24h_over_calendar_day": "Doses add up across midnight",
    "worst_24h_over_max": "Above the maximum in some 24 hours",
    "over_max_clinician_bolus": "Bolus above the largest single dose",
    "below_min_clinician_bolus": "Bolus below the smallest single dose",
    "over_max_patient_bolus": "Patient bolus too large",
    "below_min_patient_bolus": "Patient bolus very small",
    "patient_bolus_off_label": "Patient bolus off-label",
    "lockout_short": "Lockout short",
    "priming_path_not_stated": "Fluid path not stated",
    "priming_path_holds_drug": "Priming a path that holds drug",
    "bolus_dose": "Dose of the one-time bolus",
    "stability_default": "Stability from the clinic's default",
    "stability_unknown": "Stability cannot be checked",
    "stability_expired": "Drug past its stability",
    "refill_check_impossible": "Refill check impossible",
    "implausible_date": "Date implausible",
    "too_many_patient_boluses": "Too many patient boluses",
    # --- trials and constant-flow pumps (care_findings) ---
    "invalid_for_pump": "Not possible on a constant-flow pump",
    "flow_deviation": "Flow far from nominal",
    "start_dose_above_trial": "Start above the trial's dose",
    "start_dose_unavailable": "No sourced starting dose",
    "trial_not_positive": "Trial not positive",
    "catheter_old_concentration": "Old concentration still in the catheter",
}

SEVERITY_WORDS: dict[str, str] = {
    Severity.HARD: "Must be fixed",
    Severity.SOFT: "Needs a reason",
    Severity.INFO: "For information",
}


@dataclass(frozen=True)
class FindingWords:
    title: str
    remedy: str


def finding_words(code: str) -> FindingWords:
    """The title and remedy of `code`; an unknown code still reads as words, never as a code."""
    kind = KINDS.get(code)
    title = TITLES.get(code) or code.replace("_", " ").replace("-", " ").strip().capitalize()
    return FindingWords(title, kind.remedy if kind else "")


def finding_title(code: str) -> str:
    return finding_words(code).title


def severity_words(severity: str) -> str:
    """ "Must be fixed", "Needs a reason", "For information" (never "HARD:")."""
    return SEVERITY_WORDS.get(str(severity), str(severity).capitalize())


def finding_line(f: Finding, message: str) -> str:
    """One line as the app shows it: "Needs a reason: Above the starting dose: <message>"."""
    return f"{severity_words(f.severity)}: {finding_title(f.code)}: {message}"
