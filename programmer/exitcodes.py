"""Exit codes of the `itp` command (../shared/cli-and-prescription.md)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    USAGE = 2  # usage error or unreadable input
    HARD_FINDING = 3  # refused: a hard finding
    SOFT_FINDING = 4  # refused: a soft finding that was not overridden
    NOT_APPLIED = 5  # not applied, and the pump confirmed it
    UNCERTAIN = 6  # outcome uncertain, must be resolved next session
    NOT_ALLOWED = 7  # not allowed for this user, or authentication failed
