"""The bridge from the GUI to the core's device worker: results come back as Qt signals.

Widgets never touch the link: they ask the bridge to run a core operation on the
worker thread, and get `sig_finished`/`sig_failed` on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from programmer.session.worker import DeviceWorker, Job

OnOk = Callable[[Any], None]
OnError = Callable[[BaseException], None]


class DeviceBridge(QObject):
    sig_busy = Signal(str)  # an operation started: its name, for a progress line
    sig_idle = Signal()
    sig_finished = Signal(object, object)  # (callback, result)
    sig_failed = Signal(object, object)  # (callback, exception)
    sig_progress = Signal(str)  # a step of a long operation, e.g. "stage", "commit"

    def __init__(self, worker: DeviceWorker | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker or DeviceWorker()
        self._pending = 0
        # Emitted from the worker thread, delivered on the GUI thread.
        self.sig_finished.connect(self._deliver_ok, Qt.ConnectionType.QueuedConnection)
        self.sig_failed.connect(self._deliver_error, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def run(
        self,
        name: str,
        func: Callable[[], Any],
        on_ok: OnOk,
        on_error: OnError,
        deadline_s: float = 30.0,
    ) -> Job[Any]:
        self._pending += 1
        self.sig_busy.emit(name)

        def done(job: Job[Any]) -> None:
            if job.error is not None:
                self.sig_failed.emit(on_error, job.error)
            else:
                self.sig_finished.emit(on_ok, job.result)

        return self.worker.submit(name, func, deadline_s, on_done=done)

    def progress(self) -> Callable[[str], None]:
        """A callback for core operations' `progress=`: safe to call from the worker thread."""
        return self.sig_progress.emit

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.sig_idle.emit()

    def _deliver_ok(self, callback: OnOk, result: Any) -> None:
        self._settle()
        callback(result)

    def _deliver_error(self, callback: OnError, error: BaseException) -> None:
        self._settle()
        callback(error)

    def shutdown(self) -> None:
        self.worker.stop()
