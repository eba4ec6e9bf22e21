"""Perturbation-response prediction: what *these* control cells would look like under a perturbation.

Methods live in :data:`PERTURBATION_METHODS` (a registry); every method obeys one contract: ``fit(adata, spec)`` on
cells in both conditions (the held-out cell type present only as control), then ``predict(control_cells)`` returns
predicted perturbed expression (log-normalised, cells x ``method.genes``). Baselines are methods too, so every
evaluation reports them in the same run:

- ``scgen``: latent arithmetic (Lotfollahi 2019) with a cell-type-balanced delta (mean over cell types of
  mean z(perturbed) - mean z(control)), decoded per cell;
- ``cvae``: a conditional decoder (CPA-style: the decoder takes condition and cell type embeddings; no adversary) -
  encode with the control label, decode with the perturbation label;
- ``no_change``: the control cells themselves;
- ``gene_shift``: control cells + the cell-type-balanced mean shift in gene space ("VA in gene space", scGen);
- ``linear``: per gene, perturbed mean = a + b x control mean fitted across the training cell types (ridge-shrunk
  to the additive shift), applied as a per-gene shift to each cell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genmed.core.errors import InputError
from genmed.core.registry import Registry
from genmed.omics.io import dense, detect_scale, log_normalise
from genmed.omics.model import LatentModel, ModelConfig, fit_latent_model, read_reference
from genmed.omics.stats import energy_distance, r2_pearson, r2_sklearn, wilcoxon

MIN_CELLS = 10


@dataclass(frozen=True)
class PerturbationSpec:
    condition_key: str = "condition"
    cell_type_key: str = "cell_type"
    control: str = "control"
    perturbation: str = "stimulated"


def expression_matrix(adata) -> np.ndarray:
    """Log-normalised dense matrix (counts are log-normalised first)."""
    return log_normalise(adata.X) if detect_scale(adata.X).kind == "counts" else dense(adata.X)


def _groups(adata, spec: PerturbationSpec) -> tuple[np.ndarray, np.ndarray]:
    for key in (spec.condition_key, spec.cell_type_key):
        if key not in adata.obs.columns:
            raise InputError(f"obs has no column {key!r}", hint=f"columns: {', '.join(map(str, adata.obs.columns[:12]))}")
    return adata.obs[spec.cell_type_key].astype(str).to_numpy(), adata.obs[spec.condition_key].astype(str).to_numpy()


def balanced_delta(values: np.ndarray, ct: np.ndarray, cond: np.ndarray, spec: PerturbationSpec,
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, list[str]]:
    """Mean over cell types (seen in both conditions) of mean(perturbed) - mean(control); with ``rng`` the cells
    of each group are bootstrap-resampled (for intervals)."""
    deltas, used = [], []
    for t in sorted(set(ct)):
        a = values[(ct == t) & (cond == spec.perturbation)]
        b = values[(ct == t) & (cond == spec.control)]
        if len(a) < 2 or len(b) < 2:
            continue
        if rng is not None:
            a = a[rng.integers(0, len(a), len(a))]
            b = b[rng.integers(0, len(b), len(b))]
        deltas.append(a.mean(0) - b.mean(0))
        used.append(t)
    if not deltas:
        raise InputError(f"no cell type has cells in both {spec.control!r} and {spec.perturbation!r}",
                         hint="the training data must contain both conditions for at least one cell type")
    return np.mean(deltas, 0), used


PERTURBATION_METHODS: Registry[type] = Registry("perturbation method")


@PERTURBATION_METHODS.register("no_change")
class NoChange:
    """Baseline: predict that nothing changes."""

    def fit(self, adata, spec: PerturbationSpec, **_):
        self.genes = list(adata.var_names)
        return self

    def predict(self, ctrl) -> np.ndarray:
        return expression_matrix(ctrl[:, self.genes])


@PERTURBATION_METHODS.register("gene_shift")
class GeneShift(NoChange):
    """Baseline: add the cell-type-balanced mean shift in gene space."""

    def fit(self, adata, spec: PerturbationSpec, **_):
        self.genes = list(adata.var_names)
        ct, cond = _groups(adata, spec)
        self.delta_, self.cell_types_ = balanced_delta(expression_matrix(adata), ct, cond, spec)
        return self

    def predict(self, ctrl) -> np.ndarray:
        return np.clip(expression_matrix(ctrl[:, self.genes]) + self.delta_, 0, None)


@PERTURBATION_METHODS.register("linear")
class LinearShift(NoChange):
    """Baseline: per-gene linear model of the perturbed mean on the control mean across training cell types."""

    ridge = 1.0

    def fit(self, adata, spec: PerturbationSpec, **_):
        self.genes = list(adata.var_names)
        ct, cond = _groups(adata, spec)
        x = expression_matrix(adata)
        cm, pm = [], []
        for t in sorted(set(ct)):
            a, b = (ct == t) & (cond == spec.perturbation), (ct == t) & (cond == spec.control)
            if a.sum() >= 2 and b.sum() >= 2:
                pm.append(x[a].mean(0))
                cm.append(x[b].mean(0))
        if not cm:
            raise InputError("no cell type in both conditions to fit the linear baseline")
        cm, pm = np.array(cm), np.array(pm)
        # pm - cm = a + (b - 1) * cm, (b - 1) ridge-shrunk to 0: the additive model is the prior
        d = pm - cm
        cc = cm - cm.mean(0)
        slope = (cc * (d - d.mean(0))).sum(0) / ((cc ** 2).sum(0) + self.ridge)
        self.slope_ = slope
        self.intercept_ = d.mean(0) - slope * cm.mean(0)
        return self

    def predict(self, ctrl) -> np.ndarray:
        x = expression_matrix(ctrl[:, self.genes])
        shift = self.intercept_ + self.slope_ * x.mean(0)
        return np.clip(x + shift, 0, None)


def _train_subset(adata, genes=None):
    a = adata if genes is None else adata[:, genes]
    a = a.copy()
    a.uns["genmed_source"] = adata.uns.get("genmed_source", "data")
    return a


@PERTURBATION_METHODS.register("scgen")
class ScGen:
    """Latent arithmetic on a Gaussian VAE trained without condition labels."""

    default_config = dict(likelihood="gauss", n_genes=None, n_latent=50, n_hidden=256, n_layers=2, dropout=0.2,
                          epochs=60, kl_weight=0.05, kl_warmup_epochs=10, patience=15, batch_size=64, lr=1e-3,
                          data_init=False)

    def __init__(self, model: LatentModel | None = None, **config):
        self.model = model
        self.config = {**self.default_config, **config}

    def fit(self, adata, spec: PerturbationSpec, seed: int = 0, threads: int = 1, **_):
        ct, cond = _groups(adata, spec)
        if self.model is None:
            self.model = fit_latent_model(_train_subset(adata), ModelConfig(**self.config, seed=seed, threads=threads))
        self.genes = list(self.model.genes)
        prep = self.model.prepare(adata)
        self.z_ = self.model.latent(prep)
        self.ct_, self.cond_ = ct, cond
        self.spec = spec
        self.delta_, self.cell_types_ = balanced_delta(self.z_, ct, cond, spec)
        return self

    def predict(self, ctrl, delta: np.ndarray | None = None, *, sample: bool = False, seed: int = 0) -> np.ndarray:
        prep = self.model.prepare(ctrl)
        z = self.model.latent(prep, sample=sample, seed=seed)
        d = self.delta_ if delta is None else delta
        return np.clip(self.model.decode_expression(z + d, prep.cov), 0, None)

    def reconstruct(self, ctrl, *, sample: bool = False, seed: int = 0) -> np.ndarray:
        prep = self.model.prepare(ctrl)
        return np.clip(self.model.decode_expression(self.model.latent(prep, sample=sample, seed=seed), prep.cov), 0, None)


@PERTURBATION_METHODS.register("cvae")
class ConditionalDecoder:
    """CPA-style: decoder conditioned on condition and cell type; swap the condition label at decoding."""

    default_config = dict(ScGen.default_config)

    def __init__(self, **config):
        self.config = {**self.default_config, **config}

    def fit(self, adata, spec: PerturbationSpec, seed: int = 0, threads: int = 1, **_):
        _groups(adata, spec)
        self.spec = spec
        cfg = ModelConfig(**self.config, covariates=[spec.condition_key, spec.cell_type_key], seed=seed, threads=threads)
        self.model = fit_latent_model(_train_subset(adata), cfg)
        self.genes = list(self.model.genes)
        return self

    def predict(self, ctrl) -> np.ndarray:
        prep = self.model.prepare(ctrl)
        z = self.model.latent(prep)
        obs = ctrl.obs.copy()
        obs[self.spec.condition_key] = self.spec.perturbation
        return np.clip(self.model.decode_expression(z, self.model.one_hot(obs)), 0, None)


# ------------------------------------------------------------------------------------------------ evaluation
def top_degs(stim: np.ndarray, ctrl: np.ndarray, genes: list[str], n: int = 100) -> list[str]:
    """Top-n genes up in ``stim`` vs ``ctrl`` by Wilcoxon z-score (scanpy's ``rank_genes_groups`` order, used by
    scGen's and CPA's evaluation)."""
    z, _ = wilcoxon(stim, ctrl)
    return [genes[i] for i in np.argsort(-z, kind="stable")[:n]]


def score_prediction(pred: np.ndarray, real_stim: np.ndarray, real_ctrl: np.ndarray, genes: list[str],
                     degs: list[str], pca=None) -> dict:
    """All the metrics of one held-out cell type."""
    gi = {g: i for i, g in enumerate(genes)}
    di = np.array([gi[g] for g in degs])
    pm, sm, cm = pred.mean(0), real_stim.mean(0), real_ctrl.mean(0)
    out = {
        "r2_pearson_all": r2_pearson(pm, sm), "r2_pearson_top100": r2_pearson(pm[di], sm[di]),
        "r2_sklearn_all": r2_sklearn(sm, pm), "r2_sklearn_top100": r2_sklearn(sm[di], pm[di]),
        "r2_lfc_all": r2_pearson(pm - cm, sm - cm), "r2_lfc_top100": r2_pearson(pm[di] - cm[di], sm[di] - cm[di]),
    }
    # predicted DEGs: the genes the prediction moves up most (a Wilcoxon test of smooth decoded means against
    # noisy real cells would rank sparsity, not response)
    shift = pm - cm
    pred_degs = [genes[i] for i in np.argsort(-shift, kind="stable")[:len(degs)]] if np.any(shift != 0) else []
    out["deg_overlap_top100"] = len(set(pred_degs) & set(degs)) / len(degs)
    if pca is not None:
        out["energy_distance"] = energy_distance(pca.transform(pred), pca.transform(real_stim))
    return out


BASELINES = ("no_change", "gene_shift", "linear")


def evaluate_perturbation(adata, spec: PerturbationSpec | None = None, *, methods: tuple[str, ...] = ("scgen",),
                          cell_types: list[str] | None = None, seed: int = 0, threads: int = 1, n_degs: int = 100,
                          method_config: dict | None = None, progress=None) -> dict:
    """Leave-one-cell-type-out: for each held-out type its perturbed cells are removed from training; each method
    predicts them from the type's control cells. Baselines are always evaluated on the same folds."""
    from sklearn.decomposition import PCA

    spec = spec or PerturbationSpec()
    ct, cond = _groups(adata, spec)
    types = cell_types or sorted(set(ct))
    genes = list(adata.var_names)
    x_all = expression_matrix(adata)
    folds = []
    for t in types:
        ctrl_m, stim_m = (ct == t) & (cond == spec.control), (ct == t) & (cond == spec.perturbation)
        if ctrl_m.sum() < MIN_CELLS or stim_m.sum() < MIN_CELLS:
            raise InputError(f"cell type {t!r} has {int(ctrl_m.sum())} control and {int(stim_m.sum())} perturbed "
                             f"cells; need >= {MIN_CELLS} of each to evaluate it")
        train = adata[~stim_m]
        ctrl = adata[ctrl_m]
        real_stim, real_ctrl = x_all[stim_m], x_all[ctrl_m]
        degs = top_degs(real_stim, real_ctrl, genes, n_degs)
        pca = PCA(n_components=min(50, real_stim.shape[0] + real_ctrl.shape[0] - 1), random_state=seed)
        pca.fit(np.vstack([real_stim, real_ctrl]))
        fold = {"cell_type": t, "n_control": int(ctrl_m.sum()), "n_perturbed": int(stim_m.sum()), "methods": {},
                "top_degs": degs[:20]}
        for name in (*methods, *BASELINES):
            t0 = time.perf_counter()
            cls = PERTURBATION_METHODS.get(name)
            m = cls(**(method_config or {}).get(name, {})) if name in ("scgen", "cvae") else cls()
            m.fit(train, spec, seed=seed, threads=threads)
            pred = m.predict(ctrl)
            if list(m.genes) != genes:
                raise InputError(f"method {name} predicted a different gene set")
            res = score_prediction(pred, real_stim, real_ctrl, genes, degs, pca)
            res["seconds"] = round(time.perf_counter() - t0, 1)
            if hasattr(m, "model") and getattr(m, "model", None) is not None:
                res["epochs"] = m.model.metrics.get("epochs_run")
                res["s_per_epoch"] = m.model.metrics.get("s_per_epoch")
            fold["methods"][name] = res
        folds.append(fold)
        if progress:
            progress(1, info=f"{t}: " + ", ".join(f"{k} {v['r2_pearson_all']:.3f}/{v['r2_pearson_top100']:.3f}"
                                                  for k, v in fold["methods"].items()))
    return {"spec": spec.__dict__, "methods": [*methods, *BASELINES], "folds": folds,
            "summary": summarise_folds(folds, [*methods, *BASELINES]), "n_genes": len(genes), "n_cells": adata.n_obs,
            "seed": seed}


def summarise_folds(folds: list[dict], methods: list[str]) -> dict:
    keys = ["r2_pearson_all", "r2_pearson_top100", "r2_sklearn_all", "r2_sklearn_top100", "r2_lfc_top100",
            "deg_overlap_top100", "energy_distance"]
    out: dict = {}

    def mean(vals: list[float]) -> float:  # no-change has no LFC, so its LFC R² is NaN in every fold
        vals = [v for v in vals if v == v]
        return float(np.mean(vals)) if vals else float("nan")

    for m in methods:
        out[m] = {k: mean([f["methods"][m].get(k, np.nan) for f in folds]) for k in keys}
    for m in methods:
        if m in BASELINES:
            continue
        for b in BASELINES:
            if b == "linear":
                continue
            wins = [f["cell_type"] for f in folds
                    if f["methods"][m]["r2_pearson_top100"] > f["methods"][b]["r2_pearson_top100"]]
            out[m][f"beats_{b}_top100_folds"] = len(wins)
            out[m][f"{b}_wins_all_genes"] = [f["cell_type"] for f in folds
                                             if f["methods"][b]["r2_pearson_all"] >= f["methods"][m]["r2_pearson_all"]]
    return out


# ------------------------------------------------------------------------------------------------ prediction
@dataclass
class CellTypeResponse:
    cell_type: str
    n_cells: int
    status: str  # "predicted" | "skipped"
    flags: list[str]
    lfc: pd.DataFrame | None = None  # gene, lfc_mean, lfc_lo90, lfc_hi90 (natural-log difference of log1p means)

    def as_dict(self, top: int = 20) -> dict:
        d = {"cell_type": self.cell_type, "n_cells": self.n_cells, "status": self.status, "flags": self.flags}
        if self.lfc is not None:
            d["top_up"] = self.lfc.nlargest(top, "lfc_mean").to_dict("records")
            d["top_down"] = self.lfc.nsmallest(top, "lfc_mean").to_dict("records")
        return d


@dataclass
class PerturbationPrediction:
    """Predicted perturbed state of the given control cells, per cell type, with intervals and flags."""

    statement: str
    method: str
    perturbation: str
    control: str
    cell_types: list[CellTypeResponse]
    predicted: object  # AnnData of predicted cells (log-normalised)
    flags: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)

    def as_dict(self, top: int = 20) -> dict:
        return {"statement": self.statement, "method": self.method, "perturbation": self.perturbation,
                "control": self.control, "flags": self.flags, "provenance": self.provenance,
                "cell_types": [c.as_dict(top) for c in self.cell_types]}


def load_reference(model: LatentModel):
    """Latent codes of the model's training cells with condition and cell type (for the perturbation delta)."""
    ref = read_reference(model)
    if ref is None or "condition" not in ref or "cell_type" not in ref:
        raise InputError("this model has no perturbation reference (latent codes of cells in both conditions)",
                         source=str(model.path),
                         hint="train it with `genmed omics train ... --condition-key condition --cell-type-key cell_type`")
    spec = PerturbationSpec(ref["condition_key"], ref["cell_type_key"], ref["control"] or "control")
    return ref["z"], ref["cell_type"], ref["condition"], spec


def predict_perturbation(model: LatentModel | str | Path, cells, perturbation: str, *, cell_type_key: str = "cell_type",
                         n_samples: int = 20, seed: int = 0, threads: int = 1,
                         interval_cells: int = 200) -> PerturbationPrediction:
    """scGen-style prediction for every cell type of ``cells`` (taken as control cells) with a 90% interval per gene
    from ``n_samples`` posterior draws of z and bootstrap resamples of the delta."""
    import anndata as ad
    import torch

    torch.set_num_threads(max(1, threads))
    if not isinstance(model, LatentModel):
        model = LatentModel.load(model)
    z_ref, ct_ref, cond_ref, ref_spec = load_reference(model)
    known = sorted(set(cond_ref) - {ref_spec.control})
    if perturbation not in known:
        raise InputError(f"unknown perturbation {perturbation!r}: the model never saw it",
                         hint=f"known perturbations: {', '.join(known) or 'none'}")
    source = str(cells.uns.get("genmed_source", "cells"))
    if cell_type_key not in cells.obs.columns:
        raise InputError(f"obs has no column {cell_type_key!r}", source=source,
                         hint=f"columns: {', '.join(map(str, cells.obs.columns[:12]))}")
    flags: list[str] = []
    if ref_spec.condition_key in cells.obs.columns:
        c = cells.obs[ref_spec.condition_key].astype(str)
        n_other = int((c != ref_spec.control).sum())
        if n_other:
            flags.append(f"{n_other} cells not labelled {ref_spec.control!r} were excluded (only control cells are "
                         "perturbed)")
            cells = cells[(c == ref_spec.control).to_numpy()]
    prep = model.prepare(cells, source)
    if prep.missing_genes:
        flags.append(f"{len(prep.missing_genes)} of {len(model.genes)} model genes absent from the cells (set to 0), "
                     f"e.g. {prep.missing_genes[:5]}")
    rspec = PerturbationSpec(ref_spec.condition_key, ref_spec.cell_type_key, ref_spec.control, perturbation)
    delta, used = balanced_delta(z_ref, ct_ref, cond_ref, rspec)
    rng = np.random.default_rng(seed)
    boot = [balanced_delta(z_ref, ct_ref, cond_ref, rspec, rng)[0] for _ in range(n_samples)]
    mu, sd = model.posterior(prep)
    ct = cells.obs[cell_type_key].astype(str).to_numpy()
    seen_perturbed = {t for t in set(ct_ref[cond_ref == perturbation])}
    seen = set(ct_ref)
    pred_all = np.zeros((cells.n_obs, len(model.genes)), np.float32)
    results = []
    gen = np.random.default_rng(seed + 1)
    for t in sorted(set(ct)):
        idx = np.where(ct == t)[0]
        tflags = []
        if len(idx) < MIN_CELLS:
            results.append(CellTypeResponse(t, len(idx), "skipped", [f"only {len(idx)} cells (< {MIN_CELLS}): "
                                                                     "too few for a population prediction"]))
            pred_all[idx] = np.nan
            continue
        if t not in seen:
            tflags.append("cell type never seen by the model: the response is the average response of other cell "
                          "types carried into this one's latent state (extrapolation)")
        elif t in seen_perturbed:
            tflags.append("the model was trained on perturbed cells of this type (in-distribution, not a held-out "
                          "prediction)")
        else:
            tflags.append("the model saw this cell type only as control (a held-out prediction, as validated)")
        z = mu[idx]
        cov = prep.cov[idx]
        pred_all[idx] = np.clip(model.decode_expression(z + delta, cov), 0, None)
        lfcs = []
        for s in range(n_samples):
            # interval draws use at most `interval_cells` cells per type (a random subset per draw) for speed
            sub = gen.choice(len(idx), min(len(idx), interval_cells), replace=False)
            zs = z[sub] + gen.standard_normal((len(sub), z.shape[1])).astype(np.float32) * sd[idx][sub]
            base = np.clip(model.decode_expression(zs, cov[sub]), 0, None).mean(0)
            pert = np.clip(model.decode_expression(zs + boot[s], cov[sub]), 0, None).mean(0)
            lfcs.append(pert - base)
        lfcs = np.array(lfcs)
        point = pred_all[idx].mean(0) - np.clip(model.decode_expression(z, cov), 0, None).mean(0)
        df = pd.DataFrame({"gene": model.genes, "lfc_mean": point, "lfc_lo90": np.quantile(lfcs, 0.05, 0),
                           "lfc_hi90": np.quantile(lfcs, 0.95, 0)})
        results.append(CellTypeResponse(t, len(idx), "predicted", tflags, df))
    keep = ~np.isnan(pred_all).any(1)
    predicted = ad.AnnData(X=pred_all[keep], obs=cells.obs.iloc[np.where(keep)[0]].copy(),
                           var=pd.DataFrame(index=model.genes))
    predicted.obs["genmed_prediction"] = f"predicted {perturbation}"
    statement = (f"Predicted {perturbation} state of these {int(keep.sum())} control cells (scGen-style latent "
                 f"arithmetic: each cell's latent code + the {perturbation}-minus-{ref_spec.control} shift averaged "
                 f"over {len(used)} training cell types, decoded); expression is log-normalised (log1p CP10k); "
                 "LFC = difference of mean log1p expression with a 90% interval from posterior and bootstrap draws. "
                 "Research use only.")
    prov = {**model.provenance, "model_path": str(model.path), "method": "scgen", "n_samples": n_samples,
            "seed": seed, "delta_cell_types": used, "validation": model.metrics.get("perturbation_validation")}
    return PerturbationPrediction(statement, "scgen", perturbation, ref_spec.control, results, predicted, flags, prov)
