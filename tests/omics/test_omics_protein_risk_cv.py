"""Protein imputation read-outs and CV report; nested penalty choice of the genomic-risk Cox models."""

from __future__ import annotations

import numpy as np
import pytest


def test_log1p_imputation_is_mixture_on_log_scale(pbmc):
    from genmed.omics.protein import fit_rna_protein_model, impute_proteins

    m = fit_rna_protein_model(pbmc, n_genes=300, n_latent=5, n_hidden=32, epochs=3, batch_size=32)
    counts = impute_proteins(m, pbmc[:40]).to_numpy()
    logs = impute_proteins(m, pbmc[:40], log1p=True).to_numpy()
    d = m.decode_protein(m.latent(m.prepare(pbmc[:40]), use_protein=False), m.prepare(pbmc[:40]).cov)
    assert logs.shape == counts.shape == (40, 14) and np.isfinite(logs).all()
    # Jensen: the mixture of logs never exceeds the log of the mixture mean, and lies above log1p(background)
    assert (logs <= np.log1p(counts) + 1e-5).all()
    assert (logs >= np.log1p(d["background"]) - 1e-5).all()
    assert not np.allclose(logs, np.log1p(counts))


def test_protein_imputation_cv_ensemble_and_fold_intervals(pbmc):
    from genmed.omics.protein import protein_imputation_cv

    r = protein_imputation_cv(pbmc, folds=2, epochs=2, n_genes=300, n_seeds=2)
    from genmed.omics.protein import READOUTS

    assert set(r["median_pearson"]) == set(READOUTS) == set(r["fold_median_pearson"])
    assert set(r["wins_vs_ridge"]) == set(READOUTS) - {"ridge"}
    assert r["n_seeds"] == 2 and len(r["epochs_run"]) == 4  # 2 folds x 2 seeds
    for m, ci in r["fold_median_pearson"].items():
        assert len(ci["per_fold"]) == 2 and ci["lo95"] <= ci["mean"] <= ci["hi95"], m
    d = r["fold_difference_to_ridge"]["vae_latent_head"]
    expect = np.subtract(r["fold_median_pearson"]["vae_latent_head"]["per_fold"],
                         r["fold_median_pearson"]["ridge"]["per_fold"])
    np.testing.assert_allclose(d["per_fold"], expect)
    assert 0 < r["median_pearson"]["ridge"] <= 1
    with pytest.raises(Exception, match="n_seeds"):
        protein_imputation_cv(pbmc, folds=2, epochs=1, n_genes=300, n_seeds=0)


@pytest.fixture(scope="module")
def gse():
    from genmed.omics.risk import load_risk_dataset

    return load_risk_dataset("gse7390")


def test_penalty_chosen_from_grid_and_deterministic(gse):
    import pandas as pd

    from genmed.omics.risk import ALPHAS, L1_RATIOS, _fit

    X = pd.concat([gse.clinical, gse.expression], axis=1)
    clin = list(gse.clinical.columns)
    _, p1 = _fit("clinical+expression", X, clin, gse.time, gse.event, seed=0)
    _, p2 = _fit("clinical+expression", X, clin, gse.time, gse.event, seed=0)
    assert p1 == p2 and p1["l1_ratio"] in L1_RATIOS and np.isclose(ALPHAS, p1["alpha"]).any()


def test_given_penalty_skips_inner_cv_and_clinical_unpenalised(gse, monkeypatch):
    import pandas as pd

    import genmed.omics.risk as risk

    def boom(*a, **k):
        raise AssertionError("inner CV must not run when the penalty is given")

    monkeypatch.setattr(risk, "_choose_penalty", boom)
    X = pd.concat([gse.clinical, gse.expression], axis=1)
    clin = list(gse.clinical.columns)
    m, pen = risk._fit("clinical+expression", X, clin, gse.time, gse.event, alpha=5.0, l1_ratio=0.5)
    coef = pd.Series(m.coef, index=m.features)
    assert pen == {"alpha": 5.0, "l1_ratio": 0.5}
    assert (coef[gse.expression.columns].abs() < 1e-8).all()  # a huge penalty removes every gene
    assert (coef[clin].abs() > 1e-3).sum() >= 2  # ... but not the unpenalised clinical columns


def test_cv_selects_penalty_on_training_rows_only(gse, monkeypatch):
    import genmed.omics.risk as risk

    seen = []
    orig = risk._choose_penalty

    def spy(Z, y, pf, **k):
        seen.append(len(Z))
        return orig(Z, y, pf, repeats=1, **{kk: v for kk, v in k.items() if kk != "repeats"})

    monkeypatch.setattr(risk, "_choose_penalty", spy)
    cv = risk.cross_validate(gse, models=("clinical+expression",), folds=3, seeds=1)
    n = len(gse.time)
    assert len(seen) == 3 and all(s < n and s >= n * 2 // 3 - 1 for s in seen)  # never the whole cohort
    assert 0.5 < cv["c_index"]["clinical+expression"]["mean"] < 0.8
