"""DP synthetic cohorts: accounting, public-bin coding, the default beats the baseline, leak control, budget."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from genmed.core.errors import ConfigError, InputError
from genmed.privacy import budget
from genmed.privacy.cohorts import SCHEMAS, decode, encode, load_cohort
from genmed.privacy.release import run_release, synthesize
from genmed.privacy.synth import cdp_delta, cdp_rho


def test_zcdp_conversion_matches_published_values():
    # values of smartnoise-synth / mbi's cdp_rho (Canonne, Kamath & Steinke 2020)
    assert cdp_rho(1.0, 1e-9) == pytest.approx(0.0149731, rel=1e-4)
    assert cdp_rho(10.0, 1e-9) == pytest.approx(1.0907857, rel=1e-4)
    rho = cdp_rho(3.0, 1e-9)
    assert cdp_delta(rho, 3.0) <= 1e-9 < cdp_delta(rho * 1.01, 3.0)


def test_public_bins_roundtrip():
    df, schema = load_cohort("actg320")
    codes = encode(df, schema)
    for c in schema.columns:
        assert codes[c.name].between(0, c.size - 1).all()
    back = decode(codes, schema, np.random.default_rng(0))
    assert (encode(back, schema) == codes).all().all()  # decoded values fall in the same public bin
    assert set(back["tx"]) <= {"0", "1"}


@pytest.fixture(scope="module")
def actg_release():
    df, schema = load_cohort("actg320")
    return run_release(df, schema, method="structured", epsilon=10.0, delta=1e-9, seed=0), schema


def test_structured_keeps_analysis_structure(actg_release):
    res, _ = actg_release
    s, ind, boot = (res["methods"][m] for m in ("structured", "independent", "bootstrap"))
    assert s["tvd_analysis"] < ind["tvd_analysis"]  # treatment x event x time kept better than the baseline
    assert s["tstr"]["hazard_ratio"] < 1 and res["real"]["hazard_ratio"] < 1  # indinavir protective, as in NEJM 1997
    assert s["tstr"]["c_index"] > ind["tstr"]["c_index"]
    assert s["tstr"]["c_index"] > 0.62


def test_leak_control_is_flagged(actg_release):
    res, _ = actg_release
    boot, s = res["methods"]["bootstrap"], res["methods"]["structured"]
    assert boot["mia_auc"] >= 0.75 and boot["exact_copy_rate"] == 1.0
    assert boot["share_closer_to_train"] > 0.6
    assert s["mia_auc"] < boot["mia_auc"] - 0.15
    assert s["exact_copy_rate"] < 0.2


def test_release_writes_report_and_charges_budget(tmp_path):
    spent = budget.status("veterans")["epsilon_spent"]  # the test session shares one ledger
    res = synthesize("veterans", epsilon=1.0, out=tmp_path / "run", seed=1)
    assert res["epsilon_charged"] == 2.0  # release + independent baseline
    syn = pd.read_csv(tmp_path / "run" / "synthetic.csv")
    assert list(syn.columns) == SCHEMAS["veterans"].names and len(syn) == res["n_train"]
    html = (tmp_path / "run" / "privacy_report.html").read_text()
    assert "MIA AUC" in html and "data:image/png;base64," in html
    assert "(this release 1.0 + the independent baseline\nfitted on the same rows 1.0)" in html
    metrics = json.loads((tmp_path / "run" / "privacy_metrics.json").read_text())
    assert set(metrics["methods"]) == {"structured", "independent", "bootstrap"}
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "succeeded"
    # the membership-floor refits are audit computations: reported, never charged to the budget
    assert metrics["membership_floor"]["draws"] == 3 and "never saw" in html
    assert budget.status("veterans")["epsilon_spent"] - spent == pytest.approx(2.0)


def test_budget_refusal_names_dataset_spent_and_left(tmp_path):
    budget.set_budget("gbsg2", 3.0)
    budget.spend("gbsg2", 2.0, 1e-9, "an earlier release")
    with pytest.raises(budget.BudgetExceededError) as exc:
        synthesize("gbsg2", epsilon=1.0, out=tmp_path / "b", seed=0)
    msg = str(exc.value)
    assert "gbsg2" in msg and "ε spent 2 of 3" in msg and "ε left 1" in msg
    assert not (tmp_path / "b").exists()  # refused before anything was written
    assert budget.status("gbsg2")["epsilon_spent"] == pytest.approx(2.0)  # a refusal spends nothing


@pytest.mark.parametrize("eps,delta,msg", [(0.0, 1e-9, "ε must be"), (-1.0, 1e-9, "ε must be"),
                                           (1.0, 0.02, "δ must lie"), (1.0, 0.0, "δ must lie")])
def test_bad_privacy_parameters(tmp_path, eps, delta, msg):
    with pytest.raises(InputError, match=msg):
        synthesize("veterans", epsilon=eps, delta=delta, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_csv_schema_checks(tmp_path):
    df, _ = load_cohort("veterans")
    good = tmp_path / "v.csv"
    df.to_csv(good, index=False)
    with pytest.raises(ConfigError, match="--schema"):
        synthesize(str(good), epsilon=1.0, out=tmp_path / "x")
    bad = tmp_path / "bad.csv"
    df.drop(columns=["Celltype"]).assign(extra=1).to_csv(bad, index=False)
    with pytest.raises(InputError) as exc:
        synthesize(str(bad), epsilon=1.0, schema_name="veterans", out=tmp_path / "y")
    assert "Celltype" in str(exc.value) and "extra" in str(exc.value) and "bad.csv" in str(exc.value)
    wrong = tmp_path / "wrong.csv"
    df.assign(Celltype="martian").to_csv(wrong, index=False)
    with pytest.raises(InputError, match="outside its declared categories"):
        synthesize(str(wrong), epsilon=1.0, schema_name="veterans", out=tmp_path / "z")
    assert not any((tmp_path / d).exists() for d in ("x", "y", "z"))
    res = synthesize(str(good), epsilon=1.0, schema_name="veterans", out=tmp_path / "ok", baselines=False)
    assert res["dataset"].startswith("csv:veterans:") and res["epsilon_charged"] == 1.0


def test_cli_synthesize_and_errors(tmp_path, cli):
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--out", str(tmp_path / "r"),
             "--no-baselines"])
    assert r.exit_code == 0, r.output
    assert "MIA AUC" in r.stdout and "never saw" in r.stdout
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--out", str(tmp_path / "f"),
             "--no-baselines", "--floor-draws", "0", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["membership_floor"] is None
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--floor-draws", "-1"])
    assert r.exit_code == 2 and "floor-draws" in r.output
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "0", "--out", str(tmp_path / "s")])
    assert r.exit_code == 2 and "ε must be" in r.output
    r = cli(["privacy", "synthesize", "--dataset", "nosuch", "--epsilon", "1"])
    assert r.exit_code == 2 and "unknown data set" in r.output
    spent = budget.status("veterans")["epsilon_spent"]  # the test session shares one ledger
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--out", str(tmp_path / "b"),
             "--floor-draws", "0"])  # the independent baseline is fitted on the same rows: it spends ε too
    assert r.exit_code == 0, r.output
    assert "ε charged 2 (1 for this release + 1 for the independent baseline" in r.stdout
    assert budget.status("veterans")["epsilon_spent"] - spent == pytest.approx(2.0)
    budget.set_budget("veterans", spent + 3.5)  # 1.5 left: a release with its baseline (2) is refused
    r = cli(["privacy", "synthesize", "--dataset", "veterans", "--epsilon", "1", "--out", str(tmp_path / "t")])
    assert r.exit_code == 5 and "ε left" in r.output


@pytest.mark.slow
def test_smartnoise_mst_runs():
    from genmed.privacy.synth import synthesize_codes

    df, schema = load_cohort("veterans")
    rel = synthesize_codes("mst", encode(df, schema), schema, 3.0, 1e-9, np.random.default_rng(0))
    assert list(rel.codes.columns) == schema.names and len(rel.codes) == len(df)


@pytest.mark.slow
def test_smartnoise_model_cliques_are_named_columns_of_a_spanning_tree():
    """MST keeps a tree over the columns: d - 1 two-way cliques, reported by schema column name."""
    from genmed.privacy.synth import SYNTHESIZERS

    df, schema = load_cohort("veterans")
    model = SYNTHESIZERS.get("mst")()
    model.fit(encode(df, schema), schema, 3.0, 1e-9, np.random.default_rng(0))
    cliques = model.model_cliques()
    assert len(cliques) == len(schema.names) - 1 and all(len(c) == 2 for c in cliques)
    assert {c for cl in cliques for c in cl} == set(schema.names)


@pytest.mark.slow
def test_mst_sampling_fix_restores_associations():
    """snsynth 1.0.8 + mbi 1.x: the shipped sampler makes tree siblings comonotonic; genmed's wrapper does not."""
    from genmed.privacy.synth import synthesize_codes

    df, schema = load_cohort("flchain")
    codes = encode(df, schema)
    real = codes["age"].corr(codes["creatinine"])
    fixed = synthesize_codes("mst", codes, schema, 10.0, 1e-9, np.random.default_rng(0)).codes
    assert abs(fixed["age"].corr(fixed["creatinine"]) - real) < 0.2
    assert fixed.groupby("flc_grp")["event"].mean().iloc[-1] > fixed.groupby("flc_grp")["event"].mean().iloc[0]


def test_smartnoise_domain_is_the_public_bins_not_the_values_in_the_data():
    """Left to itself smartnoise reads each column's category set from the private data: a bin that one patient
    alone fills would exist in the model only when that patient is in the input (outside the DP accounting)."""
    from genmed.privacy.synth import public_domain

    for schema in SCHEMAS.values():
        tt = public_domain(schema)
        assert tt.cardinality == [c.size for c in schema.columns]
        codes = pd.DataFrame({c.name: [c.size - 1, 0] for c in schema.columns})
        assert [list(r) for r in tt.transform(codes)] == codes.to_numpy().tolist()  # codes pass through as they are
        back = tt.inverse_transform([tuple(r) for r in codes.to_numpy()])  # what sample() returns goes back as codes
        assert back.to_numpy().tolist() == codes.to_numpy().tolist() and list(back.columns) == list(codes.columns)


def test_a_bin_absent_from_the_data_stays_in_the_fitted_smartnoise_model():
    from genmed.privacy.synth import SYNTHESIZERS

    df, schema = load_cohort("veterans")
    codes = encode(df, schema)
    col = next(c for c in schema.columns if c.size > 2 and (codes[c.name] == c.size - 1).any())
    without = codes[codes[col.name] != col.size - 1]
    model = SYNTHESIZERS.get("mst")()
    model.fit(without, schema, 3.0, 1e-9, np.random.default_rng(0))
    assert model.model._transformer.cardinality == [c.size for c in schema.columns]
    assert model.budget["domain"] == "public bins of the schema"
