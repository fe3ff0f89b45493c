"""`itp emulator`: a pump emulator on TCP (pump-link-protocol.md, section 5b).

Runs until interrupted (Ctrl-C or SIGTERM). Each request is logged on one line to stderr.
Usage errors exit 2 with a message, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import Any

from programmer.emulator import limits as L
from programmer.emulator import state
from programmer.emulator.handler import EmulatorHandler
from programmer.emulator.model import PumpModel
from programmer.exitcodes import ExitCode
from programmer.link.endpoint import PumpEndpoint
from programmer.link.errors import LinkError
from programmer.link.frames import Frame
from programmer.link.messages import (
    DEMO_KEY,
    KEY_SIZE,
    PROTOCOL_LATEST,
    PROTOCOL_VERSIONS,
    MsgType,
)
from programmer.link.server import DEFAULT_PORT, TcpPumpServer

DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would sys.exit; we return 2 instead
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="itp emulator",
        description="A pump emulator (ITP-20 or ITP-40) answering the pump link protocol on TCP.",
    )
    parser.add_argument(
        "--listen",
        default=f"127.0.0.1:{DEFAULT_PORT}",
        metavar="HOST:PORT",
        help=f"where to listen (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks a free one)",
    )
    parser.add_argument("--model", choices=sorted(L.MODELS), help="pump model (default ITP-40)")
    parser.add_argument("--state", metavar="FILE", help="the pump's memory; survives restarts")
    parser.add_argument(
        "--key-file", metavar="FILE", help="the 32-byte clinic key, raw (default: the demo key)"
    )
    parser.add_argument(
        "--clock", metavar="T", help="starting clock of a new pump: UTC seconds or ISO 8601"
    )
    parser.add_argument(
        "--speed",
        default="1",
        metavar="X",
        help="simulated seconds per real second, a decimal (default 1; 0: the clock moves "
        "only on SIM_ADVANCE)",
    )
    parser.add_argument("--serial", help="serial number of a new pump")
    parser.add_argument("--implanted", metavar="T", help="implant time of a new pump")
    parser.add_argument("--eri", metavar="T", help="ERI date of a new pump (default implant+6.5 y)")
    parser.add_argument(
        "--port-file", metavar="FILE", help="write the bound port here once listening"
    )
    parser.add_argument(
        "--protocol",
        type=int,
        choices=PROTOCOL_VERSIONS,
        default=PROTOCOL_LATEST,
        help=f"the highest link protocol version the pump speaks (default {PROTOCOL_LATEST}; "
        "1 emulates a pump made before version 2)",
    )
    return parser


def parse_time(text: str, option: str) -> int:
    """UTC seconds, or an ISO 8601 instant with its offset (Z or +hh:mm)."""
    if re.fullmatch(r"-?[0-9]+", text):
        value = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"{option} {text!r}: give UTC seconds (1735689600) or ISO 8601 with an "
                "offset (2025-01-01T00:00:00Z)"
            ) from None
        if moment.tzinfo is None:
            raise UsageError(f"{option} {text!r}: an ISO time needs its offset, e.g. Z or +01:00")
        value = int(moment.timestamp())
    if not L.CLOCK_MIN_T <= value < L.CLOCK_MAX_T:
        raise UsageError(f"{option} {text!r}: must be between 2000-01-01 and 2099-12-31 UTC")
    return value


def parse_listen(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:([0-9]{1,5})|([^:\[\]]+):([0-9]{1,5})", text)
    if match is None:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:{DEFAULT_PORT}")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if port > 65535:
        raise UsageError(f"--listen {text!r}: the port must be 0 to 65535")
    return host, port


def parse_speed(text: str) -> Fraction:
    if not DECIMAL.fullmatch(text):
        raise UsageError(f"--speed {text!r}: a plain decimal is needed, e.g. 0, 1, 60 or 0.5")
    return Fraction(text)


def read_key(path: str | None) -> bytes:
    if path is None:
        return DEMO_KEY
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"--key-file {path}: cannot read it ({exc.strerror})") from None
    if len(key) != KEY_SIZE:
        raise UsageError(
            f"--key-file {path}: has {len(key)} bytes; a clinic key is exactly {KEY_SIZE} raw "
            "bytes (no newline, no hex)"
        )
    return key


def load_or_create(args: argparse.Namespace) -> tuple[PumpModel, Path | None]:
    path = Path(args.state) if args.state else None
    existing = None
    if path is not None:
        try:
            existing = state.load(path)
        except state.StateFileError as exc:
            raise UsageError(str(exc)) from None
        state.remove_stale_temporaries(path)
    if existing is not None:
        if args.model is not None and args.model != existing.spec.name:
            raise UsageError(
                f"--state {path} holds an {existing.spec.name} pump, not --model {args.model}"
            )
        for option in ("clock", "serial", "implanted", "eri"):
            if getattr(args, option) is not None:
                _say(f"note: --{option} applies to a new pump only; {path} keeps its own")
        return existing, path
    clock_t = (
        parse_time(args.clock, "--clock") if args.clock else int(datetime.now(UTC).timestamp())
    )
    implanted = parse_time(args.implanted, "--implanted") if args.implanted else None
    eri = parse_time(args.eri, "--eri") if args.eri else None
    model = PumpModel(
        args.model or "ITP-40", clock_t, serial=args.serial, implanted_t=implanted, eri_t=eri
    )
    return model, path


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class LoggedEndpoint(PumpEndpoint):
    """Writes one line per answered request to stderr: time, type, seq, ok or error.

    Hooks the endpoint's per-frame steps rather than decoding every response again: a
    history page would otherwise be COBS-decoded twice.
    """

    def _answer(self, frame: Frame) -> bytes:
        hits = self.cache_hits
        reply = super()._answer(frame)
        if self.cache_hits != hits:
            _log_line(frame.msg_type, frame.seq, "resent: answered from memory")
        return reply

    def _execute(self, frame: Frame) -> dict[str, Any]:
        payload = super()._execute(frame)
        outcome = "ok" if payload.get("ok") is True else f"error={payload.get('error')}"
        _log_line(frame.msg_type, frame.seq, outcome)
        return payload


def _log_line(msg_type: int, seq: int, outcome: str) -> None:
    try:
        name = MsgType(msg_type).name
    except ValueError:
        name = f"0x{msg_type:04x}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _say(f"{stamp} {name} seq={seq} {outcome}")


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
        host, port = parse_listen(args.listen)
        speed = parse_speed(args.speed)
        key = read_key(args.key_file)
        model, path = load_or_create(args)
    except UsageError as exc:
        _say(f"itp emulator: {exc}")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        handler = EmulatorHandler(model, path, speed=speed)  # saves a new pump at once
    except OSError as exc:
        _say(f"itp emulator: --state {path}: cannot write it ({exc.strerror})")
        return ExitCode.USAGE
    protocols = tuple(range(1, args.protocol + 1))
    server = TcpPumpServer(lambda: LoggedEndpoint(handler, key, protocols=protocols), host, port)
    try:
        server.start()
    except LinkError as exc:
        _say(f"itp emulator: {exc}")
        return ExitCode.USAGE
    if args.port_file:  # written whole, then renamed: a reader never sees half of it
        temporary = Path(args.port_file + ".tmp")
        temporary.write_text(f"{server.port}\n")
        temporary.replace(args.port_file)
    spec = model.spec.name
    demo = " with the DEMO key" if args.key_file is None else ""
    _say(
        f"itp emulator: {spec} {model.serial} listening on {server.address}{demo}, "
        f"speed {speed}, protocol 1 to {args.protocol}"
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return ExitCode.OK
