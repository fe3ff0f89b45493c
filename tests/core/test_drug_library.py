import json
from fractions import Fraction

from programmer.drugs import default_library, load_library
from programmer.resources import resource_path

# Changing the library changes patient-facing limits: it must be a reviewed,
# versioned change. Update both lines together, on purpose.
PINNED_VERSION = "2026.12.0"
PINNED_HASH = "eb60a1bf8f1383074f818da44953cbdd0e5f13f75fd623b949eff32b576ffd3d"


def test_library_version_and_content_hash_are_pinned():
    lib = default_library()
    assert (lib.version, lib.content_hash) == (PINNED_VERSION, PINNED_HASH)


def test_every_number_has_a_source():
    raw = json.loads(resource_path("drug_library.json").read_text())
    for drug in raw["drugs"]:
        for key, value in drug.items():
            if key == "standard_concentrations":
                for item in value["values"]:
                    assert item["source"], f"{drug['name']}.{key} {item['value']} has no source"
                    assert item["kind"] in ("marketed", "compounded")
                assert value["values"] or value.get("source"), f"{drug['name']}.{key}"
            elif key == "starting_daily_dose":
                assert value is None or (value["source"] and value["limit_source"])
                if value is None:
                    assert drug["starting_daily_dose_null_reason"]
            elif isinstance(value, dict) and key not in ("max_daily_dose", "titration"):
                assert value.get("source"), f"{drug['name']}.{key} has no source"
        for jur, limit in drug["max_daily_dose"].items():
            assert limit["source"], f"{drug['name']}.max_daily_dose.{jur}"
        for jur, rule in drug["titration"].items():
            assert rule["source"], f"{drug['name']}.titration.{jur}"


def test_the_facts_of_the_issue():
    lib = default_library()
    mg, mcg = 10**6, 10**3
    morphine = lib.drugs["morphine"]
    # the labelled 25 mg/mL strength is within the maximum (it was 20, so it was always flagged)
    assert morphine.max_conc is not None and morphine.max_conc.value == 25 * mg
    assert 25 * mg in morphine.marketed_strengths_ng_ml
    assert morphine.daily_max["US"].soft_ng == 15 * mg
    assert morphine.daily_max["US"].hard_ng is None
    assert morphine.stability.days == 90
    zic = lib.drugs["ziconotide"]
    assert zic.daily_max["US"].hard_ng == Fraction(192 * mcg, 10)
    assert zic.daily_max["EU"].hard_ng == Fraction(216 * mcg, 10)
    assert zic.titration["US"].max_increases == (3, 7)
    assert zic.titration["EU"].min_hours_between_increases == 48  # PRIALT_EU: 48 h recommended
    assert (
        zic.stability.first_fill_days,
        zic.stability.diluted_days,
        zic.stability.undiluted_days,
    ) == (14, 40, 84)
    bac = lib.drugs["baclofen"]
    assert bac.daily_max["US"].soft_ng == 1000 * mcg
    assert bac.titration["any"].percent_for(bac.titration["any"].max_increase_percent, None) == 15
    assert (
        bac.titration["any"].percent_for(
            bac.titration["any"].max_increase_percent, "spasticity-spinal"
        )
        == 30
    )
    assert bac.stability.days == 180
    assert bac.patient_bolus_allowed.value is False
    assert bac.mix_with_others.value is False
    approved = {d.name for d in lib.drugs.values() if d.approved and not d.is_saline}
    assert approved == {"morphine", "ziconotide", "baclofen"}


def test_aliases_find_the_drug_case_insensitively():
    lib = default_library()
    assert lib.find("Prialt") is lib.drugs["ziconotide"]
    assert lib.find("  GABLOFEN ") is lib.drugs["baclofen"]
    assert lib.find("Infumorph") is lib.drugs["morphine"]
    assert lib.find("aspirin") is None


def test_an_alias_naming_two_drugs_is_refused(tmp_path):
    raw = json.loads(resource_path("drug_library.json").read_text())
    raw["drugs"][1]["aliases"].append("infumorph")
    path = tmp_path / "lib.json"
    path.write_text(json.dumps(raw))
    try:
        load_library(path)
    except ValueError as exc:
        assert "infumorph" in str(exc)
    else:
        raise AssertionError("duplicate alias accepted")


def test_ziconotide_usual_maximum_is_the_us_label_not_the_eu_one():
    zic = default_library().drugs["ziconotide"]
    assert zic.usual_daily is not None and zic.usual_daily.max_ng == Fraction(19_200)
