"""Before and after in one view: the whole profile (every step as each drug's dose, with its
% change), the daily doses, the patient bolus and any one-time bolus as doses, the refill,
and every other field that changes; the per-drug headline beside it. The therapy confirm
and the refill wizard's confirm show this same view."""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from programmer.formatting import dose_per_day_text, mass_text, percent_text, volume_rate_text
from programmer.session.drug_changes import ProfileRow, bolus_doses, drug_changes, profile_rows
from programmer.session.pump_session import Proposal
from programmer.therapy import Therapy
from ui.drug_change import DrugChangeLabel, over_the_limit
from ui.numbers import clinical_dose, clinical_percent, rounded_text, significant
from ui.style import CRITICAL

# Rows of the core's change list the profile already shows in dose form.
SHOWN_AS_DOSES = ("step ", "daily dose ", "patient bolus", "one-time bolus")
CHANGED_TINT = "#fff4ce"
# (heading where the column is narrow, the whole heading: on one line where it fits, on hover)
HEADINGS = (("", ""), ("Now on\nthe pump", "Now on the pump"), ("Will be", "Will be"),
            ("Change", "Change"))  # fmt: skip


def _doses(doses: dict[str, Fraction] | None, units: dict[str, str]) -> tuple[str, str]:
    """(rounded, exact) text of each drug's dose per day; saline says so."""
    if doses is None:
        return "unknown", "the pump's therapy is unknown"
    if not doses:
        return "saline", "no drug"
    short = "\n".join(f"{d} {clinical_dose(ng, units[d])}" for d, ng in doses.items())
    exact = "; ".join(f"{d} {dose_per_day_text(ng, units[d])}" for d, ng in doses.items())
    return short, exact


def _bolus(volume_nl: int, t: Therapy | None) -> str:
    doses = bolus_doses(volume_nl, t)
    if not doses or t is None:
        return f"{significant(Fraction(volume_nl, 1000))} µL"
    units = {d.name: _unit_of(t, d.name) for d in t.drugs}
    return ", ".join(
        f"{d} {significant(ng / _mass(units[d]))} {units[d]}" for d, ng in doses.items()
    )


def _mass(unit: str) -> int:
    from programmer.quantities import MASS_UNITS

    return MASS_UNITS[unit]


def _unit_of(t: Therapy, drug: str) -> str:
    from programmer.session.changes import _unit

    return next(_unit(d) for d in t.drugs if d.name == drug)


def _exact_bolus(volume_nl: int, t: Therapy | None) -> str:
    doses = bolus_doses(volume_nl, t)
    if t is None:
        return ""
    return "; ".join(f"{d} {mass_text(ng, _unit_of(t, d))}" for d, ng in doses.items())


class ChangeView(QWidget):
    """The profile table on the left, the per-drug change on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("changes_table")
        self.table.setAccessibleName("before and after: every step, bolus and refill")
        # Two short lines, not one long one: at scale 2 (512 px) a long heading is cut.
        for c, (heading, whole) in enumerate(HEADINGS):
            item = QTableWidgetItem(heading)
            item.setToolTip(whole)
            self.table.setHorizontalHeaderItem(c, item)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        hh.sectionResized.connect(self._heading_fits)
        row.addWidget(self.table, 3)
        self.change = DrugChangeLabel("confirm_daily_change")
        self.change.setMinimumWidth(180)
        row.addWidget(self.change, 1, alignment=Qt.AlignmentFlag.AlignTop)
        self._row = row

    def _heading_fits(self, column: int, _old: int, width: int) -> None:
        """A heading on one line where its column has room, on two where it has not."""
        short, whole = HEADINGS[column]
        if short == whole:
            return
        header = self.table.horizontalHeader()
        margin = 2 * header.style().pixelMetric(header.style().PixelMetric.PM_HeaderMargin)
        fits = header.fontMetrics().horizontalAdvance(whole) + margin + 8 <= width
        item = self.table.horizontalHeaderItem(column)
        if item is not None and item.text() != (whole if fits else short):
            item.setText(whole if fits else short)

    def take_change(self) -> DrugChangeLabel:
        """The headline, out of this view: to stand beside Send, outside a scroll area."""
        self._row.removeWidget(self.change)
        self.change.setMinimumWidth(0)
        return self.change

    def fit_rows(self) -> None:
        """The table exactly as tall as its rows (no empty rows, none scrolled away): where
        the view and what follows do not fit, the scroll area around them scrolls as one."""
        t = self.table
        t.resizeRowsToContents()  # the wrap follows the column widths
        rows = sum(t.rowHeight(r) for r in range(t.rowCount()))
        header = t.horizontalHeader().sizeHint().height()
        bar = t.horizontalScrollBar()
        below = bar.sizeHint().height() if bar.isVisible() else 0
        t.setFixedHeight(rows + header + below + 2 * t.frameWidth())

    def rows(self) -> list[list[str]]:
        """The table as text (for tests and the report)."""
        out = []
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(4)]
            out.append([c.text() if c is not None else "" for c in cells])
        return out

    def show_proposal(self, proposal: Proposal) -> None:
        old, new = proposal.base.therapy, proposal.plan.therapy
        lines: list[
            tuple[str, str, str, str, str, bool]
        ] = []  # label, before, after, change, tip, red
        if new is not None:
            beyond = over_the_limit(proposal.plan.findings)
            for pr in profile_rows(old, new):
                b, b_exact = _doses(pr.before, pr.units)
                a, a_exact = _doses(pr.after, pr.units)
                change = self._step_change(pr)
                tip = (f"now: {b_exact} = {volume_rate_text(pr.before_rate_nl_day or 0, exact=True)}\n"
                       f"will be: {a_exact} = {volume_rate_text(pr.after_rate_nl_day, exact=True)}")  # fmt: skip
                lines.append((f"from {pr.start}", b, a, change, tip, False))
            for c in drug_changes(old, new):
                before = clinical_dose(c.before_ng, c.unit) if c.before_ng is not None else "—"
                after = clinical_dose(c.after_ng, c.unit) if c.after_ng is not None else "—"
                word = self.change._word(c, True)
                tip = f"{c.text(c.before_ng)} → {c.text(c.after_ng)}"
                if c.change is not None:
                    tip += f" (exactly {percent_text(c.change * 100)})"
                lines.append((f"Daily dose, {c.drug}", before, after, word, tip, c.drug in beyond))
            ptm_before = self._ptm(old)
            ptm_after = self._ptm(new)
            lines.append(("Patient bolus", ptm_before[0], ptm_after[0],
                          "" if ptm_before == ptm_after else "changed",
                          f"now: {ptm_before[1]}\nwill be: {ptm_after[1]}", False))  # fmt: skip
            self.change.show_changes(drug_changes(old, new), beyond)
        bolus = proposal.changeset.get("bolus")
        if bolus:
            vol = int(bolus["volume_nl"])
            lines.append((f"One-time {bolus['kind']} bolus", "none",
                          f"{_bolus(vol, new)} in {significant(Fraction(vol, 1000))} µL",
                          "", _exact_bolus(vol, new) + f"\nat {volume_rate_text(int(bolus['rate_nl_day']), exact=True)}, "
                          "replacing the basal rate until given", False))  # fmt: skip
        for row in proposal.changes:
            if row.field.startswith(SHOWN_AS_DOSES):
                continue
            # Rounded as written; the core's exact figures on hover.
            exact = f"now: {row.old}\nwill be: {row.new}"
            shown = exact if rounded_text(exact) != exact else ""
            lines.append((row.field[:1].upper() + row.field[1:], rounded_text(row.old),
                          rounded_text(row.new), "", shown, False))  # fmt: skip
        self._fill(lines)

    @staticmethod
    def _step_change(pr: ProfileRow) -> str:
        """Each drug's change at this step; one word when they all agree (one concentration)."""
        if pr.before is None:
            return ""
        words = []
        for drug, after in pr.after.items():
            ch = pr.change(drug)
            if drug not in pr.before:
                words.append(f"{drug} new")
            elif ch is not None:
                words.append(clinical_percent(ch))
            elif after:
                words.append("from 0")
        words += [f"{drug} removed" for drug in pr.before if drug not in pr.after]
        unique = list(dict.fromkeys(words))
        return unique[0] if len(unique) == 1 else "\n".join(words)

    @staticmethod
    def _ptm(t: Therapy | None) -> tuple[str, str]:
        if t is None:
            return "unknown", "unknown"
        p = t.ptm
        if not p.enabled:
            return "off", "off"
        per = f"over {p.duration_min} min, lockout {p.lockout_min} min, at most {p.max_per_day}/day"
        return (
            f"{_bolus(p.volume_nl, t)}\n{per}",
            f"{_exact_bolus(p.volume_nl, t)} ({significant(Fraction(p.volume_nl, 1000))} µL) {per}",
        )

    def _fill(self, lines: list[tuple[str, str, str, str, str, bool]]) -> None:
        self.table.setRowCount(len(lines))
        for r, (label, before, after, change, tip, red) in enumerate(lines):
            changed = before != after
            for c, text in enumerate((label, before, after, change)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if c:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if changed:
                    item.setBackground(QBrush(QColor(CHANGED_TINT)))
                    if c >= 2:
                        font = item.font()
                        font.setBold(True)
                        item.setFont(font)
                if red and c == 3:
                    item.setForeground(QBrush(QColor(CRITICAL)))
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
