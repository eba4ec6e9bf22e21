"""Small survival utilities shared by the models: covariate encoding, step functions on a grid, RMST, IPCW."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from genmed.clinical.trials import TrialData, TrialSchema


@dataclass
class Encoder:
    """Covariates -> numeric design matrix: numeric standardised, categorical one-hot (most frequent level is the
    reference). Plain data, so fitted models can be saved as JSON/NPZ rather than pickles."""

    order: list[str]
    columns: list[str]
    numeric: dict[str, tuple[float, float]]  # name -> (mean, sd)
    categorical: dict[str, list[str]]  # name -> non-reference levels
    reference: dict[str, str]

    @classmethod
    def fit(cls, data: TrialData) -> Encoder:
        numeric, categorical, reference, columns = {}, {}, {}, []
        order = [c.name for c in data.schema.covariates]
        for c in data.schema.covariates:
            col = data.X[c.name]
            if c.kind == "numeric":
                sd = float(col.std()) or 1.0
                numeric[c.name] = (float(col.mean()), sd)
                columns.append(c.name)
            else:
                counts = col.value_counts()
                ref = str(counts.index[0])
                levels = [lv for lv in c.levels if lv != ref and (col == lv).any()]
                reference[c.name] = ref
                categorical[c.name] = levels
                columns.extend(f"{c.name}={c.levels[lv]}" for lv in levels)
        return cls(order, columns, numeric, categorical, reference)

    def transform(self, X: Any) -> np.ndarray:
        n = len(X)
        out = np.zeros((n, len(self.columns)))
        j = 0
        for name in self._order():
            if name in self.numeric:
                mean, sd = self.numeric[name]
                out[:, j] = (np.asarray(X[name], float) - mean) / sd
                j += 1
            else:
                vals = np.asarray(X[name]).astype(str)
                for lv in self.categorical[name]:
                    out[:, j] = vals == lv
                    j += 1
        return out

    def groups(self) -> dict[str, list[int]]:
        """Design-matrix column indices of each covariate (to sum contributions per covariate)."""
        out, j = {}, 0
        for name in self._order():
            k = 1 if name in self.numeric else len(self.categorical[name])
            out[name] = list(range(j, j + k))
            j += k
        return out

    def _order(self) -> list[str]:
        return self.order

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order, "columns": self.columns, "numeric": self.numeric, "categorical": self.categorical,
                "reference": self.reference}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoder:
        return cls(list(d["order"]), list(d["columns"]), {k: tuple(v) for k, v in d["numeric"].items()},
                   {k: list(v) for k, v in d["categorical"].items()}, dict(d["reference"]))


def time_grid(schema: TrialSchema, time: np.ndarray, n: int = 121) -> np.ndarray:
    """Evaluation grid from 0 to the last follow-up time (never beyond: no extrapolation)."""
    return np.linspace(0.0, float(np.max(time)), n)


def step_on_grid(knots: np.ndarray, values: np.ndarray, grid: np.ndarray, before: float = 1.0) -> np.ndarray:
    """Right-continuous step function(s) given at ``knots`` evaluated on ``grid`` (``before`` left of the first)."""
    values = np.atleast_2d(values)
    idx = np.searchsorted(knots, grid, side="right") - 1
    out = np.where(idx[None, :] >= 0, values[:, np.clip(idx, 0, None)], before)
    return out


def rmst(grid: np.ndarray, surv: np.ndarray, horizon: float) -> np.ndarray:
    """Restricted mean survival time up to ``horizon``: area under step survival curves (rows) on ``grid``."""
    surv = np.atleast_2d(surv)
    if horizon > grid[-1] + 1e-9:
        from genmed.core.errors import InputError

        raise InputError(f"horizon {horizon:g} is beyond the trial's follow-up ({grid[-1]:g})")
    t = np.append(grid[grid < horizon], horizon)
    widths = np.diff(t)
    vals = surv[:, : len(widths)]
    return vals @ widths


def survival_at(grid: np.ndarray, surv: np.ndarray, t: float) -> np.ndarray:
    idx = int(np.searchsorted(grid, t, side="right") - 1)
    return np.atleast_2d(surv)[:, max(idx, 0)]


def ipcw_rmst_outcome(time: np.ndarray, event: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient restricted survival time min(T, tau) with inverse-probability-of-censoring weights.

    Patients censored before tau get weight 0; the others 1/G(min(T, tau)-), G the Kaplan-Meier curve of the
    censoring times. Weighted regressions on (Y, w) estimate conditional RMST without bias from censoring.
    """
    from sksurv.nonparametric import kaplan_meier_estimator

    t_c, g = kaplan_meier_estimator(~event.astype(bool), time)
    y = np.minimum(time, horizon)
    known = event.astype(bool) | (time >= horizon)
    idx = np.searchsorted(t_c, y, side="left") - 1  # G(t-)
    g_minus = np.where(idx >= 0, g[np.clip(idx, 0, None)], 1.0)
    w = np.where(known, 1.0 / np.clip(g_minus, 0.05, None), 0.0)
    return y, w


def kaplan_meier(time: np.ndarray, event: np.ndarray, grid: np.ndarray) -> np.ndarray:
    from sksurv.nonparametric import kaplan_meier_estimator

    t, s = kaplan_meier_estimator(event.astype(bool), time)
    return step_on_grid(t, s, grid)[0]
