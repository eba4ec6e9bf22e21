"""Outputs: report.html/pdf, plan.json, careplan.json (FHIR R4), privacy, run records, CLI and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genmed.core.errors import InputError
from genmed.patient import example_dir, read_patient

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo run (what `make demo` does), all formats, identified report."""
    from genmed.plan import run_example

    out = tmp_path_factory.mktemp("demo") / "run"
    t0 = time.perf_counter()
    run = run_example("breast-cyp2d6-pm", out_dir=out)
    return run, time.perf_counter() - t0


def _coded(bundle: dict) -> set[tuple[str, str, str]]:
    out = set()
    for e in bundle["entry"]:
        r = e["resource"]
        cc = r.get("code") or r.get("medicationCodeableConcept")
        if r["resourceType"] in ("Condition", "MedicationStatement", "Observation", "AllergyIntolerance") and cc:
            for c in cc.get("coding", []):
                out.add((r["resourceType"], c["system"], c["code"]))
    return out


def test_demo_writes_every_output_fast(demo):
    run, seconds = demo
    names = {p.name for p in run.out_dir.iterdir()}
    assert {"report.html", "report.pdf", "plan.json", "careplan.json", "run.json"} <= names
    assert seconds < 30
    assert (run.out_dir / "report.pdf").read_bytes()[:5] == b"%PDF-"
    meta = json.loads((run.out_dir / "run.json").read_text())
    assert meta["status"] == "succeeded" and meta["subject"] == run.plan.subject
    assert set(meta["outputs"]) >= {"report.html", "plan.json", "careplan.json", "report.pdf"}


def test_report_html_is_self_contained_and_clinician_first(demo):
    run, _ = demo
    html = (run.out_dir / "report.html").read_text()
    assert "<script" not in html and "http-equiv" not in html
    assert html.count("data:image/png;base64,") >= 1  # the tamoxifen survival plot, embedded
    assert not any(tag in html for tag in ('src="http', "href=\"http://", "<link rel=\"stylesheet\""))
    order = [html.index(s) for s in ("Summary", "Pharmacogenomic results", "Medication review", "Evidence",
                                     "Limitations")]
    assert order == sorted(order)
    assert "Recommend alternative hormonal therapy" in html and "Jane Quinn Example" in html


def test_careplan_is_valid_fhir_r4_and_round_trips_every_coded_item(demo):
    from fhir.resources.R4B.bundle import Bundle

    run, _ = demo
    out = json.loads((run.out_dir / "careplan.json").read_text())
    Bundle.model_validate(out)
    inp = json.loads((example_dir("breast-cyp2d6-pm") / "bundle.json").read_text())
    assert _coded(inp) <= _coded(out)
    kinds = [e["resource"]["resourceType"] for e in out["entry"]]
    assert kinds.count("CarePlan") == 1 and "MedicationRequest" in kinds and "DetectedIssue" in kinds
    careplan = next(e["resource"] for e in out["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert careplan["status"] == "draft" and careplan["intent"] == "proposal"
    dnp = [a["detail"] for a in careplan["activity"] if "detail" in a]
    assert any(d["doNotPerform"] and "tamoxifen" in d["description"].lower() for d in dnp)
    reqs = [e["resource"] for e in out["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    assert all(r["intent"] == "proposal" and r["dosageInstruction"][0]["text"] for r in reqs)
    geno = [e["resource"] for e in out["entry"] if e["resource"].get("id") == "pgx-CYP2D6"]
    assert geno and geno[0]["component"][0]["code"]["coding"][0]["code"] == "48018-6"
    # careplan is read back by genmed's own reader: the coded items survive a second trip
    p = tmp = run.out_dir / "careplan.json"
    back = read_patient(tmp, check_vcf=False)
    assert {c.key for c in back.conditions} >= {"breast_cancer", "postmenopausal"} and p.exists()
    assert back.pseudonym == run.plan.subject  # the pseudonym is kept, not re-hashed or treated as PHI
    from genmed.core.logging import scrub

    assert scrub(run.plan.subject) == run.plan.subject


@pytest.mark.parametrize("name", ["acs-cyp2c19-warfarin", "crc-dpyd", "hiv-hla-cyp2b6"])
def test_careplan_for_other_examples(example_plans, name):
    from genmed.report import careplan_bundle

    plan = example_plans[name][1]
    b = careplan_bundle(plan)
    inp = json.loads((example_dir(name) / "bundle.json").read_text())
    assert _coded(inp) <= _coded(b)
    if name == "acs-cyp2c19-warfarin":
        warf = next(e["resource"] for e in b["entry"] if e["resource"].get("id") == "option-warfarin")
        dose = warf["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
        assert dose["unit"] == "mg" and dose["value"] == pytest.approx(plan.option("warfarin").dose_estimates[0].daily_mg)


def test_identifiers_only_in_the_identified_html(demo, tmp_path):
    run, _ = demo
    patient = read_patient(example_dir("breast-cyp2d6-pm"))
    ids = [v for v in patient.identity.values() if v] + ["GM-S0001", "ex-breast-0001"]
    for name in ("plan.json", "careplan.json", "run.json"):
        text = (run.out_dir / name).read_text()
        leaked = [v for v in ids if v in text]
        assert not leaked, (name, leaked)
    from genmed.plan import run_example

    deid = run_example("breast-cyp2d6-pm", out_dir=tmp_path / "deid", formats="html", deidentify=True)
    html = (deid.out_dir / "report.html").read_text()
    assert not [v for v in ids if v in html]
    assert not [d for d in ("2026-10-14", "2026-09-30", "2026-11-18", "2026-11-20") if d in html]  # patient dates
    assert deid.plan.subject in html and "Safe Harbor" in html


def test_run_is_recorded_with_pseudonym_only(demo):
    from genmed.core.storage import list_runs

    run, _ = demo
    rec = next(r for r in list_runs(kind="plan") if r["run_id"] == run.run_id)
    assert rec["subject"] == run.plan.subject and rec["subject"].startswith("pt-")
    assert "Jane" not in json.dumps(rec)


def test_plan_run_is_in_the_access_audit_log(demo):
    from genmed.privacy import default_log_path, read_log, verify_log

    run, _ = demo
    events = [e for e in read_log(default_log_path()) if e.get("action") == "plan.create"]
    assert any(json.dumps(e).count(run.run_id) and run.plan.subject in json.dumps(e) for e in events)
    assert "Jane" not in default_log_path().read_text()
    assert verify_log(default_log_path()).ok


def test_logs_carry_the_pseudonym(caplog, tmp_path):
    import logging

    from genmed.plan import run_plan

    with caplog.at_level(logging.INFO, logger="genmed"):
        logging.getLogger("genmed").propagate = True
        run = run_plan(example_dir("crc-dpyd"), out_dir=tmp_path / "r", formats="json")
    text = caplog.text
    from genmed.core.logging import scrub

    assert run.plan.subject in text
    assert "Robert Tobias Fictional" not in scrub(text) and "MRN-100003" not in scrub(text)


def test_report_rerender_from_plan_json(demo, tmp_path):
    from genmed.cli.report import app

    run, _ = demo
    res = RUNNER.invoke(app, ["plan", str(run.out_dir), "--out", str(tmp_path / "again"), "--format", "html,fhir"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "again" / "report.html").read_text()
    assert "Jane Quinn Example" not in html and "Recommend alternative hormonal therapy" in html
    bad = tmp_path / "plan.json"
    bad.write_text('{"plan_id": 3}')
    res = RUNNER.invoke(app, ["plan", str(bad), "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and not (tmp_path / "x").exists()


def test_cli_plan_run_json(tmp_path):
    from genmed.cli.plan import app

    res = RUNNER.invoke(app, ["run", str(example_dir("hiv-hla-cyp2b6")), "--out", str(tmp_path / "o"),
                              "--format", "json,fhir", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data["files"]) == {"json", "fhir"} and data["subject"].startswith("pt-")
    assert RUNNER.invoke(app, ["examples"]).exit_code == 0
    # `genmed plan PATIENT` is short for `genmed plan run PATIENT`
    res = RUNNER.invoke(app, [str(example_dir("crc-dpyd")), "--out", str(tmp_path / "short"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "short" / "plan.json").exists()


@pytest.mark.parametrize("args,code,text", [
    (["run", "{missing}"], 2, "file not found"),
    (["run", "{bad_json}"], 2, "not valid JSON"),
    (["run", "{good}", "--format", "html,docx"], 2, "unknown output format"),
    (["run", "{good}", "--vcf", "{bad_json}"], 2, "not a readable VCF"),
    (["example", "no-such-patient"], 2, "unknown example patient"),
])
def test_cli_bad_input_exits_nonzero_and_writes_nothing(tmp_path, args, code, text):
    import subprocess
    import sys

    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    subs = {"{missing}": str(tmp_path / "absent.json"), "{bad_json}": str(bad),
            "{good}": str(example_dir("crc-dpyd"))}
    out = tmp_path / "out"
    argv = [subs.get(a, a) for a in args] + ["--out", str(out)]
    res = subprocess.run([sys.executable, "-m", "genmed.cli.main", "plan", *argv], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == code, res.stderr
    assert text in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_invalid_fhir_in_cli_reports_the_path(tmp_path):
    import subprocess
    import sys

    b = json.loads((example_dir("crc-dpyd") / "bundle.json").read_text())
    b["entry"][0]["resource"]["gender"] = 42
    p = tmp_path / "b.json"
    p.write_text(json.dumps(b))
    res = subprocess.run([sys.executable, "-m", "genmed.cli.main", "plan", "run", str(p), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Bundle.entry[0].resource.gender" in res.stderr
    assert not (tmp_path / "o").exists()


def test_knowledge_file_errors_are_config_errors(tmp_path):
    from genmed.core.errors import ConfigError
    from genmed.plan.knowledge import load_knowledge

    src = Path(__file__).resolve().parents[2] / "src/genmed/plan/knowledge/options.yaml"
    text = src.read_text().replace("sources: [asco-endocrine-2019, ebctcg-ai-2015]", "sources: [nowhere-2020]", 1)
    bad = tmp_path / "k.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match="nowhere-2020"):
        load_knowledge(str(bad))


def test_parse_formats():
    from genmed.plan.runner import parse_formats

    assert parse_formats("HTML, json") == ["html", "json"]
    with pytest.raises(InputError):
        parse_formats("")


def test_batch_plans_a_folder_and_reports_bad_files(tmp_path):
    import shutil

    from genmed.plan import run_batch

    src = tmp_path / "cohort"
    src.mkdir()
    shutil.copy(example_dir("breast-cyp2d6-pm") / "bundle.json", src / "Jane_Quinn_Example.json")
    shutil.copy(example_dir("breast-cyp2d6-pm") / "genotypes.vcf", src / "genotypes.vcf")
    text = (example_dir("crc-dpyd") / "patient.yaml").read_text().replace("vcf: genotypes.vcf", "vcf: crc.vcf")
    (src / "crc.yaml").write_text(text)
    shutil.copy(example_dir("crc-dpyd") / "genotypes.vcf", src / "crc.vcf")
    (src / "broken.json").write_text("{nope")
    rows = run_batch(src, tmp_path / "out")
    assert sorted(r["status"] for r in rows) == ["error", "ok", "ok"]
    bad = next(r for r in rows if r["status"] == "error")
    assert f"input #{bad['index']}" in bad["error"] and "broken" not in bad["error"]
    csv_text = (tmp_path / "out" / "batch.csv").read_text()
    assert "Jane" not in csv_text and "capecitabine" in csv_text
    for r in (r for r in rows if r["status"] == "ok"):
        assert (tmp_path / "out" / r["subject"] / "plan.json").exists()
