"""The pump link (protocol versions 1 and 2): framing, transports, the programmer's client and
the pump's endpoint. See docs/protocol.md for the choices made where the contract is silent.
"""

from programmer.link.addresses import open_transport, register_scheme
from programmer.link.client import PumpClient
from programmer.link.endpoint import PumpEndpoint, PumpHandler, fits_in_frame
from programmer.link.errors import AddressError, BadResponse, LinkClosed, LinkError, LinkTimeout
from programmer.link.messages import DEMO_KEY, ErrorCode, MsgType, ProtocolError
from programmer.link.transport import Transport

__all__ = [
    "DEMO_KEY",
    "AddressError",
    "BadResponse",
    "ErrorCode",
    "LinkClosed",
    "LinkError",
    "LinkTimeout",
    "MsgType",
    "ProtocolError",
    "PumpClient",
    "PumpEndpoint",
    "PumpHandler",
    "Transport",
    "fits_in_frame",
    "open_transport",
    "register_scheme",
]
