"""Bayesian DE: null calibration on random splits, the CD4T interferon response, bad input, gene sets."""

from __future__ import annotations

import time

import numpy as np
import pytest

from genmed.core.errors import InputError
from genmed.omics.de import (
    differential_expression,
    driver_genes,
    gene_set_scores,
    null_calibration,
    read_gmt,
)

ISGS = {"ISG15", "IFI6", "ISG20", "IFIT1", "IFIT2", "IFIT3", "IRF7", "RSAD2", "TNFSF10", "HERC5", "GBP1", "EIF2AK2",
        "MX1", "OAS1", "LY6E", "IFITM3"}


def test_null_splits_call_almost_nothing(gauss_model, kang300):
    res = null_calibration(gauss_model, kang300, n_splits=2, n_samples=40)
    assert res["mean_called_fraction"] <= 0.01
    assert len(res["wilcoxon_called_fraction"]) == 2


def test_cd4t_top_up_genes_are_isgs(kang, shipped_kang):
    t0 = time.perf_counter()
    res = differential_expression(shipped_kang, kang, groupby="condition", group1="stimulated", group2="control",
                                  cell_type="CD4T", n_samples=50)
    assert time.perf_counter() - t0 < 60  # < 30 s idle
    top = res.summary(10)["top_up"]
    assert len(set(top) & ISGS) >= 8, top
    t = res.table.set_index("gene")
    assert t.loc["ISG15", "p_up"] > 0.99 and t.loc["ISG15", "called"]
    assert np.allclose(t[["p_up", "p_down", "p_null"]].sum(1), 1)
    assert (t["lfc_lo90"] <= t["lfc_hi90"]).all()


def test_small_group_and_unknown_group(gauss_model, kang300):
    with pytest.raises(InputError, match="no cells with condition == 'LPS'"):
        differential_expression(gauss_model, kang300, groupby="condition", group1="LPS", group2="control")
    dc_stim = ((kang300.obs["cell_type"] == "Dendritic") & (kang300.obs["condition"] == "stimulated")).to_numpy()
    keep = ~dc_stim | (np.cumsum(dc_stim) <= 5)
    with pytest.raises(InputError, match="group 'stimulated' has only 5 cells"):
        differential_expression(gauss_model, kang300[keep], groupby="condition", group1="stimulated",
                                group2="control", cell_type="Dendritic")
    with pytest.raises(InputError, match="unknown cell type"):
        differential_expression(gauss_model, kang300, groupby="condition", group1="stimulated", group2="control",
                                cell_type="Platelet")


def test_drivers_and_gene_sets(gauss_model, kang300, tmp_path):
    res = differential_expression(gauss_model, kang300, groupby="condition", group1="stimulated", group2="control",
                                  n_samples=30)
    ctrl = kang300[(kang300.obs["condition"] == "control").to_numpy()]
    dg = driver_genes(gauss_model, res, ctrl, perturbation="stimulated", top=10)
    assert len(dg) == 10 and dg["driver_score"].is_monotonic_decreasing
    gmt = tmp_path / "sets.gmt"
    genes = list(gauss_model.genes)
    gmt.write_text("IFN\tisg\t" + "\t".join(sorted(ISGS & set(genes))) + "\n"
                   "RANDOM\tx\t" + "\t".join(genes[100:130]) + "\nTINY\tx\tISG15\n")
    gs = gene_set_scores(res, read_gmt(gmt), min_size=3).set_index("set")
    assert gs.loc["IFN", "mean_lfc"] > gs.loc["RANDOM", "mean_lfc"]
    assert gs.loc["TINY", "status"].startswith("skipped")


def test_bad_gmt(tmp_path):
    p = tmp_path / "bad.gmt"
    p.write_text("onlyname\n")
    with pytest.raises(InputError, match="bad.gmt: line 1"):
        read_gmt(p)
