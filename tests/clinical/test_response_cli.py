"""`genmed response` commands, including bad input: one clear line, non-zero exit, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genmed.cli.main import build_app
from genmed.core.errors import ConfigError, InputError

runner = CliRunner()


def invoke(*args):
    return runner.invoke(build_app("response"), ["response", *args])


@pytest.fixture
def patient_file(tmp_path, patients):
    def write(trial, doc=None, name="patient.json"):
        path = tmp_path / name
        path.write_text(json.dumps(doc if doc is not None else {"covariates": patients[trial]}))
        return path
    return write


def test_trials_schema_models_json():
    r = invoke("trials", "--json")
    assert r.exit_code == 0, r.output
    assert [d["name"] for d in json.loads(r.output)] == ["actg320", "actg320-death", "gbsg2", "veterans"]
    r = invoke("schema", "gbsg2", "--json")
    assert json.loads(r.output)["arms"][1]["name"] == "tamoxifen"
    r = invoke("models", "--json")
    assert "cox-interaction" in {m["name"] for m in json.loads(r.output)}


def test_predict_json(patient_file):
    r = invoke("predict", "--dataset", "actg320", "--patient", str(patient_file("actg320")), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert set(doc["arms"]) == {"zdv_3tc", "idv_zdv_3tc"} and len(doc["trajectories"]) == 20
    assert doc["provenance"]["model"] == "cox-interaction"


def test_twin_writes_run_directory(tmp_path, patient_file):
    out = tmp_path / "twin"
    r = invoke("twin", "-d", "veterans", "-p", str(patient_file("veterans")), "--out", str(out), "--samples", "10")
    assert r.exit_code == 0, r.output
    assert {"twin.json", "curves.png", "run.json"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "run.json").read_text())["status"] == "succeeded"


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
])
def test_bad_patient_file(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    r = invoke("predict", "-d", "actg320", "-p", str(path))
    assert isinstance(r.exception, InputError) and match in str(r.exception) and "bad.json" in str(r.exception)


def test_missing_file_unknown_dataset_and_arm(tmp_path, patient_file):
    r = invoke("predict", "-d", "actg320", "-p", str(tmp_path / "nope.json"))
    assert isinstance(r.exception, InputError) and "patient file not found" in str(r.exception)
    r = invoke("predict", "-d", "lupus", "-p", str(patient_file("actg320")))
    assert isinstance(r.exception, ConfigError) and "unknown trial 'lupus'" in str(r.exception)
    r = invoke("predict", "-d", "actg320", "-p", str(patient_file("actg320")), "--arms", "zdv_3tc,aspirin")
    assert isinstance(r.exception, InputError) and "aspirin" in str(r.exception)


def test_missing_covariates_exit_code_and_one_line(tmp_path, patients):
    doc = dict(patients["actg320"])
    del doc["cd4"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "genmed.cli.main", "response", "twin", "-d", "actg320", "-p",
                           str(path), "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "missing required covariate(s) cd4" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_validate_and_train_then_predict_with_model(tmp_path, patient_file):
    out = tmp_path / "val"
    r = invoke("validate", "-d", "veterans", "--models", "cox,t-cox", "--folds", "3", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["best_model"] in {"cox", "t-cox"} and (out / "calibration_veterans.png").exists()
    assert any("Cox PH unadjusted" in v for v in rep["verdict"])
    r = invoke("validate", "-d", "veterans", "--models", "cox,nope")
    assert isinstance(r.exception, ConfigError) and "nope" in str(r.exception)

    model_dir = tmp_path / "model"
    r = invoke("train", "-d", "veterans", "--bootstrap", "5", "--out", str(model_dir), "--json")
    assert r.exit_code == 0, r.output
    assert (model_dir / "veterans.npz").exists() and (model_dir / "metrics.json").exists()
    r = invoke("predict", "--model", str(model_dir), "-p", str(patient_file("veterans")), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["provenance"]["n_bootstrap"] == 5
    r = invoke("train", "-d", "veterans", "--model", "rsf", "--ship")
    assert isinstance(r.exception, InputError) and "--ship" in str(r.exception)
