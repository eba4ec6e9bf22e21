"""Semi-synthetic heterogeneity benchmark: real trial covariates, simulated outcomes with a known effect.

Real covariates keep the correlation structure and skew of a trial population; outcomes are drawn from a Weibull
proportional-hazards model whose treatment log-HR varies non-linearly with two covariates, so each patient's true
RMST gain is known exactly and the error of an estimated individual effect (PEHE, root mean squared error of the
RMST gain) can be measured. Our learners are compared in the same run, on the same splits, with EconML's
``CausalForestDML`` and CausalML's X-learner (benchmark-only dependencies, skipped with a note if absent).

Two settings: ``uncensored`` (min(T, tau) observed for everyone: a pure effect-estimation comparison, every
learner gets the same outcome) and ``censored`` (random censoring; our learners use IPCW weights, EconML gets the
same weights as ``sample_weight``, CausalML - which takes no weights - the IPCW-transformed outcome Y*w).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from genmed.clinical.models import make_model
from genmed.clinical.survival import Encoder, ipcw_rmst_outcome
from genmed.clinical.trials import TrialData, load_trial

OUR_LEARNERS = ["x-learner", "dr-learner", "cox-interaction", "t-cox", "rsf"]


@dataclass
class SemiSyntheticData:
    data: TrialData  # simulated arm/time/event on real covariates
    true_effect: np.ndarray  # RMST(1) - RMST(0) up to horizon, per patient
    horizon: float


def _true_rmst(lam: float, k: float, eta: np.ndarray, horizon: float, n_grid: int = 400) -> np.ndarray:
    t = np.linspace(0, horizon, n_grid + 1)
    S = np.exp(-((t[None, :] / lam) ** k) * np.exp(eta)[:, None])
    return np.trapezoid(S, t, axis=1)


def simulate(trial: str = "actg320", *, seed: int = 0, censored: bool = True) -> SemiSyntheticData:
    """Simulate outcomes on the trial's real covariates with a known heterogeneous treatment effect."""
    base = load_trial(trial)
    schema = base.schema
    rng = np.random.default_rng(seed)
    Z = Encoder.fit(base).transform(base.X)
    numeric = [i for i, c in enumerate(Encoder.fit(base).columns) if "=" not in c]
    za, zb = Z[:, numeric[0]], Z[:, numeric[1] if len(numeric) > 1 else numeric[0]]
    beta = rng.normal(0, 0.25, Z.shape[1])
    prognostic = Z @ beta
    log_hr = -0.5 + 0.6 * np.tanh(1.5 * za) - 0.5 * (zb > 0.3)  # benefit depends non-linearly on 2 covariates
    horizon = schema.default_horizon
    k = 1.3
    lam = horizon / (-np.log(0.55)) ** (1 / k)  # ~45% events by the horizon for an average control patient
    arm = rng.binomial(1, 0.5, len(Z))
    eta = prognostic + arm * log_hr
    T = lam * (-np.log(rng.uniform(size=len(Z))) / np.exp(eta)) ** (1 / k)
    admin = 1.25 * horizon
    C = rng.uniform(0.3 * horizon, 2.0 * horizon, len(Z)) if censored else np.full(len(Z), np.inf)
    C = np.minimum(C, admin)
    time_ = np.minimum(T, C)
    event = T <= C
    true = _true_rmst(lam, k, prognostic + log_hr, horizon) - _true_rmst(lam, k, prognostic, horizon)
    data = TrialData(schema, base.X.copy(), arm.astype(int), time_, event)
    return SemiSyntheticData(data, true, horizon)


def _econml_cf(Ztr, arm, y, w, Zte, seed):
    from econml.dml import CausalForestDML
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression

    m = w > 0
    est = CausalForestDML(model_y=GradientBoostingRegressor(max_depth=2, n_estimators=150, learning_rate=0.05),
                          model_t=LogisticRegression(max_iter=1000), discrete_treatment=True, n_estimators=400,
                          min_samples_leaf=10, random_state=seed, cv=2, n_jobs=1)
    est.fit(y[m], arm[m], X=Ztr[m], sample_weight=w[m])
    return est.effect(Zte)


def _causalml_x(Ztr, arm, y, w, Zte, seed, censored):
    from causalml.inference.meta import BaseXRegressor
    from sklearn.ensemble import GradientBoostingRegressor

    target = y * w if censored else y  # no sample-weight argument: IPCW-transformed outcome (unbiased, noisier)
    est = BaseXRegressor(learner=GradientBoostingRegressor(max_depth=2, n_estimators=150, learning_rate=0.05,
                                                           random_state=seed))
    p = np.full(len(Ztr), arm.mean())
    est.fit(Ztr, arm, target, p=p)
    return np.asarray(est.predict(Zte, p=np.full(len(Zte), arm.mean()), verbose=False)).ravel()


def run_pehe(trial: str = "actg320", *, seeds: tuple[int, ...] = (0, 1, 2), censored: bool = True,
             learners: list[str] | None = None, baselines: bool = True, test_size: float = 0.3) -> dict[str, Any]:
    """PEHE (RMST days) of each learner on ``len(seeds)`` simulations x train/test splits; mean and sd."""
    from sklearn.model_selection import train_test_split

    learners = learners or OUR_LEARNERS
    scores: dict[str, list[float]] = {}
    ate_err: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    notes: list[str] = []

    def record(name, est, truth, dt):
        scores.setdefault(name, []).append(float(np.sqrt(np.mean((est - truth) ** 2))))
        ate_err.setdefault(name, []).append(float(abs(est.mean() - truth.mean())))
        seconds[name] = seconds.get(name, 0.0) + dt

    for seed in seeds:
        sim = simulate(trial, seed=seed, censored=censored)
        d = sim.data
        tr, te = train_test_split(np.arange(len(d)), test_size=test_size, random_state=seed, stratify=d.arm)
        dtr, dte = d.subset(tr), d.subset(te)
        truth = sim.true_effect[te]
        for name in learners:
            t0 = time.perf_counter()
            m = make_model(name, seed=seed).fit(dtr)
            est = m.predict_effect(dte.X, 1, 0, sim.horizon)
            record(name, est, truth, time.perf_counter() - t0)
        record("zero effect (reference)", np.zeros(len(te)), truth, 0.0)
        record("constant true ATE (oracle reference)", np.full(len(te), sim.true_effect[tr].mean()), truth, 0.0)
        if baselines:
            enc = Encoder.fit(dtr)
            Ztr, Zte = enc.transform(dtr.X), enc.transform(dte.X)
            y, w = ipcw_rmst_outcome(dtr.time, dtr.event, sim.horizon)
            for label, fn, extra in (("EconML CausalForestDML", _econml_cf, ()),
                                     ("CausalML X-learner", _causalml_x, (censored,))):
                t0 = time.perf_counter()
                try:
                    est = fn(Ztr, dtr.arm, y, w, Zte, seed, *extra)
                except ImportError as exc:
                    if label not in " ".join(notes):
                        notes.append(f"{label} skipped: {exc} (pip install genmed[clinical-bench])")
                    continue
                record(label, np.asarray(est, float).ravel(), truth, time.perf_counter() - t0)
    rows = [{"learner": k, "pehe": float(np.mean(v)), "pehe_sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
             "ate_abs_error": float(np.mean(ate_err[k])), "seconds": round(seconds[k], 2), "ours": k in learners}
            for k, v in scores.items()]
    rows.sort(key=lambda r: r["pehe"])
    return {"trial": trial, "censored": censored, "seeds": list(seeds), "horizon": float(sim.horizon),
            "rows": rows, "notes": notes}
