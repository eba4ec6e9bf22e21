import json
import subprocess
import sys
from pathlib import Path

import pytest

from genmed.chem.optimize.run import run_design
from genmed.core.errors import ConfigError

CONFIG = """
[run]
name = "test"
optimizer = "graph-ga"
budget = 120
top_k = 20
baseline_samples = 40
cache = false

[[scoring.objective]]
component = "qed"

[[scoring.objective]]
component = "sa_score"
direction = "minimize"
low = 2.0
high = 5.0

[[scoring.objective]]
name = "mw"
component = "physchem"
params = { property = "mw" }
direction = "range"
low = 200
high = 400

[optimizer.graph-ga]
population_size = 20
offspring_size = 20
initial = "moses-test"
"""


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "genmed.cli.main", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _cli_inprocess(capsys, *args) -> tuple[int, str]:
    """Run the CLI in this process (fast); returns (exit code, stderr)."""
    from genmed.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


@pytest.fixture()
def config(tmp_path) -> Path:
    p = tmp_path / "run.toml"
    p.write_text(CONFIG)
    return p


def test_run_writes_everything_and_resumes(config, tmp_path):
    out = tmp_path / "run"
    s = run_design(config, out)
    for name in ("run.json", "config.json", "metrics.jsonl", "checkpoint.pt", "top.csv", "top.sdf", "pareto.csv",
                 "baseline.csv", "report.html", "summary.json"):
        assert (out / name).is_file(), name
    assert s["oracle_calls"] == 120 and s["top_k"] == 20 and 1 <= s["pareto_size"] <= 20
    assert json.loads((out / "run.json").read_text())["status"] == "succeeded"
    header = (out / "top.csv").read_text().splitlines()[0]
    assert "qed_raw" in header and "sa_score_desirability" in header and "why" in header
    html = (out / "report.html").read_text()
    assert "<svg" in html and "data:image/png;base64" in html and "Pareto" in html
    assert s["comparison"]["__total__"]["top_mean"] > s["comparison"]["__total__"]["baseline_mean"]
    steps_before = len((out / "metrics.jsonl").read_text().splitlines())
    s2 = run_design(config, out, budget=160)  # resume with a larger budget
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert s2["oracle_calls"] == 160 and len(lines) > steps_before
    assert json.loads(lines[steps_before])["oracle_calls"] > 120


def test_resume_refuses_a_different_config(config, tmp_path):
    out = tmp_path / "run"
    run_design(config, out, budget=30)
    config.write_text(CONFIG.replace('component = "qed"', 'component = "qed"\nweight = 2'))
    with pytest.raises(ConfigError, match="different configuration"):
        run_design(config, out)
    run_design(config, out, budget=30, restart=True)


def test_cli_run_json_and_bad_inputs(config, tmp_path, capsys):
    r = _cli("design", "run", str(config), "--out", str(tmp_path / "cli"), "--budget", "40", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["oracle_calls"] == 40

    bad = tmp_path / "bad.toml"
    cases = {
        "not toml [": "not valid TOML",
        CONFIG.replace("[run]", "[run]\ncolour = 1"): "run.colour: unknown key",
        CONFIG.replace('component = "qed"', 'component = "potency"'): "unknown scoring component 'potency'",
        CONFIG.replace('optimizer = "graph-ga"', 'optimizer = "annealing"'): "unknown optimizer 'annealing'",
        CONFIG.replace("budget = 120", "budget = -5"): "run.budget",
    }
    for text, message in cases.items():
        bad.write_text(text)
        code, err = _cli_inprocess(capsys, "design", "run", str(bad), "--out", str(tmp_path / "never"))
        assert code == 2, (text, err)
        assert message in err and "Traceback" not in err
    assert not (tmp_path / "never" / "top.csv").exists()
    code, err = _cli_inprocess(capsys, "design", "run", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "x"))
    assert code == 2 and "config file not found" in err


def test_patient_profile_adds_objectives_with_reasons(tmp_path, config):
    from genmed.chem.optimize.patient import load_profile, merge_patient, patient_objectives

    prof = tmp_path / "patient.json"
    prof.write_text(json.dumps({
        "id": "MRN-123", "pgx": {"CYP2D6": "Poor Metabolizer", "CYP2C19": "poor metabolizer",
                                 "CYP2C9": "normal metabolizer"},
        "conditions": ["Congenital long QT syndrome", "Hepatic impairment (Child-Pugh B)", "asthma"],
        "medications": ["simvastatin 40 mg", "metoprolol", "unobtainium"],
    }))
    extra = patient_objectives(load_profile(prof))
    names = {o["name"]: o for o in extra.objectives}
    assert names["patient_cyp2d6_substrate"]["weight"] == 2.0
    assert names["patient_herg"]["weight"] == 3.0 and names["patient_dili"]["weight"] == 3.0
    assert {"patient_cyp3a4_inhibition", "patient_cyp2d6_inhibition"} <= set(names)
    assert extra.filters[0]["max"] == 0.5
    added = {f["fact"]: f["added"] for f in extra.facts}
    assert added["CYP2C19 poor metabolizer"].startswith("indeterminate")
    assert added["medication: unobtainium"].startswith("indeterminate")
    assert added["condition: asthma"].startswith("nothing")
    merged = merge_patient({"objective": [{"component": "admet", "params": {"endpoint": "herg"},
                                           "direction": "minimize", "weight": 1}]}, extra)
    herg = [o for o in merged["objective"] if o.get("params", {}).get("endpoint") in ("herg", "hERG")]
    assert len(herg) == 1 and herg[0]["weight"] == 3.0 and "long QT" in herg[0]["reason"]
    r = _cli("design", "validate", str(config), "--patient", str(prof), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["scoring"]["objectives"]) == 3 + 5 and "MRN-123" not in r.stdout + r.stderr


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"),
    ('{"pgx": {"CYP2D6": 3}}', "pgx.CYP2D6"), ('{"allergies": []}', "allergies: unknown key"),
])
def test_bad_patient_profiles(tmp_path, config, content, match, capsys):
    prof = tmp_path / "p.json"
    prof.write_text(content)
    code, err = _cli_inprocess(capsys, "design", "validate", str(config), "--patient", str(prof))
    assert code == 2 and match in err, err


def test_components_listing(capsys):
    code, _ = _cli_inprocess(capsys, "design", "components", "--json")
    assert code == 0


def test_reinvent_run_compares_with_a_prior_sample(tmp_path, tiny_prior):
    cfg = tmp_path / "rl.toml"
    text = CONFIG.replace('optimizer = "graph-ga"', 'optimizer = "reinvent"')
    text = text[: text.index("[optimizer.graph-ga]")] + f"[optimizer.reinvent]\nprior = '{tiny_prior}'\nbatch_size = 16\n"
    cfg.write_text(text)
    s = run_design(cfg, tmp_path / "rl", budget=40)
    assert s["optimizer"] == "reinvent" and s["oracle_calls"] <= 40
    assert s["baseline_source"].startswith("prior sample")
    assert (tmp_path / "rl" / "checkpoint.pt").is_file()
    s2 = run_design(cfg, tmp_path / "rl", budget=60)  # the agent's weights come back from the checkpoint
    assert s2["oracle_calls"] >= s["oracle_calls"]


def test_profile_from_a_genmed_pgx_result(tmp_path):
    from genmed.chem.optimize.patient import load_profile, patient_objectives

    result = {"sample": "S1", "genes": {
        "CYP2D6": {"gene": "CYP2D6", "phenotype": "Poor Metabolizer", "diplotypes": []},
        "CYP2C9": {"gene": "CYP2C9", "phenotype": None, "diplotypes": []},
        "SLCO1B1": {"gene": "SLCO1B1", "phenotype": "Decreased Function", "diplotypes": []}}}
    p = tmp_path / "pgx.json"
    p.write_text(json.dumps(result))
    extra = patient_objectives(load_profile(p))
    assert [o["name"] for o in extra.objectives] == ["patient_cyp2d6_substrate"]
    facts = {f["fact"]: f["added"] for f in extra.facts}
    assert facts["CYP2C9 (genmed pgx call)"].startswith("indeterminate")


def test_corrupt_checkpoint_and_bad_cache_path(config, tmp_path):
    from genmed.core.errors import InputError

    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable checkpoint"):
        run_design(config, out)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG.replace("cache = false", f"cache = true\ncache_path = '{blocker}/sub/cache.sqlite'"))
    with pytest.raises(ConfigError, match="cannot open the scoring cache"):
        run_design(cfg, tmp_path / "run2", budget=10)
