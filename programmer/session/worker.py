"""One device worker: every pump operation runs on this thread, one at a time.

A GUI submits operations and gets a `Job` back at once; the job's result (or
error) arrives through its callback or `wait()`. Each job has a deadline: when
it passes, the caller is told the operation timed out, while the operation
itself finishes on the worker (a half-done exchange is never abandoned
mid-frame; the session's own uncertainty handling decides what it meant).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The operation did not finish before its deadline."""


class WorkerStopped(Exception):
    """The worker was stopped before the operation ran."""


@dataclass
class Job(Generic[T]):
    name: str
    func: Callable[[], T]
    deadline_s: float
    on_done: Callable[[Job[T]], None] | None = None
    result: T | None = None
    error: BaseException | None = None
    started_at: float | None = None
    finished_at: float | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> T:
        """The result, or the operation's own exception, or DeadlineExceeded."""
        limit = self.deadline_s if timeout is None else timeout
        if not self._done.wait(limit):
            raise DeadlineExceeded(f"{self.name} did not finish within {limit:.1f} s")
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class DeviceWorker:
    def __init__(self, name: str = "itp-device") -> None:
        self._queue: queue.Queue[Job[Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = threading.Event()
        self._thread.start()

    def submit(self, name: str, func: Callable[[], T], deadline_s: float = 10.0,
               on_done: Callable[[Job[T]], None] | None = None) -> Job[T]:  # fmt: skip
        if self._stopped.is_set():
            raise WorkerStopped("the device worker has stopped")
        job: Job[T] = Job(name, func, deadline_s, on_done)
        self._queue.put(job)
        return job

    def run(self, name: str, func: Callable[[], T], deadline_s: float = 10.0) -> T:
        """Submit and wait: for command-line use, where blocking is what we want."""
        return self.submit(name, func, deadline_s).wait()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job.started_at = time.monotonic()
            try:
                job.result = job.func()
            except BaseException as exc:  # the caller gets it; the worker lives on
                job.error = exc
            job.finished_at = time.monotonic()
            job._done.set()
            if job.on_done is not None:
                # a faulty callback must not kill the device thread
                with contextlib.suppress(Exception):
                    job.on_done(job)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued, then stop."""
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout)

    @property
    def thread(self) -> threading.Thread:
        return self._thread
