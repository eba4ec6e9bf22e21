"""The shadow-model attack in resumable chunks over processes, and `genmed bench privacy-shadow`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genmed.core.errors import InputError
from genmed.privacy.bench import checks
from genmed.privacy.shadow import chunked_shadow_mia
from genmed.privacy.shadow_bench import check_row, coverage_row, load_rows, merge_rows


def flat(text: str) -> str:
    """CLI output without rich's error box and line wrapping."""
    return " ".join(text.replace("│", " ").split())


SMALL = {"targets": 2, "shadows": 12, "tests": 12, "chunk": 5, "boot": 50}


def test_chunked_attack_does_not_depend_on_workers_and_resumes_from_its_chunks(tmp_path):
    state = tmp_path / "state"
    a = chunked_shadow_mia("actg320", "structured", 10.0, workers=2, state_dir=state, **SMALL)
    files = sorted(state.glob("*.npz"))
    assert a["chunks"] == len(files) == 2 * (3 + 3) and a["chunks_resumed"] == 0  # 12 releases in chunks of 5
    assert a["fits"] == 2 * (12 + 12) and not list(state.glob("*.tmp"))
    files[3].unlink()  # one chunk lost: only that one is refitted
    b = chunked_shadow_mia("actg320", "structured", 10.0, workers=1, state_dir=state, **SMALL)
    assert b["chunks_resumed"] == a["chunks"] - 1
    c = chunked_shadow_mia("actg320", "structured", 10.0, workers=1, **SMALL)  # no state, one process
    for k in ("shadow_auc", "shadow_auc_ci95"):
        assert a[k] == b[k] == c[k]
    assert a["fit_seconds"] > 0 and b["fit_seconds"] >= a["fit_seconds"] * 0.5  # resumed chunks keep their time


def test_saved_chunks_of_another_game_or_broken_ones_are_refitted(tmp_path):
    state = tmp_path / "state"
    a = chunked_shadow_mia("actg320", "structured", 10.0, workers=1, state_dir=state, **SMALL)
    other_delta = chunked_shadow_mia("actg320", "structured", 10.0, delta=1e-7, workers=1, state_dir=state, **SMALL)
    assert other_delta["chunks_resumed"] == 0
    files = sorted(state.glob("*d1e-09*.npz"))
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated
    np.savez(files[1], X=np.zeros((5, 3)), y=np.zeros(5), seconds=1.0, manifest="{}")  # another game's
    logs = []
    b = chunked_shadow_mia("actg320", "structured", 10.0, workers=1, state_dir=state, log=logs.append, **SMALL)
    assert b["chunks_resumed"] == a["chunks"] - 2
    assert any("unreadable" in m for m in logs) and any("another game" in m for m in logs)
    assert b["shadow_auc"] == a["shadow_auc"]


def test_chunked_attack_flags_the_bootstrap_leak_control():
    r = chunked_shadow_mia("actg320", "bootstrap", 1.0, workers=1, targets=2, shadows=30, tests=30, chunk=10,
                           boot=100)
    assert r["shadow_auc"] > 0.65


def test_chunked_attack_refuses_degenerate_games():
    with pytest.raises(ValueError, match="shadows >= 2"):
        chunked_shadow_mia("actg320", "structured", 10.0, shadows=1)


def _row(method, eps, auc, ds="actg320"):
    return {"dataset": ds, "method": method, "epsilon": eps, "shadow_auc": auc, "shadow_auc_ci95": [auc - .05, auc + .05],
            "shadow_auc_per_target": [auc], "targets": 1, "shadows_per_target": 10, "tests_per_target": 10,
            "rows_per_dataset": 100, "release_seconds_mean": 1.0, "seconds": 10, "date": "2026-12-03", "format": 2, "scoring": 2}


def test_rows_merge_by_dataset_method_and_epsilon_and_a_smoke_run_does_not_replace_a_full_game():
    rows = merge_rows([_row("mst", 10.0, 0.52), _row("aim", 10.0, 0.51)], [_row("mst", 10.0, 0.53)])
    assert [(r["method"], r["shadow_auc"]) for r in rows] == [("aim", 0.51), ("mst", 0.53)]
    small = {**_row("mst", 10.0, 0.40), "tests_per_target": 2}
    with pytest.raises(InputError, match="would replace a larger one"):
        merge_rows(rows, [small])
    assert merge_rows(rows, [small], replace=True)[1]["shadow_auc"] == 0.40
    five = [{**_row("mst", 10.0, 0.57), "targets": 5}]
    one = {**_row("mst", 10.0, 0.45), "shadows_per_target": 400, "tests_per_target": 400}
    with pytest.raises(InputError, match="1 targets, 800 fits"):  # more fits, but one target for five
        merge_rows(five, [one])
    bigger = {**_row("mst", 10.0, 0.55), "tests_per_target": 200}
    assert merge_rows(rows, [bigger])[1]["tests_per_target"] == 200  # a larger game replaces without asking


def test_check_row_judges_the_bar_also_on_methods_the_run_attacked_itself():
    """A small game that fails refuses releases, so it shows where the Musts are judged, even for a method the
    `privacy` run attacks in its own larger game; outdated rows are left to the coverage row."""
    rows = [_row("mst", 10.0, 0.53), _row("aim", 10.0, 0.56), _row("structured", 10.0, 0.60)]
    row = check_row(rows, "actg320")
    assert row["level"] == "must" and row["pass"] is False and "structured ε=10" in row["value"]
    assert "aim ε=10" in row["check"] and "structured ε=10" in row["check"]
    assert check_row(rows[:1], "actg320")["pass"] is True
    assert check_row(rows, "flchain") is None
    assert check_row([{**rows[2], "scoring": 1}], "actg320") is None


def test_coverage_row_names_every_dp_pair_no_current_shadow_game_reached():
    """'for every DP release': a pair attacked nowhere, or only on an earlier engine, is not shown to pass."""
    dp = {("structured", 10.0), ("mst", 10.0), ("aim", 10.0), ("aim", 3.0)}
    rows = [_row("mst", 10.0, 0.53), {**_row("aim", 10.0, 0.46), "format": 1},  # an earlier engine
            _row("aim", 3.0, 0.50, ds="flchain")]
    row = coverage_row(rows, "actg320", dp, {("structured", 10.0)})
    assert row["level"] == "must" and row["pass"] is False
    assert row["value"] == "2 of 4; not measured: aim ε=3, aim ε=10"
    assert check_row(rows, "actg320")["check"].endswith("(mst ε=10)")  # the format-1 row passes nothing
    rf_only = {**_row("aim", 3.0, 0.40), "scoring": 1}  # scored before the attack suite: not a current number
    assert coverage_row(rows + [_row("aim", 10.0, 0.47), rf_only], "actg320", dp,
                        {("structured", 10.0)})["value"] == "3 of 4; not measured: aim ε=3"
    done = coverage_row(rows + [_row("aim", 10.0, 0.47), _row("aim", 3.0, 0.4)],
                        "actg320", dp, {("structured", 10.0)})
    assert done["pass"] is True and done["value"] == "4 of 4"
    assert coverage_row(rows, "actg320", set(), set()) is None


@pytest.mark.parametrize("text", ["{not json", '{"rows": [{"method": "mst"}]}', '{"rows": 3}',
                                  json.dumps({"rows": [{**_row("mst", 10.0, 0.5), "targets": "five"}]})])
def test_a_malformed_shadow_file_is_an_error_naming_it(tmp_path, text):
    p = tmp_path / "shadow.json"
    p.write_text(text)
    with pytest.raises(InputError, match="shadow.json is not the JSON of `genmed bench privacy-shadow`"):
        load_rows(p)
    assert load_rows(tmp_path / "missing.json") == []


def test_bench_privacy_shadow_cli_accumulates_rows_and_rejects_bad_input(cli, tmp_path):
    out = tmp_path / "shadow.json"
    out.write_text(json.dumps({"rows": [_row("aim", 10.0, 0.51)]}))
    args = ["bench", "privacy-shadow", "--targets", "1", "--shadows", "6", "--tests", "6", "--chunk", "6",
            "--workers", "1", "--state-dir", str(tmp_path / "state"), "--no-write", "--out", str(out)]
    r = cli([*args, "--configs", "independent:3"])
    assert r.exit_code == 0, r.output
    assert "shadow-model MIA AUC" in r.output
    rows = json.loads(out.read_text())["rows"]
    assert [(x["method"], x["epsilon"]) for x in rows] == [("aim", 10.0), ("independent", 3.0)]
    bad = cli([*args, "--configs", "mst10"])
    assert bad.exit_code != 0 and "METHOD:EPSILON" in flat(bad.output)
    out.write_text("{not json")
    bad = cli([*args, "--configs", "independent:3"])
    assert bad.exit_code != 0 and "is not the JSON of `genmed bench privacy-shadow`" in flat(bad.output)
    assert out.read_text() == "{not json"  # nothing half-written over it


def test_bench_privacy_rejudges_a_saved_run_with_the_shadow_file(cli, tmp_path):
    saved = Path(__file__).parents[2] / "benchmarks" / "privacy_bench.json"
    shadow = tmp_path / "shadow.json"
    shadow.write_text(json.dumps({"rows": [_row("mst", 10.0, 0.58)]}))
    r = cli(["bench", "privacy", "--from-json", str(saved), "--shadow-json", str(shadow), "--no-write",
             "--out", str(tmp_path / "again.json")])
    assert r.exit_code == 0, r.output
    assert "FAIL [must] actg320: shadow-model MIA AUC <= 0.55 for the methods of `genmed bench privacy-shadow`" \
        in r.output
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["params"]["rendered_from"] in (str(saved), "privacy_bench.json", "benchmarks/privacy_bench.json")
    assert again["params"]["measured"] == json.loads(saved.read_text())["params"]["measured"]
    fresh = checks(again["results"], shadow_rows=load_rows(shadow))  # judged from the saved results, as here
    assert [c["check"] for c in again["checks"] if c["level"] != "info"] == \
        [c["check"] for c in fresh if c["level"] != "info"]
    for text in ("[]", '{"params": {}, "results": {"x": {"summary": []}}}'):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        r = cli(["bench", "privacy", "--from-json", str(bad), "--no-write", "--out", str(tmp_path / "no.json")])
        assert r.exit_code != 0 and "is not the JSON of `genmed bench privacy --out`" in flat(r.output)
        assert not (tmp_path / "no.json").exists()


def test_a_dead_worker_costs_only_its_chunks(monkeypatch):
    """A worker that dies breaks the whole pool; the chunks already finished are kept and the rest rerun."""
    from concurrent.futures.process import BrokenProcessPool

    import genmed.core.parallel as parallel

    real, calls = parallel.map_tasks, []

    def dies_once(fn, tasks, workers=1, on_done=None):
        tasks = list(tasks)
        calls.append(len(tasks))
        if len(calls) == 1:  # finish two chunks, then "crash"
            real(fn, tasks[:2], 1, on_done)
            raise BrokenProcessPool("worker died")
        return real(fn, tasks, 1, on_done)

    monkeypatch.setattr(parallel, "map_tasks", dies_once)
    r = chunked_shadow_mia("actg320", "structured", 10.0, workers=1, **SMALL)
    assert calls == [12, 10]
    monkeypatch.setattr(parallel, "map_tasks", real)
    assert r["shadow_auc_per_target"] == chunked_shadow_mia("actg320", "structured", 10.0, workers=1,
                                                            **SMALL)["shadow_auc_per_target"]


def test_the_leak_control_is_not_judged_by_the_dp_bar():
    assert check_row([_row("bootstrap", 0.0, 0.80)], "actg320") is None
    assert check_row([_row("bootstrap", 0.0, 0.80), _row("mst", 10.0, 0.52)], "actg320")["pass"] is True


def test_every_committed_smartnoise_row_is_reproduced_from_its_saved_chunks(tmp_path):
    """smartnoise cannot be seeded: the saved releases are what ties BENCHMARKS.md's MST/AIM numbers to data, on
    every data set."""
    import shutil

    from genmed.privacy.shadow import (
        CHUNK_FORMAT,
        SCORING,
        _chunk_manifest,
        _chunk_path,
        _game_for,
        _load_chunk,
        target_features,
    )
    from genmed.privacy.synth import SYNTHESIZERS, _SmartNoise

    repo = Path(__file__).parents[2]
    smartnoise = {m for m in SYNTHESIZERS.names() if issubclass(SYNTHESIZERS.get(m), _SmartNoise)}
    rows = [r for r in json.loads((repo / "benchmarks" / "privacy_shadow.json").read_text())["rows"]
            if r["method"] in smartnoise]
    assert {r["method"] for r in rows if r["dataset"] == "actg320"} >= {"mst", "aim"}
    assert "flchain" in {r["dataset"] for r in rows}
    assert all(r.get("format", 1) == CHUNK_FORMAT for r in rows), "a smartnoise row from an older game is kept"
    assert all(r.get("scoring", 1) == SCORING for r in rows), "a smartnoise row scored by an older attack is kept"
    for row in rows:
        ds, method, eps = row["dataset"], row["method"], row["epsilon"]
        schema, (pop, *_) = _game_for(ds, row["targets"], 0, None)
        width = len(target_features(pop.iloc[:2], pop.iloc[0], schema))
        saved = sorted((repo / "benchmarks" / "privacy_shadow_chunks").glob(f"{ds}_{method}_e{eps!r}_*.npz"))
        assert len(saved) == row["targets"] * (row["shadows_per_target"] + row["tests_per_target"]) // 10, (ds, method)
        names = {f.name for f in saved}
        for k in range(row["targets"]):  # every chunk must load as it is, or the call below would refit smartnoise for hours
            for kind, total in (("shadow", row["shadows_per_target"]), ("test", row["tests_per_target"])):
                for start in range(0, total, 10):
                    m = _chunk_manifest(ds, method, eps, 1e-9, 0, row["targets"], row["rows_per_dataset"], k, kind,
                                        start, 10)
                    assert _chunk_path(tmp_path, m).name in names
                    assert isinstance(_load_chunk(_chunk_path(saved[0].parent, m), m, width), dict)
        state = tmp_path / f"{ds}{method}{eps}"
        state.mkdir()
        for f in saved:  # a copy: a test never writes into the repository
            shutil.copy(f, state / f.name)
        r = chunked_shadow_mia(ds, method, eps, targets=row["targets"], shadows=row["shadows_per_target"],
                               tests=row["tests_per_target"], chunk=10, workers=1, state_dir=state, retries=0)
        assert r["chunks_resumed"] == r["chunks"]
        assert r["shadow_auc"] == pytest.approx(row["shadow_auc"], abs=1e-12)
        assert r["shadow_auc_ci95"] == pytest.approx(row["shadow_auc_ci95"], abs=1e-12)
        assert r["attack"] == row["attack"] and r["by_attack"] == row["by_attack"]
