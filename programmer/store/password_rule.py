"""Which new passwords are refused (NIST SP 800-63B, 5.1.1.2).

Length alone let "password", "12345678" and eight spaces through. Refused besides a
length outside 8 to 1024 characters: a password from the bundled list of the 10,000 most
common (also with digits or symbols added at the end, "Password1!"), whitespace only,
one character repeated, a run along the alphabet, the digits or a keyboard row
("abcdefgh", "87654321", "qwertyui"), and the account name with a few characters added.
No composition rules (a digit, a capital...): NIST advises against them.
"""

from __future__ import annotations

import functools
import itertools
import re

from programmer.resources import resource_path

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" is a denial of service
COMMON_PASSWORDS_FILE = "common_passwords.txt"
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "qwertzuiop", "azertyuiop")
_TRAILING = re.compile(r"[\d\W_]+$")


class WeakPassword(ValueError):
    """The password is refused; the message says why without repeating it."""


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resource_path(COMMON_PASSWORDS_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_new_password(password: str, account: str | None = None) -> None:
    """Raise WeakPassword naming the rule the password breaks."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")
    lowered = password.lower()
    if len(set(lowered)) == 1:
        raise WeakPassword("a password cannot be one character repeated")
    if _is_run(lowered):
        raise WeakPassword("a password cannot be a run of letters, digits or keys (abcd, 1234)")
    stem = _TRAILING.sub("", lowered)
    common = common_passwords()
    if lowered in common or lowered.strip() in common or (len(stem) >= 4 and stem in common):
        raise WeakPassword("this password is one of the most common ones; choose another")
    if account:
        rest = lowered.replace(account.lower(), "")
        if len(rest) < 4 or rest.strip("0123456789!@#$%^&*()-_=+.,;: ") == "":
            raise WeakPassword("a password cannot be the account name with a few characters")


def _is_run(text: str) -> bool:
    """Every character one step on from the one before, along the code points or a keyboard."""
    if all(ord(b) - ord(a) == 1 for a, b in itertools.pairwise(text)):
        return True
    if all(ord(a) - ord(b) == 1 for a, b in itertools.pairwise(text)):
        return True
    return any(text in row or text in row[::-1] for row in _KEYBOARD_ROWS)
