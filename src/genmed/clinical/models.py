"""Treatment-response models behind one registry and one contract.

Every model is fitted on a :class:`~genmed.clinical.trials.TrialData` and answers, for covariate rows ``X`` and an
arm: ``predict_survival`` (curves on ``times_``), ``predict_rmst`` and ``predict_effect`` (RMST of arm a minus arm
b up to a horizon). Survival models (Cox, forests, boosting) derive the effect from their curves; effect learners
(X-, DR-learner) estimate the RMST difference directly from IPCW-weighted outcomes and take their survival curves
from an inner Cox model with treatment interactions. Adding a model is one class + ``@RESPONSE_MODELS.register``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from genmed.clinical.survival import Encoder, ipcw_rmst_outcome, rmst, step_on_grid, survival_at, time_grid
from genmed.clinical.trials import TrialData, TrialSchema
from genmed.core.errors import ConfigError, InputError
from genmed.core.registry import Registry


class ResponseModel(ABC):
    """The contract. Hyper-parameters in ``__init__``; learned state in attributes ending in ``_``."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "survival"  # or "effect"
    description: ClassVar[str] = ""

    def __init__(self, seed: int = 0, **params: Any):
        self.seed = seed
        self.params = params

    # -- fitting ---------------------------------------------------------------------------------------------
    def fit(self, data: TrialData) -> ResponseModel:
        self.schema_: TrialSchema = data.schema
        self.encoder_ = Encoder.fit(data)
        self.times_ = time_grid(data.schema, data.time)
        self.n_train_ = len(data)
        self._fit(data)
        return self

    @abstractmethod
    def _fit(self, data: TrialData) -> None: ...

    @abstractmethod
    def _survival(self, Z: np.ndarray, arm: int) -> np.ndarray:
        """Survival on ``times_`` for encoded covariates ``Z`` under arm index ``arm``."""

    # -- prediction ------------------------------------------------------------------------------------------
    def arm_index(self, arm: int | str) -> int:
        if isinstance(arm, int | np.integer):
            if not 0 <= int(arm) < len(self.schema_.arms):
                raise InputError(f"arm index {arm} out of range for trial {self.schema_.name}")
            return int(arm)
        return self.schema_.arm_names.index(self.schema_.arm(arm).name)

    def predict_survival(self, X: Any, arm: int | str) -> np.ndarray:
        """Survival probabilities, shape (n, len(times_)), for each row of ``X`` under ``arm``."""
        S = self._survival(self.encoder_.transform(X), self.arm_index(arm))
        return np.clip(np.minimum.accumulate(S, axis=1), 0.0, 1.0)

    def predict_rmst(self, X: Any, arm: int | str, horizon: float | None = None) -> np.ndarray:
        horizon = horizon or self.schema_.default_horizon
        return rmst(self.times_, self.predict_survival(X, arm), horizon)

    def predict_effect(self, X: Any, arm_a: int | str = 1, arm_b: int | str = 0,
                       horizon: float | None = None, measure: str | None = None) -> np.ndarray:
        """Effect of arm_a vs arm_b at ``horizon`` (trial time unit); > 0 favours arm_a.

        ``measure="rmst"`` (default): RMST difference in time units; ``"event_free"``: difference in the
        probability of being event-free at the horizon.
        """
        measure = measure or "rmst"
        if measure == "rmst":
            return self.predict_rmst(X, arm_a, horizon) - self.predict_rmst(X, arm_b, horizon)
        if measure == "event_free":
            h = horizon or self.schema_.default_horizon
            if h > self.times_[-1] + 1e-9:
                raise InputError(f"horizon {h:g} is beyond the trial's follow-up ({self.times_[-1]:g})")
            return (survival_at(self.times_, self.predict_survival(X, arm_a), h)
                    - survival_at(self.times_, self.predict_survival(X, arm_b), h))
        raise ConfigError(f"unknown effect measure {measure!r}", hint="rmst or event_free")

    def risk_score(self, X: Any, arm: np.ndarray, horizon: float | None = None) -> np.ndarray:
        """Higher = worse prognosis under the arm each row received (for concordance)."""
        out = np.empty(len(X))
        for a in np.unique(arm):
            m = arm == a
            out[m] = -self.predict_rmst(X[m] if not hasattr(X, "iloc") else X.iloc[np.flatnonzero(m)], int(a), horizon)
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "description": self.description, "params": self.params,
                "seed": self.seed}


RESPONSE_MODELS: Registry[type[ResponseModel]] = Registry("response model")


def make_model(name: str, seed: int = 0, **params: Any) -> ResponseModel:
    """Instantiate a registered model by name (``genmed.clinical.model_names()`` lists them)."""
    return RESPONSE_MODELS.get(name)(seed=seed, **params)


def _arm_design(Z: np.ndarray, arm: np.ndarray, n_arms: int, interactions: bool) -> np.ndarray:
    """[covariates | arm indicators (non-control) | arm x covariate interactions]."""
    A = np.stack([(arm == k).astype(float) for k in range(1, n_arms)], axis=1) if n_arms > 1 else Z[:, :0]
    parts = [Z, A]
    if interactions:
        parts += [Z * A[:, [k]] for k in range(A.shape[1])]
    return np.hstack(parts)


class _CoxBase(ResponseModel):
    interactions: ClassVar[bool] = False

    def __init__(self, seed: int = 0, alpha: float = 0.1, alpha_interaction: float = 100.0, **params: Any):
        super().__init__(seed=seed, alpha=alpha, alpha_interaction=alpha_interaction, **params)
        self.alpha = alpha
        self.alpha_interaction = alpha_interaction

    def penalty(self, p: int, n_arms: int) -> np.ndarray:
        n_main = p + n_arms - 1
        n_int = p * (n_arms - 1) if self.interactions else 0
        return np.concatenate([np.full(n_main, self.alpha), np.full(n_int, self.alpha_interaction)])

    def _fit(self, data: TrialData) -> None:
        coef, H0 = fit_cox(self.encoder_.transform(data.X), data.arm, data.time, data.event, len(data.schema.arms),
                           self.interactions, self.penalty(len(self.encoder_.columns), len(data.schema.arms)),
                           self.times_)
        self.coef_, self.baseline_cumhaz_ = coef, H0

    def _survival(self, Z: np.ndarray, arm: int) -> np.ndarray:
        D = _arm_design(Z, np.full(len(Z), arm), len(self.schema_.arms), self.interactions)
        return np.exp(-np.exp(D @ self.coef_)[:, None] * self.baseline_cumhaz_[None, :])


def fit_cox(Z, arm, time, event, n_arms, interactions, penalty, grid):
    """Ridge-penalised Cox PH (scikit-survival) -> (coefficients, Breslow baseline cumulative hazard on grid)."""
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    D = _arm_design(Z, arm, n_arms, interactions)
    model = CoxPHSurvivalAnalysis(alpha=penalty, ties="breslow", n_iter=200)
    model.fit(D, Surv.from_arrays(event.astype(bool), time.astype(float)))
    H = model.cum_baseline_hazard_
    return np.asarray(model.coef_, float), step_on_grid(H.x, H.y, grid, before=0.0)[0]


@RESPONSE_MODELS.register("cox")
class CoxPH(_CoxBase):
    """Cox PH with the arm as a main effect only (the conventional trial analysis, adjusted): the baseline."""

    name = "cox"
    description = "Cox proportional hazards, treatment + covariates (no heterogeneity): baseline"


@RESPONSE_MODELS.register("cox-interaction")
class CoxInteraction(_CoxBase):
    """Cox PH with treatment x covariate interactions (ridge-penalised more strongly than main effects), so the
    treatment effect may differ between patients; per-patient log-HR contributions are exact."""

    name = "cox-interaction"
    interactions = True
    description = "Cox PH with treatment x covariate interactions (ridge): heterogeneous effects, exact explanation"


class _SksurvSLearner(ResponseModel):
    """A scikit-survival estimator fitted with the arm indicator as a feature (S-learner)."""

    def _estimator(self):
        raise NotImplementedError

    def _fit(self, data: TrialData) -> None:
        from sksurv.util import Surv

        Z = self.encoder_.transform(data.X)
        D = _arm_design(Z, data.arm, len(data.schema.arms), False)
        self.estimator_ = self._estimator()
        self.estimator_.fit(D, Surv.from_arrays(data.event.astype(bool), data.time.astype(float)))

    def _survival(self, Z: np.ndarray, arm: int) -> np.ndarray:
        D = _arm_design(Z, np.full(len(Z), arm), len(self.schema_.arms), False)
        fns = self.estimator_.predict_survival_function(D)
        knots = fns[0].x
        vals = np.stack([f(np.clip(knots, f.domain[0], f.domain[1])) for f in fns])
        return step_on_grid(knots, vals, self.times_)


@RESPONSE_MODELS.register("rsf")
class RandomSurvivalForest(_SksurvSLearner):
    name = "rsf"
    description = "random survival forest (scikit-survival), arm as a feature (S-learner)"

    def __init__(self, seed: int = 0, n_estimators: int = 200, min_samples_leaf: int = 15, **params: Any):
        super().__init__(seed=seed, n_estimators=n_estimators, min_samples_leaf=min_samples_leaf, **params)

    def _estimator(self):
        from sksurv.ensemble import RandomSurvivalForest as RSF

        return RSF(n_estimators=self.params["n_estimators"], min_samples_leaf=self.params["min_samples_leaf"],
                   min_samples_split=2 * self.params["min_samples_leaf"], max_features="sqrt",
                   random_state=self.seed, n_jobs=1, low_memory=False)


@RESPONSE_MODELS.register("gbsa")
class GradientBoostedSurvival(_SksurvSLearner):
    name = "gbsa"
    description = "gradient-boosted Cox model with regression trees (scikit-survival), arm as a feature"

    def __init__(self, seed: int = 0, n_estimators: int = 150, learning_rate: float = 0.05, max_depth: int = 2,
                 **params: Any):
        super().__init__(seed=seed, n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth,
                         **params)

    def _estimator(self):
        from sksurv.ensemble import GradientBoostingSurvivalAnalysis

        return GradientBoostingSurvivalAnalysis(
            n_estimators=self.params["n_estimators"], learning_rate=self.params["learning_rate"],
            max_depth=self.params["max_depth"], subsample=0.8, random_state=self.seed,
        )


@RESPONSE_MODELS.register("t-cox")
class TLearnerCox(ResponseModel):
    """T-learner: a separate ridge Cox model per arm (effects may differ arbitrarily, at the cost of variance)."""

    name = "t-cox"
    description = "T-learner: one ridge Cox PH model per arm"

    def __init__(self, seed: int = 0, alpha: float = 1.0, **params: Any):
        super().__init__(seed=seed, alpha=alpha, **params)

    def _fit(self, data: TrialData) -> None:
        Z = self.encoder_.transform(data.X)
        self.per_arm_ = []
        for k in range(len(data.schema.arms)):
            m = data.arm == k
            coef, H0 = fit_cox(Z[m], np.zeros(m.sum(), int), data.time[m], data.event[m], 1, False,
                               np.full(Z.shape[1], self.params["alpha"]), self.times_)
            self.per_arm_.append((coef, H0))

    def _survival(self, Z: np.ndarray, arm: int) -> np.ndarray:
        coef, H0 = self.per_arm_[arm]
        return np.exp(-np.exp(Z @ coef)[:, None] * H0[None, :])


class _RMSTEffectLearner(ResponseModel):
    """Effect learners on RMST or on event-free status at the horizon (IPCW outcomes), control (0) vs arm 1.

    ``predict_effect`` comes from the learner; ``predict_survival`` from an inner :class:`CoxInteraction`.
    """

    kind = "effect"
    default_target: ClassVar[str] = "rmst"

    def __init__(self, seed: int = 0, horizon: float | None = None, target: str | None = None,
                 final: str = "ridge", **params: Any):
        target = target or self.default_target
        if target not in ("rmst", "event_free"):
            raise ConfigError(f"unknown effect target {target!r}", hint="rmst or event_free")
        if final not in ("ridge", "gbr"):
            raise ConfigError(f"unknown final-stage regressor {final!r}", hint="ridge or gbr")
        super().__init__(seed=seed, horizon=horizon, target=target, final=final, **params)
        self.target = target

    def _outcome(self, times: np.ndarray, S: np.ndarray) -> np.ndarray:
        """The learner's target from survival curves: RMST to the horizon, or P(event-free at the horizon)."""
        if self.target == "rmst":
            return rmst(times, S, self.horizon_)
        return survival_at(times, S, self.horizon_)

    def _regressor(self):
        """Final-stage (effect) regression. Ridge (penalty by internal CV) by default: with ~100 events the
        pseudo-outcomes are very noisy and a linear effect model has far lower variance (cf. EconML's
        LinearDRLearner); ``final="gbr"`` fits gradient-boosted trees instead."""
        if self.params.get("final", "ridge") == "ridge":
            from sklearn.linear_model import RidgeCV

            return RidgeCV(alphas=np.logspace(-1, 3, 9))
        from sklearn.ensemble import GradientBoostingRegressor

        return GradientBoostingRegressor(n_estimators=100, max_depth=2, learning_rate=0.03, subsample=0.7,
                                         min_samples_leaf=30, random_state=self.seed)

    def _propensity(self, Z: np.ndarray, arm: np.ndarray, Z_new: np.ndarray) -> np.ndarray:
        """P(arm 1 | X) by logistic regression: ~constant in a randomised trial, needed where it was not (GBSG-2)."""
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1.0, max_iter=1000).fit(Z, arm)
        return np.clip(lr.predict_proba(Z_new)[:, 1], 0.05, 0.95)

    def _fit(self, data: TrialData) -> None:
        if len(data.schema.arms) != 2:
            raise ConfigError(f"{self.name} supports two-arm trials only")
        self.horizon_ = float(self.params.get("horizon") or data.schema.default_horizon)
        self.survival_model_ = CoxInteraction(seed=self.seed).fit(data)
        Z = self.encoder_.transform(data.X)
        y, w = ipcw_rmst_outcome(data.time, data.event, self.horizon_)
        if self.target == "event_free":
            y = (data.time >= self.horizon_).astype(float)  # known status where w > 0
        self._data = data
        try:
            self._fit_effect(Z, data.arm, y, w)
        finally:
            del self._data

    def _mu(self, Z: np.ndarray, arm: int) -> np.ndarray:
        """Outcome model: the target under ``arm`` from the inner (censoring-aware) Cox model."""
        return self._outcome(self.times_, self.survival_model_._survival(Z, arm))

    @abstractmethod
    def _fit_effect(self, Z, arm, y, w) -> None: ...

    @abstractmethod
    def _effect(self, Z: np.ndarray) -> np.ndarray: ...

    def _survival(self, Z: np.ndarray, arm: int) -> np.ndarray:
        return self.survival_model_._survival(Z, arm)

    def predict_effect(self, X: Any, arm_a: int | str = 1, arm_b: int | str = 0,
                       horizon: float | None = None, measure: str | None = None) -> np.ndarray:
        if measure is not None and measure != self.target:
            raise ConfigError(f"{self.name} estimates the {self.target} effect, asked for {measure}",
                              hint=f"fit it with target={measure!r} or use a survival model")
        a, b = self.arm_index(arm_a), self.arm_index(arm_b)
        if horizon is not None and abs(horizon - self.horizon_) > 1e-9:
            raise ConfigError(f"{self.name} was fitted for horizon {self.horizon_:g}, asked for {horizon:g}",
                              hint="refit with that horizon or use a survival model")
        if a == b:
            return np.zeros(len(X))
        tau = self._effect(self.encoder_.transform(X))
        return tau if (a, b) == (1, 0) else -tau


@RESPONSE_MODELS.register("x-learner")
class XLearner(_RMSTEffectLearner):
    """X-learner (Kuenzel et al. 2019) on RMST: outcome models are survival-aware (per-arm RMST from the inner
    Cox model, which handles censoring properly); imputed effects use IPCW-weighted observed RMST; the two effect
    regressions (ridge by default) are blended by the propensity score."""

    name = "x-learner"
    description = "X-learner on restricted-mean survival time (Cox outcome models, IPCW, ridge effect models)"

    def _fit_effect(self, Z, arm, y, w) -> None:
        m1, m0 = (arm == 1) & (w > 0), (arm == 0) & (w > 0)
        mu0 = self._mu(Z, 0)
        mu1 = self._mu(Z, 1)
        self.tau1_ = self._regressor().fit(Z[m1], y[m1] - mu0[m1], sample_weight=w[m1])
        self.tau0_ = self._regressor().fit(Z[m0], mu1[m0] - y[m0], sample_weight=w[m0])
        from sklearn.linear_model import LogisticRegression

        self.prop_ = LogisticRegression(C=1.0, max_iter=1000).fit(Z, arm)

    def _effect(self, Z: np.ndarray) -> np.ndarray:
        e = np.clip(self.prop_.predict_proba(Z)[:, 1], 0.05, 0.95)  # weights tau0/tau1 as in Kuenzel et al.
        return e * self.tau0_.predict(Z) + (1 - e) * self.tau1_.predict(Z)


@RESPONSE_MODELS.register("dr-learner")
class DRLearner(_RMSTEffectLearner):
    """DR-learner (Kennedy 2023) on RMST: cross-fitted doubly robust pseudo-outcomes from Cox outcome models
    (survival-aware) and a propensity model, on IPCW-weighted observed RMST, then a regularised regression."""

    name = "dr-learner"
    description = "DR-learner on restricted-mean survival time (2-fold cross-fitting, Cox outcome models, IPCW)"

    def _fit_effect(self, Z, arm, y, w) -> None:
        from sklearn.model_selection import KFold

        phi = np.zeros(len(y))
        for train, test in KFold(2, shuffle=True, random_state=self.seed).split(Z):
            inner = CoxInteraction(seed=self.seed).fit(self._data.subset(train))
            Xt = self._data.X.iloc[test]
            mu0 = self._outcome(inner.times_, inner.predict_survival(Xt, 0))
            mu1 = self._outcome(inner.times_, inner.predict_survival(Xt, 1))
            e = self._propensity(Z[train], arm[train], Z[test])
            a = arm[test]
            phi[test] = mu1 - mu0 + a * (y[test] - mu1) / e - (1 - a) * (y[test] - mu0) / (1 - e)
        keep = w > 0
        self.final_ = self._regressor().fit(Z[keep], phi[keep], sample_weight=w[keep])

    def _effect(self, Z: np.ndarray) -> np.ndarray:
        return self.final_.predict(Z)


@RESPONSE_MODELS.register("x-learner-event")
class XLearnerEvent(XLearner):
    """X-learner on event-free status at the horizon (effect = difference in P(event-free))."""

    name = "x-learner-event"
    default_target = "event_free"
    description = "X-learner on P(event-free at the horizon) (Cox outcome models, IPCW, ridge effect models)"


@RESPONSE_MODELS.register("dr-learner-event")
class DRLearnerEvent(DRLearner):
    """DR-learner on event-free status at the horizon (effect = difference in P(event-free))."""

    name = "dr-learner-event"
    default_target = "event_free"
    description = "DR-learner on P(event-free at the horizon) (2-fold cross-fitting, Cox outcome models, IPCW)"


def model_names() -> list[str]:
    return RESPONSE_MODELS.names()


def as_frame(schema: TrialSchema, rows: list[dict[str, Any]]):
    import pandas as pd

    return pd.DataFrame({c.name: [r[c.name] for r in rows] for c in schema.covariates})
