"""The REST service on the bundled example patient: keys, roles, purpose of use, plans, PGx, de-identification,
and the access log every patient-data request writes."""

from __future__ import annotations

import json
import os
import stat

import pytest

from genmed.patient.examples import example_dir

EXAMPLE = example_dir("breast-cyp2d6-pm")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from fastapi.testclient import TestClient

    from genmed.service import KeyStore, create_app

    root = tmp_path_factory.mktemp("service")
    store = KeyStore(root / "keys.json")
    keys = {role: store.add(f"{role} one", role)[1] for role in ("clinician", "data-steward")}
    revoked, secret = store.add("former staff", "clinician")
    store.revoke(revoked.key_id)
    keys["revoked"] = secret
    app = create_app(store_dir=root / "store", keys_path=root / "keys.json", audit_log=root / "access.jsonl")
    return TestClient(app, raise_server_exceptions=False), keys, root


def _h(key: str | None, purpose: str | None = "treatment") -> dict[str, str]:
    out = {}
    if key:
        out["Authorization"] = f"Bearer {key}"
    if purpose:
        out["X-Purpose-Of-Use"] = purpose
    return out


def _files(*, expression: bool = True) -> list:
    files = [("record", ("bundle.json", (EXAMPLE / "bundle.json").read_bytes(), "application/fhir+json")),
             ("vcf", ("anything.vcf", (EXAMPLE / "genotypes.vcf").read_bytes(), "text/vcf"))]
    if expression:
        files.append(("attachments", ("tumour_expression.csv", (EXAMPLE / "tumour_expression.csv").read_bytes(),
                                      "text/csv")))
    return files


def _log(root) -> list[dict]:
    return [json.loads(line) for line in (root / "access.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def made_plan(service):
    client, keys, root = service
    r = client.post("/v1/plans", files=_files(), headers=_h(keys["clinician"]))
    assert r.status_code == 201, r.text
    return r.json()


def test_health_needs_no_key(service):
    client, _, _ = service
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_a_plan_is_made_read_back_in_every_format_and_logged(service, made_plan):
    client, keys, root = service
    body = made_plan
    assert body["id"].startswith("pl-") and body["subject"].startswith("pt-")
    assert body["plan"]["conditions"] and set(body["links"]) == {"json", "fhir", "html"}
    # the plan is de-identified: the record's name is nowhere in what the service returns
    assert "Example" not in json.dumps(body["plan"]["record"].get("identity") or {})
    got = client.get(body["links"]["json"], headers=_h(keys["clinician"]))
    assert got.status_code == 200 and got.json()["plan_id"] == body["plan_id"]
    fhir = client.get(body["links"]["fhir"], headers=_h(keys["clinician"], "TREAT"))
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    assert any(e["resource"]["resourceType"] == "CarePlan" for e in fhir.json()["entry"])
    html = client.get(body["links"]["html"], headers=_h(keys["clinician"]))
    assert html.status_code == 200 and "<html" in html.text.lower()
    # the expression attachment became a genomic-risk finding
    assert body["plan"]["findings"], "the uploaded tumour profile should give a finding"
    lines = _log(root)
    create = [x for x in lines if x["action"] == "plan.create" and x["outcome"] == "success"]
    assert create and create[-1]["actor"] == "clinician one" and create[-1]["role"] == "clinician"
    assert create[-1]["patient"] == body["subject"] and create[-1]["purpose"] == "treatment"
    reads = [x for x in lines if x["action"] == "plan.read" and x["outcome"] == "success"]
    assert len(reads) >= 3 and all(x["patient"] == body["subject"] for x in reads)


def test_keys_roles_and_purpose_are_enforced_and_denials_logged(service, made_plan):
    client, keys, root = service
    assert client.get(made_plan["links"]["json"]).status_code == 401
    assert client.get(made_plan["links"]["json"], headers=_h("gm_0000_nope")).status_code == 401
    assert client.get(made_plan["links"]["json"], headers=_h(keys["revoked"])).status_code == 401
    r = client.get(made_plan["links"]["json"], headers=_h(keys["data-steward"]))
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "plan:read" in r.json()["detail"]
    r = client.get(made_plan["links"]["json"], headers=_h(keys["clinician"], purpose=None))
    assert r.status_code == 422 and "X-Purpose-Of-Use" in r.json()["detail"]
    denied = [x for x in _log(root) if x["outcome"] == "denied"]
    assert {x["role"] for x in denied} >= {"unknown", "data-steward"}


def test_unknown_or_malicious_plan_ids_are_not_found(service):
    client, keys, _ = service
    for pid in ("pl-0000000000000000", "..%2F..%2Fkeys", "pl-xyz"):
        assert client.get(f"/v1/plans/{pid}", headers=_h(keys["clinician"])).status_code == 404


def test_a_record_cannot_reach_files_that_were_not_uploaded(service):
    client, keys, root = service
    before = set((root / "store" / "plans").iterdir())
    r = client.post("/v1/plans", files=_files(expression=False), headers=_h(keys["clinician"]))
    assert r.status_code == 422 and "tumour_expression.csv" in r.json()["detail"]
    compact = {"patient": {"id": "svc-1", "sex": "female", "birth_date": "1970-01-01"},
               "images": ["/etc/hostname"], "conditions": [{"key": "breast_cancer"}]}
    r = client.post("/v1/plans", files=[("record", ("r.json", json.dumps(compact).encode(), "application/json"))],
                    headers=_h(keys["clinician"]))
    assert r.status_code == 422 and "not among the uploaded files" in r.json()["detail"]
    assert set((root / "store" / "plans").iterdir()) == before  # nothing half-written


def test_bad_records_are_clear_problems(service):
    client, keys, _ = service
    r = client.post("/v1/plans", files=[("record", ("r.json", b"{not json", "application/json"))],
                    headers=_h(keys["clinician"]))
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = client.post("/v1/plans", files=[("record", ("../../x.json", b"{}", "application/json")),
                                         ("attachments", ("evil;rm.csv", b"a", "text/csv"))],
                    headers=_h(keys["clinician"]))
    assert r.status_code == 422 and "plain file name" in r.json()["detail"]
    r = client.post("/v1/plans", files=_files(), data={"formats": "docx"}, headers=_h(keys["clinician"]))
    assert r.status_code == 422 and "docx" in r.json()["detail"]


def test_pgx_calls_return_pseudonymous_results(service):
    client, keys, root = service
    vcf = ("vcf", ("g.vcf", (EXAMPLE / "genotypes.vcf").read_bytes(), "text/vcf"))
    r = client.post("/v1/pgx/calls", files=[vcf], data={"drugs": "tamoxifen"}, headers=_h(keys["clinician"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["subject"].startswith("sample-") and body["calls"]["input"] is None
    assert "CYP2C19" in body["calls"]["genes"] and body["recommendations"][0]["drug"] == "tamoxifen"
    assert _log(root)[-1]["action"] == "pgx.call" and _log(root)[-1]["patient"] == body["subject"]
    bad = client.post("/v1/pgx/calls", files=[("vcf", ("g.vcf", b"not a vcf\n", "text/vcf"))],
                      headers=_h(keys["clinician"]))
    assert bad.status_code == 422


def test_deidentify_is_for_data_stewards_and_the_log_verifies(service):
    from genmed.privacy.synthea import make_bundle

    client, keys, root = service
    bundle = make_bundle(1, seed=3)
    name = bundle["entry"][0]["resource"]["name"][0]["family"]
    assert client.post("/v1/privacy/deidentify", json=bundle, headers=_h(keys["clinician"])).status_code == 403
    r = client.post("/v1/privacy/deidentify", json=bundle, headers=_h(keys["data-steward"], "operations"))
    assert r.status_code == 200 and name not in json.dumps(r.json()["bundle"])
    assert r.json()["report"]["entries_in"] == len(bundle["entry"])
    v = client.get("/v1/audit/verify", headers=_h(keys["data-steward"], "operations"))
    assert v.status_code == 200 and v.json()["ok"] is True


def test_key_store_keeps_only_digests(tmp_path):
    from genmed.core.errors import InputError
    from genmed.service import KeyStore

    store = KeyStore(tmp_path / "k.json")
    record, secret = store.add("dr who", "pharmacist")
    text = (tmp_path / "k.json").read_text()
    # the secret part may itself contain "_" (token_urlsafe), so split off only the prefix and key id
    assert secret not in text and secret.split("_", 2)[2] not in text and record.sha256 in text
    assert stat.S_IMODE(os.stat(tmp_path / "k.json").st_mode) == 0o600
    assert store.authenticate(secret).role == "pharmacist"
    with pytest.raises(InputError, match="unknown role"):
        store.add("x", "admin")


def test_a_vcf_without_the_requested_sample_is_refused_without_server_paths(service):
    client, keys, root = service
    before = set((root / "store" / "plans").iterdir())
    r = client.post("/v1/plans", files=_files(), data={"sample": "NOT-IN-VCF"}, headers=_h(keys["clinician"]))
    assert r.status_code == 422 and r.json()["detail"].startswith("record: ")
    assert "genmed-req" not in r.text and "/tmp" not in r.text
    assert set((root / "store" / "plans").iterdir()) == before
