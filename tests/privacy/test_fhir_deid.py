"""FHIR de-identification: no input identifier survives anywhere, output is valid R4B, clinical content intact."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest

from genmed.core.errors import InputError
from genmed.privacy.fhir_deid import DATE_RE, DeidOptions, deidentify_bundle, deidentify_file
from genmed.privacy.synthea import make_bundle, make_bundle_with_entries

KEY = b"0123456789abcdef0123456789abcdef"


def _walk(node, key=None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, key)
    else:
        yield key, node


def identifying_values(bundle: dict) -> set[str]:
    """Every identifying value in the input, collected independently of the de-identifier's own rules."""
    vals: set[str] = set()

    def visit(node, key=None):
        if isinstance(node, dict):
            if key in ("name",) and ("family" in node or "given" in node):
                vals.update([node.get("family", "")] + list(node.get("given", [])))
            if key in ("address", "valueAddress"):
                vals.update(node.get("line", []))
                vals.update(x for x in (node.get("city"), node.get("postalCode")) if x)
            if key in ("telecom", "identifier"):
                vals.add(node.get("value", ""))
            if "mothersMaidenName" in str(node.get("url", "")):
                vals.add(node["valueString"])
            for k in ("serialNumber", "lotNumber", "distinctIdentifier", "subscriberId"):
                if k in node:
                    vals.add(node[k])
            for udi in node.get("udiCarrier", []):
                vals.update([udi["deviceIdentifier"], udi["carrierHRF"]])
            if node.get("resourceType") in ("Organization", "Location"):
                vals.add(node.get("name", ""))
            if "id" in node and "resourceType" in node and key != "contained":  # contained ids are local
                vals.add(node["id"])
            if isinstance(node.get("url"), str) and node["url"].startswith("https://ehr."):
                vals.add(node["url"])
            for k, v in node.items():
                visit(v, k)
        elif isinstance(node, list):
            for v in node:
                visit(v, key)

    visit(bundle)
    return {v for v in vals if isinstance(v, str) and len(v) >= 3}


def exact_dates(bundle: dict) -> set[str]:
    out = set()
    for _, v in _walk(bundle):
        if isinstance(v, str):
            m = DATE_RE.match(v)
            if m and m.group(3):
                out.add(v[:10])
                out.add(f"{v[5:7]}/{v[8:10]}/{v[:4]}")
    return out


def output_text(bundle: dict) -> str:
    """The output as text, with base64 attachments decoded so their content is searched too."""
    parts = [json.dumps(bundle)]
    for k, v in _walk(bundle):
        if k == "data" and isinstance(v, str):
            parts.append(base64.b64decode(v).decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def bundle():
    return make_bundle(4, n_encounters=4, seed=7)


@pytest.mark.parametrize("keep_year", [True, False])
def test_no_identifier_survives(bundle, keep_year):
    res = deidentify_bundle(bundle, key=KEY, options=DeidOptions(keep_year=keep_year))
    text = output_text(res.bundle)
    values = identifying_values(bundle)
    assert len(values) > 100  # the collector really found the identifiers
    leaked = sorted(v for v in values if v.lower() in text.lower())
    assert not leaked, f"{len(leaked)} identifying values survived"
    assert res.report.validation.startswith("valid R4B")
    assert res.report.entries_out == res.report.entries_in == len(bundle["entry"])


def test_no_exact_date_survives_with_keep_year(bundle):
    res = deidentify_bundle(bundle, key=KEY, options=DeidOptions(keep_year=True))
    text = output_text(res.bundle)
    dates = exact_dates(bundle)
    assert len(dates) > 30
    assert not [d for d in dates if d in text]


def _dates_by_path(bundle):
    out = []

    def visit(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                visit(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, f"{path}[{i}]")
        elif isinstance(node, str) and DATE_RE.match(node) and DATE_RE.match(node).group(3):
            out.append((path, node))

    visit(bundle, "")
    return dict(out)


def test_date_shift_is_consistent_per_patient_and_keeps_intervals(bundle):
    from datetime import date

    res = deidentify_bundle(bundle, key=KEY, options=DeidOptions(keep_year=False))
    before, after = _dates_by_path(bundle), _dates_by_path(res.bundle)
    shifts_by_entry: dict[str, set[int]] = {}
    for path, v in before.items():
        if path not in after or "birthDate" in path:  # the 94-year-old's birth date is aggregated
            continue
        assert after[path][:10] != v[:10], path
        d = (date.fromisoformat(after[path][:10]) - date.fromisoformat(v[:10])).days
        entry = re.match(r"\.entry\[(\d+)\]", path)
        shifts_by_entry.setdefault(entry.group(1) if entry else "bundle", set()).add(d)
        assert after[path][10:] == v[10:]  # time of day and zone kept
    assert all(len(s) == 1 for s in shifts_by_entry.values())  # one shift per resource ...
    per_patient = {next(iter(s)) for s in shifts_by_entry.values()}
    assert 1 < len(per_patient) <= 4 + 1  # ... one per patient (4), not one global shift
    assert all(-365 <= d <= -1 for d in per_patient)
    # same key -> same output; different key -> different shift
    again = deidentify_bundle(bundle, key=KEY).bundle
    assert json.dumps(again) == json.dumps(res.bundle)
    other = deidentify_bundle(bundle, key=b"another key of sufficient length!").bundle
    assert json.dumps(other) != json.dumps(res.bundle)


def test_age_over_89_aggregated(bundle):
    res = deidentify_bundle(bundle, key=KEY, options=DeidOptions(keep_year=True))
    old = res.bundle["entry"][0]["resource"]
    assert old["resourceType"] == "Patient" and len(old["birthDate"]) == 4
    assert 2026 - int(old["birthDate"]) == 90
    assert any("90" in w for w in res.report.warnings)


def test_clinical_codes_and_values_unchanged(bundle):
    res = deidentify_bundle(bundle, key=KEY)

    def clinical(b):
        codes = sorted((c.get("system", ""), c["code"]) for k, c in _coding_dicts(b)
                       if not c["system"].endswith("v2-0203"))  # identifier types (SSN, DL) go with their ids
        vals = sorted(v for k, v in _walk(b) if k == "value" and isinstance(v, (int, float)))
        return codes, vals

    assert clinical(bundle) == clinical(res.bundle)


def _coding_dicts(node):
    if isinstance(node, dict):
        if "code" in node and "system" in node and isinstance(node["code"], str):
            yield None, node
        for v in node.values():
            yield from _coding_dicts(v)
    elif isinstance(node, list):
        for v in node:
            yield from _coding_dicts(v)


def test_references_stay_linked(bundle):
    out = deidentify_bundle(bundle, key=KEY).bundle
    full_urls = {e["fullUrl"] for e in out["entry"]}
    refs = [v for k, v in _walk(out) if k == "reference" and v.startswith("urn:uuid:")]
    assert refs and all(r in full_urls for r in refs)
    for e in out["entry"]:
        assert e["fullUrl"] == "urn:uuid:" + e["resource"]["id"]
    med_refs = [e["resource"]["medicationReference"]["reference"] for e in out["entry"]
                if e["resource"]["resourceType"] == "MedicationRequest"]
    assert med_refs and all(r in full_urls for r in med_refs)
    # conditional references and ifNoneExist pseudonymised consistently
    cond = {v for k, v in _walk(out) if k == "reference" and "?identifier=" in v}
    ifnone = {f"{e['request']['url']}?{e['request']['ifNoneExist']}" for e in out["entry"]
              if "ifNoneExist" in e.get("request", {})}
    assert cond and (cond - {c for c in cond if c.startswith("Location")}) <= ifnone


def test_free_text_scrubbed_and_reported(bundle):
    res = deidentify_bundle(bundle, key=KEY)
    rep = res.report.to_dict()
    assert rep["free_text_replacements"]["known_value"] > 0
    assert "NOT searched" in rep["names_in_free_text"] or "NER" in rep["names_in_free_text"]
    assert any("free-text" in w for w in rep["residual_risk_warnings"])
    # the report holds paths and counts, never values
    text = json.dumps(rep)
    assert not [v for v in identifying_values(bundle) if v in text]


def test_thousand_entries_under_two_seconds():
    b = make_bundle_with_entries(1000, seed=3)
    deidentify_bundle(make_bundle(1), key=KEY)  # warm imports (fhir.resources) as a running service would be
    # CPU time of this (single-threaded) process: wall time also counts whatever else shares the 2 cores (a
    # background benchmark doubled it); BENCHMARKS.md reports the wall time of an idle machine
    t0 = time.process_time()
    res = deidentify_bundle(b, key=KEY)
    elapsed = time.process_time() - t0
    assert res.report.validation.startswith("valid R4B")
    assert elapsed < 2.0, elapsed


def test_invalid_entry_dropped_and_reported(bundle):
    b = json.loads(json.dumps(bundle))
    b["entry"][5]["resource"]["status"] = {"not": "a code"}
    res = deidentify_bundle(b, key=KEY)
    assert res.report.entries_out == len(b["entry"]) - 1
    assert res.report.skipped and res.report.skipped[0]["index"] == 5
    assert "not valid R4B" in res.report.skipped[0]["reason"]


# ---------------------------------------------------------------------------------- files, CLI, bad input


def test_file_roundtrip_and_audit(tmp_path, bundle):
    src = tmp_path / "Maria_Gonzalez_1.json"
    src.write_text(json.dumps(bundle))
    key = tmp_path / "k.key"
    key.write_text("s3cret-key-material-0123456789")
    target, report = deidentify_file(src, tmp_path / "out", key_file=key)
    assert target.name == "bundle.deid.json" and (tmp_path / "out" / "deid_report.json").exists()
    from genmed.privacy import verify_log
    from genmed.privacy.audit import default_log_path, read_log

    assert verify_log(default_log_path()).ok
    assert [r["action"] for r in read_log(default_log_path())][-4:] == ["deidentify"] * 4




def test_cli_deidentify(tmp_path, bundle, cli):
    src = tmp_path / "b.json"
    src.write_text(json.dumps(bundle))
    r = cli(["privacy", "deidentify", str(src), "--out", str(tmp_path / "o"), "--keep-year", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["output_validation"].startswith("valid")


@pytest.mark.parametrize("content,msg", [
    ("{not json", "not JSON"),
    ('{"foo": 1}', "not a FHIR resource"),
    ('{"resourceType": "Patient", "name": [{"family": "Gonzalez"}]}', "not a Bundle"),
    ('{"resourceType": "Bundle", "entry": {"x": 1}}', "'entry' must be a list"),
])
def test_bad_bundles(tmp_path, content, msg, cli):
    src = tmp_path / "in.json"
    src.write_text(content)
    with pytest.raises(InputError) as exc:
        deidentify_file(src, tmp_path / "out", audit=False)
    assert msg in str(exc.value) and "Gonzalez" not in str(exc.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    r = cli(["privacy", "deidentify", str(src), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and msg in r.output and "Gonzalez" not in r.output
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_missing_key_file(tmp_path, bundle, cli):
    src = tmp_path / "b.json"
    src.write_text(json.dumps(bundle))
    with pytest.raises(InputError, match="key file not found"):
        deidentify_file(src, tmp_path / "out", key_file=tmp_path / "missing.key")
    assert not (tmp_path / "out").exists()
    r = cli(["privacy", "deidentify", str(src), "--out", str(tmp_path / "out"),
              "--date-shift-key-file", str(tmp_path / "missing.key")])
    assert r.exit_code == 2


def test_rare_quasi_identifiers_warned(bundle):
    rep = deidentify_bundle(bundle, key=KEY).report  # 4 patients: every (birth year, sex, ZIP3, race) class < 5
    assert any("quasi-identifier classes" in w for w in rep.warnings)
    single = deidentify_bundle(make_bundle(1, seed=2), key=KEY).report
    assert any("single-patient bundle" in w for w in single.warnings)


def test_instants_stay_valid_in_year_mode(bundle):
    out = deidentify_bundle(bundle, key=KEY, options=DeidOptions(keep_year=True)).bundle
    issued = [e["resource"]["issued"] for e in out["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert issued and all(re.fullmatch(r"\d{4}-01-01T00:00:00Z", v) for v in issued)
