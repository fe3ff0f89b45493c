"""Hypothesis properties of the dose engine."""

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from programmer.findings import Severity
from programmer.therapy import dose_ng

from .rxfactory import run

DRUGS = [("morphine", "mg", [1, 5, 10, 20]), ("baclofen", "mcg", [500, 1000, 2000]),
         ("ziconotide", "mcg", [25, 100]), ("hydromorphone", "mg", [2, 10])]  # fmt: skip


@st.composite
def flex_rx(draw):
    name, unit, strengths = draw(st.sampled_from(DRUGS))
    conc = draw(st.sampled_from(strengths))
    cycle = draw(st.integers(1, 3))
    starts = sorted(draw(st.sets(st.integers(1, cycle * 1440 - 1), max_size=min(12, cycle * 12))))
    starts = [0, *starts]
    steps = []
    for s in starts:
        day, minute = divmod(s, 1440)
        rate = draw(st.integers(48_000, 3_000_000))
        steps.append(
            {
                "day": day + 1,
                "start": f"{minute // 60:02d}:{minute % 60:02d}",
                "rate": f"{rate} nL/day",
            }
        )
    return {
        "drugs": [{"name": name, "concentration": f"{conc} {unit}/mL"}],
        "mode": "flex",
        "cycle_days": cycle,
        "steps": steps,
    }


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(flex_rx())
def test_step_doses_add_up_exactly_to_the_daily_totals(rx):
    p = run(rx)
    assert p.therapy is not None, p.findings
    t = p.therapy
    per_day = [Fraction(0)] * t.cycle_days
    # independent: walk every minute of the cycle
    for minute in range(0, t.cycle_min, 1):
        per_day[minute // 1440] += Fraction(t.rate_at(minute), 1440)
    assert p.day_volumes_nl == per_day
    conc = t.drugs[0].conc_ng_ml
    step_doses = sum(
        (dose_ng(Fraction(s.rate_nl_day * n, 1440), conc) for s, n in t.step_spans()), Fraction(0)
    )
    assert step_doses == dose_ng(sum(per_day, Fraction(0)), conc)
    assert p.daily_doses[0].amount_ng == dose_ng(max(per_day), conc)


VALID = [
    {"jurisdiction": "US", "indication": "pain-noncancer", "drugs": [{"name": "morphine", "concentration": "10 mg/mL"}],
     "mode": "continuous", "dose": "2 mg/day"},
    {"indication": "spasticity-spinal", "drugs": [{"name": "baclofen", "concentration": "500 mcg/mL"}],
     "mode": "flex", "steps": [{"start": "00:00", "dose": "300 mcg/day"}, {"start": "08:00", "dose": "20 mcg/h"}]},
    {"drugs": [{"name": "ziconotide", "concentration": "25 mcg/mL"}], "mode": "continuous", "dose": "2.4 mcg/day"},
    {"drugs": [{"name": "hydromorphone", "concentration": "2 mg/mL"}], "mode": "continuous", "dose": "0.1 mg/h"},
    {"drugs": [{"name": "clonidine", "concentration": "100 mcg/mL"}], "mode": "continuous", "dose": "50 mcg/day"},
]  # fmt: skip


def _mutate(text: str, kind: str) -> str:
    number, unit = text.split(" ")
    value = Fraction(number)
    if kind in ("x10", "x24", "x1000", "/10", "/1000"):
        factor = {
            "x10": Fraction(10),
            "x24": Fraction(24),
            "x1000": Fraction(1000),
            "/10": Fraction(1, 10),
            "/1000": Fraction(1, 1000),
        }[kind]
        value *= factor
        from programmer.formatting import decimal_text

        return f"{decimal_text(value)} {unit}"
    if kind == "day->h":
        return text.replace("/day", "/h")
    if kind == "h->day":
        return text.replace("/h", "/day")
    if kind == "mg<->mcg":
        return text.replace("mcg", "\0").replace("mg", "mcg").replace("\0", "mg")
    raise AssertionError(kind)


MUTANTS = ["x10", "x24", "x1000", "/10", "/1000", "day->h", "h->day", "mg<->mcg"]


def _targets(rx):
    out = [("drugs", 0, "concentration")]
    if "dose" in rx:
        out.append(("dose",))
    for i, s in enumerate(rx.get("steps", [])):
        out.append(("steps", i, "dose" if "dose" in s else "rate"))
    return out


def _get(rx, path):
    obj = rx
    for k in path[:-1]:
        obj = obj[k]
    return obj, path[-1]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(VALID))), st.data())
def test_every_slip_mutant_is_flagged_or_changes_the_shown_total(index, data):
    import copy

    rx = VALID[index]
    base = run(rx)
    assert base.ok, base.findings
    path = data.draw(st.sampled_from(_targets(rx)))
    kind = data.draw(st.sampled_from(MUTANTS))
    mutant = copy.deepcopy(rx)
    obj, key = _get(mutant, path)
    mutated = _mutate(obj[key], kind)
    if mutated == obj[key]:
        return  # e.g. h->day on a per-day dose: not a mutant
    obj[key] = mutated
    p = run(mutant)
    flagged = any(f.severity in (Severity.HARD, Severity.SOFT) for f in p.findings)
    if flagged:
        return
    # not flagged: the slip must show, as a daily dose or daily volume off by the factor
    assert p.therapy is not None
    old_dose, new_dose = base.daily_doses[0].amount_ng, p.daily_doses[0].amount_ng
    old_vol, new_vol = base.daily_volume_nl, p.daily_volume_nl
    dose_ratio = new_dose / old_dose
    vol_ratio = new_vol / old_vol
    expected = {"x10": 10, "x24": 24, "x1000": 1000, "/10": Fraction(1, 10), "/1000": Fraction(1, 1000),
                "day->h": 24, "h->day": Fraction(1, 24), "mg<->mcg": None}[kind]  # fmt: skip
    step = path[1] if path[0] == "steps" else 0
    step_ratio = Fraction(p.therapy.steps[step].rate_nl_day, base.therapy.steps[step].rate_nl_day)
    # the shown total: the day's dose or volume, or the mutated step's own rate in the table
    ratios = {dose_ratio, vol_ratio, 1 / vol_ratio, step_ratio, 1 / step_ratio}
    if expected is None:
        assert any(
            abs(r - 1000) / 1000 < Fraction(1, 1000)
            or abs(r - Fraction(1, 1000)) * 1000 < Fraction(1, 1000)
            for r in ratios
        )
    else:
        assert any(abs(r - expected) / expected < Fraction(1, 1000) for r in ratios), (
            kind,
            path,
            ratios,
        )
