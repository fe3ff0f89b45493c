"""Checks of request fields on the pump side; failures become `bad_request` with problems.

Used by the endpoint for HELLO and AUTH; pump handlers may use it for the other
messages. Booleans are not accepted where an int is expected (in Python, True == 1).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from programmer.link.messages import ErrorCode, ProtocolError, problem

_MISSING = object()  # a field that is absent (a present nil is a wrong type)


class FieldChecker:
    """Collects every problem of one payload, then raises them together in `check()`.

    A getter returns a placeholder when the field is bad; call `check()` before using
    any value.
    """

    def __init__(self, payload: Mapping[Any, Any], allowed: Collection[str]) -> None:
        self._payload = payload
        self.problems: list[dict[str, str]] = []
        for key in payload:
            if not isinstance(key, str) or key not in allowed:
                self.problems.append(
                    problem(str(key), "unknown_field", "not a field of this message")
                )

    def _get(self, name: str) -> Any:
        if name not in self._payload:
            self.problems.append(problem(name, "missing", "required"))
            return _MISSING
        return self._payload[name]

    def integer(self, name: str, lo: int, hi: int) -> int:
        value = self._get(name)
        if value is _MISSING:
            return lo
        if type(value) is not int:
            self.problems.append(problem(name, "wrong_type", "must be an integer"))
            return lo
        if not lo <= value <= hi:
            self.problems.append(problem(name, "out_of_range", f"must be {lo} to {hi}"))
            return lo
        return value

    def text(self, name: str, min_chars: int, max_chars: int) -> str:
        value = self._get(name)
        if value is _MISSING:
            return ""
        if not isinstance(value, str):
            self.problems.append(problem(name, "wrong_type", "must be a string"))
            return ""
        if not min_chars <= len(value) <= max_chars:
            self.problems.append(
                problem(name, "out_of_range", f"must be {min_chars} to {max_chars} characters")
            )
            return ""
        return value

    def binary(self, name: str, size: int) -> bytes:
        value = self._get(name)
        if value is _MISSING:
            return b""
        if not isinstance(value, bytes):
            self.problems.append(problem(name, "wrong_type", "must be binary (bin)"))
            return b""
        if len(value) != size:
            self.problems.append(problem(name, "wrong_length", f"must be {size} bytes"))
            return b""
        return value

    def check(self) -> None:
        if self.problems:
            fields = ", ".join(sorted({p["field"] for p in self.problems}))
            raise ProtocolError(
                ErrorCode.BAD_REQUEST, f"malformed request: {fields}", self.problems
            )
