"""The command-line form of overrides, reasons and retyped values (`itp plan`, `itp program`).

The contract's `--override CODE --reason TEXT` keeps working for one code. For several
codes each needs its own reason: `--reason CODE=TEXT`, once per code. A retype-to-confirm
finding is cleared only by `--confirm-value FIELD=VALUE`, repeating the prescription's
value (never by a reason).
"""

from __future__ import annotations

import argparse

from programmer.findings import KINDS


class FindingArgsError(ValueError):
    """The options cannot be read as overrides and confirmations (a usage error, exit 2)."""


def add_finding_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--override",
        action="extend",
        nargs="+",
        default=[],
        metavar="CODE",
        help="accept soft findings, each with its own --reason; repeat or list several codes",
    )
    parser.add_argument(
        "--reason",
        action="append",
        default=[],
        metavar="[CODE=]TEXT",
        help="why a finding is accepted (audited, at least 3 words): TEXT for a single "
        "--override, CODE=TEXT once per code for several",
    )
    parser.add_argument(
        "--confirm-value",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="type again a value that a retype-to-confirm finding names, e.g. "
        "'drugs[0].concentration=10 mcg/mL'",
    )


def _split(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise FindingArgsError(f"{what} {text!r}: write it as FIELD=VALUE, e.g. 'dose=1 mg/day'")
    return key.strip(), value.strip()


def overrides_from(args: argparse.Namespace) -> dict[str, str]:
    codes: list[str] = list(dict.fromkeys(args.override))
    for code in codes:
        if code not in KINDS:
            raise FindingArgsError(f"--override {code!r}: no finding has this code")
    per_code: dict[str, str] = {}
    plain: list[str] = []
    for reason in args.reason:
        head, sep, text = reason.partition("=")
        if sep and head.strip() in KINDS:
            code = head.strip()
            if code not in codes:
                raise FindingArgsError(f"--reason {code}=...: add --override {code} as well")
            if code in per_code:
                raise FindingArgsError(f"--reason {code}=... is given twice")
            per_code[code] = text.strip()
        else:
            plain.append(reason.strip())
    if plain:
        if len(plain) > 1 or len(codes) != 1 or per_code:
            raise FindingArgsError(
                "give each overridden finding its own reason: --reason CODE=TEXT for each of "
                + ", ".join(codes or ["the codes"])
            )
        per_code[codes[0]] = plain[0]
    missing = [c for c in codes if not per_code.get(c)]
    if missing:
        raise FindingArgsError(
            f"--override {' '.join(missing)} needs a reason: --reason CODE=TEXT for each, "
            "saying why the finding is accepted"
        )
    return per_code


def confirmations_from(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in args.confirm_value:
        field, value = _split(item, "--confirm-value")
        if field in out:
            raise FindingArgsError(f"--confirm-value {field}=... is given twice")
        out[field] = value
    return out
