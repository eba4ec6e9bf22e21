"""The scvi-tools SCVI comparator (benchmark-only extra): skipped cleanly where scvi-tools is not importable; and the
realism metric's two R² conventions (no scvi-tools needed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from genmed.omics.scvi_compare import scvi_available


def test_realism_reports_both_r2_conventions(kang):
    from genmed.omics.simulate import realism

    groups = (kang.obs["cell_type"].astype(str) + "|" + kang.obs["condition"].astype(str)).to_numpy()
    cd4 = np.where(groups == "CD4T|stimulated")[0]
    mono = np.where(groups == "CD14+Mono|control")[0]
    genes = list(kang.var_names)
    half = realism(kang[cd4[::2]], kang[cd4[1::2]], genes)  # real half vs real half of one group
    other = realism(kang[cd4[::2]], kang[mono], genes)  # a different cell type and condition
    assert half.gene_mean_r2 > 0.95 and "gene_mean_r2_sklearn" in half.extra
    assert other.gene_mean_r2 < half.gene_mean_r2 - 0.05
    assert other.extra["gene_mean_r2_sklearn"] < half.extra["gene_mean_r2_sklearn"]


def test_scvi_available_never_raises():
    ok, info = scvi_available()
    assert isinstance(ok, bool) and isinstance(info, str) and info


@pytest.fixture(scope="module")
def scvi_pbmc(pbmc):
    ok, why = scvi_available()
    if not ok:
        pytest.skip(f"scvi-tools not importable ({why}); it is the benchmark-only `bench-omics` extra")
    from genmed.omics.io import select_hvg
    from genmed.omics.scvi_compare import fit_scvi

    genes = select_hvg(pbmc, 300, scale="counts")
    tr, te = pbmc[:160].copy(), pbmc[160:].copy()
    model, met = fit_scvi(tr, genes, max_epochs=3, batch_size=32, patience=2, seed=0)
    return model, met, tr, te, genes


def test_scvi_nll_and_samples(scvi_pbmc):
    from genmed.omics.scvi_compare import scvi_nll_per_cell, scvi_posterior_samples

    model, met, tr, te, genes = scvi_pbmc
    assert 1 <= met["epochs_run"] <= 3 and met["likelihood"] == "nb"
    nll = scvi_nll_per_cell(model, te)
    assert np.isfinite(nll["rna_nll"]) and nll["rna_nll"] > 0 and nll["kl"] >= 0
    sim = scvi_posterior_samples(model, tr, 40, seed=0)
    assert sim.shape == (40, len(genes)) and list(sim.var_names) == list(genes)
    assert np.allclose(sim.X, np.round(sim.X)) and sim.X.sum() > 0
    again = scvi_posterior_samples(model, tr, 40, seed=0)
    np.testing.assert_array_equal(sim.X, again.X)


def test_optax_still_importable_after_scvi(scvi_pbmc):
    if importlib.util.find_spec("optax") is None:
        pytest.skip("optax not installed")
    import optax  # noqa: F401  - the import shim must not leave optax hidden
