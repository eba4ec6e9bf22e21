"""Bootstrap ensembles: the uncertainty behind a digital twin.

:class:`CoxEnsemble` is the shipped default: B ridge Cox models with treatment interactions, each fitted on a
bootstrap resample of the trial, stored as plain arrays (coefficients + baseline cumulative hazard on a grid) in
``weights/<trial>.npz`` + ``.json``. Loading and predicting need only NumPy (no pickles, no version lock) and take
milliseconds. :class:`ModelEnsemble` wraps any registered model the same way (pickled with joblib) for users who
train another model with ``genmed response train --model rsf --bootstrap 20``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from genmed.clinical.models import CoxInteraction, _arm_design, fit_cox, make_model
from genmed.clinical.survival import Encoder, time_grid
from genmed.clinical.trials import TrialData, load_trial, trial_schema
from genmed.core.errors import InputError, ModelNotFoundError

WEIGHTS_DIR = Path(__file__).parent / "weights"
FORMAT_VERSION = 1


@dataclass
class CoxEnsemble:
    """Point model + bootstrap replicates of a ridge Cox PH with treatment x covariate interactions."""

    trial: str
    encoder: Encoder
    times: np.ndarray
    coef: np.ndarray  # (p,) full-data fit
    cumhaz: np.ndarray  # (T,)
    boot_coef: np.ndarray  # (B, p)
    boot_cumhaz: np.ndarray  # (B, T)
    n_arms: int
    meta: dict[str, Any] = field(default_factory=dict)

    model_name = "cox-interaction"

    @property
    def n_bootstrap(self) -> int:
        return len(self.boot_coef)

    def design(self, Z: np.ndarray, arm: int) -> np.ndarray:
        return _arm_design(Z, np.full(len(Z), arm), self.n_arms, True)

    def survival(self, X: Any, arm: int) -> tuple[np.ndarray, np.ndarray]:
        """(point (n, T), bootstrap (B, n, T)) survival under ``arm``."""
        D = self.design(self.encoder.transform(X), arm)
        point = np.exp(-np.exp(D @ self.coef)[:, None] * self.cumhaz[None, :])
        lp = np.clip(D @ self.boot_coef.T, -30, 30)  # (n, B)
        boot = np.exp(-np.exp(lp.T)[:, :, None] * self.boot_cumhaz[:, None, :])
        return point, boot

    def log_hr_terms(self, X: Any, arm_a: int, arm_b: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-design-column terms of log HR(arm_a vs arm_b): (point (n, p), bootstrap (B, n, p))."""
        Z = self.encoder.transform(X)
        Da, Db = self.design(Z, arm_a), self.design(Z, arm_b)
        diff = Da - Db
        return diff * self.coef[None, :], diff[None, :, :] * self.boot_coef[:, None, :]

    def save(self, path: Path) -> tuple[Path, Path]:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        npz = path.with_suffix(".npz")
        tmp = npz.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, times=self.times, coef=self.coef, cumhaz=self.cumhaz,
                            boot_coef=self.boot_coef.astype(np.float32), boot_cumhaz=self.boot_cumhaz.astype(np.float32))
        tmp.replace(npz)
        meta = {**self.meta, "format_version": FORMAT_VERSION, "trial": self.trial, "model": self.model_name,
                "n_arms": self.n_arms, "encoder": self.encoder.to_dict(),
                "weights_sha256": hashlib.sha256(npz.read_bytes()).hexdigest()}
        js = path.with_suffix(".json")
        js.write_text(json.dumps(meta, indent=2, default=str))
        return npz, js

    @classmethod
    def load(cls, path: Path) -> CoxEnsemble:
        path = Path(path)
        npz, js = path.with_suffix(".npz"), path.with_suffix(".json")
        if not npz.exists() or not js.exists():
            raise ModelNotFoundError(f"no twin model at {npz}",
                                     hint="train one with `genmed response train --dataset NAME --ship`")
        try:
            meta = json.loads(js.read_text())
            arrays = np.load(npz)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"unreadable twin model {npz}: {exc}") from exc
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelNotFoundError(f"twin model {npz} has format {meta.get('format_version')}, "
                                     f"this genmed reads {FORMAT_VERSION}", hint="retrain it")
        return cls(meta["trial"], Encoder.from_dict(meta["encoder"]), arrays["times"], arrays["coef"],
                   arrays["cumhaz"], arrays["boot_coef"].astype(float), arrays["boot_cumhaz"].astype(float),
                   int(meta["n_arms"]), meta)


@dataclass
class ModelEnsemble:
    """Any registered model + bootstrap replicates (pickled). Slower than :class:`CoxEnsemble`; same interface."""

    trial: str
    model_name: str
    point: Any
    replicates: list[Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def times(self) -> np.ndarray:
        return self.point.times_

    @property
    def n_bootstrap(self) -> int:
        return len(self.replicates)

    @property
    def encoder(self) -> Encoder:
        return self.point.encoder_

    def survival(self, X: Any, arm: int) -> tuple[np.ndarray, np.ndarray]:
        point = self.point.predict_survival(X, arm)
        boot = np.stack([m.predict_survival(X, arm) for m in self.replicates])
        return point, boot

    def save(self, path: Path) -> Path:
        import joblib

        path = Path(path).with_suffix(".joblib")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        joblib.dump(self, tmp, compress=3)
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps({**self.meta, "trial": self.trial, "model": self.model_name},
                                                        indent=2, default=str))
        return path


def _bootstrap_indices(data: TrialData, rng: np.random.Generator) -> np.ndarray:
    """Resample within arms, so every replicate keeps the trial's allocation."""
    parts = [rng.choice(np.flatnonzero(data.arm == k), size=int((data.arm == k).sum()), replace=True)
             for k in range(len(data.schema.arms))]
    return np.concatenate(parts)


def train_cox_ensemble(trial: str, *, n_bootstrap: int = 200, seed: int = 0, alpha: float = 0.1,
                       alpha_interaction: float | None = None, cv_folds: int = 5, progress=None) -> CoxEnsemble:
    """Fit the digital-twin model of a trial: choose the interaction penalty by cross-validated C-index, fit it on
    all patients, then on ``n_bootstrap`` within-arm bootstrap resamples. Records CV metrics in ``meta``."""
    from genmed.clinical.evaluation import cross_validate
    from genmed.core.provenance import package_versions

    t0 = time.perf_counter()
    data = load_trial(trial)
    schema = data.schema
    selection = {}
    if alpha_interaction is None:
        for a in (1.0, 10.0, 100.0):
            cv = cross_validate(data, "cox-interaction", folds=cv_folds, seed=seed,
                                params={"alpha": alpha, "alpha_interaction": a})
            selection[str(a)] = cv.summary()
        # one-standard-error rule: the strongest penalty whose CV C-index is within 1 SE of the best (stabler
        # individual effects when the data cannot tell the penalties apart)
        best = max(selection.values(), key=lambda r: r["c_index"])
        se = best["c_index_sd"] / np.sqrt(cv_folds)
        alpha_interaction = max(float(k) for k, r in selection.items() if r["c_index"] >= best["c_index"] - se)
    cv = cross_validate(data, "cox-interaction", folds=cv_folds, seed=seed,
                        params={"alpha": alpha, "alpha_interaction": alpha_interaction})
    base = CoxInteraction(alpha=alpha, alpha_interaction=alpha_interaction)
    encoder = Encoder.fit(data)
    grid = time_grid(schema, data.time)
    penalty = base.penalty(len(encoder.columns), len(schema.arms))
    Z = encoder.transform(data.X)
    coef, H0 = fit_cox(Z, data.arm, data.time, data.event, len(schema.arms), True, penalty, grid)
    rng = np.random.default_rng(seed)
    bc, bh = [], []
    for b in range(n_bootstrap):
        idx = _bootstrap_indices(data, rng)
        c, h = fit_cox(Z[idx], data.arm[idx], data.time[idx], data.event[idx], len(schema.arms), True, penalty, grid)
        bc.append(c)
        bh.append(h)
        if progress:
            progress(b + 1)
    meta = {
        "model_version": f"{trial}-cox-interaction-v{FORMAT_VERSION}",
        "training_data": f"{schema.title}; scikit-survival {schema.loader}() ({len(data)} patients, "
                         f"{int(data.event.sum())} events)",
        "n_train": len(data), "n_events": int(data.event.sum()), "seed": seed, "n_bootstrap": n_bootstrap,
        "alpha": alpha, "alpha_interaction": alpha_interaction, "penalty_selection_cv": selection,
        "cv": cv.summary(), "horizon": schema.default_horizon, "time_unit": schema.time_unit,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "versions": package_versions(),
        "train_seconds": round(time.perf_counter() - t0, 2),
        # trial-population reference for explanations: mean encoded covariates
        "reference_z": Z.mean(axis=0).tolist(),
    }
    return CoxEnsemble(schema.name, encoder, grid, coef, H0, np.array(bc), np.array(bh), len(schema.arms), meta)


def train_model_ensemble(trial: str, model: str, *, n_bootstrap: int = 20, seed: int = 0, progress=None,
                         **params: Any) -> ModelEnsemble:
    """Bootstrap ensemble of any registered model (for twins from forests/boosting; slower)."""
    from genmed.clinical.evaluation import cross_validate

    data = load_trial(trial)
    point = make_model(model, seed=seed, **params).fit(data)
    rng = np.random.default_rng(seed)
    reps = []
    for b in range(n_bootstrap):
        reps.append(make_model(model, seed=seed + b + 1, **params).fit(data.subset(_bootstrap_indices(data, rng))))
        if progress:
            progress(b + 1)
    cv = cross_validate(data, model, folds=5, seed=seed, params=params)
    meta = {"model_version": f"{trial}-{model}", "n_train": len(data), "n_bootstrap": n_bootstrap, "seed": seed,
            "training_data": f"{data.schema.title}; scikit-survival {data.schema.loader}()", "cv": cv.summary(),
            "params": params}
    return ModelEnsemble(data.schema.name, model, point, reps, meta)


@lru_cache(maxsize=8)
def shipped_ensemble(trial: str) -> CoxEnsemble:
    """The twin model shipped in the package for ``trial`` (loaded once per process)."""
    name = trial_schema(trial).name
    return CoxEnsemble.load(WEIGHTS_DIR / name)


def load_ensemble(path: str | Path) -> CoxEnsemble | ModelEnsemble:
    """Load a trained twin model from a directory or file written by ``genmed response train``."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.npz")) or sorted(path.glob("*.joblib"))
        if not found:
            raise ModelNotFoundError(f"no model in {path}", hint="expected <trial>.npz/.json or <trial>.joblib")
        path = found[0]
    if path.suffix == ".joblib":
        import joblib

        if not path.exists():
            raise ModelNotFoundError(f"no model at {path}")
        obj = joblib.load(path)
        if not isinstance(obj, ModelEnsemble):
            raise InputError(f"{path} is not a genmed response model")
        return obj
    return CoxEnsemble.load(path.with_suffix(""))
