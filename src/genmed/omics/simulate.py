"""Simulating cells from a trained latent model, and measuring how realistic they are against held-out real cells.

Latent codes come from the aggregate posterior of the training cells (a random training cell of the requested
cell type / condition, then z ~ q(z | that cell)); without a stored reference, from the prior N(0, I) with the
requested covariates. Observations are posterior-predictive: Gamma-Poisson (NB) counts with a library size from
the same training cell (ZINB adds the dropout), or Gaussian values clipped at 0 for log-normalised models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from genmed.core.errors import InputError
from genmed.omics.io import dense, detect_scale, log_normalise
from genmed.omics.model import GAUSSIAN, SIGMA_FLOOR_LOG, LatentModel, read_reference


@dataclass
class RealismReport:
    """Simulated vs held-out real cells (log-normalised space, model genes)."""

    n_real: int
    n_sim: int
    gene_mean_r2: float
    gene_var_r2: float
    zero_fraction_error: float
    classifier_auroc: float  # 5-fold CV AUROC real vs simulated, 0.5 = indistinguishable
    mmd_pca: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("n_real", "n_sim", "gene_mean_r2", "gene_var_r2",
                                              "zero_fraction_error", "classifier_auroc", "mmd_pca")} | self.extra


def simulate_cells(model: LatentModel, n: int = 1000, *, conditions: dict[str, str] | None = None, seed: int = 0):
    """``n`` posterior-predictive cells; ``conditions`` like ``{"cell_type": "CD4T", "condition": "control"}``
    selects the reference cells (and decoder covariates) they are drawn from."""
    import anndata as ad
    import torch

    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    conditions = dict(conditions or {})
    rng = np.random.default_rng(seed)
    ref = read_reference(model)
    t0 = time.perf_counter()
    obs = pd.DataFrame(index=[f"sim{i}" for i in range(n)])
    if ref is not None:
        keep = np.ones(len(ref["z"]), bool)
        labels = {ref.get("cell_type_key") or "cell_type": ref.get("cell_type"),
                  ref.get("condition_key") or "condition": ref.get("condition")}
        for key, val in conditions.items():
            col = labels.get(key)
            if col is None:
                raise InputError(f"the model's reference has no {key!r} labels",
                                 hint=f"known: {', '.join(k for k, v in labels.items() if v is not None) or 'none'}")
            if val not in set(col):
                raise InputError(f"unknown {key} {val!r}", hint=f"known: {', '.join(sorted(set(col)))}")
            keep &= col == val
        pool = np.where(keep)[0]
        pick = rng.choice(pool, n, replace=True)
        z = ref["z"][pick] + rng.standard_normal((n, ref["z"].shape[1])).astype(np.float32) * ref["sd"][pick]
        log_lib = ref["log_library"][pick]
        for key, col in labels.items():
            if col is not None:
                obs[key] = col[pick]
    else:
        z = rng.standard_normal((n, model.config.n_latent)).astype(np.float32)
        ls = model.library_stats
        log_lib = rng.normal(ls.get("log_mean", 0.0), ls.get("log_sd", 0.0), n)
        for key, val in conditions.items():
            obs[key] = val
    for key, cats in model.categories.items():
        if key not in obs.columns:
            if key not in conditions:
                raise InputError(f"the model is conditioned on {key!r}; say which value to simulate",
                                 hint=f"known {key}: {', '.join(cats)}")
            obs[key] = conditions[key]
    cov = model.one_hot(obs)
    model.module.eval()
    with torch.no_grad():
        out = model.module.decode(torch.from_numpy(z.astype(np.float32)), torch.from_numpy(cov))
    if model.config.likelihood in GAUSSIAN:
        sigma = np.exp(np.maximum(model.module.log_sigma.detach().numpy(), SIGMA_FLOOR_LOG))
        x = np.clip(out["raw"].numpy() + rng.standard_normal((n, len(model.genes))) * sigma, 0, None)
        if model.config.likelihood == "zig":  # hurdle: exact zeros with the decoder's probability
            p0 = 1 / (1 + np.exp(-out["zi_logit"].numpy()))
            x[rng.random(x.shape) < p0] = 0
    else:
        lib = np.maximum(np.expm1(log_lib), 1.0)[:, None]
        mu = out["rho"].numpy() * lib
        theta = np.exp(model.module.log_theta.detach().numpy())[None, :]
        lam = rng.gamma(theta, mu / theta)
        x = rng.poisson(lam).astype(np.float32)
        if model.config.likelihood == "zinb":
            p0 = 1 / (1 + np.exp(-out["zi_logit"].numpy()))
            x[rng.random(x.shape) < p0] = 0
    adata = ad.AnnData(X=x.astype(np.float32), obs=obs, var=pd.DataFrame(index=model.genes))
    adata.uns["genmed_simulation"] = {"model": str(model.path), "seed": seed, "n": n, "conditions": conditions,
                                      "source": "aggregate posterior" if ref is not None else "prior",
                                      "scale": model.scale, "seconds": round(time.perf_counter() - t0, 3),
                                      **model.provenance}
    return adata


def _lognorm(adata, genes) -> np.ndarray:
    present = [g for g in genes if g in adata.var_names]
    sub = adata[:, present]
    if detect_scale(sub.X).kind == "counts":  # normalise real and simulated counts over the same genes
        return log_normalise(sub.X)
    return dense(sub.X)


def _mmd_rbf(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.spatial.distance import cdist

    ab = np.vstack([a, b])
    d = cdist(ab, ab, "sqeuclidean")
    gamma = 1.0 / np.median(d[d > 0])
    k = np.exp(-gamma * d)
    n = len(a)
    return float(k[:n, :n].mean() + k[n:, n:].mean() - 2 * k[:n, n:].mean())


def realism(real, sim, genes: list[str], *, seed: int = 0, max_cells: int = 1000) -> RealismReport:
    """Per-gene mean/variance R² (squared Pearson of per-gene means / variances of log-normalised values over
    ``genes``; ``extra["gene_mean_r2_sklearn"]`` = ``r2_score`` of the means), zero-fraction error, classifier
    two-sample AUROC and MMD in PCA space."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from genmed.omics.stats import r2_pearson, r2_sklearn

    genes = [g for g in genes if g in real.var_names and g in sim.var_names]
    xr, xs = _lognorm(real, genes), _lognorm(sim, genes)
    rng = np.random.default_rng(seed)
    if len(xs) > max_cells:
        xs = xs[rng.choice(len(xs), max_cells, replace=False)]
    if len(xr) > max_cells:
        xr = xr[rng.choice(len(xr), max_cells, replace=False)]
    # scGen's reg_mean_plot convention: squared Pearson of per-gene means in log-normalised space; CPA's r2_score
    # (real means as the truth) beside it
    mean_r2 = r2_pearson(xr.mean(0), xs.mean(0))
    mean_r2_sk = r2_sklearn(xr.mean(0), xs.mean(0))
    var_r2 = r2_pearson(xr.var(0), xs.var(0))
    zf = float(np.abs((xr == 0).mean(0) - (xs == 0).mean(0)).mean())
    both = np.vstack([xr, xs])
    k = min(50, both.shape[0] - 1, both.shape[1])
    pcs = PCA(n_components=k, random_state=seed).fit_transform(both)
    y = np.r_[np.zeros(len(xr)), np.ones(len(xs))]
    folds = min(5, int(min(len(xr), len(xs))))
    prob = cross_val_predict(LogisticRegression(max_iter=2000, C=0.1), pcs, y,
                             cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, prob))
    mmd = _mmd_rbf(pcs[: len(xr)], pcs[len(xr):])
    return RealismReport(len(xr), len(xs), mean_r2, var_r2, zf, auc, mmd, {"gene_mean_r2_sklearn": mean_r2_sk})
