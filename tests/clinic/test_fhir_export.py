"""`itp export fhir --visit ID`: a FHIR R4 Bundle that validates against HL7's R4 JSON
schema, with exact quantities in UCUM, and the export audited."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from programmer.cli import main
from programmer.fhir.bundle import build_bundle, bundle_json, exact
from programmer.fhir.visit_data import load_visit
from programmer.store import open_store
from tests.clinic.visitdb import make_visit_db

SCHEMA = Path(__file__).parent / "data" / "fhir.r4.schema.json.gz"


@cache
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(gzip.decompress(SCHEMA.read_bytes()))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    return jsonschema.Draft6Validator(schema)


def _errors(doc: Any) -> list[str]:
    return [f"{list(e.path)}: {e.message[:200]}" for e in validator().iter_errors(doc)]


@pytest.fixture
def bundle_text(tmp_path: Path) -> str:
    db, _, visit = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        return bundle_json(load_visit(store, visit))


def _resources(text: str) -> dict[str, list[dict[str, Any]]]:
    doc = json.loads(text, parse_float=Decimal)
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in doc["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


def test_bundle_validates_against_the_r4_schema(bundle_text: str) -> None:
    doc = json.loads(bundle_text, parse_float=Decimal)
    assert _errors(doc) == []
    kinds = set(_resources(bundle_text))
    assert kinds == {"Patient", "Device", "MedicationRequest", "MedicationAdministration",
                     "Observation", "AuditEvent"}  # fmt: skip


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r.__setitem__("status", 7),  # not a code
        lambda r: r["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"].__setitem__(
            "value", "0.96"
        ),
        lambda r: r.__setitem__("dosage", {}),  # no such element in R4
        lambda r: r.pop("subject"),  # required
    ],
)
def test_the_schema_check_can_fail(bundle_text: str, spoil: Any) -> None:
    doc = json.loads(bundle_text, parse_float=Decimal)
    request = next(
        e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "MedicationRequest"
    )
    spoil(request)
    assert _errors(doc)


def test_quantities_are_exact_and_in_ucum(bundle_text: str) -> None:
    res = _resources(bundle_text)
    (request,) = res["MedicationRequest"]
    rates = [d["doseAndRate"][0]["rateQuantity"] for d in request["dosageInstruction"]]
    # 0.01 mg/h from 00:00 and 0.02 mg/h from 08:00 of 2 mg/mL: 120,000 and 240,000 nL/day,
    # 0.24 and 0.48 mg/d; the heaviest day 8 h x 0.01 + 16 h x 0.02 = 0.4 mg/d
    assert [(r["value"], r["code"], r["system"]) for r in rates] == [
        (Decimal("0.24"), "mg/d", "http://unitsofmeasure.org"),
        (Decimal("0.48"), "mg/d", "http://unitsofmeasure.org"),
        (Decimal("0.4"), "mg/d", "http://unitsofmeasure.org"),
    ]
    doses = {a["dosage"]["text"]: a["dosage"]["dose"] for a in res["MedicationAdministration"]}
    assert doses["reservoir refill"]["value"] == Decimal("40")  # 20 mL x 2 mg/mL
    assert doses["reservoir refill"]["code"] == "mg"
    assert doses["priming bolus"]["value"] == Decimal("0.58")  # 0.29 mL x 2 mg/mL
    volumes = sorted(
        o["valueQuantity"]["value"] for o in res["Observation"] if "valueQuantity" in o
    )
    assert volumes == [Decimal("20"), Decimal("40")]  # reservoir after and at the start
    # the intent, "uncertain" recorded before COMMIT left, then the read-back's "applied"
    events = [(a["type"]["code"], a["outcome"], a["outcomeDesc"]) for a in res["AuditEvent"]]
    assert events == [
        ("program_intent", "0", "intent"),
        ("program_outcome", "8", "uncertain"),
        ("program_outcome", "0", "applied"),
    ]


def test_exact_never_rounds() -> None:
    assert exact(96_000 * 10_000_000, 10**12) == Decimal("0.96")
    assert exact(1, 10**12) == Decimal("1E-12")
    with pytest.raises(ValueError):
        exact(1, 3)


def test_same_visit_exported_twice_has_the_same_ids(tmp_path: Path) -> None:
    db, _, visit = make_visit_db(tmp_path)
    with open_store(db, create=False) as store:
        first, second = (build_bundle(load_visit(store, visit)) for _ in range(2))
    assert first.model_dump_json() == second.model_dump_json()


def test_cli_writes_the_file_and_audits_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, key, visit = make_visit_db(tmp_path)
    out = tmp_path / "visit.json"
    monkeypatch.setenv("ITP_PASSWORD", "doctor-password")
    base = ["export", "fhir", "--db", str(db), "--audit-key", str(key), "--user", "dr.lee"]
    assert main([*base, "--visit", str(visit), "--out", str(out)]) == 0
    assert _errors(json.loads(out.read_text(), parse_float=Decimal)) == []
    with open_store(db, create=False) as store:
        (after,) = store.query("SELECT after FROM audit WHERE action = 'export'")[0]
    assert '"format":"fhir-r4-bundle"' in after and f'"visit":{visit}' in after
    assert main([*base, "--visit", "999"]) == 2
    assert main([*base, "--visit", "-1"]) == 2
    assert main([*base, "--visit", "1x"]) == 2
