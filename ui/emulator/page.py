"""Emulator controls, for demos and training: shown only when the pump is an emulator."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from programmer.formatting import volume_text
from programmer.session.pump_session import EmulatorControls
from ui.app_state import AppState


class EmulatorPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        layout = QVBoxLayout(self)
        title = QLabel("Emulator controls (training only: a real pump refuses these)")
        title.setProperty("role", "title")
        title.setWordWrap(True)  # at scale 2 it made the screen scroll sideways
        layout.addWidget(title)
        grid = QGridLayout()
        self.hours = QSpinBox()
        self.hours.setRange(1, 24 * 365)
        self.hours.setValue(24)
        self.hours.setSuffix(" h")
        self.hours.setAccessibleName("hours to advance")
        advance = QPushButton("Advance time")
        advance.clicked.connect(
            lambda: self._do("advance", lambda c: c.advance(self.hours.value() * 3600))
        )
        grid.addWidget(self.hours, 0, 0)
        grid.addWidget(advance, 0, 1)
        ptm = QPushButton("Patient presses the bolus button")
        ptm.clicked.connect(lambda: self._do("patient bolus", lambda c: c.press_patient_bolus()))
        grid.addWidget(ptm, 1, 0, 1, 2)
        stall = QPushButton("Stall the motor")
        stall.setProperty("role", "danger")
        stall.clicked.connect(lambda: self._do("motor stall", lambda c: c.fault("motor_stall")))
        clear = QPushButton("Clear the fault")
        clear.clicked.connect(lambda: self._do("clear fault", lambda c: c.fault("clear")))
        grid.addWidget(stall, 2, 0)
        grid.addWidget(clear, 2, 1)
        self.ppm = QSpinBox()
        self.ppm.setRange(-500_000, 500_000)
        self.ppm.setSingleStep(10_000)
        self.ppm.setSuffix(" ppm")
        self.ppm.setAccessibleName("flow error in parts per million")
        flow = QPushButton("Set the real flow error")
        flow.clicked.connect(
            lambda: self._do("flow error", lambda c: c.set_flow_error(self.ppm.value()))
        )
        grid.addWidget(self.ppm, 3, 0)
        grid.addWidget(flow, 3, 1)
        truth = QPushButton("What a syringe would draw out now")
        truth.clicked.connect(lambda: self._do("truth", lambda c: c.truth()))
        grid.addWidget(truth, 4, 0, 1, 2)
        layout.addLayout(grid)
        self.result = QLabel()
        self.result.setObjectName("emulator_result")
        self.result.setWordWrap(True)
        layout.addWidget(self.result)
        layout.addStretch(1)

    def _do(self, name: str, op: Callable[[EmulatorControls], object]) -> None:
        if self.state.session is None:
            self.result.setText("Connect to the emulator first.")
            return
        controls = self.state.emulator()

        def ok(value: object) -> None:
            if isinstance(value, dict) and "true_reservoir_nl" in value:
                self.result.setText(
                    f"A syringe would draw out {volume_text(int(value['true_reservoir_nl']))}."
                )
            elif isinstance(value, dict) and "granted" in value:
                self.result.setText(
                    f"Patient bolus {'granted' if value['granted'] else 'refused'} ({value['reason']})."
                )
            else:
                self.result.setText(f"{name}: done.")
            self.state.refresh()

        self.state.bridge.run(
            name, lambda: op(controls), ok, lambda e: self.result.setText(f"{name} failed: {e}")
        )
