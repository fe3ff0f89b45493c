"""Finding codes of trials and constant-flow pumps (cli-and-prescription.md, Additions 2026-12).

Registered into `programmer.findings.KINDS` from here, so the contract's list in
findings.py stays as its owners keep it. Every module that emits one of these codes
imports this module first.
"""

from __future__ import annotations

from programmer.findings import KINDS, FindingKind, Severity

CARE_KINDS = (
    FindingKind(
        "invalid_for_pump",
        Severity.HARD,
        "A constant-flow pump cannot be programmed: change the dose through the concentration.",
    ),
    FindingKind(
        "flow_deviation",
        Severity.SOFT,
        "The measured flow is far from the nominal flow: check for occlusion or pump failure.",
    ),
    FindingKind(
        "start_dose_above_trial",
        Severity.SOFT,
        "Start at or below the dose the screening trial supports, or override with a reason.",
    ),
    FindingKind(
        "start_dose_unavailable",
        Severity.INFO,
        "No sourced starting-dose rule applies: choose the starting dose clinically.",
    ),
    FindingKind(
        "trial_not_positive",
        Severity.SOFT,
        "The screening trial was not positive: confirm the decision to implant, with a reason.",
    ),
    FindingKind(
        "catheter_old_concentration",
        Severity.INFO,
        "The catheter still holds the old concentration: expect the change to take effect late.",
    ),
)

for _kind in CARE_KINDS:
    KINDS.setdefault(_kind.code, _kind)
