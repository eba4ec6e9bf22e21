"""Small vectorised statistics shared by perturbation evaluation and DE: Wilcoxon rank-sum (scanpy's convention),
Benjamini-Hochberg, R² in the two conventions of the perturbation literature, energy distance."""

from __future__ import annotations

import numpy as np
from scipy import stats


def wilcoxon(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-sum z-score (group 1 vs group 2; positive = higher in group 1) and two-sided p-value with tie correction,
    per gene. The z-score without tie correction is what scanpy's ``rank_genes_groups(method="wilcoxon")`` ranks by."""
    n1, n2 = x1.shape[0], x2.shape[0]
    x = np.vstack([x1, x2])
    r = stats.rankdata(x, axis=0)
    n = n1 + n2
    r1 = r[:n1].sum(0)
    mu = n1 * (n + 1) / 2
    sd = np.sqrt(n1 * n2 * (n + 1) / 12)
    z = (r1 - mu) / sd
    # tie correction for the p-value only
    tie = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        _, c = np.unique(x[:, j], return_counts=True)
        tie[j] = (c ** 3 - c).sum()
    sd_t = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        zt = np.where(sd_t > 0, (r1 - mu) / sd_t, 0.0)
    p = 2 * stats.norm.sf(np.abs(zt))
    return z, p


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    p = np.asarray(p, float)
    n = len(p)
    order = np.argsort(p)
    q = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(q, 0, 1)
    return out


def r2_pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Squared Pearson correlation (scGen's ``reg_mean_plot``)."""
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(stats.pearsonr(a, b)[0] ** 2)


def r2_sklearn(truth: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination of ``pred`` for ``truth`` (CPA's tutorial, ``sklearn.metrics.r2_score``)."""
    from sklearn.metrics import r2_score

    return float(r2_score(truth, pred))


def energy_distance(a: np.ndarray, b: np.ndarray, max_n: int = 500, seed: int = 0) -> float:
    """Energy distance between two point clouds (subsampled to ``max_n`` each for speed)."""
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(seed)
    if len(a) > max_n:
        a = a[rng.choice(len(a), max_n, replace=False)]
    if len(b) > max_n:
        b = b[rng.choice(len(b), max_n, replace=False)]
    return float(2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean())
