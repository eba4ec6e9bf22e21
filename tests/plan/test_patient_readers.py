"""Patient readers: FHIR R4 bundles, compact records, VCF reference — good and bad input."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from genmed.core.errors import InputError
from genmed.patient import (
    example_dir,
    list_examples,
    read_compact,
    read_fhir_bundle,
    read_patient,
    to_fhir_bundle,
)

EX = "acs-cyp2c19-warfarin"


def _bundle(name: str = EX) -> dict:
    return json.loads((example_dir(name) / "bundle.json").read_text())


def _write(tmp_path: Path, data, name="bundle.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return p


def _codes(items) -> set[tuple[str, str]]:
    return {(c.system, c.code) for i in items for c in i.codes}


@pytest.mark.parametrize("name", list(list_examples()))
def test_bundle_and_compact_record_agree(name):
    fhir = read_patient(example_dir(name) / "bundle.json")
    compact = read_compact(example_dir(name) / "patient.yaml")
    assert fhir.pseudonym == compact.pseudonym and fhir.pseudonym.startswith("pt-")
    for attr in ("conditions", "medications", "observations", "allergies"):
        assert _codes(getattr(fhir, attr)) == _codes(getattr(compact, attr)), attr
    assert [(o.key, o.value) for o in fhir.observations] == [(o.key, o.value) for o in compact.observations]
    assert fhir.vcf is not None and fhir.vcf.exists() and fhir.vcf_sample == compact.vcf_sample
    assert fhir.identity.name == compact.identity.name and fhir.age == compact.age


def test_example_content_is_mapped():
    p = read_patient(example_dir(EX))
    assert {c.key for c in p.conditions} >= {"acs", "pci", "atrial_fibrillation", "stroke_or_tia"}
    assert {m.key for m in p.current_medications()} >= {"clopidogrel", "warfarin", "omeprazole"}
    assert p.value("weight_kg") == (84.0, None)
    assert p.history_of("stroke_or_tia") and not p.has_condition("stroke_or_tia")  # resolved TIA is still history


def test_unknown_codes_are_reported_not_dropped(tmp_path):
    b = _bundle()
    b["entry"].append({"resource": {"resourceType": "MedicationStatement", "status": "active",
                                    "subject": {"reference": b["entry"][0]["fullUrl"]},
                                    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                              "code": "999999999"}]}}})
    b["entry"].append({"resource": {"resourceType": "Condition", "subject": {"reference": b["entry"][0]["fullUrl"]},
                                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "123456"}]}}})
    p = read_fhir_bundle(_write(tmp_path, b))
    assert any(m.key is None and m.codes[0].code == "999999999" for m in p.medications)
    assert any(c.key is None and c.codes[0].code == "123456" for c in p.conditions)
    msgs = [i.message for i in p.issues]
    assert any("unknown drug code" in m and "999999999" in m for m in msgs)
    assert any("unknown condition code" in m and "123456" in m for m in msgs)


def test_invalid_entry_is_skipped_with_its_path_and_strict_refuses(tmp_path):
    b = _bundle()
    idx = next(i for i, e in enumerate(b["entry"]) if e["resource"]["resourceType"] == "Observation")
    b["entry"][idx]["resource"]["valueQuantity"]["value"] = "eighty-four"
    path = _write(tmp_path, b)
    p = read_fhir_bundle(path)
    err = [i for i in p.issues if i.severity == "error"]
    assert err and err[0].where == f"Bundle.entry[{idx}].resource.valueQuantity.value"
    assert "invalid Observation" in err[0].message
    with pytest.raises(InputError) as exc:
        read_fhir_bundle(path, strict=True)
    assert f"Bundle.entry[{idx}].resource.valueQuantity.value" in str(exc.value) and str(path) in str(exc.value)


def test_invalid_patient_resource_is_fatal_with_path(tmp_path):
    b = _bundle()
    b["entry"][0]["resource"]["birthDate"] = "1954-13-02"
    with pytest.raises(InputError) as exc:
        read_fhir_bundle(_write(tmp_path, b))
    assert "Bundle.entry[0].resource.birthDate" in str(exc.value)


@pytest.mark.parametrize("content,expected", [
    ("{not json", "not valid JSON"),
    ('{"resourceType": "Patient", "id": "x"}', "expected a FHIR Bundle"),
    ('{"resourceType": "Bundle", "type": "collection", "entry": []}', "no Patient resource"),
    ('[1, 2]', "expected a FHIR Bundle"),
])
def test_bad_bundles(tmp_path, content, expected):
    path = _write(tmp_path, content)
    with pytest.raises(InputError) as exc:
        read_patient(path, check_vcf=False)
    assert expected in str(exc.value) and str(path) in str(exc.value)


def test_two_patients_refused(tmp_path):
    b = _bundle()
    other = copy.deepcopy(b["entry"][0])
    other["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-000000000001"
    other["resource"]["id"] = "someone-else"
    b["entry"].append(other)
    with pytest.raises(InputError, match="2 Patient resources"):
        read_fhir_bundle(_write(tmp_path, b))


def test_conflicting_weights_make_the_value_indeterminate(tmp_path):
    b = _bundle()
    weight = next(e for e in b["entry"] if e["resource"]["resourceType"] == "Observation"
                  and e["resource"]["code"]["coding"][0]["code"] == "29463-7")
    twin = copy.deepcopy(weight)
    twin["fullUrl"] = "urn:uuid:00000000-0000-0000-0000-00000000000a"
    twin["resource"]["id"] = "w2"
    twin["resource"]["valueQuantity"]["value"] = 97
    b["entry"].append(twin)
    p = read_fhir_bundle(_write(tmp_path, b))
    value, why = p.value("weight_kg")
    assert value is None and "conflicting weight kg" in why and "84" in why and "97" in why


def test_units_are_converted_and_unknown_units_refused(tmp_path):
    b = _bundle()
    weight = next(e for e in b["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "29463-7")
    weight["resource"]["valueQuantity"] = {"value": 185.2, "unit": "lb", "code": "[lb_av]"}
    height = next(e for e in b["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "8302-2")
    height["resource"]["valueQuantity"] = {"value": 5.8, "unit": "furlongs"}
    p = read_fhir_bundle(_write(tmp_path, b))
    assert p.value("weight_kg")[0] == pytest.approx(84.0, abs=0.1)
    assert p.value("height_cm")[0] is None
    assert any("unit 'furlongs' not understood" in i.message for i in p.issues)


def test_medication_reference_is_followed_and_unresolved_reported(tmp_path):
    b = _bundle()
    st = next(e for e in b["entry"] if e["resource"]["resourceType"] == "MedicationStatement")
    cc = st["resource"].pop("medicationCodeableConcept")
    b["entry"].append({"fullUrl": "urn:uuid:00000000-0000-0000-0000-0000000000aa",
                       "resource": {"resourceType": "Medication", "id": "m1", "code": cc}})
    st["resource"]["medicationReference"] = {"reference": "urn:uuid:00000000-0000-0000-0000-0000000000aa"}
    p = read_fhir_bundle(_write(tmp_path, b))
    assert "clopidogrel" in {m.key for m in p.medications}
    st["resource"]["medicationReference"] = {"reference": "Medication/absent"}
    p = read_fhir_bundle(_write(tmp_path, b))
    assert "clopidogrel" not in {m.key for m in p.medications}
    assert any("does not resolve" in i.message for i in p.issues)


def test_resources_of_another_patient_are_skipped(tmp_path):
    b = _bundle()
    cond = next(e for e in b["entry"] if e["resource"]["resourceType"] == "Condition")
    cond["resource"]["subject"] = {"reference": "Patient/someone-else"}
    p = read_fhir_bundle(_write(tmp_path, b))
    assert any("not this patient" in i.message for i in p.issues)


def test_vcf_for_a_different_sample_is_refused(tmp_path):
    folder = tmp_path / "p"
    shutil.copytree(example_dir(EX), folder)
    vcf = folder / "genotypes.vcf"
    vcf.write_text(vcf.read_text().replace("GM-S0002", "GM-S9999"))
    with pytest.raises(InputError) as exc:
        read_patient(folder)
    assert "different sample" in str(exc.value) and "genotypes.vcf" in str(exc.value)
    # choosing the column deliberately is allowed
    assert read_patient(folder, sample="GM-S9999").vcf_sample == "GM-S9999"


def test_multisample_vcf_needs_a_sample(tmp_path):
    text = (example_dir(EX) / "genotypes.vcf").read_text().splitlines()
    out = []
    for line in text:
        if line.startswith("#CHROM"):
            out.append(line.replace("GM-S0002", "A\tB"))
        elif line.startswith("#"):
            out.append(line)
        else:
            gt = line.split("\t")[-1]
            out.append(line + "\t" + gt)
    path = tmp_path / "multi.vcf"
    path.write_text("\n".join(out) + "\n")
    p = read_compact(example_dir(EX) / "patient.yaml")
    from genmed.patient import attach_vcf

    p.vcf_sample = None
    with pytest.raises(InputError, match="2 samples"):
        attach_vcf(p, path)


def test_not_a_vcf(tmp_path):
    bad = tmp_path / "x.vcf"
    bad.write_text("this is not a vcf\n")
    with pytest.raises(InputError, match="not a readable VCF"):
        read_patient(example_dir(EX) / "bundle.json", vcf=bad)


def test_compact_schema_errors_name_the_field(tmp_path):
    text = (example_dir(EX) / "patient.yaml").read_text().replace("{key: weight_kg, value: 84", "{key: weight_kg, valu: 84")
    path = _write(tmp_path, text, "patient.yaml")
    with pytest.raises(InputError) as exc:
        read_compact(path)
    assert "observations[0].valu" in str(exc.value) and "patient.yaml" in str(exc.value)
    path.write_text("patient: [unclosed")
    with pytest.raises(InputError, match="not valid YAML"):
        read_compact(path)
    path.write_text((example_dir(EX) / "patient.yaml").read_text().replace("code: SNOMED 49436004", "code: MESH D001281"))
    with pytest.raises(InputError, match="conditions\\[2\\]: code 'MESH D001281'"):
        read_compact(path)


def test_writer_round_trip_keeps_codes():
    p = read_compact(example_dir("breast-cyp2d6-pm") / "patient.yaml")
    b = to_fhir_bundle(p)
    q = read_fhir_bundle(Path(str(example_dir("breast-cyp2d6-pm"))) / "bundle.json", data=b)
    for attr in ("conditions", "medications", "observations", "allergies"):
        assert _codes(getattr(p, attr)) == _codes(getattr(q, attr))
    assert [(g.gene, g.diplotype) for g in q.genotypes] == [("CYP2D6", "*4/*4")]


def test_deidentified_copy_drops_safe_harbor_identifiers():
    p = read_patient(example_dir("breast-cyp2d6-pm"))
    d = p.deidentified()
    dumped = d.model_dump_json()
    for value in p.identity.values() + [p.vcf_sample, "2026-10-14", str(p.vcf.parent)]:
        assert value not in dumped
    assert d.age == 60 and _codes(d.conditions) == _codes(p.conditions)
    acs = read_patient(example_dir(EX)).deidentified()
    stent = next(c for c in acs.conditions if c.key == "pci")
    assert "2026-11-11" not in stent.text and "[DATE]" in stent.text  # dates in free text too


def test_compact_json_form(tmp_path):
    import yaml

    raw = yaml.safe_load((example_dir("crc-dpyd") / "patient.yaml").read_text())
    folder = tmp_path / "p"
    folder.mkdir()
    shutil.copy(example_dir("crc-dpyd") / "genotypes.vcf", folder / "genotypes.vcf")
    (folder / "patient.json").write_text(json.dumps(raw, default=str))
    p = read_patient(folder)  # the folder holds only patient.json: compact JSON
    assert p.source_format == "compact" and {a.key for a in p.allergies} == {"oxaliplatin"}
    assert p.vcf_sample == "GM-S0003"
