"""Sourced starting-dose rules after a screening trial, one per drug.

Nothing here converts one drug or route into another: a rule either is the label's own
(baclofen, ziconotide) or shows the consensus starting range beside the trial's result
(opioids and adjuvants, PACC 2017). A drug without an entry gets no starting dose.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

BACLOFEN_RULE = "baclofen_screening"
FIXED_START = "fixed_start"
RANGE_BESIDE_TRIAL = "range_beside_trial"

# Adults. Lioresal Intrathecal, section 2 (Dose titration period):
LIORESAL_WORDING = (
    "To determine the initial total daily dose of Lioresal Intrathecal following "
    "implant, the screening dose that gave a positive effect should be doubled and "
    "administered over a 24-hour period, unless the efficacy of the bolus dose was "
    "maintained for more than 8 hours, in which case the starting daily dose should "
    "be the screening dose delivered over a 24-hour period."
)
PRIALT_WORDING = (
    "Prialt should be initiated at no more than 2.4 mcg/day (0.1 mcg/hr) and "
    "titrated to patient response."
)
PACC_WORDING = (
    "PACC 2017, recommended starting dosage ranges for intrathecal drug delivery "
    "(a range to start within, not a conversion from the trial dose)."
)
BACLOFEN_LONG_EFFECT_MIN = 8 * 60  # "more than 8 hours"


@dataclass(frozen=True)
class StartRule:
    drug: str
    kind: str
    source: str  # a key of the drug library's `sources`
    wording: str
    fixed_ng_day: Fraction | None = None
    range_ng_day: tuple[Fraction, Fraction] | None = None


def _mg(text: str) -> Fraction:
    return Fraction(text) * 1_000_000


def _mcg(text: str) -> Fraction:
    return Fraction(text) * 1_000


RULES: dict[str, StartRule] = {
    "baclofen": StartRule("baclofen", BACLOFEN_RULE, "LIORESAL_IT", LIORESAL_WORDING),
    "ziconotide": StartRule(
        "ziconotide", FIXED_START, "PRIALT_US", PRIALT_WORDING, fixed_ng_day=_mcg("2.4")
    ),
    "morphine": StartRule(
        "morphine", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mg("0.1"), _mg("0.5")),
    ),
    "hydromorphone": StartRule(
        "hydromorphone", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mg("0.01"), _mg("0.15")),
    ),
    "fentanyl": StartRule(
        "fentanyl", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mcg("25"), _mcg("75")),
    ),
    "sufentanil": StartRule(
        "sufentanil", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mcg("10"), _mcg("20")),
    ),
    "clonidine": StartRule(
        "clonidine", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mcg("20"), _mcg("100")),
    ),
    "bupivacaine": StartRule(
        "bupivacaine", RANGE_BESIDE_TRIAL, "PACC2017", PACC_WORDING,
        range_ng_day=(_mg("0.01"), _mg("4")),
    ),
}  # fmt: skip
