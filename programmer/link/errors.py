"""Errors of the link layer, as the programmer side sees them.

`ProtocolError` (the pump answered with `ok: false`) lives in messages.py: it is
part of the wire contract. The errors here say the exchange itself failed.
"""

from __future__ import annotations


class LinkError(Exception):
    """The link to the pump failed; what the pump did is not known from this."""


class LinkClosed(LinkError):
    """The peer is gone (connection closed, device unplugged)."""


class LinkTimeout(LinkError):
    """No matching response after every retry.

    The request may or may not have been executed by the pump: a caller that sent
    a state-changing request must treat the outcome as uncertain.
    """

    def __init__(self, msg_type: int, seq: int, attempts: int) -> None:
        super().__init__(
            f"no response from the pump to message 0x{msg_type:04x} (seq {seq}) "
            f"after {attempts} attempts"
        )
        self.msg_type = msg_type
        self.seq = seq
        self.attempts = attempts


class BadResponse(LinkError):
    """The pump answered, but not as the protocol says (a defect on the pump side)."""


class AddressError(ValueError):
    """A pump address string is malformed; the message names the fault and a good example."""
