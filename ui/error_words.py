"""An exception as a person reads it: what happened and what to do, never a class name.

Kept as data (kind -> what happened, what to do), most specific kind first; the first
kind the exception is an instance of gives the words. Imports are lazy so that the
first window does not load the pump session layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from ui.timefmt import local_stamps


@dataclass(frozen=True)
class ErrorWords:
    kind: type[BaseException]
    happened: str
    remedy: str


# A pump's error codes (the protocol's `error` field) in words, with their remedy.
PUMP_CODES: dict[str, tuple[str, str]] = {
    "busy": ("The pump is busy with another session",
             "Wait a minute, keep other programmers away from the pump, then connect again."),
    "unauthorized": ("The pump did not accept this programmer's key",
                     "Check the key file on the Connect screen, then connect again."),
    "invalid": ("The pump refused values it cannot take",
                "Correct the values it names and plan again."),
    "no_staged": ("The pump had nothing waiting to be committed",
                  "Read the pump again and send the change again."),
    "crc_mismatch": ("The pump received something other than what was sent; nothing was committed",
                     "Read the pump again and plan again."),
    "unsupported": ("The pump does not support this request",
                    "Check the pump's model and firmware on the overview."),
    "pump_fault": ("The pump reports a fault",
                   "Read the pump's alarms on the overview, follow their advice, and call service."),
    "bad_request": ("The pump could not understand the request",
                    "Connect again; if it repeats, note the pump's serial and call service."),
}  # fmt: skip


@cache
def table() -> tuple[ErrorWords, ...]:
    """What each kind of failure means, most specific first."""
    from programmer.clinic.errors import ClinicError
    from programmer.link.errors import AddressError, BadResponse, LinkClosed, LinkError, LinkTimeout
    from programmer.quantities import QuantityError
    from programmer.session.pump_session import (
        ImpossibleReading,
        NotConnected,
        SessionError,
        UncertainOutstanding,
    )
    from programmer.session.worker import DeadlineExceeded
    from programmer.store import NotAllowed, StoreError
    from programmer.store.accounts import AuthError
    from programmer.store.audit_key import AuditKeyError
    from programmer.store.errors import (
        StoreCorrupt,
        StoreFull,
        StoreIOError,
        StoreLocked,
        StoreNewerSchema,
        StoreReadOnly,
        StoreUnavailable,
    )

    again = (
        "connect again (Connect); if something was being sent, read the pump before sending again."
    )
    return (
        ErrorWords(LinkTimeout, "The pump did not answer", "Hold the telemetry head over the pump and " + again),
        ErrorWords(LinkClosed, "The link to the pump closed", "Check the telemetry head's cable, then " + again),
        ErrorWords(BadResponse, "The pump's answer could not be understood",
                   "Connect again; if it repeats, note the pump's serial and call service."),
        ErrorWords(LinkError, "The pump could not be reached",
                   "Check the telemetry head (or the address) and connect again."),
        ErrorWords(AddressError, "The pump address is not valid", "Type it as the example shows."),
        ErrorWords(UncertainOutstanding, "An earlier send to this pump is unresolved",
                   "Connect to the pump again before anything else."),
        ErrorWords(ImpossibleReading, "The pump reported values that cannot be right",
                   "Read the pump again; if it repeats, do not program it and call service."),
        ErrorWords(NotConnected, "No pump is connected", "Connect to the pump first (Connect)."),
        ErrorWords(SessionError, "The pump session stopped", "Read the pump again (Connect)."),
        ErrorWords(DeadlineExceeded, "The pump took too long to answer", "Read the pump again (Connect)."),
        ErrorWords(NotAllowed, "Your role does not allow this",
                   "Ask a colleague whose role allows it, or your administrator."),
        ErrorWords(AuthError, "Not signed in", "Check the name and password, or ask your administrator."),
        ErrorWords(StoreFull, "This computer's disk is full",
                   "Free some space, then do it again; what was saved before is intact."),
        ErrorWords(StoreReadOnly, "The database cannot be written",
                   "Check that the disk is not write-protected or full; call your administrator."),
        ErrorWords(StoreLocked, "The database is in use by another program",
                   "Close the other itp window, then try again."),
        ErrorWords(StoreCorrupt, "The database is damaged",
                   "Do not delete it: keep a copy and call your administrator to restore the backup."),
        ErrorWords(StoreIOError, "The disk reported an error", "Try again; if it repeats, call your administrator."),
        ErrorWords(StoreUnavailable, "The database cannot be opened", "Call your administrator."),
        ErrorWords(StoreNewerSchema, "The database is from a newer version of itp", "Use that version."),
        ErrorWords(AuditKeyError, "The audit key is missing or wrong",
                   "Open the database on the computer that holds its key, or call your administrator."),
        ErrorWords(StoreError, "The database could not do this", "Try again; if it repeats, call your administrator."),
        ErrorWords(ClinicError, "The clinic server could not be used", "Check the network, then try again."),
        ErrorWords(QuantityError, "A value is not valid", "Correct it and try again."),
        ErrorWords(PermissionError, "A file or folder cannot be written or read",
                   "Choose a folder you may write to, or call your administrator."),
        ErrorWords(FileNotFoundError, "A file was not found", "Check the name and folder, then try again."),
        ErrorWords(TimeoutError, "Nothing answered in time", "Try again."),
        ErrorWords(OSError, "A file or connection failed", "Check the file, folder or cable, then try again."),
        ErrorWords(ValueError, "A value is not valid", "Correct it and try again."),
    )  # fmt: skip


def _detail(error: BaseException) -> str:
    """The exception's own words, without the codes and errno numbers of its str()."""
    from programmer.link.messages import ProtocolError

    if isinstance(error, ProtocolError):
        return error.message
    if isinstance(error, OSError) and error.strerror:
        name = error.filename
        return f"{error.strerror}{f' ({name})' if name else ''}"
    return str(error)


def error_parts(error: BaseException) -> tuple[str, str, str]:
    """(what happened, the failure's own words, what to do)."""
    from programmer.link.messages import ProtocolError

    detail = local_stamps(_detail(error).strip())
    if isinstance(error, ProtocolError):
        happened, remedy = PUMP_CODES.get(
            str(error.code), ("The pump refused the request", "Read the pump again and plan again.")
        )
        return happened, detail, remedy
    for words in table():
        if isinstance(error, words.kind):
            return words.happened, detail, words.remedy
    return ("Something went wrong", detail,
            "Try again; if it repeats, note what you did and call your administrator.")  # fmt: skip


def error_text(error: BaseException) -> str:
    """One paragraph: "What happened: its words. What to do." """
    happened, detail, remedy = error_parts(error)
    if detail and detail.lower() != happened.lower():
        happened = f"{happened}: {detail.rstrip('.')}"
    return f"{happened}. {remedy}"
