import threading
import time

import pytest

from programmer.session.worker import DeadlineExceeded, DeviceWorker, WorkerStopped


def test_jobs_run_one_at_a_time_on_one_thread_in_order() -> None:
    w = DeviceWorker()
    seen: list[tuple[int, str]] = []
    running = 0
    overlap = False

    def op(i: int) -> int:
        nonlocal running, overlap
        running += 1
        overlap |= running > 1
        seen.append((i, threading.current_thread().name))
        time.sleep(0.005)
        running -= 1
        return i * 2

    jobs = [w.submit(f"op{i}", lambda i=i: op(i)) for i in range(10)]
    assert [j.wait() for j in jobs] == [i * 2 for i in range(10)]
    assert [i for i, _ in seen] == list(range(10))
    assert {name for _, name in seen} == {"itp-device"} and not overlap
    w.stop()


def test_submit_returns_at_once_and_the_callback_gets_the_result() -> None:
    w = DeviceWorker()
    gate = threading.Event()
    done = threading.Event()
    got: list[object] = []
    t = time.perf_counter()
    job = w.submit(
        "slow",
        lambda: gate.wait(5) and "finished",
        on_done=lambda j: (got.append(j.result), done.set()),
    )
    assert time.perf_counter() - t < 0.05 and not job.done
    gate.set()
    assert done.wait(5) and got == ["finished"]
    w.stop()


def test_errors_reach_the_caller_and_the_worker_lives_on() -> None:
    w = DeviceWorker()

    def boom() -> None:
        raise ValueError("pump said no")

    with pytest.raises(ValueError, match="pump said no"):
        w.run("boom", boom)
    assert w.run("after", lambda: 42) == 42
    w.stop()


def test_a_deadline_is_reported_without_abandoning_the_operation() -> None:
    w = DeviceWorker()
    finished = threading.Event()

    def slow() -> str:
        time.sleep(0.3)
        finished.set()
        return "done"

    job = w.submit("slow", slow, deadline_s=0.05)
    with pytest.raises(DeadlineExceeded):
        job.wait()
    assert finished.wait(2) and job.wait(1) == "done"
    w.stop()


def test_a_faulty_callback_does_not_kill_the_worker() -> None:
    w = DeviceWorker()

    def bad(_: object) -> None:
        raise RuntimeError("ui bug")

    w.submit("x", lambda: 1, on_done=bad).wait()
    assert w.run("y", lambda: 2) == 2
    w.stop()
    with pytest.raises(WorkerStopped):
        w.submit("z", lambda: 3)
