"""Simulation (shapes, seeds, speed, realism) and bulk genomic risk (CV, prediction, out-of-population input)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from genmed.core.errors import InputError
from genmed.omics.simulate import realism, simulate_cells


def test_simulate_shapes_seed_speed(shipped_kang):
    t0 = time.perf_counter()
    a = simulate_cells(shipped_kang, 1000, conditions={"cell_type": "CD4T", "condition": "control"}, seed=1)
    assert time.perf_counter() - t0 < 5  # < 2 s idle
    assert a.shape == (1000, len(shipped_kang.genes)) and (a.X >= 0).all()
    assert set(a.obs["cell_type"]) == {"CD4T"}
    b = simulate_cells(shipped_kang, 1000, conditions={"cell_type": "CD4T", "condition": "control"}, seed=1)
    np.testing.assert_array_equal(a.X, b.X)


def test_simulated_cd4t_resemble_real(shipped_kang, kang):
    sim = simulate_cells(shipped_kang, 300, conditions={"cell_type": "CD4T", "condition": "stimulated"}, seed=0)
    real = kang[((kang.obs["cell_type"] == "CD4T") & (kang.obs["condition"] == "stimulated")).to_numpy()]
    rep = realism(real, sim, shipped_kang.genes)
    assert rep.gene_mean_r2 > 0.9 and 0.5 <= rep.classifier_auroc <= 1


def test_simulate_unknown_cell_type(shipped_kang):
    with pytest.raises(InputError, match="unknown cell_type 'Platelet'"):
        simulate_cells(shipped_kang, 10, conditions={"cell_type": "Platelet"})


def test_count_model_simulates_integers(pbmc):
    from genmed.omics.model import fit_latent_model

    m = fit_latent_model(pbmc, likelihood="nb", n_genes=200, n_latent=5, n_hidden=32, epochs=2)
    a = simulate_cells(m, 50, seed=0)
    assert np.allclose(a.X, np.round(a.X)) and a.X.sum() > 0


@pytest.fixture(scope="module")
def risk_model(tmp_path_factory):
    from genmed.omics.risk import train_risk_model

    out = tmp_path_factory.mktemp("risk")
    doc = train_risk_model("gse7390", out, n_boot=10, cv_seeds=1)
    return out, doc


def test_risk_cv_and_model(risk_model):
    _, doc = risk_model
    cv = doc["cv"]["c_index"]
    assert set(cv) >= {"clinical", "clinical+expression"}
    assert 0.5 < cv["clinical"]["mean"] < 0.8 and 0.5 < cv["clinical+expression"]["mean"] < 0.8


def _patient(n_genes=None):
    from genmed.omics.risk import load_risk_dataset

    d = load_risk_dataset("gse7390")
    row = pd.concat([d.clinical.iloc[0], d.expression.iloc[0]])
    return row if n_genes is None else row.iloc[: 4 + n_genes]


def test_risk_prediction_with_interval_and_drivers(risk_model):
    from genmed.omics.risk import genomic_risk

    out, _ = risk_model
    r = genomic_risk(out, _patient())
    assert 0 <= r.percentile_lo90 <= r.percentile <= 100 or r.risk_group == "indeterminate"
    assert r.drivers and r.provenance["cv_c_index"] > 0.5 and not r.flags


def test_risk_missing_clinical_falls_back(risk_model):
    from genmed.omics.risk import genomic_risk

    out, _ = risk_model
    r = genomic_risk(out, _patient().drop(["age", "size"]))
    assert r.model == "expression" and "missing" in r.flags[0]


def test_risk_other_platform_refused(risk_model):
    from genmed.omics.risk import genomic_risk

    out, _ = risk_model
    p = _patient()
    p.iloc[4:] = p.iloc[4:] * 1000  # linear-scale counts, not log2 MAS5
    with pytest.raises(InputError, match="does not look like"):
        genomic_risk(out, p)
    with pytest.raises(InputError, match="genes are in the profile"):
        genomic_risk(out, _patient(10))


def test_read_patient_expression_formats(tmp_path):
    from genmed.omics.risk import read_patient_expression

    (tmp_path / "long.csv").write_text("gene,value\nX200726_at,10.1\nX200965_s_at,9.0\n")
    (tmp_path / "wide.csv").write_text("X200726_at,X200965_s_at\n10.1,9.0\n")
    assert read_patient_expression(tmp_path / "long.csv").equals(read_patient_expression(tmp_path / "wide.csv"))
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match="bad.csv"):
        read_patient_expression(tmp_path / "bad.csv")
