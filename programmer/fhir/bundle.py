"""A visit as a FHIR R4 Bundle (type `collection`) for the clinic's EHR.

Built as plain JSON from the store's integers and checked by fhir.resources' models
(the R4B models, which for these six resources have the R4 shape; the tests check the
result against the FHIR R4 JSON schema as well). Every quantity is exact: wire integers
(ng, nL, ng/mL, nL/day) divided by powers of ten into Decimals, never floats, with UCUM
units (mg, mL, mg/d, %) and the UCUM system. Resource ids are UUIDs derived from the
programmer, the visit and the resource, so exporting the same visit twice gives the
same ids (an EHR can recognise a re-send).

Resources: Patient (the store holds no patient details yet: an identifier only),
Device (the pump), MedicationRequest (each drug of each prescription sent, with its
steps and daily dose), MedicationAdministration (each drug of each refill; each bolus
sent), Observation (reservoir at the start and after the refill; the refill's
discrepancy), AuditEvent (each program sent: intent and outcome, with the MACs).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

# The six resource models are looked up by name while a Bundle validates; imported here
# by name too, so a frozen (PyInstaller) build carries them.
from fhir.resources.R4B.auditevent import AuditEvent  # noqa: F401
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device  # noqa: F401
from fhir.resources.R4B.medicationadministration import MedicationAdministration  # noqa: F401
from fhir.resources.R4B.medicationrequest import MedicationRequest  # noqa: F401
from fhir.resources.R4B.observation import Observation  # noqa: F401
from fhir.resources.R4B.patient import Patient  # noqa: F401

from programmer.fhir.visit_data import VisitData
from programmer.store import AuditRecord

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
INTRATHECAL = {"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}
SERIAL_SYSTEM = "urn:itp:pump-serial"
AUDIT_SYSTEM = "urn:itp:audit-action"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
NS = uuid.UUID("6f1d3c2e-9a57-4c1b-8f0e-7d2b1a4c5e60")


def exact(numerator: int, denominator: int) -> Decimal:
    """numerator/denominator as an exact Decimal (denominators here are powers of ten)."""
    value = Fraction(numerator, denominator)
    with localcontext() as ctx:
        ctx.prec = 60
        result = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(result) != value:
        raise ValueError(f"{numerator}/{denominator} has no exact decimal")
    return result.normalize() if result != 0 else Decimal(0)


def _qty(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _ml(nl: int) -> dict[str, Any]:
    return _qty(exact(nl, 1_000_000), "mL")


def _mg(ng: int | Fraction) -> dict[str, Any]:
    f = Fraction(ng)
    return _qty(exact(f.numerator, f.denominator * 1_000_000), "mg")


def _mg_per_day(ng_per_day: Fraction) -> dict[str, Any]:
    return _qty(exact(ng_per_day.numerator, ng_per_day.denominator * 1_000_000), "mg/d")


def _mg_per_ml(ng_per_ml: int) -> dict[str, Any]:
    return _qty(exact(ng_per_ml, 1_000_000), "mg/mL")


def _fhir_time(text: str) -> str:
    """Store times are ISO-8601 with Z or an offset: FHIR dateTime wants seconds and a zone."""
    return text.replace("Z", "+00:00") if text.endswith("Z") else text


class _Ids:
    def __init__(self, data: VisitData) -> None:
        self.base = f"{data.programmer}/{data.visit_id}"

    def __call__(self, kind: str, *parts: object) -> str:
        return str(uuid.uuid5(NS, "/".join([self.base, kind, *map(str, parts)])))


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _ref(resource: Mapping[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def _drug(name: str) -> dict[str, Any]:
    return {"text": name}


def _steps(therapy: Mapping[str, Any], conc_ng_ml: int) -> list[dict[str, Any]]:
    """One Dosage per step of the profile: from its start, the rate of this drug in mg/d."""
    out = []
    for index, (start_min, rate_nl_day) in enumerate(therapy.get("steps", [])):
        ng_day = Fraction(int(rate_nl_day) * conc_ng_ml, 1_000_000)  # nL x ng/mL
        at = f"{int(start_min) // 60:02d}:{int(start_min) % 60:02d}:00"
        out.append(
            {
                "sequence": index + 1,
                "text": f"from {at[:5]} (day {int(start_min) // 1440 + 1}): "
                f"{exact(ng_day.numerator, ng_day.denominator * 1_000_000)} mg/d",
                "timing": {"repeat": {"timeOfDay": [at]} if int(start_min) < 1440 else {}},
                "route": {"coding": [INTRATHECAL]},
                "doseAndRate": [{"rateQuantity": _mg_per_day(ng_day)}],
            }
        )
    return out


def build_bundle(data: VisitData) -> Bundle:
    """The Bundle, validated by the FHIR models (pydantic raises on a bad one)."""
    ids = _Ids(data)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": ids("patient"),
        "identifier": [{"system": SERIAL_SYSTEM + ":patient", "value": data.pump_serial}],
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">The patient with the implanted '
            f"pump {_xml(data.pump_serial)} (no patient details in this programmer)</div>",
        },
    }
    device: dict[str, Any] = {
        "resourceType": "Device",
        "id": ids("device"),
        "identifier": [{"system": SERIAL_SYSTEM, "value": data.pump_serial}],
        "serialNumber": data.pump_serial,
        "type": {"text": "Implanted programmable intrathecal drug infusion pump"},
        "patient": _ref(patient),
    }
    if data.pump_model:
        device["modelNumber"] = data.pump_model
        device["deviceName"] = [{"name": data.pump_model, "type": "model-name"}]
    resources: list[dict[str, Any]] = [patient, device]
    firmware = _first_after(data.trail, "pump_connected").get("firmware")
    if firmware:
        device["version"] = [{"value": str(firmware)}]
    start = _first_after(data.trail, "interrogated")
    if "reservoir_nl" in start:
        resources.append(
            _reservoir(
                ids("reservoir", "start"), patient, device, start, "at the start of the visit"
            )
        )
    for p in data.prescriptions:
        resources.extend(_prescription(ids, patient, device, p, data))
    for r in data.refills:
        resources.extend(_refill(ids, patient, device, r))
    for rec in data.trail:
        if rec.action in ("program_intent", "program_outcome"):
            resources.append(_audit_event(ids, device, rec, data))
    bundle = {
        "resourceType": "Bundle",
        "id": ids("bundle"),
        "identifier": {"system": "urn:itp:visit", "value": f"{data.programmer}/{data.visit_id}"},
        "type": "collection",
        "timestamp": _fhir_time(data.started_at),
        "entry": [_entry(r) for r in resources],
    }
    return Bundle.model_validate(bundle)


def bundle_json(data: VisitData) -> str:
    """The JSON text; decimals written as the exact Decimals they are (never via float)."""
    return build_bundle(data).model_dump_json(indent=2, exclude_none=True) + "\n"


def _xml(text: str) -> str:
    from html import escape

    return escape(text)


def _first_after(trail: list[AuditRecord], action: str) -> dict[str, Any]:
    for rec in trail:
        if rec.action == action:
            value = rec.after_value()
            return value if isinstance(value, dict) else {}
    return {}


def _reservoir(
    rid: str, patient: dict[str, Any], device: dict[str, Any], values: Mapping[str, Any], when: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "procedure"}]}],
        "code": {"text": f"Pump reservoir volume (estimate, the pump does not measure it) {when}"},
        "subject": _ref(patient),
        "device": _ref(device),
        "valueQuantity": _ml(int(values["reservoir_nl"])),
    }


def _prescription(
    ids: _Ids,
    patient: dict[str, Any],
    device: dict[str, Any],
    p: Mapping[str, Any],
    data: VisitData,
) -> list[dict[str, Any]]:
    program = p["program"]
    changeset = program.get("changeset", {})
    therapy = changeset.get("therapy") or {}
    daily = program.get("daily_doses_ng", {})
    status = {"applied": "active", "pending": "draft", "not_applied": "cancelled"}.get(
        str(p["outcome"]), "unknown"
    )
    out: list[dict[str, Any]] = []
    requests: dict[str, dict[str, Any]] = {}
    for drug in therapy.get("drugs", []):
        name, conc = str(drug["name"]), int(drug["conc_ng_ml"])
        dosage = _steps(therapy, conc)
        if name in daily:
            dosage.append(
                {
                    "sequence": len(dosage) + 1,
                    "text": f"daily dose {exact(int(daily[name]), 1_000_000)} mg/d"
                    " (the heaviest day of the cycle)",
                    "route": {"coding": [INTRATHECAL]},
                    "doseAndRate": [{"rateQuantity": _mg_per_day(Fraction(int(daily[name])))}],
                }
            )
        request = {
            "resourceType": "MedicationRequest",
            "id": ids("request", p["id"], name),
            "identifier": [{"system": "urn:itp:prescription", "value": f"{data.programmer}/{p['id']}"}],
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": _drug(name),
            "subject": _ref(patient),
            "authoredOn": _fhir_time(str(p["at"])),
            "requester": {"display": str(p["account"])},
            "note": [{"text": f"{name} {exact(conc, 1_000_000)} mg/mL in pump {data.pump_serial};"
                              f" program outcome: {p['outcome']}"}],
            "dosageInstruction": dosage,
        }  # fmt: skip
        requests[name] = request
        out.append(request)
    bolus = changeset.get("bolus")
    if bolus:
        done = [
            e
            for e in data.bolus_events
            if e["kind"] == "bolus_completed" and e["at_s"] >= p["at_s"]
        ]
        for drug in therapy.get("drugs", []) or []:
            name, conc = str(drug["name"]), int(drug["conc_ng_ml"])
            volume = int(bolus["volume_nl"])
            admin: dict[str, Any] = {
                "resourceType": "MedicationAdministration",
                "id": ids("bolus", p["id"], name),
                "status": "completed" if done else "in-progress",
                "medicationCodeableConcept": _drug(name),
                "subject": _ref(patient),
                "device": [_ref(device)],
                "effectiveDateTime": _fhir_time(str(p["outcome_at"] or p["at"])),
                "note": [{"text": f"{bolus.get('kind', 'clinician')} bolus of {exact(volume, 1_000_000)} mL"
                                  + ("" if done else "; its completion was not read back from the pump")}],
                "dosage": {
                    "text": f"{bolus.get('kind', 'clinician')} bolus",
                    "route": {"coding": [INTRATHECAL]},
                    "dose": _mg(Fraction(volume * conc, 1_000_000)),
                },
            }  # fmt: skip
            if name in requests:
                admin["request"] = _ref(requests[name])
            out.append(admin)
    refill = changeset.get("refill")
    if refill and "reservoir_nl" in refill and p["outcome"] == "applied":
        out.append(
            _reservoir(
                ids("reservoir", "after", p["id"]), patient, device, refill, "after the refill"
            )
        )
    return out


def _refill(
    ids: _Ids, patient: dict[str, Any], device: dict[str, Any], r: Mapping[str, Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    added = int(r["added_nl"])
    for drug in r["drugs"]:
        name, conc = str(drug["name"]), int(drug["conc_ng_ml"])
        out.append(
            {
                "resourceType": "MedicationAdministration",
                "id": ids("refill", r["id"], name),
                "status": "completed",
                "category": {"text": "pump reservoir refill"},
                "medicationCodeableConcept": _drug(name),
                "subject": _ref(patient),
                "device": [_ref(device)],
                "effectiveDateTime": _fhir_time(str(r["at"])),
                "performer": [{"actor": {"display": str(r["account"])}}],
                "note": [{"text": f"{exact(added, 1_000_000)} mL of {name} {exact(conc, 1_000_000)} mg/mL"
                                  f" into the reservoir; {exact(int(r['removed_nl']), 1_000_000)} mL drawn out"}],
                "dosage": {
                    "text": "reservoir refill",
                    "route": {"text": "into the pump reservoir"},
                    "dose": _mg(Fraction(added * conc, 1_000_000)),
                },
            }
        )  # fmt: skip
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ids("discrepancy", r["id"]),
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "procedure"}]}],
        "code": {"text": "Refill discrepancy: volume drawn out against the expected volume"},
        "subject": _ref(patient),
        "device": _ref(device),
        "effectiveDateTime": _fhir_time(str(r["at"])),
        "component": [
            {"code": {"text": "volume drawn out"}, "valueQuantity": _ml(int(r["removed_nl"]))}
        ],
    }
    if r["expected_nl"] is not None:
        observation["component"].append(
            {"code": {"text": "volume expected"}, "valueQuantity": _ml(int(r["expected_nl"]))}
        )
    if r["discrepancy_pct"] is not None:
        # stored by the refill check as a float percent; repr gives its shortest exact text
        observation["valueQuantity"] = _qty(Decimal(repr(float(r["discrepancy_pct"]))), "%")
    else:
        observation["dataAbsentReason"] = {
            "coding": [{"system": ABSENT, "code": "not-performed"}],
            "text": f"not computed: {r['finding'] or 'no expected volume'}",
        }
    if r["finding"]:
        observation["note"] = [{"text": f"finding: {r['finding']}"}]
    out.append(observation)
    return out


def _audit_event(
    ids: _Ids, device: dict[str, Any], rec: AuditRecord, data: VisitData
) -> dict[str, Any]:
    outcome = "0" if rec.outcome in ("applied", "intent", "uncertain_resolved") else "4"
    if rec.outcome == "uncertain":
        outcome = "8"
    return {
        "resourceType": "AuditEvent",
        "id": ids("audit", rec.seq),
        "type": {"system": AUDIT_SYSTEM, "code": rec.action},
        "action": "U",
        "recorded": _fhir_time(rec.ts),
        "outcome": outcome,
        "outcomeDesc": rec.outcome or "",
        "agent": [{"who": {"display": rec.account or "unknown"}, "requestor": True,
                   "role": [{"text": rec.role or "unknown"}]}],
        "source": {"observer": {"display": f"itp programmer {data.programmer}"}},
        "entity": [{"what": _ref(device), "detail": [
            {"type": "audit-seq", "valueString": str(rec.seq)},
            {"type": "audit-mac", "valueString": rec.mac},
        ]}],
    }  # fmt: skip
