"""Dates and times a person enters on the patient, trial and constant-flow screens.

Picked from a calendar or typed as the clinic writes them ("4 May 1961", "Mon 4 Mar 2019
08:00"), in this computer's (the clinic's) local time: never typed as ISO text. The
core gets what it expects: an ISO day, or a datetime with its UTC offset.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from PySide6.QtCore import QDate, QDateTime
from PySide6.QtWidgets import (
    QCalendarWidget,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
    QWidgetAction,
)

from programmer.patients.fields import PatientError
from ui.timefmt import MONTHS, day_text

FULL_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december"]  # fmt: skip
MOMENT_FORMAT = "d MMM yyyy HH:mm"  # no weekday: the field fits a narrow form
EARLIEST = QDate(1900, 1, 1)


def parse_day(text: str) -> date:
    """A day as a person types it: "4 May 1961" (the month in words), or ISO "1961-05-04".
    4/5/1961 is refused: 4 May in one clinic is 5 April in another."""
    text = text.strip()
    found = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]{3,})\.?,?\s+(\d{4})", text)
    if found:
        day, word, year = found.groups()
        months = [m.lower() for m in MONTHS]
        if word[:3].lower() in months and (
            len(word) == 3 or FULL_MONTHS[months.index(word[:3].lower())].startswith(word.lower())
        ):
            try:
                return date(int(year), months.index(word[:3].lower()) + 1, int(day))
            except ValueError:
                raise ValueError(f"{text!r} is not a day of the calendar") from None
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", text):
        raise ValueError(f"{text!r}: day and month could be either way round; write the month "
                         "as a word, like 4 May 1961")  # fmt: skip
    raise ValueError(f"{text!r} is not a date: type it like 4 May 1961, or pick it")


class DayField(QWidget):
    """A calendar day, typed as the clinic writes it or picked from a calendar.
    `blank`: starts empty (a date of birth is never guessed); otherwise starts today."""

    def __init__(self, name: str, label: str, *, blank: bool = False) -> None:
        super().__init__()
        self.name, self.label = name, label
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setObjectName(name)
        self.edit.setAccessibleName(label)
        self.edit.setPlaceholderText("4 May 1961, or pick it")
        self.pick = QToolButton()
        self.pick.setText("Calendar")
        self.pick.setObjectName(f"{name}_calendar")
        self.pick.setAccessibleName(f"pick the {label.lower()} from a calendar")
        self.menu = QMenu(self)
        self.calendar = QCalendarWidget()
        self.calendar.setObjectName(f"{name}_calendar_popup")
        self.calendar.setMinimumDate(EARLIEST)
        action = QWidgetAction(self.menu)
        action.setDefaultWidget(self.calendar)
        self.menu.addAction(action)
        self.pick.setMenu(self.menu)
        self.pick.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu.aboutToShow.connect(self._open_at_typed_day)
        self.calendar.clicked.connect(self._picked)
        row.addWidget(self.edit, 1)
        row.addWidget(self.pick)
        self.setFocusProxy(self.edit)
        if not blank:
            self.set_day(date.today())

    def text(self) -> str:
        return self.edit.text()

    def set_day(self, day: date) -> None:
        self.edit.setText(day_text(day))

    def _open_at_typed_day(self) -> None:
        try:
            d = parse_day(self.edit.text())
        except ValueError:
            return
        self.calendar.setSelectedDate(QDate(d.year, d.month, d.day))

    def _picked(self, picked: QDate) -> None:
        self.set_day(date(picked.year(), picked.month(), picked.day()))
        self.menu.close()

    def iso(self) -> str:
        """The day for the core ("1961-05-04"); empty or not a date: an error naming it."""
        text = self.edit.text().strip()
        if not text:
            raise PatientError(self.name, "required: type it like 4 May 1961, or pick it")
        try:
            return parse_day(text).isoformat()
        except ValueError as exc:
            raise PatientError(self.name, str(exc)) from None


class MomentField(QDateTimeEdit):
    """A date and time to the minute, in local time; starts now."""

    def __init__(self, name: str, label: str) -> None:
        super().__init__()
        self.name, self.label = name, label
        self.setObjectName(name)
        self.setAccessibleName(label)
        self.setCalendarPopup(True)
        self.setDisplayFormat(MOMENT_FORMAT)
        self.setMinimumDate(EARLIEST)
        self.set_moment(datetime.now(UTC))

    def set_moment(self, at: datetime) -> None:
        """Show a moment (aware, any zone) in local time, to the minute."""
        shown = QDateTime.fromSecsSinceEpoch(int(at.timestamp()) // 60 * 60)
        self.setDateTime(shown)

    def moment(self) -> datetime:
        """The moment shown, with its UTC offset (the core refuses a time without one)."""
        d, t = self.date(), self.time()
        local = datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())
        return local.astimezone().astimezone(UTC)  # naive = this computer's local time

    def iso(self) -> str:
        return self.moment().isoformat()


def labelled(error: PatientError, labels: dict[str, str]) -> str:
    """The core's error with its field named as the screen names it ("Date of birth",
    not "dob")."""
    text = str(error)
    label = labels.get(error.field)
    prefix = f"{error.field}: "
    if label and text.startswith(prefix):
        return f"{label}: {text[len(prefix) :]}"
    return text
