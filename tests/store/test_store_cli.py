"""`itp audit` and `itp users` as a script or a person runs them (exit codes, no tracebacks)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from programmer.cli import main
from programmer.store.cli import VERIFY_FAILED


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ITP_PASSWORD", raising=False)
    monkeypatch.delenv("ITP_NEW_PASSWORD", raising=False)
    return ["--db", str(tmp_path / "itp.sqlite3"), "--audit-key", str(tmp_path / "audit.key")]


def itp(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    password: str | None = None,
    new_password: str | None = None,
) -> tuple[int, str, str]:
    for name, value in (("ITP_PASSWORD", password), ("ITP_NEW_PASSWORD", new_password)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def clinic(
    env: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    assert (
        itp(
            monkeypatch,
            capsys,
            "users",
            "add",
            "root",
            "--role",
            "admin",
            *env,
            new_password="admin-pass",
        )[0]
        == 0
    )
    code, _, _ = itp(
        monkeypatch, capsys, "users", "add", "nina", "--role", "nurse", "--user", "root", *env,
        password="admin-pass", new_password="nurse-pass",
    )  # fmt: skip
    assert code == 0
    return env


def test_first_account_must_be_an_admin(
    env: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = itp(
        monkeypatch,
        capsys,
        "users",
        "add",
        "phil",
        "--role",
        "physician",
        *env,
        new_password="long-pass",
    )
    assert code == 2 and "first account must be an admin" in err


def test_users_list_and_disable(
    clinic: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = itp(
        monkeypatch,
        capsys,
        "users",
        "list",
        "--json",
        "--user",
        "root",
        *clinic,
        password="admin-pass",
    )
    assert code == 0
    assert [(a["name"], a["role"], a["enabled"]) for a in json.loads(out)] == [
        ("nina", "nurse", True),
        ("root", "admin", True),
    ]
    code, out, _ = itp(
        monkeypatch,
        capsys,
        "users",
        "disable",
        "nina",
        "--user",
        "root",
        *clinic,
        password="admin-pass",
    )
    assert code == 0
    code, _, err = itp(
        monkeypatch, capsys, "audit", "verify", "--user", "nina", *clinic, password="nurse-pass"
    )
    assert code == 7 and "disabled" in err


def test_not_allowed_and_bad_password_exit_7(
    clinic: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = itp(
        monkeypatch, capsys, "users", "list", "--user", "nina", *clinic, password="nurse-pass"
    )
    assert code == 7 and "may not manage accounts" in err
    code, _, err = itp(
        monkeypatch, capsys, "audit", "verify", "--user", "nina", *clinic, password="wrong-pass"
    )
    assert code == 7 and "authentication failed" in err


def test_usage_errors_exit_2(
    env: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert itp(monkeypatch, capsys, "audit", "frobnicate")[0] == 2
    assert itp(monkeypatch, capsys, "users", "add", "x", "--role", "king", *env)[0] == 2
    code, _, err = itp(monkeypatch, capsys, "audit", "verify", "--user", "root", *env, password="p")
    assert code == 2 and "no database" in err
    assert not (tmp_path / "itp.sqlite3").exists()
    assert itp(monkeypatch, capsys, "audit", "--help")[0] == 0


def test_verify_export_checkpoint_and_tamper(
    clinic: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    nina = ("--user", "nina", *clinic)
    code, out, _ = itp(monkeypatch, capsys, "audit", "verify", *nina, password="nurse-pass")
    assert code == 0 and out.startswith("ok:")
    cp = tmp_path / "head.json"
    assert (
        itp(
            monkeypatch,
            capsys,
            "audit",
            "checkpoint",
            "--out",
            str(cp),
            *nina,
            password="nurse-pass",
        )[0]
        == 0
    )
    export = tmp_path / "trail.csv"
    code, _, err = itp(
        monkeypatch,
        capsys,
        "audit",
        "export",
        "--format",
        "csv",
        "--out",
        str(export),
        *nina,
        password="nurse-pass",
    )
    assert code == 0 and "exported" in err
    key = clinic[clinic.index("--audit-key") + 1]
    code, out, _ = itp(
        monkeypatch,
        capsys,
        "audit",
        "verify",
        "--export",
        str(export),
        "--audit-key",
        key,
        "--checkpoint",
        str(cp),
        "--json",
    )
    assert code == 0 and json.loads(out)["ok"] is True
    assert export.read_bytes().count(b"\r\n") == int(json.loads(out)["records"]) + 1
    # Someone edits the database behind the app's back.
    conn = sqlite3.connect(clinic[1])
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET account = 'someone' WHERE seq = 3")
    conn.commit()
    conn.close()
    code, out, _ = itp(
        monkeypatch, capsys, "audit", "verify", "--json", *nina, password="nurse-pass"
    )
    assert code == VERIFY_FAILED
    assert (json.loads(out)["first_bad_seq"], json.loads(out)["problem"]) == (3, "bad_mac")


def test_unreadable_checkpoint_exits_2(
    clinic: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bad = tmp_path / "cp.json"
    bad.write_text("{not json", encoding="utf-8")
    code, _, err = itp(
        monkeypatch,
        capsys,
        "audit",
        "verify",
        "--checkpoint",
        str(bad),
        "--user",
        "nina",
        *clinic,
        password="nurse-pass",
    )
    assert code == 2 and "checkpoint" in err
