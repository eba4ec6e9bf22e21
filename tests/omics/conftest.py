"""Omics fixtures: real data slices from GENMED_DATA_DIR/omics and tiny models trained for a few epochs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def kang(data_dir):
    from genmed.omics.io import load_dataset

    return load_dataset("kang2018")


@pytest.fixture(scope="session")
def kang300(kang):
    """A 300-cell slice of the Kang subset, stratified by cell type x condition, on 1,000 HVGs."""
    from genmed.omics.io import select_hvg

    rng = np.random.default_rng(0)
    groups = (kang.obs["cell_type"].astype(str) + "|" + kang.obs["condition"].astype(str)).to_numpy()
    idx = []
    for g in sorted(set(groups)):
        members = np.where(groups == g)[0]
        idx.extend(rng.choice(members, min(len(members), max(10, round(300 * len(members) / kang.n_obs))), replace=False))
    sub = kang[np.sort(idx)]
    genes = select_hvg(sub, 1000, scale="log-normalised")
    for g in ("ISG15", "IFI6", "IFIT1", "IFIT3"):
        if g not in genes:
            genes.append(g)
    out = sub[:, genes].copy()
    out.uns["genmed_source"] = "kang300"
    return out


@pytest.fixture(scope="session")
def pbmc(data_dir):
    from genmed.omics.io import load_dataset

    return load_dataset("pbmc10k-protein")


@pytest.fixture(scope="session")
def gauss_model(kang300, tmp_path_factory):
    from genmed.omics.model import fit_latent_model, save_reference

    out = tmp_path_factory.mktemp("gauss_model")
    m = fit_latent_model(kang300, likelihood="gauss", n_genes=None, n_latent=10, n_hidden=64, epochs=15, kl_weight=0.05,
                         seed=0, out=out)
    save_reference(m, kang300, out, condition_key="condition", cell_type_key="cell_type", control="control")
    return m


@pytest.fixture(scope="session")
def shipped_kang():
    from genmed.omics.model import LatentModel, resolve_model_path

    try:
        return LatentModel.load(resolve_model_path("kang2018"))
    except Exception as exc:  # pragma: no cover - the model is part of the package
        pytest.fail(f"shipped Kang model missing: {exc}")
