"""Errors of the clinic link, each with a message a person can act on."""

from __future__ import annotations


class ClinicError(Exception):
    """The clinic database could not be used; nothing local was lost or changed."""


class ClinicUrlError(ClinicError):
    """The --clinic URL cannot be used as given (a usage error: exit 2)."""


class ClinicUnreachable(ClinicError):
    """The server did not answer, refused the login, or the link dropped mid-sync."""


class ClinicDiverged(ClinicError):
    """The clinic holds records from this programmer that this database does not (a
    database restored from an old copy, or another machine using the same identity)."""
