"""A trial with nothing recorded yet shows that, not an empty plot whose date axis counts
fractions of a second ("00.250") around the epoch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from programmer.patients.records import Trial, TrialEntry
from ui.trial.chart import TrialChart

T0 = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


def _trial(*entries: TrialEntry) -> Trial:
    return Trial(1, 1, "baclofen", "repeated-bolus", None, None, T0.isoformat(),
                 int(T0.timestamp()), "dr.lee", entries)  # fmt: skip


def _axis_texts(chart: TrialChart) -> list[str]:
    """The date axis's tick labels as drawn for the plot's current x range."""
    chart.resize(600, 300)
    chart.grab()  # drawn once: the axis measures its font when it paints
    axis = chart.doses.getPlotItem().getAxis("bottom")
    lo, hi = chart.doses.getPlotItem().viewRange()[0]
    texts = []
    for spacing, values in axis.tickValues(lo, hi, 400):
        texts += axis.tickStrings(values, 1.0, spacing)
    return texts


def test_an_empty_trial_chart_says_no_observations_yet(qtbot: Any) -> None:
    chart = TrialChart()
    qtbot.addWidget(chart)
    chart.show_trial(_trial(), "mcg")
    assert not chart.empty.isHidden()
    assert chart.empty.text().startswith("No observations yet")
    assert chart.doses.isHidden() and chart.scores.isHidden()


def test_one_dose_draws_hours_around_it_not_fractions_of_a_second(qtbot: Any) -> None:
    chart = TrialChart()
    qtbot.addWidget(chart)
    at = int(T0.timestamp())
    chart.show_trial(_trial(TrialEntry(1, "dose", T0.isoformat(), at, amount_ng=50_000)), "mcg")
    assert chart.empty.isHidden() and not chart.doses.isHidden()
    lo, hi = chart.doses.getPlotItem().viewRange()[0]
    assert lo <= at <= hi and hi - lo >= 3600
    assert not any("." in t for t in _axis_texts(chart)), _axis_texts(chart)
    chart.show_trial(_trial(), "mcg")  # and back to nothing
    assert not chart.empty.isHidden() and chart.doses.isHidden()


def test_entries_hours_apart_are_all_in_view(qtbot: Any) -> None:
    chart = TrialChart()
    qtbot.addWidget(chart)
    at = int(T0.timestamp())
    later = T0 + timedelta(hours=6)
    chart.show_trial(_trial(
        TrialEntry(1, "dose", T0.isoformat(), at, amount_ng=50_000),
        TrialEntry(2, "observation", later.isoformat(), at + 6 * 3600, scale="ashworth", score=2),
    ), "mcg")  # fmt: skip
    lo, hi = chart.scores.getPlotItem().viewRange()[0]
    assert lo <= at and at + 6 * 3600 <= hi
