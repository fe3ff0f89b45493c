"""Refusals raised by the model; the handler turns them into link `ProtocolError`s.

The model does not import the link so that it can be tested (and reasoned about) alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str

    def to_wire(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class PumpRefusal(Exception):
    """`code` is an error code of section 6 (`invalid`, `no_staged`, `pump_fault`, ...)."""

    code: str
    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
