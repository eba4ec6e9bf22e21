"""Genomic risk from bulk tumour expression: penalised Cox models, cross-validated against a clinical-only Cox.

Data come from installed wheels (no copy): scikit-survival's GSE7390 (``load_breast_cancer``) and, with the
optional ``SurvSet`` package, ``nki70``, ``gse4335``, ``gse1992``, ``DLBCL``, ``chop``. Models:

- ``clinical``: Cox on the clinical columns only (ridge-stabilised);
- ``expression``: elastic-net Cox on the genes;
- ``clinical+expression``: elastic-net Cox on genes with the clinical columns unpenalised;
- ``pca-cox``: Cox on the first 10 principal components of the genes (a linear latent representation);
- ``clinical+pca``: Cox on the clinical columns and those 10 components (cross-validation only).

A saved model is plain JSON (coefficients, feature scaling, the training cohort's risk distribution and
bootstrap refits for intervals): no pickle, readable anywhere. Predictions flag missing genes, values outside the
training range and profiles that look like another platform, and refuse what cannot be scored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genmed.core.errors import DataNotFoundError, InputError, ModelNotFoundError

RISK_DATASETS = ("gse7390", "nki70", "gse4335", "gse1992", "DLBCL", "chop")
RISK_VERSION = "genmed-omics-risk-1"


@dataclass
class RiskData:
    name: str
    expression: pd.DataFrame  # patients x genes
    clinical: pd.DataFrame  # patients x encoded clinical columns (may have 0 columns)
    time: np.ndarray
    event: np.ndarray
    source: str
    platform: str


def load_risk_dataset(name: str, max_genes: int = 1000) -> RiskData:
    """A bulk expression + outcome data set; very wide sets keep the ``max_genes`` most variable genes."""
    if name.lower() == "gse7390":
        from sksurv.datasets import load_breast_cancer

        X, y = load_breast_cancer()
        genes = [c for c in X.columns if c not in ("age", "er", "grade", "size")]
        clin = pd.DataFrame({
            "age": X["age"].astype(float), "size": X["size"].astype(float),
            "er_positive": (X["er"].astype(str) == "positive").astype(float),
            "grade": X["grade"].astype(str).map({"well differentiated": 1, "intermediate": 2,
                                                 "poorly differentiated": 3, "unkown": np.nan}).astype(float),
        })
        clin["grade"] = clin["grade"].fillna(clin["grade"].median())
        return RiskData("gse7390", X[genes].astype(float), clin, y["t.tdm"].astype(float), y["e.tdm"].astype(bool),
                        "scikit-survival load_breast_cancer (GEO GSE7390, Desmedt 2007)", "Affymetrix HG-U133A (MAS5 log2)")
    if name not in RISK_DATASETS:
        raise InputError(f"unknown risk data set {name!r}", hint=f"known: {', '.join(RISK_DATASETS)}")
    try:
        from SurvSet.data import SurvLoader
    except ImportError:
        raise DataNotFoundError(f"data set {name} needs the optional package SurvSet",
                                hint="pip install SurvSet (the `omics` extra)") from None
    df = SurvLoader().load_dataset(name)["df"]
    num = [c for c in df.columns if c.startswith("num_")]
    fac = [c for c in df.columns if c.startswith("fac_")]
    clin_num = [c for c in num if c.lower() in ("num_age",)]
    genes = [c for c in num if c not in clin_num]
    expr = df[genes].astype(float)
    expr.columns = [c.removeprefix("num_") for c in genes]
    expr = expr.fillna(expr.mean())
    if expr.shape[1] > max_genes:
        expr = expr[expr.var().sort_values(ascending=False).index[:max_genes]]
    clin = pd.get_dummies(df[fac].astype(str), drop_first=True, dtype=float) if fac else pd.DataFrame(index=df.index)
    for c in clin_num:
        clin[c.removeprefix("num_").lower()] = df[c].astype(float).fillna(df[c].median())
    return RiskData(name, expr.reset_index(drop=True), clin.reset_index(drop=True), df["time"].to_numpy(float),
                    df["event"].to_numpy().astype(bool), f"SurvSet {name}", f"SurvSet {name} (as distributed)")


def _surv(time_, event):
    from sksurv.util import Surv

    return Surv.from_arrays(event=event, time=time_)


@dataclass
class LinearCox:
    """A fitted linear Cox risk score on standardised features."""

    features: list[str]
    mean: np.ndarray
    sd: np.ndarray
    coef: np.ndarray

    def score(self, X: pd.DataFrame) -> np.ndarray:
        z = (X[self.features].to_numpy(float) - self.mean) / self.sd
        return z @ self.coef


L1_RATIOS = (0.01, 0.1, 0.5)  # ridge-like to lasso-like; chosen per training fold by inner CV
ALPHAS = np.geomspace(1.0, 0.005, 20)


def _fit(kind: str, X: pd.DataFrame, clin_cols: list[str], time_, event, alpha: float | None = None,
         l1_ratio: float | None = None, seed: int = 0) -> tuple[LinearCox, dict | None]:
    """Fit one model on standardised features (mean/sd of ``X`` only, i.e. of the training fold). Elastic-net
    models take ``alpha``/``l1_ratio`` when given, else choose both by inner cross-validation on ``X``."""
    from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis

    mean = X.mean().to_numpy()
    sd = X.std().replace(0, 1).fillna(1).to_numpy()
    Z = (X.to_numpy(float) - mean) / sd
    y = _surv(time_, event)
    if kind == "clinical":
        m = CoxPHSurvivalAnalysis(alpha=0.1).fit(Z, y)
        return LinearCox(list(X.columns), mean, sd, np.asarray(m.coef_).ravel()), None
    pf = np.array([0.0 if c in clin_cols else 1.0 for c in X.columns])  # clinical columns unpenalised
    if alpha is None or l1_ratio is None:
        alpha, l1_ratio = _choose_penalty(Z, y, pf, seed=seed)
    # a warm-started path down to alpha (a single small alpha alone can diverge)
    alphas = np.geomspace(alpha * 50, alpha, 15)
    m = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, alphas=alphas, penalty_factor=pf, max_iter=100000)
    m.fit(Z, y)
    return LinearCox(list(X.columns), mean, sd, np.asarray(m.coef_)[:, -1]), {"alpha": alpha, "l1_ratio": l1_ratio}


def _choose_penalty(Z, y, pf, folds: int = 5, repeats: int = 3, seed: int = 0,
                    l1_ratios: tuple[float, ...] = L1_RATIOS, alphas: np.ndarray = ALPHAS) -> tuple[float, float]:
    """Inner cross-validation (``repeats`` x ``folds``, on the training data only) over elastic-net paths for each
    ``l1_ratio``: the (alpha, l1_ratio) with the best pooled out-of-fold C-index, averaged over the repeats and
    smoothed over neighbouring alphas (a single noisy peak of a 150-patient inner CV is not a choice)."""
    import warnings

    from sklearn.model_selection import StratifiedKFold
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.metrics import concordance_index_censored

    c = np.zeros((len(l1_ratios), len(alphas)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(repeats):
            for li, l1 in enumerate(l1_ratios):
                scores = np.zeros((len(Z), len(alphas)))
                for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed + r).split(Z, y["event"]):
                    m = CoxnetSurvivalAnalysis(l1_ratio=l1, alphas=alphas, penalty_factor=pf,
                                               max_iter=100000).fit(Z[tr], y[tr])
                    for i, a in enumerate(alphas):
                        scores[te, i] = m.predict(Z[te], alpha=a)
                c[li] += [concordance_index_censored(y["event"], y["time"], scores[:, i])[0]
                          for i in range(len(alphas))]
    c /= repeats
    smooth = np.stack([np.convolve(np.pad(row, 1, mode="edge"), np.ones(3) / 3, mode="valid") for row in c])
    li, ai = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    return float(alphas[ai]), float(l1_ratios[li])


MODELS = ("clinical", "expression", "clinical+expression", "pca-cox", "clinical+pca")


def _design(data: RiskData, kind: str) -> tuple[pd.DataFrame, list[str]]:
    clin = list(data.clinical.columns)
    if kind == "clinical":
        return data.clinical, clin
    if kind == "expression":
        return data.expression, []
    if kind == "clinical+expression":
        return pd.concat([data.clinical, data.expression], axis=1), clin
    raise InputError(f"unknown risk model {kind!r}", hint=f"known: {', '.join(MODELS)}")


def cross_validate(data: RiskData, *, models: tuple[str, ...] = MODELS, folds: int = 5, seeds: int = 5) -> dict:
    """5-fold cross-validated Harrell C-index per model, repeated over ``seeds`` fold assignments."""
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold
    from sksurv.metrics import concordance_index_censored

    if data.clinical.shape[1] == 0:
        models = tuple(m for m in models if "clinical" not in m)
    out: dict = {m: [] for m in models}
    for s in range(seeds):
        scores = {m: np.zeros(len(data.time)) for m in models}
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=s).split(data.expression, data.event):
            for m in models:
                if m in ("pca-cox", "clinical+pca"):
                    pca = PCA(10, random_state=s).fit(data.expression.iloc[tr])
                    cols = [f"PC{i + 1}" for i in range(10)]
                    Xtr = pd.DataFrame(pca.transform(data.expression.iloc[tr]), columns=cols)
                    Xte = pd.DataFrame(pca.transform(data.expression.iloc[te]), columns=cols)
                    if m == "clinical+pca":
                        Xtr = pd.concat([data.clinical.iloc[tr].reset_index(drop=True), Xtr], axis=1)
                        Xte = pd.concat([data.clinical.iloc[te].reset_index(drop=True), Xte], axis=1)
                    model, _ = _fit("clinical", Xtr, [], data.time[tr], data.event[tr])
                else:
                    X, clin = _design(data, m)
                    model, _ = _fit(m, X.iloc[tr], clin, data.time[tr], data.event[tr], seed=s)
                    Xte = X.iloc[te]
                scores[m][te] = model.score(Xte)
        for m in models:
            # pooled out-of-fold C-index per repetition
            out[m].append(float(concordance_index_censored(data.event, data.time, scores[m])[0]))
    return {"dataset": data.name, "n_patients": int(len(data.time)), "n_events": int(data.event.sum()),
            "n_genes": int(data.expression.shape[1]), "clinical_columns": list(data.clinical.columns),
            "folds": folds, "seeds": seeds,
            "c_index": {m: {"mean": float(np.mean(v)), "sd": float(np.std(v)), "per_seed": v} for m, v in out.items()}}


@dataclass
class RiskPrediction:
    risk_score: float
    percentile: float  # in the training cohort
    percentile_lo90: float
    percentile_hi90: float
    risk_group: str  # "high" / "low" (above/below the training median) / "indeterminate"
    model: str
    drivers: list[dict]
    flags: list[str]
    provenance: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def train_risk_model(name: str, out: str | Path, *, kind: str = "clinical+expression", n_boot: int = 50,
                     seed: int = 0, cv_seeds: int = 5) -> dict:
    """Fit the final model on the whole data set, with its cross-validated C-index and bootstrap refits."""
    data = load_risk_dataset(name)
    if "clinical" in kind and data.clinical.shape[1] == 0:
        kind = "expression"
    cv = cross_validate(data, models=tuple(dict.fromkeys(("clinical", "expression", kind))), seeds=cv_seeds)
    X, clin = _design(data, kind)
    model, pen = _fit(kind, X, clin, data.time, data.event, seed=seed)
    expr_model, expr_pen = _fit("expression", data.expression, [], data.time, data.event, seed=seed)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(data.time), len(data.time))
        b, _ = _fit(kind, X.iloc[idx].reset_index(drop=True), clin, data.time[idx], data.event[idx],
                    **(pen or {}))
        boots.append({"coef": b.coef.tolist(), "mean": b.mean.tolist(), "sd": b.sd.tolist(),
                      "train_scores": np.sort(b.score(X)).round(5).tolist()})
    train_scores = model.score(X)
    doc = {
        "version": RISK_VERSION, "dataset": data.name, "source": data.source, "platform": data.platform, "kind": kind,
        "features": model.features, "clinical_features": clin, "mean": model.mean.tolist(), "sd": model.sd.tolist(),
        "coef": model.coef.tolist(), "penalty": pen, "bootstrap_coef": boots,
        "train_scores": np.sort(train_scores).tolist(),
        "expression_only": {"features": expr_model.features, "mean": expr_model.mean.tolist(),
                            "sd": expr_model.sd.tolist(), "coef": expr_model.coef.tolist(), "penalty": expr_pen,
                            "train_scores": np.sort(expr_model.score(data.expression)).tolist()},
        "gene_range": {"min": data.expression.min().tolist(), "max": data.expression.max().tolist(),
                       "median": float(np.median(data.expression.to_numpy()))},
        "cv": cv, "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seed": seed,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "risk_model.json.tmp"
    tmp.write_text(json.dumps(doc))
    tmp.replace(out / "risk_model.json")
    return doc


def read_patient_expression(path: str | Path) -> pd.Series:
    """A patient's bulk profile: a CSV/TSV of ``gene,value`` rows, or one row with genes as columns."""
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError("file is empty", source=str(path))
    sep = "\t" if path.suffix in (".tsv", ".txt") else ","
    try:
        df = pd.read_csv(path, sep=sep)
    except Exception as exc:
        raise InputError(f"unreadable table ({type(exc).__name__})", source=str(path)) from None
    long_header = [str(c).lower() for c in df.columns] == ["gene", "value"]
    if df.shape[1] == 2 and (df.shape[0] > 1 or long_header):
        s = pd.Series(pd.to_numeric(df.iloc[:, 1], errors="coerce").to_numpy(), index=df.iloc[:, 0].astype(str))
    elif df.shape[0] == 1:
        s = df.iloc[0]
        s = pd.Series(pd.to_numeric(s, errors="coerce").to_numpy(), index=df.columns.astype(str))
    else:
        raise InputError(f"expected `gene,value` rows or a single row of genes; got {df.shape[0]} rows x "
                         f"{df.shape[1]} columns", source=str(path))
    return s


def genomic_risk(model_dir: str | Path, profile: pd.Series, *, top: int = 10, source: str = "profile") -> RiskPrediction:
    """Risk of one patient from a saved model; clinical values (age, size, er_positive, grade) may sit in the
    profile. Missing clinical values fall back to the expression-only model (flagged)."""
    path = Path(model_dir) / "risk_model.json"
    if not path.exists():
        raise ModelNotFoundError(f"no risk model at {model_dir}", hint="train one with `genmed omics risk train`")
    doc = json.loads(path.read_text())
    flags: list[str] = []
    profile = profile.copy()
    profile.index = profile.index.astype(str)
    nan_vals = profile[profile.isna()].index.tolist()
    if nan_vals:
        flags.append(f"{len(nan_vals)} non-numeric/NaN values ignored, e.g. {nan_vals[:3]}")
        profile = profile.dropna()
    kind, block = doc["kind"], doc
    clin = doc["clinical_features"]
    missing_clin = [c for c in clin if c not in profile.index]
    if missing_clin:
        flags.append(f"clinical values {missing_clin} missing: scored with the expression-only model")
        kind, block = "expression", doc["expression_only"]
    feats = block["features"]
    genes = [f for f in doc["expression_only"]["features"]]
    present = [g for g in genes if g in profile.index]
    if len(present) < 0.5 * len(genes):
        missing = [g for g in genes if g not in profile.index]
        raise InputError(f"only {len(present)} of the model's {len(genes)} genes are in the profile (< 50%); "
                         f"missing e.g. {missing[:6]}", source=source,
                         hint=f"the model was trained on {doc['platform']} features; give the same identifiers")
    if len(present) < len(genes):
        flags.append(f"{len(genes) - len(present)} of {len(genes)} genes missing: set to the training mean")
    mean = dict(zip(feats, block["mean"], strict=True))
    x = pd.Series({f: float(profile[f]) if f in profile.index else mean[f] for f in feats})
    # platform / scale check on the genes
    gmin = dict(zip(genes, doc["gene_range"]["min"], strict=True))
    gmax = dict(zip(genes, doc["gene_range"]["max"], strict=True))
    vals = np.array([profile[g] for g in present], float)
    outside = np.mean([(profile[g] < gmin[g]) or (profile[g] > gmax[g]) for g in present])
    med_shift = abs(float(np.median(vals)) - doc["gene_range"]["median"])
    spread = np.median([gmax[g] - gmin[g] for g in genes]) or 1.0
    if outside > 0.5 or med_shift > spread:
        raise InputError(f"the profile does not look like {doc['platform']} data: {outside:.0%} of genes outside the "
                         f"training range, median {np.median(vals):.2f} vs {doc['gene_range']['median']:.2f}",
                         source=source, hint="another platform or normalisation; re-normalise to the training scale")
    if outside > 0.1:
        flags.append(f"{outside:.0%} of genes outside the training range: extrapolation, interpret with care")
    z = (x[feats].to_numpy() - np.array(block["mean"])) / np.array(block["sd"])
    coef = np.array(block["coef"])
    score = float(z @ coef)
    train = np.array(block["train_scores"])
    pct = float(np.searchsorted(train, score) / len(train) * 100)
    if kind == doc["kind"]:
        # percentile of the patient under each bootstrap refit, within that refit's scores of the cohort
        xv = x[feats].to_numpy()
        pcts = []
        for b in doc["bootstrap_coef"]:
            sb = float(((xv - np.array(b["mean"])) / np.array(b["sd"])) @ np.array(b["coef"]))
            ts = np.array(b["train_scores"])
            pcts.append(np.searchsorted(ts, sb) / len(ts) * 100)
        plo, phi = (float(v) for v in np.quantile(pcts, [0.05, 0.95]))
        # refits on resampled cohorts (duplicated patients) spread scores more than the full-data fit, so near the
        # tails all refits can place the patient beyond the point estimate; keep the interval conservative and
        # coherent by extending it to include the point estimate
        plo, phi = min(plo, pct), max(phi, pct)
    else:
        plo, phi = float("nan"), float("nan")
        flags.append("no bootstrap interval for the fallback model")
    # the interval straddling the cohort median means the model cannot place the patient: say so
    straddles = plo == plo and plo < 50 < phi
    group = "indeterminate" if straddles else ("high" if pct >= 50 else "low")
    contrib = pd.Series(z * coef, index=feats)
    contrib = contrib[contrib != 0]
    order = contrib.abs().sort_values(ascending=False).index[:top]
    drivers = [{"feature": f, "contribution": float(contrib[f]), "direction": "up" if contrib[f] > 0 else "down",
                "value": float(x[f])} for f in order]
    cv = doc["cv"]["c_index"].get(kind, {})
    prov = {"model": RISK_VERSION, "kind": kind, "dataset": doc["dataset"], "source": doc["source"],
            "platform": doc["platform"], "cv_c_index": cv.get("mean"), "cv_c_index_sd": cv.get("sd"),
            "model_path": str(model_dir), "note": "research use only"}
    return RiskPrediction(score, pct, plo, phi, group, kind, drivers, flags, prov)
