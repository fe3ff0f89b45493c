"""The app's date words come from the core's (programmer/patients/words.py): one
implementation, so a screen and the patient report can never disagree."""

from __future__ import annotations

from datetime import UTC, date, datetime

from programmer.patients import words
from ui import timefmt


def test_the_app_uses_the_cores_date_helpers() -> None:
    from ui.history import course

    assert course.day_text is words.day_text
    for name in ("day_text", "stored_moment", "stored_text", "stored_day", "MONTHS", "DAYS"):
        assert getattr(timefmt, name) is getattr(words, name), name


def test_the_words_are_unchanged() -> None:
    t = int(datetime(2026, 3, 12, 13, 5, 42, tzinfo=UTC).timestamp())
    assert timefmt.computer_text(t) == words.moment_text(datetime.fromtimestamp(t, UTC))
    assert timefmt.day_text(date(1961, 5, 4)) == "4 May 1961"
    assert timefmt.stored_text("2019-05-01") == "1 May 2019"
    assert timefmt.stored_text("2026-03-12T13:05:00Z") == timefmt.computer_text(t - 42)
    assert timefmt.stamp_text("2026-03-12T13:05:00Z") == timefmt.computer_text(t - 42)
    assert timefmt.stamp_text("2026-03-12T13:05:00") == "2026-03-12T13:05:00", "no offset: as is"
    assert timefmt.stamp_text("not a time") == "not a time"
    assert timefmt.stamp_text("2019-05-01") == "2019-05-01"
    said = timefmt.local_stamps("due 2026-03-12T13:05:00+00:00.")
    assert said == f"due {timefmt.computer_text(t - 42)}."
