"""The `itp` command: dispatches to each part's own `main(argv) -> int`.

Sub-modules are imported lazily so that `itp plan` does not pay for the link,
the store or Qt. Exit codes follow ../shared/cli-and-prescription.md.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from programmer.exitcodes import ExitCode

# command -> "module:function"; each function takes the remaining argv.
COMMANDS: dict[str, str] = {
    "plan": "programmer.plan_cli:main",
    "emulator": "programmer.emulator.cli:main",
    "audit": "programmer.store.cli:main_audit",
    "users": "programmer.store.cli:main_users",
    "backup": "programmer.store.cli:main_backup",
    # The one place the core names the GUI: by string, imported only when asked for,
    # so `programmer` never loads Qt (import-linter checks the static imports).
    "gui": "ui.launcher:main",
    "interrogate": "programmer.session_cli:main_interrogate",
    "program": "programmer.session_cli:main_program",
    "history": "programmer.session_cli:main_history",
    "--self-test": "ui.selftest:main",
}

USAGE = """usage: itp [COMMAND] [OPTIONS]

With no command, starts the desktop app on the built-in emulator.

commands:
  gui          the desktop app, on another pump (--pump) or database (--db)
  plan         check a prescription and show what it would program (no pump)
  emulator     a pump emulator on TCP
  interrogate  read a pump's status and therapy
  program      check, stage, verify, commit and read back a prescription
  history      read and cache a pump's events and hourly infusion
  audit        verify, export or checkpoint the audit trail
  users        add, list or disable accounts
  backup       a consistent copy of the database, to review elsewhere
  --self-test  prove this installation works (built-in emulator, throwaway data)

Run `itp COMMAND --help` for the options of one command.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["gui"]
    if args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return ExitCode.OK
    command, rest = args[0], args[1:]
    target = COMMANDS.get(command)
    if target is None:
        sys.stderr.write(f"itp: unknown command {command!r}\n\n{USAGE}")
        return ExitCode.USAGE
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith(("programmer", "ui")):
            sys.stderr.write(f"itp: the command {command!r} is not part of this build yet\n")
            return ExitCode.USAGE
        raise
    func = getattr(module, func_name, None)
    if func is None:
        sys.stderr.write(f"itp: the command {command!r} is not part of this build yet\n")
        return ExitCode.USAGE
    result: int = func(rest)
    return result


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
