"""The digital twin: one patient's predicted outcome under each arm of a trial, with uncertainty.

For a patient (covariates checked against the trial schema) and a bootstrap ensemble, it gives per arm the
survival curve with a 90% interval, RMST and event-free probability at the horizon; per pair of arms the RMST
gain, its interval and the probability that one arm beats the other (share of bootstrap replicates with a
positive gain); sampled counterfactual event times (the generative part: the same random draw pushed through
each arm's curve, so the samples are paired "what if" outcomes); and an explanation of which covariates push the
predicted benefit up or down.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from genmed.clinical.survival import rmst, survival_at
from genmed.clinical.trials import check_patient, trial_schema
from genmed.core.errors import InputError

INTERVAL = 0.90


@dataclass
class ArmOutcome:
    """Predicted outcome under one arm. Curves are on ``times`` (trial time unit); intervals are 90%."""

    arm: str
    label: str
    times: list[float]
    survival: list[float]
    survival_lower: list[float]
    survival_upper: list[float]
    rmst: float
    rmst_interval: tuple[float, float]
    event_free_at_horizon: float
    event_free_interval: tuple[float, float]
    median_time: float | None  # None = not reached within follow-up


@dataclass
class Comparison:
    """Arm a vs arm b: RMST gain (> 0 favours a), its 90% interval, P(a beats b), the patient's hazard ratio."""

    arm_a: str
    arm_b: str
    rmst_gain: float
    rmst_gain_interval: tuple[float, float]
    p_a_beats_b: float
    event_free_difference: float
    hazard_ratio: float | None = None
    hazard_ratio_interval: tuple[float, float] | None = None


@dataclass
class Contribution:
    """How one covariate moves this patient's predicted benefit (arm a vs b) relative to the trial's average
    patient. ``log_hr`` < 0 means the covariate makes arm a look *better* for this patient (exact model terms)."""

    covariate: str
    value: Any
    rmst_gain_change: float
    log_hr: float | None = None
    log_hr_interval: tuple[float, float] | None = None


@dataclass
class Trajectory:
    """One sampled counterfactual outcome: the same draw under every arm."""

    sample: int
    outcomes: dict[str, dict[str, Any]]  # arm -> {"time": t, "event": bool} (event False = event-free to time)


@dataclass
class DigitalTwin:
    """A patient's digital twin for one trial. ``status`` is "within validated population" or "outside validated
    population" (then ``flags`` say why; the numbers are extrapolations and must be read as such)."""

    trial: str
    endpoint: str
    time_unit: str
    horizon: float
    status: str
    flags: list[str]
    covariates: dict[str, Any]
    arms: dict[str, ArmOutcome]
    comparisons: list[Comparison]
    explanation: list[Contribution]
    trajectories: list[Trajectory]
    provenance: dict[str, Any]
    ignored_fields: list[str] = field(default_factory=list)

    @property
    def within_population(self) -> bool:
        return not self.flags

    def best_arm(self) -> str:
        """Arm with the highest predicted RMST (point estimate). Read it with ``comparisons`` and ``status``."""
        return max(self.arms.values(), key=lambda a: a.rmst).arm

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"Digital twin — {self.trial} ({self.endpoint}); horizon {self.horizon:g} {self.time_unit}",
                 f"status: {self.status}" + ("".join(f"\n  - {f}" for f in self.flags))]
        for a in self.arms.values():
            med = "not reached" if a.median_time is None else f"{a.median_time:.0f}"
            lines.append(
                f"  {a.arm:<22} RMST {a.rmst:7.1f} [{a.rmst_interval[0]:.1f}, {a.rmst_interval[1]:.1f}]  "
                f"event-free@{self.horizon:g}: {a.event_free_at_horizon:.3f} "
                f"[{a.event_free_interval[0]:.3f}, {a.event_free_interval[1]:.3f}]  median {med}")
        for c in self.comparisons:
            hr = ""
            if c.hazard_ratio is not None and c.hazard_ratio_interval is not None:
                hr = f"  HR {c.hazard_ratio:.2f} [{c.hazard_ratio_interval[0]:.2f}, {c.hazard_ratio_interval[1]:.2f}]"
            lines.append(f"  {c.arm_a} vs {c.arm_b}: RMST gain {c.rmst_gain:+.1f} {self.time_unit} "
                         f"[{c.rmst_gain_interval[0]:+.1f}, {c.rmst_gain_interval[1]:+.1f}], "
                         f"P(benefit) {c.p_a_beats_b:.2f}{hr}")
        if self.explanation:
            lines.append("  drivers of the predicted gain (vs the trial's average patient):")
            for e in self.explanation[:5]:
                lines.append(f"    {e.covariate}={e.value}: {e.rmst_gain_change:+.1f} {self.time_unit}")
        p = self.provenance
        lines.append(f"  model {p.get('model')} ({p.get('model_version')}), CV C-index {p.get('cv_c_index')}, "
                     f"{p.get('n_bootstrap')} bootstrap replicates")
        return "\n".join(lines)


def _median(times: np.ndarray, s: np.ndarray) -> float | None:
    below = np.flatnonzero(s <= 0.5)
    return float(times[below[0]]) if len(below) else None


def digital_twin(trial: str, covariates: dict[str, Any], *, arms: list[str] | None = None,
                 horizon: float | None = None, seed: int = 0, n_samples: int = 100, model=None,
                 explain: bool = True) -> DigitalTwin:
    """Predict one patient's outcome under each arm of ``trial``.

    Parameters
    ----------
    trial : name from :func:`list_trials` (``actg320``, ``veterans``, ``gbsg2``).
    covariates : the patient's baseline covariates by schema name (see :func:`trial_schema`); numbers in the
        schema unit or ``{"value": v, "unit": "cm"}``; categories by label or trial code.
    arms : arms to compare (names, labels or aliases); default all. The first is the reference for comparisons.
    horizon : restriction time for RMST / event-free probability (trial time unit); default the schema's.
    seed : seeds the sampled trajectories (results are otherwise deterministic).
    model : a loaded ensemble (``genmed.clinical.load_model``); default the model shipped for the trial.

    Raises :class:`MissingCovariatesError` (an ``InputError``) naming missing covariates: the twin is
    indeterminate without them and genmed never imputes. Values outside the trial's range are flagged.
    """
    from genmed.clinical.ensemble import CoxEnsemble, shipped_ensemble
    from genmed.clinical.trials import MissingCovariatesError

    t0 = time.perf_counter()
    schema = trial_schema(trial)
    check = check_patient(schema.name, covariates)
    if check.missing:
        raise MissingCovariatesError(schema.name, check.missing, schema)
    ens = model if model is not None else shipped_ensemble(schema.name)
    if ens.trial != schema.name:
        raise InputError(f"model was trained on {ens.trial}, not {schema.name}")
    chosen = [schema.arm(a) for a in arms] if arms else list(schema.arms)
    if len({a.name for a in chosen}) != len(chosen):
        raise InputError("arms listed twice")
    arm_idx = [schema.arm_names.index(a.name) for a in chosen]
    grid = np.asarray(ens.times)
    horizon = float(horizon or schema.default_horizon)
    if not 0 < horizon <= grid[-1]:
        raise InputError(f"horizon {horizon:g} {schema.time_unit} is outside the trial's follow-up (0-{grid[-1]:g})")

    import pandas as pd

    X = pd.DataFrame([{c.name: check.values[c.name] for c in schema.covariates}])
    lo_q, hi_q = 100 * (1 - INTERVAL) / 2, 100 * (1 + INTERVAL) / 2
    curves, boots, rm_boot = {}, {}, {}
    out_arms: dict[str, ArmOutcome] = {}
    for a, k in zip(chosen, arm_idx, strict=True):
        point, boot = ens.survival(X, k)
        point, boot = point[0], boot[:, 0, :]
        curves[a.name], boots[a.name] = point, boot
        rm_boot[a.name] = rmst(grid, boot, horizon)
        lo, hi = np.percentile(boot, [lo_q, hi_q], axis=0)
        sh_b = survival_at(grid, boot, horizon)
        out_arms[a.name] = ArmOutcome(
            a.name, a.label, [round(float(t), 2) for t in grid], [round(float(s), 5) for s in point],
            [round(float(s), 5) for s in lo], [round(float(s), 5) for s in hi],
            round(float(rmst(grid, point[None, :], horizon)[0]), 2),
            tuple(round(float(v), 2) for v in np.percentile(rm_boot[a.name], [lo_q, hi_q])),
            round(float(survival_at(grid, point[None, :], horizon)[0]), 4),
            tuple(round(float(v), 4) for v in np.percentile(sh_b, [lo_q, hi_q])),
            _median(grid, point),
        )

    comparisons = []
    ref = chosen[0].name
    is_cox = isinstance(ens, CoxEnsemble)
    for a, k in zip(chosen[1:], arm_idx[1:], strict=True):
        gain_b = rm_boot[a.name] - rm_boot[ref]
        comp = Comparison(
            a.name, ref, round(out_arms[a.name].rmst - out_arms[ref].rmst, 2),
            tuple(round(float(v), 2) for v in np.percentile(gain_b, [lo_q, hi_q])),
            round(float(np.mean(gain_b > 0)), 3),
            round(out_arms[a.name].event_free_at_horizon - out_arms[ref].event_free_at_horizon, 4),
        )
        if is_cox:
            pt, bt = ens.log_hr_terms(X, k, arm_idx[0])
            comp.hazard_ratio = round(float(np.exp(pt.sum())), 3)
            comp.hazard_ratio_interval = tuple(round(float(np.exp(v)), 3)
                                               for v in np.percentile(bt.sum(axis=2)[:, 0], [lo_q, hi_q]))
        comparisons.append(comp)

    explanation = _explain(ens, schema, X, check.values, arm_idx, horizon) if explain and len(chosen) > 1 else []
    trajectories = _sample_trajectories(grid, boots, n_samples, seed)
    meta = getattr(ens, "meta", {}) or {}
    cv = meta.get("cv", {})
    provenance = {
        "model": ens.model_name, "model_version": meta.get("model_version"),
        "training_data": meta.get("training_data"), "n_train": meta.get("n_train"),
        "cv_c_index": cv.get("c_index"), "cv_c_index_sd": cv.get("c_index_sd"), "cv_ibs": cv.get("ibs"),
        "cv_folds": cv.get("folds"), "n_bootstrap": ens.n_bootstrap, "interval": INTERVAL,
        "weights_sha256": meta.get("weights_sha256"), "trained_at": meta.get("trained_at"),
        "trial_citation": schema.citation, "randomised": schema.randomised, "seed": seed,
        "seconds": round(time.perf_counter() - t0, 4),
    }
    labelled = {c.name: (c.levels[check.values[c.name]] if c.levels else check.values[c.name])
                for c in schema.covariates}
    return DigitalTwin(schema.name, schema.endpoint, schema.time_unit, horizon, check.status, check.flags,
                       labelled, out_arms, comparisons, explanation, trajectories, provenance, check.ignored)


def _reference_row(ens, schema) -> dict[str, Any]:
    """The trial's 'average patient': numeric means, categorical reference (most frequent) levels."""
    enc = ens.encoder
    row = {}
    for c in schema.covariates:
        row[c.name] = enc.numeric[c.name][0] if c.kind == "numeric" else enc.reference[c.name]
    return row


def _explain(ens, schema, X, values, arm_idx, horizon) -> list[Contribution]:
    """Occlusion on the RMST gain (set one covariate to the trial's reference, see how the gain moves) for any
    model, plus exact per-covariate log-HR terms (vs the trial mean) for the Cox interaction ensemble."""
    import pandas as pd

    from genmed.clinical.ensemble import CoxEnsemble

    a, b = arm_idx[1], arm_idx[0]
    grid = np.asarray(ens.times)

    def gain(frame):
        sa, _ = ens.survival(frame, a)
        sb, _ = ens.survival(frame, b)
        return rmst(grid, sa, horizon) - rmst(grid, sb, horizon)

    ref = _reference_row(ens, schema)
    rows = []
    for c in schema.covariates:
        r = X.iloc[0].to_dict()
        r[c.name] = ref[c.name]
        rows.append(r)
    base = gain(X)[0]
    occluded = gain(pd.DataFrame(rows))
    exact = {}
    if isinstance(ens, CoxEnsemble):
        ref_z = np.asarray(ens.meta.get("reference_z", np.zeros(len(ens.encoder.columns))))
        p = len(ens.encoder.columns)
        n_main = p + ens.n_arms - 1
        # interaction columns of arm a minus arm b, per covariate, centred at the trial mean
        Z = ens.encoder.transform(X)[0]
        for name, cols in ens.encoder.groups().items():
            def term(coef, cols=cols):
                idx_a = [n_main + (a - 1) * p + j for j in cols] if a > 0 else []
                idx_b = [n_main + (b - 1) * p + j for j in cols] if b > 0 else []
                dz = (Z[cols] - ref_z[cols])
                val = (coef[..., idx_a] @ dz if idx_a else 0.0) - (coef[..., idx_b] @ dz if idx_b else 0.0)
                return val
            point = float(term(ens.coef))
            boot = np.asarray(term(ens.boot_coef))
            exact[name] = (point, tuple(float(v) for v in np.percentile(boot, [5, 95])))
    out = []
    for c, g in zip(schema.covariates, occluded, strict=True):
        v = values[c.name]
        shown = c.levels[v] if c.levels else v
        lh = exact.get(c.name)
        out.append(Contribution(c.name, shown, round(float(base - g), 2),
                                None if lh is None else round(lh[0], 4),
                                None if lh is None else (round(lh[1][0], 4), round(lh[1][1], 4))))
    out.sort(key=lambda e: -abs(e.rmst_gain_change))
    return out


def _sample_trajectories(grid: np.ndarray, boots: dict[str, np.ndarray], n: int, seed: int) -> list[Trajectory]:
    """Counterfactual event times by inverse-transform sampling from a random bootstrap replicate's curve; the
    same uniform draw and replicate are used for every arm, so each sample is a coherent 'what if'."""
    if n <= 0:
        return []
    rng = np.random.default_rng(seed)
    B = next(iter(boots.values())).shape[0]
    reps = rng.integers(0, B, size=n)
    u = rng.uniform(size=n)
    out = []
    for i in range(n):
        outcomes = {}
        for arm, boot in boots.items():
            s = boot[reps[i]]
            hit = np.flatnonzero(s <= u[i])
            if len(hit):
                outcomes[arm] = {"time": round(float(grid[hit[0]]), 2), "event": True}
            else:
                outcomes[arm] = {"time": round(float(grid[-1]), 2), "event": False}
        out.append(Trajectory(i, outcomes))
    return out
