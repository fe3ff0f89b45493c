"""Drug names: a near-miss of a library name is a hard finding, with the name suggested.

"baclofene" must not become an unknown drug that escapes baclofen's no-mix and
no-bolus rules; it must be corrected first.
"""

from __future__ import annotations

import difflib

from programmer.drugs import DrugLibrary

# difflib's ratio: "baclofene"/"baclofen" is 0.94, "morfine"/"morphine" 0.80,
# "aspirin"/"saline" 0.62. Below 0.8 a name is taken as another drug, not a typo.
NEAR_MISS_RATIO = 0.8


def nearest_name(written: str, lib: DrugLibrary) -> tuple[str, str] | None:
    """(the library name or alias written nearly, the drug it names), or None."""
    key = " ".join(written.strip().lower().split())
    if key in lib.aliases:
        return None
    close = difflib.get_close_matches(key, list(lib.aliases), n=1, cutoff=NEAR_MISS_RATIO)
    if not close:
        return None
    return close[0], lib.aliases[close[0]]
