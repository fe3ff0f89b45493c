"""Connect: the built-in emulator, a pump on TCP, or a telemetry head on a serial port."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ui.app_state import EMULATOR, AppState
from ui.error_words import error_text
from ui.pump_text import pump_text
from ui.style import WARNING, banner_css


def serial_ports() -> list[str]:
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    return sorted(p.device for p in list_ports.comports())


class ConnectPage(QWidget):
    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        layout = QVBoxLayout(self)
        title = QLabel("Connect to a pump")
        title.setProperty("role", "title")
        layout.addWidget(title)
        grid = QGridLayout()
        self.kind = QButtonGroup(self)
        self.emulator = QRadioButton("Built-in emulator")
        self.tcp = QRadioButton("Pump on TCP")
        self.serial = QRadioButton("Telemetry head on a serial port")
        for i, b in enumerate((self.emulator, self.tcp, self.serial)):
            self.kind.addButton(b, i)
            grid.addWidget(b, i, 0)
        self.tcp_address = QLineEdit("127.0.0.1:7433")
        self.tcp_address.setAccessibleName("TCP address, host:port")
        self.port = QComboBox()
        self.port.setAccessibleName("serial port")
        self.port.setEditable(True)
        self.port.addItems(serial_ports())
        self.baud = QComboBox()
        self.baud.addItems(["115200", "57600", "38400", "19200", "9600"])
        self.baud.setAccessibleName("baud rate")
        grid.addWidget(self.tcp_address, 1, 1)
        serial_row = QHBoxLayout()
        serial_row.addWidget(self.port, 1)
        serial_row.addWidget(self.baud)
        grid.addLayout(serial_row, 2, 1)
        layout.addLayout(grid)
        key_row = QHBoxLayout()
        key_row.addWidget(QLabel("Clinic key file"))
        self.key_file = QLineEdit()
        self.key_file.setPlaceholderText("none: the demo key")
        self.key_file.setAccessibleName("clinic key file")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(browse)
        layout.addLayout(key_row)
        self.demo_badge = QLabel("DEMO KEY: not for clinical use")
        self.demo_badge.setObjectName("demo_badge")
        self.demo_badge.setStyleSheet(banner_css(WARNING))
        layout.addWidget(self.demo_badge)
        self.button = QPushButton("Connect")
        self.button.setProperty("role", "primary")
        self.button.clicked.connect(self.connect_pump)
        layout.addWidget(self.button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.emulator.setChecked(True)
        self.use_address(state.address)  # `itp gui --pump ADDRESS` starts here
        self.key_file.textChanged.connect(self._update)
        self.kind.idToggled.connect(lambda *_: self._update())
        self._update()

    def use_address(self, address: str) -> None:
        """Select the kind and fill the fields for `address` (tcp://, serial://, emulator:)."""
        if address.startswith("tcp://"):
            self.tcp.setChecked(True)
            self.tcp_address.setText(address.removeprefix("tcp://"))
        elif address.startswith("serial://"):
            self.serial.setChecked(True)
            port, _, query = address.removeprefix("serial://").partition("?")
            self.port.setCurrentText(port)
            baud = query.removeprefix("baud=") if query.startswith("baud=") else ""
            if baud and self.baud.findText(baud) >= 0:
                self.baud.setCurrentText(baud)
        else:
            self.emulator.setChecked(True)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Clinic key file")
        if path:
            self.key_file.setText(path)

    def _update(self) -> None:
        self.demo_badge.setVisible(not self.key_file.text().strip())
        self.tcp_address.setEnabled(self.tcp.isChecked())
        self.port.setEnabled(self.serial.isChecked())
        self.baud.setEnabled(self.serial.isChecked())

    def address(self) -> str:
        if self.tcp.isChecked():
            return f"tcp://{self.tcp_address.text().strip()}"
        if self.serial.isChecked():
            return f"serial://{self.port.currentText().strip()}?baud={self.baud.currentText()}"
        return EMULATOR

    def connect_pump(self) -> None:
        key = self.key_file.text().strip()
        address = self.address()
        where = "the built-in emulator" if address == EMULATOR else pump_text(address)
        self.status.setText(f"Connecting to {where}…")
        self.button.setEnabled(False)

        def done(_: object) -> None:
            self.button.setEnabled(True)
            i = self.state.interrogation
            self.status.setText(
                f"Connected to {pump_text(i.model)} {pump_text(i.serial)}." if i else "Connected."
            )

        try:
            self.state.connect_pump(self.address(), Path(key) if key else None, done)
        except Exception as exc:  # a bad key file, say: shown, never a traceback
            self.button.setEnabled(True)
            self.status.setText(error_text(exc))
            return
        self.state.sig_message.connect(self._on_message)

    def _on_message(self, level: str, text: str) -> None:
        if level == "error":
            self.button.setEnabled(True)
            self.status.setText(text)
