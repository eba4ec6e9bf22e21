"""The shadow-attack evidence every release carries (genmed.privacy.evidence)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from genmed.core.errors import ConfigError
from genmed.privacy import evidence
from genmed.privacy.shadow_bench import load_rows

ROOT = Path(__file__).resolve().parents[2]


def _row(method, eps, auc, dataset="actg320", source=evidence.PRIVACY, **kw):
    return {"dataset": dataset, "method": method, "epsilon": float(eps), "delta": 1e-9, "shadow_auc": auc,
            "shadow_auc_ci95": [auc - 0.03, auc + 0.03], "targets": 5, "shadows_per_target": 60,
            "tests_per_target": 60, "rows_per_dataset": 458, "measured": "2026-12-03", "source": source, **kw}


@pytest.fixture
def table(tmp_path, monkeypatch):
    """A table inside a throwaway source checkout (pyproject.toml, benchmarks/, src/genmed/privacy/)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "benchmarks").mkdir()
    pkg = tmp_path / "src" / "genmed" / "privacy"
    pkg.mkdir(parents=True)
    path = pkg / "shadow_evidence.json"
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
    # format 2, scored by both attacks (2026-12-04): the logistic attack puts MST at ε = 10 above the bar
    assert evidence.evidence_for("mst", 10.0, "actg320")["status"] == "above the bar"
    assert evidence.evidence_for("mst", 10.0, "actg320")["refuse"] is True
    assert evidence.evidence_for("mst", 10.0, "actg320")["rows"][0]["format"] == 2
    assert evidence.evidence_for("structured", 3.0)["status"] == "at or below the bar"
    # the 2026-12-08 run: genmed's default above the bar at ε = 10 on ACTG 320 under the stronger (logistic) attack
    st10 = evidence.evidence_for("structured", 10.0, "actg320")
    assert st10["refuse"] and {r["dataset"] for r in st10["failing"]} == {"actg320"}
    assert evidence.largest_passing_epsilon("structured", 10.0) == 3.0
    assert evidence.evidence_for("independent", 10.0, "actg320")["refuse"]  # the small game's logistic reading
    assert evidence.checkout_root() == ROOT  # the tests run from a checkout: the benchmarks may rebuild it
    shuffled = {**doc, "results": dict(reversed(list(doc["results"].items())))}
    assert evidence.build(shuffled, load_rows(ROOT / "benchmarks" / "privacy_shadow.json")[::-1]) == rebuilt


def test_verdicts_above_below_and_unmeasured(table):
    mst = evidence.evidence_for("mst", 10, "actg320")
    assert mst["status"] == "above the bar" and len(mst["rows"]) == 1 and mst["on_this_data"]
    assert "0.573 [0.543, 0.603]" in mst["summary"] and "most exposed target 0.74" in mst["summary"]
    st = evidence.evidence_for("structured", 10.0, "actg320")
    assert st["status"] == "at or below the bar" and len(st["rows"]) == 2  # both games are shown
    assert "None of it was measured on this data" not in st["summary"]
    # exact ε only: a neighbour's number is never borrowed
    for method, eps in (("mst", 3), ("aim", 10), ("structured", 9.99)):
        un = evidence.evidence_for(method, eps)
        assert un["status"] == "not measured" and un["rows"] == [] and "has not been run" in un["summary"]


def test_a_refusal_offers_only_the_ways_out_the_evidence_supports(table):
    """The default method where a current game cleared it at this (ε, δ), the largest smaller ε a current game
    cleared, and the override; never the refused (method, ε), an unmeasured one, an outdated row, or a
    measurement at a smaller δ than the release's (less noise is not covered by it)."""
    from genmed.privacy.release import _refusal_hint

    current = {"scoring": 2, "format": 2}  # the fixture's rows predate both attacks: make them current
    table.write_text(json.dumps({"bar": 0.55, "rows": [{**r, **current}
                                                      for r in json.loads(table.read_text())["rows"]]}))
    hint = _refusal_hint("mst", 10.0, "actg320", 1e-9)
    assert "the default --method structured (the attack measured it at or below the bar at this ε, on actg320)" \
        in hint and "--epsilon" not in hint  # no MST row below ε = 10
    assert "--accept-measured-risk" in hint
    assert "default" not in _refusal_hint("mst", 5.0, "actg320", 1e-9)  # structured not measured at ε = 5
    rows = json.loads(table.read_text())["rows"] + [
        _row("mst", 3, 0.50, **current), _row("mst", 1, 0.49, **current),
        _row("mst", 1 / 3, 0.49, dataset="flchain", **current),
        _row("mst", 2, 0.50, scoring=1, format=2),  # forest alone: counts as not measured
        _row("structured", 10, 0.56, dataset="flchain", **current)]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    assert evidence.largest_passing_epsilon("mst", 10.0) == 3.0
    assert evidence.largest_passing_epsilon("mst", 2.5) == 1.0  # the outdated ε = 2 row is skipped
    hint = _refusal_hint("mst", 10.0, "actg320", 1e-9)
    assert "default" not in hint and "--epsilon 3 (there the attack measured mst at or below the bar, on actg320)" \
        in hint
    assert "--epsilon 0.333333333333 (there the attack measured mst at or below the bar, on flchain; not this " \
           "data)" in _refusal_hint("mst", 0.9, "actg320", 1e-9)  # never rounded to a neighbour
    hint = _refusal_hint("structured", 10.0, "actg320", 1e-9)  # the default itself refused: not offered again
    assert "--method" not in hint and "--epsilon 1 (there the attack measured structured" in hint
    assert evidence.largest_passing_epsilon("structured", 1.0) is None
    # a release at δ = 1e-5 adds less noise than the games at δ = 1e-9 measured: they do not clear it
    assert evidence.largest_passing_epsilon("mst", 10.0, 1e-5) is None
    assert "--epsilon" not in _refusal_hint("mst", 10.0, "actg320", 1e-5)


def test_evidence_measured_on_other_data_says_so(table):
    ev = evidence.evidence_for("structured", 1, "csv:veterans:abc")
    assert ev["status"] == "at or below the bar" and not ev["on_this_data"]
    assert "None of it was measured on this data (csv:veterans:abc)" in ev["summary"]


def test_one_game_above_the_bar_decides(table):
    rows = json.loads(table.read_text())["rows"] + [_row("structured", 10, 0.56, dataset="flchain")]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    assert evidence.evidence_for("structured", 10)["status"] == "above the bar"


@pytest.mark.parametrize("content", ["{not json", json.dumps({"rows": [{"method": "mst"}]}), json.dumps([1, 2]),
                                     json.dumps({"rows": [_row("mst", 10, 0.5) | {"shadow_auc_ci95": [0.4]}]}),
                                     json.dumps({"rows": [_row("mst", 10, float("nan"))]})])
def test_damaged_table_is_an_error_naming_it(tmp_path, content):
    """Also a NaN AUC: it would pass every `<=` bar unjudged."""
    bad = tmp_path / "ev.json"
    bad.write_text(content)
    with pytest.raises(ConfigError, match="ev.json is not genmed's shadow-attack evidence table"):
        evidence.evidence_for("mst", 10, path=bad)


def _records(root: Path, privacy_doc=None, shadow=None) -> None:
    if privacy_doc is not None:
        (root / "benchmarks" / "privacy_bench.json").write_text(json.dumps(privacy_doc))
    if shadow is not None:
        (root / "benchmarks" / "privacy_shadow.json").write_text(json.dumps({"rows": shadow}))


def test_rebuild_is_whole_from_the_checkouts_record_files(table, tmp_path):
    saved = json.loads((ROOT / "benchmarks" / "privacy_bench.json").read_text())
    shadow = json.loads((ROOT / "benchmarks" / "privacy_shadow.json").read_text())["rows"]
    _records(tmp_path, saved, shadow[:1])
    assert evidence.rebuild() == table
    assert json.loads(table.read_text()) == evidence.build(saved, shadow[:1])  # nothing of the old table kept
    assert table.stat().st_mode & 0o777 == 0o644  # readable by every user of the installation
    assert not list(table.parent.glob("*.tmp"))
    before = table.read_bytes()
    evidence.rebuild()
    assert table.read_bytes() == before
    (tmp_path / "benchmarks" / "privacy_bench.json").write_text("{broken")
    with pytest.raises(ConfigError, match="privacy_bench.json is not the JSON of `genmed bench privacy --out`"):
        evidence.rebuild()
    assert table.read_bytes() == before  # left as it was


def test_rebuild_outside_a_source_checkout_writes_nothing(tmp_path):
    """An installed genmed keeps the table it shipped with, however writable site-packages is."""
    target = tmp_path / "a" / "b" / "c" / "shadow_evidence.json"
    target.parent.mkdir(parents=True)
    assert evidence.rebuild(target) is None
    assert not target.exists()


def test_epsilon_is_never_rounded_to_a_measured_neighbour(table):
    ev = evidence.evidence_for("mst", 10.00001)
    assert ev["status"] == "not measured" and "ε = 10.00001" in ev["summary"]
    assert evidence.evidence_for("mst", 10.0 + 1e-12)["status"] == "above the bar"  # float noise is not a new ε


def test_verdict_wording_follows_the_interval_and_the_dp_bound(table):
    rows = [_row("a", 10, 0.56) | {"shadow_auc_ci95": [0.49, 0.63]},  # above by point, interval includes 0.5
            _row("b", 10, 0.60) | {"shadow_auc_ci95": [0.56, 0.64]},
            _row("c", 0.05, 0.60) | {"shadow_auc_ci95": [0.57, 0.63]},  # more than ε = 0.05 allows
            _row("d", 10, 0.54) | {"shadow_auc_ci95": [0.51, 0.57]}]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    a, b, c, d = (evidence.evidence_for(m, e, "actg320") for m, e in (("a", 10), ("b", 10), ("c", 0.05), ("d", 10)))
    assert a["status"] == "above the bar" and "better than chance" not in a["summary"]
    assert "its interval spanning the bar" in a["summary"] and "which allows up to 1.00" in a["summary"]
    assert "better than chance" in b["summary"] and "spanning" not in b["summary"]
    assert "exceeds, even at its interval's lower end, the 0.525 the (ε, δ) guarantee allows" in c["summary"]
    assert d["status"] == "at or below the bar" and "its interval spanning the bar" in d["summary"]
    rows[2]["shadow_auc_ci95"] = [0.52, 0.68]  # the point is above the bound, the interval reaches below it
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    assert "does not contradict" in evidence.evidence_for("c", 0.05)["summary"]


def test_dp_auc_bound_matches_the_closed_form_and_the_game_doubles_epsilon():
    for eps in (0.1, 1.0, 3.0):
        assert evidence.dp_auc_bound(eps, 0.0) == pytest.approx(math.exp(eps) / (1 + math.exp(eps)), abs=1e-6)
        assert evidence.game_auc_bound(eps, 0.0) == pytest.approx(evidence.dp_auc_bound(2 * eps, 0.0))
    assert evidence.dp_auc_bound(1.0, 1e-3) > evidence.dp_auc_bound(1.0, 0.0)
    assert evidence.dp_auc_bound(1e-9, 0.0) == pytest.approx(0.5, abs=1e-6)
    for d in (0.01, 0.1):  # ε = 0: TPR <= FPR + δ, an area of 1 - (1 - δ)^2 / 2
        assert evidence.dp_auc_bound(0.0, d) == pytest.approx(1 - (1 - d) ** 2 / 2, abs=1e-6)
    eps, d = 0.5, 1e-3
    assert evidence.game_auc_bound(eps, d) == pytest.approx(evidence.dp_auc_bound(2 * eps, (1 + math.exp(eps)) * d))


def test_a_larger_epsilon_or_delta_than_a_failing_one_is_refused_too(table):
    for eps, delta in ((20.0, 1e-9), (10.5, 1e-9), (10.0, 1e-6)):
        ev = evidence.evidence_for("mst", eps, "actg320", delta)
        assert ev["refuse"] and [r["epsilon"] for r in ev["failing"]] == [10.0]
    up = evidence.evidence_for("mst", 20.0, "actg320")
    assert up["status"] == "not measured" and "At ε = 10 (δ = 1e-09), a smaller budget" in up["summary"]
    below = evidence.evidence_for("mst", 3.0, "actg320")
    assert not below["refuse"] and below["status"] == "not measured"
    assert "nearest" not in below["summary"]  # the ε = 10 row was scored by an older attack suite: not current
    stronger = evidence.evidence_for("mst", 10.0, "actg320", 1e-12)  # less δ, so more noise than the failing one
    assert stronger["status"] == "above the bar" and not stronger["refuse"]
    assert "measured at δ = 1e-09; this release has δ = 1e-12" in stronger["summary"]


def test_an_unmeasured_epsilon_between_two_games_names_both_as_theirs(table):
    rows = [_row("structured", 3, 0.509, scoring=2), _row("structured", 10, 0.556, scoring=2),
            _row("structured", 4, 0.53), _row("structured", 12, 0.50, scoring=2, dataset="flchain"),
            _row("mst", 10, 0.52, scoring=2, format=2)]  # the ε = 4 row is scored by an older attack suite: skipped
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    ev = evidence.evidence_for("structured", 5.0, "actg320")
    assert ev["status"] == "not measured" and not ev["refuse"]  # a larger ε's failure does not refuse a smaller ε
    assert ("The nearest ε it was run at: ε = 3 (smaller; worst 0.509 on actg320, at or below the 0.55 bar) and "
            "ε = 10 (larger; worst 0.556 on actg320, above the 0.55 bar); neither number is this release's.") \
        in ev["summary"]
    assert "0.53" not in ev["summary"] and "ε = 4" not in ev["summary"]
    up = evidence.evidence_for("mst", 11.0, "actg320")
    assert "ε = 10 (smaller; worst 0.520 on actg320, at or below the 0.55 bar); that number is not" in up["summary"]
    assert "nearest" not in evidence.evidence_for("structured", 20.0)["summary"]  # refused: a smaller ε failed
    assert "nearest" not in evidence.evidence_for("structured", 3.0)["summary"]  # measured: its own number
    assert "nearest" not in evidence.evidence_for("aim", 3.0)["summary"]  # never run at any ε


def test_benchmarks_rebuild_the_table_from_the_checkouts_records_only(table, tmp_path, cli, monkeypatch):
    """`bench privacy --from-json` quotes the record files, whatever --shadow-json says (MST's row stays);
    `bench privacy-shadow` refuses `--out ''` with section writing, `--no-write` leaves the table alone, and a run
    saved outside benchmarks/ is not quoted."""
    saved = ROOT / "benchmarks" / "privacy_bench.json"
    shadow_rows = json.loads((ROOT / "benchmarks" / "privacy_shadow.json").read_text())["rows"]
    mst = [r for r in shadow_rows if r["method"] == "mst" and r["epsilon"] == 10 and r["dataset"] == "actg320"]
    assert len(mst) == 1
    _records(tmp_path, json.loads(saved.read_text()), mst)
    monkeypatch.chdir(tmp_path)  # BENCHMARKS.md of the throwaway checkout, not the repository's
    r = cli(["bench", "privacy", "--from-json", str(saved), "--shadow-json", ""])
    assert r.exit_code == 0, r.output
    quoted = [round(mst[0]["shadow_auc"], 4)]  # MST's row of the record, quoted to releases
    assert [x["shadow_auc"] for x in evidence.evidence_for("mst", 10)["rows"]] == quoted
    assert {r["source"] for r in evidence.load()} == {evidence.PRIVACY, evidence.PRIVACY_SHADOW}
    before = table.read_bytes()
    args = ["bench", "privacy-shadow", "--targets", "1", "--shadows", "4", "--tests", "4", "--chunk", "4",
            "--workers", "1", "--state-dir", str(tmp_path / "state"), "--configs", "independent:3"]
    r = cli([*args, "--out", ""])  # no record to write the section or the table from
    assert r.exit_code != 0 and "--out '' keeps no record" in " ".join(r.output.replace("│", " ").split())
    assert cli([*args, "--out", "", "--no-write"]).exit_code == 0
    assert cli([*args, "--out", str(tmp_path / "elsewhere.json")]).exit_code == 0
    assert table.read_bytes() == before  # a run saved outside benchmarks/ is not quoted
    assert cli([*args, "--no-write", "--out", str(tmp_path / "benchmarks" / "privacy_shadow.json")]).exit_code == 0
    assert table.read_bytes() == before  # recorded, but no section written: the table waits for one
    assert cli([*args, "--out", str(tmp_path / "benchmarks" / "privacy_shadow.json")]).exit_code == 0
    new = [r for r in evidence.evidence_for("independent", 3, "actg320")["rows"]
           if r["source"] == evidence.PRIVACY_SHADOW]
    assert [(r["dataset"], r["tests_per_target"]) for r in new] == [("actg320", 4)]
    assert [x["shadow_auc"] for x in evidence.evidence_for("mst", 10)["rows"]] == quoted  # the others stay


def test_release_carries_its_evidence_and_an_engine_above_the_bar_is_refused_unless_accepted(table, tmp_path, cli):
    from genmed.privacy.release import synthesize

    res = synthesize("veterans", epsilon=1.0, out=tmp_path / "run", seed=1, baselines=False, floor_draws=0)
    ev = res["shadow_evidence"]
    assert ev["status"] == "at or below the bar" and not ev["on_this_data"]
    html = (tmp_path / "run" / "privacy_report.html").read_text()
    assert "(at or below the bar, measured on other data only)" in html
    assert json.loads((tmp_path / "run" / "privacy_metrics.json").read_text())["shadow_evidence"] == ev
    # the table now says structured at ε = 1 is above the bar: refused before any charge, unless accepted
    rows = json.loads(table.read_text())["rows"] + [_row("structured", 1, 0.6)]
    table.write_text(json.dumps({"bar": 0.55, "rows": rows}))
    from genmed.core.config import get_settings
    from genmed.privacy import budget

    spent = budget.status("veterans")["epsilon_spent"]
    args = ["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--no-baselines", "--floor-draws", "0"]
    r = cli([*args, "--out", str(tmp_path / "refused")])
    text = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 2
    assert "refused: genmed's shadow-model attack measured structured above the 0.55 bar on actg320 (not this data)" \
        in text
    assert "--accept-measured-risk" in text and "no ε was charged" in text
    assert not (tmp_path / "refused").exists() and budget.status("veterans")["epsilon_spent"] == spent
    r = cli([*args, "--out", str(tmp_path / "accepted"), "--accept-measured-risk"])
    assert r.exit_code == 0, r.output
    assert "warning: Shadow-model membership attack on structured at ε = 1" in r.output
    run = json.loads((tmp_path / "accepted" / "run.json").read_text())
    assert run["config"]["accepted_measured_risk"] is True
    assert run["config"]["shadow_evidence_status"] == "above the bar"
    log = [json.loads(x) for x in (get_settings().home / "audit" / "access.jsonl").read_text().splitlines()]
    assert [(e["outcome"], e["detail"].get("accepted_measured_risk")) for e in log[-2:]] == \
        [("denied", None), ("success", True)]
    assert log[-2]["detail"] == {"dataset": "veterans", "epsilon": 1.0, "delta": 1e-9, "method": "structured",
                                 "reason": "shadow-model attack above the bar"}


def test_a_damaged_table_stops_a_release_before_any_budget_is_spent(table, tmp_path):
    from genmed.privacy import budget
    from genmed.privacy.release import synthesize

    table.write_text("garbage")
    before = budget.status("veterans")["epsilon_spent"]
    with pytest.raises(ConfigError, match="shadow_evidence.json"):
        synthesize("veterans", epsilon=1.0, out=tmp_path / "r", seed=1)
    assert budget.status("veterans")["epsilon_spent"] == before
    assert not (tmp_path / "r").exists()


def test_a_smartnoise_measurement_from_before_the_public_domain_fix_says_so():
    """Game format 1 let smartnoise read category sets from the data: its rows describe an earlier engine."""
    old = _row("aim", 10, 0.46, source=evidence.PRIVACY_SHADOW)  # saved before rows carried a format
    assert "category set" in evidence.engine_changed_since(old)
    assert evidence.engine_changed_since({**old, "format": 2}) == ""
    assert evidence.engine_changed_since(_row("structured", 10, 0.48, source=evidence.PRIVACY_SHADOW)) == ""
    in_run = _row("mst", 10, 0.55)  # `genmed bench privacy --shadow-methods mst` plays the same game in one process
    assert "category set" in evidence.engine_changed_since(in_run)
    assert evidence.engine_changed_since({**in_run, "format": 2}) == ""
    rows = evidence.shadow_rows([{**old, "shadow_auc_per_target": [0.4, 0.5], "date": "2026-12-03"}])
    assert rows[0]["format"] == 1
    assert "category set" in evidence._measured(rows[0])


def test_overview_lists_every_measured_pair_with_its_verdict(table):
    rows = evidence.overview()
    assert [(r["method"], r["epsilon"]) for r in rows] == [("mst", 10.0), ("structured", 1.0), ("structured", 10.0)]
    mst, st1, st10 = rows
    assert mst["refuse"] and mst["status"] == "above the bar" and mst["worst_auc"] == 0.573 and mst["private"]
    assert st10["games"] == 2 and st10["worst_auc"] == 0.541 and not st10["refuse"] and st10["outdated"] == 2
    assert st1["datasets"] == ["flchain"]
    assert [r["method"] for r in evidence.overview("mst")] == ["mst"] and evidence.overview("aim") == []


def test_cli_evidence_table_one_release_and_bad_input(table, cli):
    r = cli(["privacy", "evidence"])
    assert r.exit_code == 0, r.output
    assert "mst           ε=10     0.573 [0.543, 0.603] on actg320" in r.stdout and "REFUSED" in r.stdout
    r = cli(["privacy", "evidence", "--method", "structured", "--epsilon", "5", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "not measured"
    r = cli(["privacy", "evidence", "--method", "mst", "--epsilon", "20"])
    assert r.exit_code == 0 and "release REFUSED unless --accept-measured-risk" in r.stdout
    r = cli(["privacy", "evidence", "--method", "bootstrap", "--epsilon", "1"])
    assert "never made (not differentially private" in r.stdout
    for args, msg in ((["--method", "nosuch"], "unknown --method 'nosuch'"), (["--epsilon", "3"], "needs --method"),
                      (["--method", "mst", "--epsilon", "0"], "--epsilon must be > 0"),
                      (["--delta", "1"], "--delta must be in (0, 1)")):
        r = cli(["privacy", "evidence", *args])
        assert r.exit_code == 2 and msg in r.output, (args, r.output)
