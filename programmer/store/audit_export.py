"""Audit exports (CSV and JSON, MACs included) and their verification on another machine.

Both formats carry every field exactly as MACed, so `verify_export` (or any HMAC-SHA256
implementation following docs/store.md) can check them with the installation's key.
In CSV an empty cell is a missing value: the trail never stores empty text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from programmer.files import FileRefused, read_bounded_text
from programmer.store.audit_chain import (
    FIELDS,
    MAC_ENCODING,
    Checkpoint,
    Row,
    VerifyResult,
    verify_rows,
)
from programmer.store.errors import StoreError

# About 450 bytes a record: 2 GiB holds some 4 million records, read whole into memory.
MAX_EXPORT_BYTES = 2 * 1024**3

_INT_FIELDS = {"seq", "ts_s"}


class ExportUnreadable(StoreError):
    """The file is not an itp audit export."""


def export_csv(rows: Iterable[Row], out: TextIO) -> int:
    # RFC 4180 line ends: with "\n" alone, a field holding a bare "\r" would go unquoted.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
        count += 1
    return count


def export_json(rows: Iterable[Row], out: TextIO, key_id: str, exported_at: str) -> int:
    """One record per line inside a single JSON document, so 1,000,000 records stream."""
    header = {
        "format": "itp-audit-export",
        "version": 1,
        "mac_encoding": MAC_ENCODING,
        "key_id": key_id,
        "exported_at": exported_at,
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "records": [')
    count = 0
    for row in rows:
        record = json.dumps(dict(zip(FIELDS, row, strict=True)), ensure_ascii=False)
        out.write(("\n" if count == 0 else ",\n") + record)
        count += 1
    out.write("\n]}\n")
    return count


def read_export(path: Path) -> Iterator[tuple[Any, ...]]:
    """Rows of a CSV or JSON export (told apart by the first character)."""
    try:
        # Bytes, not read_text: newline translation would change "\r" inside fields.
        text = read_bounded_text(path, MAX_EXPORT_BYTES, "the audit export")
    except FileRefused as exc:
        raise ExportUnreadable(str(exc)) from None
    if text.lstrip().startswith("{"):
        return _json_rows(text, path)
    return _csv_rows(text, path)


def _json_rows(text: str, path: Path) -> Iterator[tuple[Any, ...]]:
    try:
        body = json.loads(text)
        if body.get("format") != "itp-audit-export" or body.get("mac_encoding") != MAC_ENCODING:
            raise ValueError("not an itp audit export")
        rows = [tuple(record[name] for name in FIELDS) for record in body["records"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportUnreadable(f"{path} is not an itp audit export: {exc}") from exc
    return iter(rows)


def _csv_rows(text: str, path: Path) -> Iterator[tuple[Any, ...]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    if next(reader, None) != list(FIELDS):
        raise ExportUnreadable(f"{path} is not an itp audit export (unexpected CSV header)")
    for cells in reader:
        if len(cells) != len(FIELDS):
            raise ExportUnreadable(f"{path}: line {reader.line_num} has {len(cells)} cells")
        yield tuple(_cell(name, cell) for name, cell in zip(FIELDS, cells, strict=True))


def _cell(name: str, cell: str) -> Any:
    if cell == "":
        return None
    if name in _INT_FIELDS:
        try:
            return int(cell)
        except ValueError:
            return cell  # verification reports it as malformed
    return cell


def verify_export(path: Path, key: bytes, checkpoint: Checkpoint | None = None) -> VerifyResult:
    """Verify an exported trail the same way as the database (whole chain from record 1)."""
    return verify_rows(read_export(path), key, checkpoint)
