"""The shadow-attack evidence every release carries (genmed.privacy.evidence)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genmed.core.errors import ConfigError
from genmed.privacy import evidence
from genmed.privacy.shadow_bench import load_rows

ROOT = Path(__file__).resolve().parents[2]


def _row(method, eps, auc, dataset="actg320", source=evidence.PRIVACY, **kw):
    return {"dataset": dataset, "method": method, "epsilon": float(eps), "shadow_auc": auc,
            "shadow_auc_ci95": [auc - 0.03, auc + 0.03], "targets": 5, "shadows_per_target": 60,
            "tests_per_target": 60, "rows_per_dataset": 458, "measured": "2026-12-03", "source": source, **kw}


@pytest.fixture
def table(tmp_path, monkeypatch):
    path = tmp_path / "shadow_evidence.json"
    path.write_text(json.dumps({"bar": 0.55, "rows": [
        _row("structured", 10, 0.541), _row("structured", 10, 0.480, source=evidence.PRIVACY_SHADOW),
        _row("mst", 10, 0.573, source=evidence.PRIVACY_SHADOW, shadow_auc_per_target=[0.53, 0.74]),
        _row("structured", 1, 0.51, dataset="flchain")]}))
    monkeypatch.setattr(evidence, "EVIDENCE_FILE", path)
    return path


def test_shipped_table_is_a_rebuild_of_the_committed_benchmark_files():
    """Never edited by hand: it must be what the benchmarks' saved results give."""
    doc = json.loads((ROOT / "benchmarks" / "privacy_bench.json").read_text())
    rebuilt = evidence.build(doc, load_rows(ROOT / "benchmarks" / "privacy_shadow.json"))
    assert json.loads(evidence.EVIDENCE_FILE.read_text()) == rebuilt
    assert evidence.evidence_for("mst", 10.0, "actg320")["status"] == "above the bar"  # the measured failure
    assert evidence.evidence_for("structured", 3.0)["status"] == "at or below the bar"


def test_verdicts_above_below_and_unmeasured(table):
    mst = evidence.evidence_for("mst", 10, "actg320")
    assert mst["status"] == "above the bar" and len(mst["rows"]) == 1
    assert "0.573 [0.543, 0.603]" in mst["summary"] and "most exposed target 0.74" in mst["summary"]
    st = evidence.evidence_for("structured", 10.0, "actg320")
    assert st["status"] == "at or below the bar" and len(st["rows"]) == 2  # both games are shown
    assert "Measured on other data" not in st["summary"]
    # exact ε only: a neighbour's number is never borrowed
    for method, eps in (("mst", 3), ("aim", 10), ("structured", 9.99)):
        un = evidence.evidence_for(method, eps)
        assert un["status"] == "not measured" and un["rows"] == [] and "has not been run" in un["summary"]


def test_evidence_measured_on_other_data_says_so(table):
    ev = evidence.evidence_for("structured", 1, "csv:veterans:abc")
    assert ev["status"] == "at or below the bar"
    assert "Measured on other data than csv:veterans:abc" in ev["summary"]


def test_one_game_above_the_bar_decides(table, tmp_path):
    rows = json.loads(table.read_text())["rows"] + [_row("structured", 10, 0.56, dataset="flchain")]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    assert evidence.evidence_for("structured", 10)["status"] == "above the bar"


@pytest.mark.parametrize("content", ["{not json", json.dumps({"rows": [{"method": "mst"}]}), json.dumps([1, 2]),
                                     json.dumps({"rows": [_row("mst", 10, 0.5) | {"shadow_auc_ci95": [0.4]}]})])
def test_damaged_table_is_an_error_naming_it(tmp_path, content):
    bad = tmp_path / "ev.json"
    bad.write_text(content)
    with pytest.raises(ConfigError, match="ev.json is not genmed's shadow-attack evidence table"):
        evidence.evidence_for("mst", 10, path=bad)


def test_refresh_replaces_only_its_own_benchmarks_rows(table):
    evidence.refresh(evidence.PRIVACY_SHADOW, [_row("aim", 10, 0.52, source=evidence.PRIVACY_SHADOW)])
    rows = evidence.load()
    assert {(r["method"], r["epsilon"], r["source"]) for r in rows} == {
        ("structured", 10.0, evidence.PRIVACY), ("structured", 1.0, evidence.PRIVACY), ("aim", 10.0,
                                                                                       evidence.PRIVACY_SHADOW)}
    before = table.read_bytes()
    evidence.refresh(evidence.PRIVACY_SHADOW, [_row("aim", 10, 0.52, source=evidence.PRIVACY_SHADOW)])
    assert table.read_bytes() == before  # sorted and deterministic
    assert not list(table.parent.glob("*.tmp"))


def test_refresh_of_a_damaged_table_starts_from_the_new_rows(table):
    table.write_text("garbage")
    evidence.refresh(evidence.PRIVACY, [_row("structured", 3, 0.5)])
    assert [r["epsilon"] for r in evidence.load()] == [3.0]


def test_write_to_a_read_only_package_folder_is_skipped(tmp_path, monkeypatch):
    """An installed (non-editable) genmed keeps its shipped table; the folder's permission is what decides
    (simulated: the tests may run as root, who can write anywhere)."""
    target = tmp_path / "shadow_evidence.json"
    monkeypatch.setattr(evidence.os, "access", lambda p, mode: Path(p) != tmp_path)
    assert evidence.write({"bar": 0.55, "rows": []}, target) is None
    assert not target.exists()


def test_release_carries_its_evidence_and_the_cli_warns_above_the_bar(table, tmp_path, cli, monkeypatch):
    from genmed.privacy.release import synthesize

    res = synthesize("veterans", epsilon=1.0, out=tmp_path / "run", seed=1, baselines=False, floor_draws=0)
    ev = res["shadow_evidence"]
    assert ev["status"] == "at or below the bar" and "Measured on other data than veterans" in ev["summary"]
    html = (tmp_path / "run" / "privacy_report.html").read_text()
    assert "Shadow-model attack on this engine at this ε</b> (at or below the bar)" in html
    assert json.loads((tmp_path / "run" / "privacy_metrics.json").read_text())["shadow_evidence"] == ev
    # the same release with the table saying structured at ε = 1 is above the bar: the CLI warns
    rows = json.loads(table.read_text())["rows"] + [_row("structured", 1, 0.6)]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--no-baselines",
             "--floor-draws", "0", "--out", str(tmp_path / "warned")])
    assert r.exit_code == 0, r.output
    assert "warning: Shadow-model membership attack on structured at ε = 1" in r.output


def test_a_damaged_table_stops_a_release_before_any_budget_is_spent(table, tmp_path):
    from genmed.privacy import budget
    from genmed.privacy.release import synthesize

    table.write_text("garbage")
    before = budget.status("veterans")["epsilon_spent"]
    with pytest.raises(ConfigError, match="shadow_evidence.json"):
        synthesize("veterans", epsilon=1.0, out=tmp_path / "r", seed=1)
    assert budget.status("veterans")["epsilon_spent"] == before
    assert not (tmp_path / "r").exists()
