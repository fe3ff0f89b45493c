"""The refill visit, step by step: pump now → drawn out → drug → injected → catheter and
bolus → confirm → summary.

Every figure on these pages comes from the core: `plan()` for the discrepancy, the bolus
and the dates, `state.propose/send` for the pump. The wizard keeps only what the person
typed (strings with units). Next stays disabled while the step has an empty field or a
hard finding; Enter moves on; the confirm is the same before/after view as the therapy
confirm, with one reason per overridden finding, typed afresh for each proposal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from programmer.checks import check_discrepancy, discrepancy
from programmer.finding_words import finding_line, finding_title
from programmer.findings import Finding, Severity, readable_message
from programmer.formatting import concentration_text, mass_text, volume_rate_text, volume_text
from programmer.planner import Plan, plan
from programmer.quantities import MASS_UNITS, Dimension, QuantityError, parse_quantity
from programmer.session.pump_session import ProgramResult, Proposal
from programmer.session.refill_rx import prescription_from_therapy, with_refill
from programmer.session.visit_report import REASONS
from programmer.store import Action
from ui.app_state import AppState
from ui.confirm.change_view import ChangeView
from ui.confirm.dialog import CHANGED, OUTCOME, OverrideRow, error_text
from ui.constant_flow.start import ConstantFlowStart
from ui.drug_picker import ConcentrationField, DrugPicker
from ui.fields import field_text
from ui.inputs import guard_inputs
from ui.numbers import clinical_percent, clinical_volume, rounded_text, significant
from ui.pump_text import pump_text
from ui.refill.findings_area import FindingsArea, LineWhenSaid
from ui.refill.steps import DISABLED, check_label, step_page
from ui.style import CRITICAL, OK, WARNING
from ui.therapy.widgets import mark
from ui.timefmt import local_text
from ui.widgets import (
    WRAP,
    Card,
    CurrentSizedStack,
    FillsItsArea,
    WrappedChoice,
    chain_tabs,
    last_focusable,
)

# Step 0 without a pump: what to do for each kind (nothing connects to a constant-flow one).
NO_PUMP = (
    "A programmable pump: connect to it (Connect screen). A constant-flow pump: choose its "
    "patient in the constant-flow card above and press \u201cRefill this patient's pump\u201d."
)
STEPS = ["Pump now", "Drawn out", "Drug", "Injected", "Catheter and bolus", "Confirm", "Summary"]
CONFIRM, SUMMARY = 5, 6
# Which step a finding belongs to, by its field (the core's names).
STEP_FIELDS: dict[int, tuple[str, ...]] = {
    1: ("refill.removed",),
    2: ("drugs", "dose", "rate", "steps"),  # the dose kept at a new strength: its rates
    3: ("refill.added", "refill"),
    4: ("catheter", "bolus"),
}
CONC_FIELD = "drugs[0].concentration"


def _unit(name: str, conc: int) -> str:
    from programmer.drugs import default_library

    drug = default_library().find(name)
    if drug is not None and drug.dose_unit:
        return drug.dose_unit
    return "mg" if conc >= 1_000_000 else "mcg"


def _belongs(f: Finding, index: int) -> bool:
    return any(f.field == p or f.field.startswith((p + ".", p + "[")) for p in STEP_FIELDS[index])


def suggested_unit(text: str) -> str | None:
    """The unit probably meant for a concentration typed with the other one."""
    number, _, unit = text.partition(" ")
    other = {"mcg/mL": "mg/mL", "mg/mL": "mcg/mL"}.get(unit)
    return f"{number} {other}" if other else None


class RefillPage(QWidget):
    scrolls_itself = True  # each step scrolls; Back, Next and Send stay in view

    def __init__(self, state: AppState) -> None:
        super().__init__()
        guard_inputs()  # no wheel or arrow key changes a drop-down unseen
        self.setObjectName("refill_page")
        self.state = state
        self.proposal: Proposal | None = None
        self.result: ProgramResult | None = None
        self._serial: str | None = None
        self._prefilled: tuple[str, str] = ("", "")  # the pump's drug as last put in the fields
        self._overrides: list[OverrideRow] = []
        self._sending = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.step_label = QLabel()
        self.step_label.setProperty("role", "title")
        self.step_label.setObjectName("refill_step")
        self.step_label.setWordWrap(True)
        outer.addWidget(self.step_label)
        self.stack = CurrentSizedStack()  # as small as the step shown
        outer.addWidget(self.stack, 1)
        self.step_problem = QLabel()
        self.step_problem.setObjectName("refill_step_problem")
        self.step_problem.setWordWrap(True)
        self.step_problem.setStyleSheet(f"color: {CRITICAL}; font-weight: 600;")
        # A long list scrolls in a few lines instead of pushing Next (or the window) off
        # the screen at scale 2.
        self.problem_area = QScrollArea()
        self.problem_area.setObjectName("refill_step_problem_area")
        self.problem_area.setWidgetResizable(True)
        self.problem_area.setFrameShape(QFrame.Shape.NoFrame)
        self.problem_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.problem_area.setWidget(self.step_problem)
        self.problem_area.setMaximumHeight(3 * self.fontMetrics().lineSpacing() + 4)
        self.problem_area.setMinimumHeight(self.fontMetrics().lineSpacing() + 4)  # scrolls
        self.step_problem.setVisible(False)
        self.problem_area.setVisible(False)
        outer.addWidget(self.problem_area)
        nav = QHBoxLayout()
        self.back = QPushButton("Back")
        self.back.setObjectName("refill_back")
        self.next = QPushButton("Next")
        self.next.setObjectName("refill_next")
        self.next.setProperty("role", "primary")
        self.next.setStyleSheet(DISABLED)
        self.back.clicked.connect(lambda: self.go(self.stack.currentIndex() - 1))
        self.next.clicked.connect(self._next)
        nav.addWidget(self.back)
        nav.addStretch(1)
        nav.addWidget(self.next)
        outer.addLayout(nav)
        self._build_pages()
        state.sig_pump_changed.connect(self._pump_changed)
        state.sig_user_changed.connect(self._user_changed)
        state.sig_locked.connect(lambda locked: self.reset() if locked else None)
        self._pump_changed()  # built after connecting: start from what the pump says now
        self.go(0)

    # --- pages --------------------------------------------------------------------------

    def _build_pages(self) -> None:
        # 1. the pump now
        self.now_card = Card("What the pump says now")
        reread = QPushButton("Read the pump again")
        reread.clicked.connect(lambda: self.state.refresh())
        self.with_therapy = QCheckBox("Send the therapy editor's new program with this refill")
        self.with_therapy.setObjectName("refill_with_therapy")
        self.with_therapy.setToolTip(
            "one transaction: the refill and the therapy change reach the pump together, or neither"
        )
        self.cf_start = ConstantFlowStart(self.state)  # a constant-flow pump: no connecting
        self.stack.addWidget(
            self._page(self.now_card, WrappedChoice(self.with_therapy), reread, self.cf_start)
        )
        # 2. drawn out
        self.removed = self._volume_field("refill_removed", "volume drawn out, mL", "e.g. 4.6")
        self.removed_check = self._check_label("refill_discrepancy")
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        form.addRow("Drawn out with the syringe (mL)", self.removed)
        self.stack.addWidget(self._page(form, self.removed_check))
        # 3. drug and concentration
        self.drug = DrugPicker("refill_drug", "drug, from the library")
        self.conc = ConcentrationField("refill_concentration", "concentration")
        self.conc_retype = QLineEdit()
        self.conc_retype.setObjectName("refill_concentration_retype")
        self.conc_retype.setAccessibleName("the concentration typed again, with its unit")
        self.conc_retype.setPlaceholderText("type the concentration again, e.g. 25 mcg/mL")
        self.conc_retype.setVisible(False)
        self.conc_retype.textChanged.connect(lambda _: self._recheck())
        self.conc_retype.returnPressed.connect(self._enter)
        self.drug_check = self._check_label("refill_drug_check")
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        form.addRow("Drug", self.drug)
        form.addRow("Concentration", self.conc)
        form.addRow("", self.conc_retype)
        self.stack.addWidget(self._page(form, self.drug_check))
        # 4. injected
        self.added = self._volume_field("refill_added", "volume injected, mL", "e.g. 20")
        self.added_check = self._check_label("refill_added_check")
        form = QFormLayout()
        form.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        form.addRow("Injected into the reservoir (mL)", self.added)
        self.stack.addWidget(self._page(form, self.added_check))
        # 5. catheter and bolus
        self.cath_length = self._volume_field("catheter_length", "catheter length, cm", "e.g. 60")
        self.cath_per_cm = self._volume_field(
            "catheter_volume_per_cm", "catheter volume per cm, mL", "e.g. 0.0026"
        )
        self.cath_volume = self._volume_field(
            "catheter_volume", "catheter volume, mL (instead of length and volume per cm)",
            "e.g. 0.15",
        )  # fmt: skip
        cform = QFormLayout()
        cform.setRowWrapPolicy(WRAP)  # a field too wide goes under its label
        cform.addRow("Catheter length (cm)", self.cath_length)
        cform.addRow("Volume per cm (mL)", self.cath_per_cm)
        cform.addRow("or its whole volume (mL)", self.cath_volume)
        self.no_bolus = QRadioButton("No bolus")
        self.no_bolus.setObjectName("refill_no_bolus")
        self.bridge = QRadioButton("Bridge bolus: the old drug in the catheter, at the old rate")
        self.bridge.setObjectName("refill_bridge")
        self.priming = QRadioButton(
            "Priming bolus: the fluid path holds no drug (new pump or catheter, "
            "or emptied and aspirated)"
        )
        self.priming.setObjectName("refill_priming")
        # Priming is allowed only into a path stated empty of drug: said, never assumed.
        self.fluid_path = QComboBox()
        self.fluid_path.setObjectName("refill_fluid_path")
        self.fluid_path.setAccessibleName("what the fluid path holds, for priming")
        for label, value in (
            ("Say why the fluid path holds no drug…", ""),
            ("A new pump", "new-pump"),
            ("A new catheter", "new-catheter"),
            ("The pump was emptied and aspirated", "emptied-and-aspirated"),
        ):
            self.fluid_path.addItem(label, value)
        self.fluid_path.setEnabled(False)
        self.fluid_path.currentIndexChanged.connect(lambda _: self._recheck())
        self.priming.toggled.connect(self.fluid_path.setEnabled)
        self.bridge_text = self._check_label("refill_bridge_text")
        self.bolus_group = QButtonGroup(self)
        for b in (self.no_bolus, self.bridge, self.priming):
            self.bolus_group.addButton(b)
            b.toggled.connect(lambda _: self._recheck())
        self.no_bolus.setChecked(True)
        self.stack.addWidget(
            self._page(
                cform,
                WrappedChoice(self.no_bolus),
                WrappedChoice(self.bridge),
                WrappedChoice(self.priming),
                self.fluid_path,
                self.bridge_text,
            )
        )
        # 6. confirm: the same before/after view as the therapy confirm
        self.view = ChangeView()
        self.view.setMinimumHeight(220)
        self.findings_box = QVBoxLayout()
        self.findings = QLabel()
        self.findings.setObjectName("refill_findings")
        self.findings.setWordWrap(True)
        self.recheck_button = QPushButton("Check again with these overrides")
        self.recheck_button.setObjectName("refill_recheck")
        self.recheck_button.clicked.connect(self._recheck_overrides)
        self.password = QLineEdit()
        self.password.setObjectName("refill_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("your password, again, to send")
        self.password.textChanged.connect(lambda _: self._update_send())
        self.send_button = QPushButton("Send to the pump")
        self.send_button.setObjectName("refill_send")
        self.send_button.setProperty("role", "danger")
        self.send_button.setStyleSheet(DISABLED)
        self.send_button.setAutoDefault(False)
        self.send_button.clicked.connect(self._send)
        self.progress = LineWhenSaid()
        self.progress.setObjectName("refill_progress")
        send_row = QHBoxLayout()
        send_row.addWidget(QLabel("Password"))
        send_row.addWidget(self.password, 1)
        send_row.addWidget(self.send_button)
        findings_widget = QWidget()
        fl = QVBoxLayout(findings_widget)
        fl.addWidget(self.findings)
        fl.addLayout(self.findings_box)
        fl.addWidget(self.recheck_button, alignment=Qt.AlignmentFlag.AlignLeft)
        self._findings_area = scroll = FindingsArea(findings_widget)
        # The view and the findings scroll on a small screen; the change per drug, the
        # password and Send stay in view (scale 2 on 1024x768).
        body = FillsItsArea()
        bl = QVBoxLayout(body)
        bl.setContentsMargins(0, 0, 0, 0)
        change = self.view.take_change()
        change.setWordWrap(False)  # one line per drug: a wrapped label can be clipped
        bl.addWidget(self.view, 1)  # the table gets the room; the findings what they need
        bl.addWidget(scroll, 0)
        body_area = QScrollArea()
        body_area.setObjectName("refill_confirm_body")
        body_area.setWidgetResizable(True)
        body_area.setFrameShape(QFrame.Shape.NoFrame)
        body_area.setMinimumHeight(24)
        body_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        body_area.setWidget(body)
        confirm = QWidget()
        cl = QVBoxLayout(confirm)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(body_area, 1)
        cl.addWidget(change)
        cl.addLayout(send_row)
        cl.addWidget(self.progress)
        self.stack.addWidget(confirm)
        # 7. summary
        self.summary = QLabel()
        self.summary.setObjectName("refill_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        report = QPushButton("Save the visit report (PDF)…")
        report.setObjectName("refill_save_report")
        report.clicked.connect(lambda: self.save_report(None))
        fhir = QPushButton("Export for the EHR (FHIR)…")
        fhir.setObjectName("export_fhir")
        fhir.clicked.connect(lambda: self.export_fhir(None))
        print_button = QPushButton("Print the visit report…")
        print_button.setObjectName("refill_print_report")
        print_button.clicked.connect(self.print_report)
        self.new_refill = QPushButton("Start a new refill")
        self.new_refill.setObjectName("refill_start_new")
        self.new_refill.clicked.connect(self.reset)
        self.stack.addWidget(self._page(self.summary, report, print_button, fhir, self.new_refill))
        for field in (
            self.removed,
            self.added,
            self.cath_length,
            self.cath_per_cm,
            self.cath_volume,
        ):
            field.textChanged.connect(lambda _: self._recheck())
        self.drug.sig_picked.connect(self._drug_picked)
        self.drug.editTextChanged.connect(lambda _: self._recheck())
        self.conc.sig_changed.connect(self._conc_changed_by_user)
        self.conc.number.returnPressed.connect(self._enter)
        self.with_therapy.toggled.connect(lambda _: self._recheck())

    def _volume_field(self, name: str, accessible: str, placeholder: str) -> QLineEdit:
        field = QLineEdit()
        field.setObjectName(name)
        field.setAccessibleName(accessible)
        field.setPlaceholderText(placeholder)
        field.returnPressed.connect(self._enter)  # Enter moves on, as Next does
        return field

    @staticmethod
    def _check_label(name: str) -> QLabel:
        return check_label(name)

    @staticmethod
    def _page(*parts: Any) -> QWidget:
        return step_page(*parts)

    # --- navigation -------------------------------------------------------------------

    def go(self, index: int) -> None:
        index = max(0, min(index, len(STEPS) - 1))
        here = self.stack.currentIndex()
        # Forward only through steps without problems: Next's rule holds for go() too.
        while here < index and not self.step_problems(here):
            here += 1
        if index <= self.stack.currentIndex():
            here = index
        self.stack.setCurrentIndex(here)
        # Tab goes through the step's fields, then Back and Next (built before the steps;
        # set here, in the window: moving the page into the window reorders the chain).
        chain_tabs(last_focusable(self.stack), self.back, self.next)
        self.step_label.setText(
            f"Refill {here + 1}/{len(STEPS)}: {STEPS[here]}"
        )  # one line at scale 2
        self.back.setEnabled(0 < here <= CONFIRM and not self._sending)
        self.next.setVisible(here < CONFIRM)
        if here == CONFIRM:
            self._propose()
        self._recheck()
        focus = {
            1: self.removed,
            2: self.drug,
            3: self.added,
            4: self.cath_length,
            CONFIRM: self.password,
        }
        if here in focus:
            focus[here].setFocus(Qt.FocusReason.OtherFocusReason)

    def _next(self) -> None:
        if self.step_problems(self.stack.currentIndex()):
            return
        self.go(self.stack.currentIndex() + 1)

    def _enter(self) -> None:
        if self.stack.currentIndex() < CONFIRM and self.next.isEnabled():
            self._next()

    def reset(self) -> None:
        """Forget this visit's values: a finished refill, sign-out, lock, another pump."""
        self._sending = False
        self.proposal = None
        self.result = None
        for field in (self.removed, self.added, self.cath_length, self.cath_per_cm,
                      self.cath_volume, self.conc_retype, self.password):  # fmt: skip
            field.clear()
        self.drug.setText("")
        self.conc.setText("")
        self.no_bolus.setChecked(True)
        self.fluid_path.setCurrentIndex(0)
        self.with_therapy.setChecked(False)
        self.summary.clear()
        self.progress.clear()
        self._clear_overrides()
        self._serial = None
        self._prefilled = ("", "")
        self._pump_changed()
        self.go(0)

    def _user_changed(self) -> None:
        self.cf_start.reload()
        if self.state.principal is None:
            self.reset()

    def _pump_changed(self) -> None:
        i = self.state.interrogation
        if i is None:
            self._recheck()
            return
        if self._serial is not None and i.serial != self._serial:
            self._serial = None
            self.reset()  # another pump: nothing of the previous patient is left
            return
        self._serial = i.serial
        # The pump's drug, unless the person has typed another: follows a fill or a therapy
        # change made earlier in this visit (the page may have been built before it).
        now = ("", "")
        if i.therapy.drugs:
            d = i.therapy.drugs[0]
            now = (d.name, concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml)))
        if (self.drug.text(), self.conc.text()) == self._prefilled and now != self._prefilled:
            self.drug.setText(now[0])
            self._drug_picked(now[0])
            self.conc.setText(now[1])
            self.conc_retype.clear()
            self._prefilled = now
        if i.therapy.catheter_volume_nl and not self.cath_volume.text():
            # kept on the pump itself: what the last program stored
            self.cath_volume.setText(volume_text(i.therapy.catheter_volume_nl).removesuffix(" mL"))
        self._recheck()

    def _drug_picked(self, name: str) -> None:
        self.conc.set_drug(self.drug.drug())
        self._recheck()

    def _conc_changed_by_user(self) -> None:
        self.conc_retype.clear()  # a new value needs its own retype
        self._recheck()

    def confirmations(self) -> dict[str, str]:
        """{field: the value typed again}: the core compares it with the field's value."""
        typed = " ".join(self.conc_retype.text().split())
        return {CONC_FIELD: typed} if typed else {}

    # --- live checks (the core computes) -------------------------------------------------

    def editor_prescription(self) -> dict[str, Any] | None:
        getter = self.state.editor_prescription
        return getter() if getter is not None else None

    def prescription(self) -> dict[str, Any] | None:
        i = self.state.interrogation
        if i is None:
            return None
        editor = self.editor_prescription() if self.with_therapy.isChecked() else None
        base = editor or prescription_from_therapy(
            i.therapy, pump_serial=i.serial, pump_model=i.model, keep="dose"
        )
        base = dict(base)
        drugs = (
            [{"name": self.drug.text(), "concentration": self.conc.text()}]
            if self.drug.text()
            else []
        )
        kind = (
            "bridge" if self.bridge.isChecked() else "priming" if self.priming.isChecked() else ""
        )
        rx = with_refill(base, removed=f"{self.removed.text().strip()} mL",
                         added=f"{self.added.text().strip()} mL", drugs=drugs, bridge=kind == "bridge")  # fmt: skip
        if kind == "priming":
            rx["bolus"] = {"kind": "priming"}
            path = str(self.fluid_path.currentData() or "")
            if path:
                rx["bolus"]["fluid_path"] = path
        catheter = self._catheter()
        if catheter:
            rx["catheter"] = catheter
        return rx

    def _catheter(self) -> dict[str, str] | None:
        length, per_cm = self.cath_length.text().strip(), self.cath_per_cm.text().strip()
        volume = self.cath_volume.text().strip()
        if length or per_cm:
            return {"length": f"{length} cm", "volume_per_cm": f"{per_cm} mL"}
        if volume:
            return {"volume": f"{volume} mL"}
        return None

    def _conc_changed(self) -> bool:
        i = self.state.interrogation
        if i is None:
            return False
        old = [
            (d.name, concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml)))
            for d in i.therapy.drugs
        ]
        new = [(self.drug.text(), self.conc.text())] if self.drug.text() else []
        return old != new

    def current_plan(self) -> Plan | None:
        rx, i = self.prescription(), self.state.interrogation
        if rx is None or i is None:
            return None
        return plan(rx, now=datetime.fromtimestamp(int(i.status["clock_t"]), UTC),
                    pump=i.pump_context(), confirmations=self.confirmations() or None)  # fmt: skip

    def step_problems(self, index: int) -> list[str]:
        """What keeps this step from moving on: empty fields, hard findings, a value to retype."""
        out: list[str] = []
        if index == 0:
            return [] if self.state.interrogation is not None else [NO_PUMP]
        if index == 1 and not self.removed.text().strip():
            out.append("Drawn out: required")
        if index == 2:
            for what, problem in (
                ("Drug", self.drug.problem()),
                ("Concentration", self.conc.problem()),
            ):
                if problem:
                    out.append(f"{what}: {problem}")
        if index == 3 and not self.added.text().strip():
            out.append("Injected: required")
        if index == 4 and not self.no_bolus.isChecked() and self._catheter() is None:
            out.append(
                "Catheter: required for a bolus (its length and volume per cm, or its volume)"
            )
        if out or index not in STEP_FIELDS:
            return out
        p = self.current_plan()
        if p is None:
            return out
        for f in p.findings:
            if not _belongs(f, index):
                continue
            if f.retype and not f.confirmed:
                out.append(f"{self._field_name(f.field)}: type the value again to confirm it")
            elif f.code == "confirm_value_mismatch":
                out.append(f"{self._field_name(f.field)}: the value typed again is not the same")
            elif f.severity is Severity.HARD:
                out.append(
                    f"{self._field_name(f.field)}: {finding_title(f.code)}: {readable_message(f)}"
                )
        return list(dict.fromkeys(out))  # one line per problem, however many findings say it

    @staticmethod
    def _field_name(field: str) -> str:
        names = {"refill.removed": "Drawn out", "refill.added": "Injected", "refill": "Refill",
                 "drugs": "Drug", "catheter": "Catheter", "bolus": "Bolus"}  # fmt: skip
        if field.startswith("drugs"):
            return "Concentration" if field.endswith("concentration") else "Drug"
        for key, name in names.items():
            if field.startswith(key):
                return name
        return field_text(field)[:1].upper() + field_text(field)[1:]

    def _recheck(self) -> None:
        self._fill_now()
        p = self.current_plan()
        index = self.stack.currentIndex()
        problems = self.step_problems(index) if index < CONFIRM else []
        self.next.setEnabled(not problems)
        self.next.setToolTip("\n".join(problems))
        self.step_problem.setText(rounded_text("\n".join(problems)))
        self.step_problem.setToolTip("\n".join(problems))  # the exact figures
        self.step_problem.setVisible(bool(problems))
        self.problem_area.setVisible(bool(problems))
        mark(self.removed, "hard" if index == 1 and problems else None)
        mark(self.added, "hard" if index == 3 and problems else None)
        if p is None:
            return
        self._fill_removed(p)
        self._fill_drug(p)
        self._fill_added(p)
        self._fill_bolus(p)

    def _fill_now(self) -> None:
        i = self.state.interrogation
        self.cf_start.setVisible(i is None)
        if i is None:
            self.now_card.set_rows([("Pump", "not connected")])
            self.with_therapy.setEnabled(False)
            return
        f = self.state.forecast
        s = i.status
        off = int(s["utc_offset_min"])
        fill = (
            ", ".join(
                f"{pump_text(d.name)} {concentration_text(d.conc_ng_ml, _unit(d.name, d.conc_ng_ml))}"
                for d in i.therapy.drugs
            )
            or "saline"
        )
        due = "unknown"
        if f and f.refill_due_t:
            due = (
                f"{local_text(f.refill_due_t, off)} ({REASONS.get(f.refill_due_reason or '', '')})"
            )
        self.now_card.set_rows([
            ("Pump", f"{pump_text(i.model)} {pump_text(i.serial)}"),
            ("In the reservoir (estimate)", clinical_volume(int(s["reservoir_nl"]))),
            ("Filled at the last refill", clinical_volume(i.last_fill_nl) if i.last_fill_nl is not None else "not in the pump's log"),
            ("Drug", fill),
            ("Refill was due", due),
        ])  # fmt: skip
        self.with_therapy.setEnabled(
            self.state.may(Action.PROGRAM) and self.editor_prescription() is not None
        )

    def _fill_removed(self, p: Plan) -> None:
        i = self.state.interrogation
        assert i is not None
        s = i.status
        codes = {x.code: x for x in p.findings}
        expected = clinical_volume(int(s["reservoir_nl"]))
        if not self.removed.text().strip():
            self._tell(
                self.removed_check,
                f"Expected to draw out about {expected} (the pump's estimate).",
                WARNING,
            )
            return
        try:
            removed_nl = parse_quantity(
                f"{self.removed.text().strip()} mL", Dimension.VOLUME
            ).whole("the volume drawn out")
        except QuantityError as exc:
            self._tell(self.removed_check, f"Drawn out: {exc.reason}", CRITICAL)
            return
        rc = None
        if i.last_fill_nl is not None:
            rc = discrepancy(removed_nl, int(s["reservoir_nl"]), i.last_fill_nl)
            codes.update({x.code: x for x in check_discrepancy(rc)} if rc else {})
        if rc is None:
            skipped = codes.get("refill_check_skipped")
            self._tell(self.removed_check, f"Expected to draw out about {expected}. "
                       + (readable_message(skipped) if skipped else ""), WARNING)  # fmt: skip
            return
        text = (f"Expected to draw out about {expected} (the pump's estimate). Programmed delivery since "
                f"the last fill {clinical_volume(rc.programmed_nl)}; actual {clinical_volume(rc.actual_nl)}: "
                f"{clinical_percent(rc.deviation)}.")  # fmt: skip
        flag = (codes.get("refill_over_infusion") or codes.get("refill_under_infusion")
                or codes.get("refill_removed_over_fill"))  # fmt: skip
        self._tell(self.removed_check, text + (f"\n{finding_title(flag.code)}: {readable_message(flag)}. {flag.remedy}" if flag
                   else "\nWithin the pump's ±14.5 %."), CRITICAL if flag else OK)  # fmt: skip

    def _fill_drug(self, p: Plan) -> None:
        msgs = [x for x in p.findings if x.field.startswith("drugs")
                or x.code in ("unknown_drug", "admixture", "off_label")]  # fmt: skip
        suspect = next((x for x in msgs if x.retype and x.field == CONC_FIELD), None)
        retyped = suspect is not None and suspect.confirmed
        self.conc_retype.setVisible(
            (suspect is not None and not retyped) or bool(self.conc_retype.text())
        )
        if suspect is not None:
            self.conc_retype.setPlaceholderText(f"type {self.conc.text()} again to confirm it")
        lines = []
        if suspect is not None:
            meant = suggested_unit(self.conc.text())
            lines.append(
                f"{self.conc.text()} looks like a unit slip"
                + (f": {meant} was probably meant" if meant else "")
                + (". Confirmed by typing it again." if retyped else
                   ". Correct it, or type the same value again below to confirm it.")
            )  # fmt: skip
        mark(self.conc.number, "hard" if suspect is not None and not retyped else
             "soft" if suspect is not None else None, "\n".join(lines))  # fmt: skip
        changed = self._conc_changed()
        lines.append("The concentration changes: the daily dose is kept, the rates are recomputed."
                     if changed else "Same drug and concentration.")  # fmt: skip
        lines += [finding_line(x, readable_message(x)) for x in msgs]
        bad = (suspect is not None and not retyped) or any(
            x.severity is Severity.HARD for x in msgs
        )
        self._tell(
            self.drug_check,
            "\n".join(lines),
            CRITICAL if bad else WARNING if changed or msgs else OK,
        )

    def _fill_added(self, p: Plan) -> None:
        i = self.state.interrogation
        assert i is not None
        msgs = [x for x in p.findings if x.field.startswith("refill.added")]
        self._tell(self.added_check, f"Capacity {clinical_volume(int(i.status['reservoir_capacity_nl']))}.\n"
                   + "\n".join(finding_line(x, readable_message(x)) for x in msgs),
                   CRITICAL if any(x.severity is Severity.HARD for x in msgs) else OK)  # fmt: skip

    def _fill_bolus(self, p: Plan) -> None:
        changed = self._conc_changed()
        may = self.state.may(Action.PROGRAM)  # a bolus is a program: a physician sends it
        if (self.bridge.isChecked() and not changed) or (not may and not self.no_bolus.isChecked()):
            self.no_bolus.setChecked(True)
        self.bridge.setEnabled(changed and may)
        self.priming.setEnabled(may)
        self.with_therapy.setEnabled(may and self.editor_prescription() is not None)
        if not may:
            self.bridge_text.setText(
                "A bridge or priming bolus is a program: it needs a physician's account. "
                + (
                    "The concentration changes: ask a physician to give the bridge bolus."
                    if changed
                    else ""
                )
            )
            return
        codes = {x.code: x for x in p.findings}
        self.bridge_text.setToolTip("")
        if p.bolus is not None:
            b = p.bolus
            # Each drug's dose (the core's figures, rounded as written), its volume beside.
            doses = ", ".join(f"{d.drug} {significant(d.ng / MASS_UNITS[d.unit])} {d.unit}"
                              for d in b.doses) or "saline only"  # fmt: skip
            fill = "the old fill" if b.kind == "bridge" else "the new fill"
            self.bridge_text.setText(rounded_text(
                f"{b.kind.capitalize()} bolus: {doses} ({clinical_volume(b.volume_nl)} of {fill}) "
                f"at {volume_rate_text(b.rate_nl_day)}: pump tubing "
                f"{clinical_volume(b.inputs['pump_tubing_nl'])} + catheter "
                f"{clinical_volume(b.inputs['catheter_volume_nl'])}; rate: {b.inputs['rate_source']}."
            ))  # fmt: skip
            exact = "; ".join(f"{d.drug} {mass_text(d.ng, d.unit)}" for d in b.doses)
            self.bridge_text.setToolTip(
                f"exactly: {exact or 'saline only'} in {volume_text(b.volume_nl)}; pump tubing "
                f"{volume_text(b.inputs['pump_tubing_nl'])} ({b.inputs['pump_tubing_source']})"
            )  # fmt: skip
        elif not changed and self.no_bolus.isChecked():
            self.bridge_text.setText("No bridge bolus needed: the concentration does not change.")
        else:
            why = codes.get("invalid_bolus") or codes.get("bridge_bolus_needed")
            self.bridge_text.setText(readable_message(why) if why else "No bolus.")

    @staticmethod
    def _tell(label: QLabel, text: str, colour: str) -> None:
        label.setText(text)
        label.setStyleSheet(f"color: {colour}; font-weight: 600;")

    # --- confirm and send -------------------------------------------------------------

    def _clear_overrides(self) -> None:
        while self.findings_box.count():
            item = self.findings_box.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.setParent(None)
                w.deleteLater()
        self._overrides = []

    def overrides(self) -> dict[str, str]:
        return {
            o.finding.code: o.reason.text().strip() for o in self._overrides if o.box.isChecked()
        }

    def _propose(self, overrides: dict[str, str] | None = None) -> None:
        rx = self.prescription()
        if rx is None:
            return
        if overrides is None:
            self._clear_overrides()  # a new proposal: no reason is carried over from the last
        self.proposal = None
        self._update_send()
        self._say("Reading the pump and planning…")
        self.state.propose(rx, overrides or None, self._show_proposal,
                           lambda e: self._say(f"Could not plan: {error_text(e)}"),
                           self.confirmations())  # fmt: skip

    def _recheck_overrides(self) -> None:
        missing = [code for code, reason in self.overrides().items() if not reason]
        if missing:
            self.progress.setText("Give a reason for every override.")
            return
        self._propose(self.overrides())

    def _show_proposal(self, proposal: Proposal) -> None:
        self.proposal = proposal
        p = proposal.plan
        self.view.show_proposal(proposal)
        kept = {o.finding.code: o.reason.text() for o in self._overrides if o.box.isChecked()}
        self._clear_overrides()
        hard = [f for f in p.findings if f.severity is Severity.HARD]
        self.findings.setText("\n".join(finding_line(f, readable_message(f)) for f in hard) or
                              ("No findings." if not p.findings else ""))  # fmt: skip
        self.findings.setStyleSheet(f"color: {CRITICAL if hard else OK}; font-weight: 600;")
        for f in p.findings:
            if f.severity is not Severity.SOFT or f.code in {
                o.finding.code for o in self._overrides
            }:
                continue
            row = OverrideRow(f, len(self._overrides))
            if f.code in proposal.overrides:  # this proposal's own reasons, from the recheck
                row.box.setChecked(True)
                row.reason.setText(kept.get(f.code, proposal.overrides[f.code]))
            row.box.toggled.connect(lambda _: self._update_send())
            row.reason.textChanged.connect(lambda _: self._update_send())
            self.findings_box.addWidget(row)
            self._overrides.append(row)
        self._fit_findings()
        fields = [w for o in self._overrides for w in (o.box, o.reason)]
        chain_tabs(*fields, self.recheck_button, self.password, self.send_button, self.back)
        self._update_send()

    def _say(self, text: str) -> None:
        self.findings.setText(text)
        self._fit_findings()

    def _fit_findings(self) -> None:
        """The findings take the height they show and no more (none when empty)."""
        self.findings.setVisible(bool(self.findings.text()))
        self.recheck_button.setVisible(bool(self._overrides))
        self._findings_area.fit(bool(self.findings.text()) or bool(self._overrides))

    def _overrides_current(self) -> bool:
        return self.proposal is not None and self.overrides() == self.proposal.overrides

    def _update_send(self) -> None:
        p = self.proposal
        ok = p is not None and p.plan.ok and self._overrides_current()
        done = self.result is not None
        self.send_button.setEnabled(
            ok and bool(self.password.text()) and not self._sending and not done
        )
        self.recheck_button.setVisible(bool(self._overrides))
        self.recheck_button.setEnabled(p is not None and not p.plan.hard and not self._sending)
        if p is not None and p.plan.hard:
            self.send_button.setToolTip("Hard findings stand: go back and correct them")
        elif p is not None and not ok:
            self.send_button.setToolTip("Override each finding with its reason, then check again")
        else:
            self.send_button.setToolTip("")

    def _send(self) -> None:
        if self.proposal is None or not self.send_button.isEnabled():
            return
        self._sending = True
        self._update_send()
        self.back.setEnabled(False)
        self.progress.setText("stage…")
        conn = self.state.bridge.sig_progress.connect(
            lambda step: self.progress.setText(f"{step}…")
        )

        def done(result: ProgramResult) -> None:
            self.state.bridge.sig_progress.disconnect(conn)
            self._sending = False
            self.result = result
            word, colour = OUTCOME.get(result.outcome, (result.outcome.upper(), CRITICAL))
            self.state.record_outcome(
                word, f"Refill: {result.message}. {CHANGED.get(result.outcome, '')}", colour
            )
            self._summarise()
            self.go(SUMMARY)

        def failed(error: BaseException) -> None:
            self.state.bridge.sig_progress.disconnect(conn)
            self._sending = False
            self.progress.setText(f"Not sent: {error_text(error)}. {CHANGED['refused']}")
            self.back.setEnabled(True)
            self._update_send()

        self.state.send(self.proposal, self.password.text(), done, failed)
        self.password.clear()

    def _summarise(self) -> None:
        r, p = self.result, self.proposal
        if r is None or p is None:
            return
        word, colour = OUTCOME.get(r.outcome, (r.outcome.upper(), CRITICAL))
        i = self.state.interrogation
        off = int(i.status["utc_offset_min"]) if i else 0
        parts = [
            f"<p style='color:{colour}; font-size:16pt'><b>{word}</b>: {r.message}</p>",
            f"<p>{CHANGED.get(r.outcome, CHANGED['uncertain'])}</p>",
        ]
        if r.outcome == "uncertain":
            parts.append("<p><b>Nothing else will be sent until the pump is read again.</b></p>")
        if r.outcome == "applied" and p.plan.refill_due_at is not None:
            parts.append(f"<p>Next refill: <b>{local_text(p.plan.refill_due_at, off)}</b> ({REASONS.get(p.plan.refill_due_reason or '', '')}). "
                         "The alarm date is an estimate from the programmed rate.</p>")  # fmt: skip
        self.summary.setText("".join(parts))

    def report_html(self) -> str | None:
        """The visit report: this visit's records only, in words (ui/report/visit.py)."""
        from ui.report.visit import visit_html

        p, s = self.proposal, self.state
        if p is None or s.principal is None:
            return None
        session = s.session
        trail = s.trail.query(pump=p.base.serial) if session is not None else []
        opened = [r.seq for r in trail if r.action == "pump_connected"]
        trail = [r for r in trail if not opened or r.seq >= opened[-1]]  # this visit only
        from programmer.patients.course import pumps_of_patient
        from programmer.patients.registry import Patients

        course = pumps_of_patient(Patients(s.store, s.trail), s.principal, p.base.serial)
        return visit_html(user=s.principal.name, role=str(s.principal.role), before=p.base,
                          proposal=p, result=self.result, trail=trail, demo_key=s.demo_key,
                          course=course)  # fmt: skip

    def export_fhir(self, path: Path | None) -> Path | None:
        from ui.clinic.fhir_export import export_visit

        session = self.state.session
        return export_visit(self, self.state, session.visit_id if session else None, path)

    def save_report(self, path: Path | None) -> Path | None:
        html = self.report_html()
        if html is None:
            return None
        from ui.report.save import save_report_pdf

        return save_report_pdf(self, html, path)

    def print_report(self) -> bool:
        """Print the visit report on a printer chosen in the system's dialog."""
        from PySide6.QtGui import QTextDocument
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        html = self.report_html()
        if html is None:
            return False
        printer = QPrinter()
        if QPrintDialog(printer, self).exec() != QPrintDialog.DialogCode.Accepted:
            return False
        doc = QTextDocument()
        doc.setHtml(html)
        doc.print_(printer)
        return True
