"""Randomised-trial data sets shipped with scikit-survival, each with a typed schema.

A :class:`TrialSchema` says what a patient record must supply (covariates, units, allowed values), which arms the
trial compared, what the outcome is and where the published result comes from. Patient covariates are checked
against it by :func:`check_patient`: missing values are named (never imputed), implausible values (wrong units)
are rejected, and values outside the range seen in the trial are flagged "outside validated population".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from genmed.core.errors import ConfigError, InputError


class MissingCovariatesError(InputError):
    """A patient record lacks covariates the model needs; ``missing`` names them."""

    def __init__(self, trial: str, missing: list[str], schema: TrialSchema):
        self.missing = list(missing)
        details = ", ".join(f"{m} ({schema.covariate(m).describe_expected()})" for m in missing)
        super().__init__(
            f"prediction indeterminate: missing required covariate(s) {details}",
            hint="supply them; genmed never imputes a patient's covariates",
            source=f"trial {trial}",
        )


class OutsidePopulationError(InputError):
    """A valid value the trial never enrolled (e.g. Karnofsky 60 in ACTG 320): the model has no estimate for it,
    so no prediction is made (a numeric value outside the trial's range is predicted but flagged instead)."""


@dataclass(frozen=True)
class Covariate:
    """One baseline covariate a patient record must supply.

    ``levels`` maps the code stored in the trial data to a readable label (categorical covariates); a patient may
    give either. ``plausible`` is the physically possible range (outside it the value is rejected as a unit or entry
    error); ``units`` maps accepted unit spellings to the factor that converts them to ``unit``.
    """

    name: str
    label: str
    kind: Literal["numeric", "categorical"]
    column: str
    unit: str | None = None
    levels: dict[str, str] | None = None
    plausible: tuple[float, float] | None = None
    units: dict[str, float] = field(default_factory=dict)
    description: str = ""

    def describe_expected(self) -> str:
        if self.kind == "numeric":
            return f"number in {self.unit}" if self.unit else "number"
        return "one of " + "/".join(self.levels.values()) if self.levels else "category"

    def normalise(self, value: Any, trial: str) -> Any:
        """Return the value in the trial's coding (a float for numeric, the level code for categorical)."""
        where = f"trial {trial}, covariate {self.name}"
        if self.kind == "numeric":
            unit = None
            if isinstance(value, dict):
                unit = value.get("unit")
                value = value.get("value")
            if isinstance(value, bool) or value is None:
                raise InputError(f"expected a number in {self.unit}, got {value!r}", source=where)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InputError(f"expected a number in {self.unit}, got {value!r}", source=where) from None
            if not math.isfinite(number):
                raise InputError(f"expected a finite number, got {value!r}", source=where)
            if unit is not None:
                key = str(unit).strip()
                factors = {self.unit: 1.0, **self.units} if self.unit else dict(self.units)
                match = next((f for u, f in factors.items() if u.lower() == key.lower()), None)
                if match is None:
                    raise InputError(
                        f"unit {unit!r} not understood", hint=f"give it in {self.unit} (accepted: {', '.join(factors)})",
                        source=where,
                    )
                number *= match
            if self.plausible and not (self.plausible[0] <= number <= self.plausible[1]):
                lo, hi = self.plausible
                raise InputError(
                    f"value {number:g} is not plausible for {self.label} in {self.unit} (expected {lo:g}-{hi:g})",
                    hint="check the units", source=where,
                )
            return number
        assert self.levels is not None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 90.0 -> "90"
        text = str(value).strip().lower() if not isinstance(value, bool) else ("yes" if value else "no")
        for code, label in self.levels.items():
            if text in (code.lower(), label.lower()):
                return code
        aliases = {"true": "yes", "false": "no", "y": "yes", "n": "no", "m": "male", "f": "female"}
        text = aliases.get(text, text)
        for code, label in self.levels.items():
            if text in (code.lower(), label.lower()):
                return code
        if self.plausible is not None:
            try:
                number = float(text)
            except ValueError:
                number = None
            if number is not None and self.plausible[0] <= number <= self.plausible[1]:
                raise OutsidePopulationError(
                    f"outside validated population: {self.label} {value!r} was not enrolled in the trial "
                    f"(trial values: {', '.join(self.levels.values())})",
                    hint="the trial cannot inform a prediction for this patient", source=where,
                )
        raise InputError(
            f"unknown value {value!r}", hint=f"expected one of {', '.join(self.levels.values())}", source=where
        )


@dataclass(frozen=True)
class Arm:
    """A treatment arm: ``code`` as stored in the data, a stable ``name`` and accepted aliases."""

    name: str
    label: str
    code: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedEffect:
    """The trial's own published treatment effect (treated vs control), with its source."""

    measure: str  # "HR"
    estimate: float | None
    ci: tuple[float, float] | None
    endpoint: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class TrialSchema:
    """What a trial measured and what a patient record must supply to be compared with it."""

    name: str
    title: str
    loader: str
    endpoint: str
    time_unit: str
    arms: tuple[Arm, ...]
    treatment_column: str
    covariates: tuple[Covariate, ...]
    default_horizon: float
    randomised: str
    published: tuple[PublishedEffect, ...] = ()
    citation: str = ""
    stratum_column: str | None = None
    notes: str = ""
    loader_kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.covariates]

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    @property
    def control(self) -> Arm:
        return self.arms[0]

    def covariate(self, name: str) -> Covariate:
        for c in self.covariates:
            if c.name == name:
                return c
        raise ConfigError(f"trial {self.name} has no covariate {name!r}", hint=f"known: {', '.join(self.required)}")

    def arm(self, name: str) -> Arm:
        """Resolve an arm by name, label, data code or alias (case-insensitive)."""
        key = str(name).strip().lower()
        for a in self.arms:
            if key in (a.name.lower(), a.label.lower(), a.code.lower(), *(x.lower() for x in a.aliases)):
                return a
        raise InputError(
            f"unknown treatment {name!r} for trial {self.name}",
            hint=f"arms: {', '.join(f'{a.name} ({a.label})' for a in self.arms)}",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "endpoint": self.endpoint, "time_unit": self.time_unit,
            "randomised": self.randomised, "default_horizon": self.default_horizon,
            "arms": [{"name": a.name, "label": a.label, "aliases": list(a.aliases)} for a in self.arms],
            "covariates": [
                {"name": c.name, "label": c.label, "kind": c.kind, "unit": c.unit,
                 "levels": list(c.levels.values()) if c.levels else None, "plausible": c.plausible,
                 "accepted_units": [c.unit, *c.units] if c.unit else None, "description": c.description}
                for c in self.covariates
            ],
            "published": [p.__dict__ for p in self.published], "citation": self.citation, "notes": self.notes,
        }


@dataclass
class TrialData:
    """A trial's rows in the trial's own coding: covariates (DataFrame), arm index, time, event."""

    schema: TrialSchema
    X: Any  # pandas.DataFrame with columns = covariate names (codes for categoricals)
    arm: np.ndarray  # int index into schema.arms
    time: np.ndarray
    event: np.ndarray
    stratum: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time)

    def subset(self, idx: np.ndarray) -> TrialData:
        return TrialData(
            self.schema, self.X.iloc[idx].reset_index(drop=True), self.arm[idx], self.time[idx], self.event[idx],
            None if self.stratum is None else self.stratum[idx],
        )

    @property
    def y(self) -> np.ndarray:
        from sksurv.util import Surv

        return Surv.from_arrays(self.event.astype(bool), self.time.astype(float))


_YES_NO = {"no": "no", "yes": "yes"}

TRIALS: dict[str, TrialSchema] = {
    "actg320": TrialSchema(
        name="actg320",
        title="ACTG 320: indinavir added to zidovudine (or stavudine) + lamivudine in HIV, CD4 <= 200/uL",
        loader="load_aids",
        endpoint="AIDS-defining event or death",
        time_unit="days",
        arms=(
            Arm("zdv_3tc", "zidovudine (or stavudine) + lamivudine", "0", ("control", "2-drug", "nrti")),
            Arm("idv_zdv_3tc", "indinavir + zidovudine (or stavudine) + lamivudine", "1",
                ("indinavir", "3-drug", "idv", "treatment")),
        ),
        treatment_column="tx",
        stratum_column="strat2",
        covariates=(
            Covariate("age", "age", "numeric", "age", "years", plausible=(0, 120), units={"yr": 1, "y": 1}),
            Covariate("cd4", "baseline CD4 count", "numeric", "cd4", "cells/uL", plausible=(0, 3000),
                      units={"cells/mm3": 1, "cells/µL": 1, "cells/ul": 1, "10^9/L": 1000, "x10^9/L": 1000}),
            Covariate("karnofsky", "Karnofsky performance score", "categorical", "karnof",
                      levels={"70": "70", "80": "80", "90": "90", "100": "100"}, plausible=(0, 100),
                      description="trial enrolled 70-100 in steps of 10"),
            Covariate("months_prior_zdv", "months of prior zidovudine", "numeric", "priorzdv", "months",
                      plausible=(0, 600), units={"mo": 1, "weeks": 12 / 52.1775, "years": 12}),
            Covariate("iv_drug_use", "intravenous drug use history", "categorical", "ivdrug",
                      levels={"1": "never", "2": "current", "3": "previous"}),
            Covariate("hemophilia", "hemophilia", "categorical", "hemophil", levels={"0": "no", "1": "yes"}),
            Covariate("sex", "sex", "categorical", "sex", levels={"1": "male", "2": "female"}),
            Covariate("race_ethnicity", "race/ethnicity", "categorical", "raceth",
                      levels={"1": "white non-hispanic", "2": "black non-hispanic", "3": "hispanic",
                              "4": "asian/pacific islander", "5": "american indian/alaskan native"}),
        ),
        default_horizon=300.0,
        randomised="yes (1:1, stratified by screening CD4 <= 50 vs 51-200/uL)",
        published=(
            PublishedEffect("HR", 0.50, (0.33, 0.76), "AIDS-defining event or death",
                            "Hammer SM et al. N Engl J Med 1997;337:725-733 (ACTG 320)"),
            PublishedEffect("HR", 0.43, (0.19, 0.99), "death",
                            "Hammer SM et al. N Engl J Med 1997;337:725-733 (ACTG 320)",
                            "not modelled here (endpoint 'aids' = AIDS or death)"),
        ),
        citation="Hammer SM et al. NEJM 1997;337:725-33; data: Hosmer, Lemeshow & May, Applied Survival Analysis "
                 "(2008), via scikit-survival load_aids",
        notes="1,151 of the 1,156 randomised patients; txgrp (zidovudine vs stavudine backbone) is not a covariate.",
    ),
    "veterans": TrialSchema(
        name="veterans",
        title="Veterans' Administration lung cancer trial: standard vs test chemotherapy (advanced, inoperable)",
        loader="load_veterans_lung_cancer",
        endpoint="death",
        time_unit="days",
        arms=(
            Arm("standard", "standard chemotherapy", "standard", ("control",)),
            Arm("test", "test chemotherapy", "test", ("treatment", "experimental")),
        ),
        treatment_column="Treatment",
        covariates=(
            Covariate("age", "age", "numeric", "Age_in_years", "years", plausible=(0, 120), units={"yr": 1}),
            Covariate("celltype", "histological cell type", "categorical", "Celltype",
                      levels={"squamous": "squamous", "smallcell": "smallcell", "adeno": "adeno", "large": "large"}),
            Covariate("karnofsky", "Karnofsky performance score", "numeric", "Karnofsky_score", "points",
                      plausible=(0, 100)),
            Covariate("months_from_diagnosis", "months from diagnosis to randomisation", "numeric",
                      "Months_from_Diagnosis", "months", plausible=(0, 600), units={"mo": 1, "years": 12}),
            Covariate("prior_therapy", "prior therapy", "categorical", "Prior_therapy", levels=dict(_YES_NO)),
        ),
        default_horizon=365.0,
        randomised="yes",
        published=(
            PublishedEffect("HR", None, None, "death",
                            "Kalbfleisch JD & Prentice RL, The Statistical Analysis of Failure Time Data (Wiley 1980)",
                            "published conclusion: no significant survival difference between test and standard "
                            "chemotherapy; cell type and Karnofsky score are the strong prognostic factors"),
            PublishedEffect("HR", 1.018, (0.714, 1.45), "death",
                            "R survival::coxph(Surv(time, status) ~ trt, veteran), unadjusted; output as printed in "
                            "public course notes (rpubs.com, rstudio-pubs-static 126441)",
                            "reference implementation of the same analysis, not the original publication"),
        ),
        citation="Kalbfleisch & Prentice (1980), via scikit-survival load_veterans_lung_cancer",
    ),
    "gbsg2": TrialSchema(
        name="gbsg2",
        title="GBSG-2: tamoxifen (hormone therapy) in node-positive breast cancer, recurrence-free survival",
        loader="load_gbsg2",
        endpoint="recurrence or death",
        time_unit="days",
        arms=(
            Arm("no_hormone_therapy", "no hormone therapy", "no", ("control", "none")),
            Arm("tamoxifen", "tamoxifen (hormone therapy)", "yes", ("hormone_therapy", "horth", "treatment")),
        ),
        treatment_column="horTh",
        covariates=(
            Covariate("age", "age", "numeric", "age", "years", plausible=(0, 120), units={"yr": 1}),
            Covariate("menopausal_status", "menopausal status", "categorical", "menostat",
                      levels={"Pre": "pre", "Post": "post"}),
            Covariate("tumor_size", "tumour size", "numeric", "tsize", "mm", plausible=(0.5, 500),
                      units={"cm": 10}),
            Covariate("tumor_grade", "tumour grade", "categorical", "tgrade",
                      levels={"I": "I", "II": "II", "III": "III"}),
            Covariate("positive_nodes", "positive lymph nodes", "numeric", "pnodes", "count", plausible=(0, 100)),
            Covariate("progesterone_receptor", "progesterone receptor", "numeric", "progrec", "fmol/mg",
                      plausible=(0, 10000)),
            Covariate("estrogen_receptor", "oestrogen receptor", "numeric", "estrec", "fmol/mg",
                      plausible=(0, 10000)),
        ),
        default_horizon=1826.0,
        randomised="partly: 2x2 factorial (3 vs 6 CMF cycles x tamoxifen vs none), hormone therapy was not "
                   "randomised for all patients in this data set; effects are adjusted for covariates",
        published=(
            PublishedEffect("HR", None, None, "recurrence-free survival",
                            "Schumacher M et al. J Clin Oncol 1994;12:2086-2093",
                            "published conclusion: tamoxifen improved recurrence-free survival"),
        ),
        citation="Schumacher et al. JCO 1994; data: Sauerbrei & Royston (1999), via scikit-survival load_gbsg2",
    ),
}


# ACTG 320's secondary endpoint (death alone, 26 deaths): the same patients and covariates, its own published HR.
TRIALS["actg320-death"] = replace(
    TRIALS["actg320"],
    name="actg320-death",
    title="ACTG 320 (secondary endpoint: death): indinavir added to zidovudine (or stavudine) + lamivudine",
    endpoint="death",
    loader_kwargs=(("endpoint", "death"),),
    published=(
        PublishedEffect("HR", 0.43, (0.19, 0.99), "death",
                        "Hammer SM et al. N Engl J Med 1997;337:725-733 (ACTG 320)"),
    ),
    notes="26 deaths: individual effects are weakly identified; read intervals, not point estimates.",
)

_ALIASES = {"aids": "actg320", "actg": "actg320", "veteran": "veterans", "vlc": "veterans", "gbsg": "gbsg2",
            "actg320death": "actg320-death"}


def list_trials() -> list[str]:
    """Names of the trials genmed can model (``actg320``, ``gbsg2``, ``veterans``)."""
    return sorted(TRIALS)


def trial_schema(name: str) -> TrialSchema:
    """The schema of a trial: covariates a patient must supply (with units), arms, endpoint, published effect."""
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    if key not in TRIALS:
        squashed = key.replace("-", "")
        key = _ALIASES.get(squashed, squashed)
    if key not in TRIALS:
        raise ConfigError(f"unknown trial {name!r}", hint=f"known: {', '.join(list_trials())}")
    return TRIALS[key]


@lru_cache(maxsize=8)
def _load_cached(name: str) -> TrialData:
    import pandas as pd
    import sksurv.datasets as ds

    schema = TRIALS[name]
    Xraw, y = getattr(ds, schema.loader)(**dict(schema.loader_kwargs))
    event_field, time_field = y.dtype.names
    X = pd.DataFrame({c.name: Xraw[c.column].astype(str if c.kind == "categorical" else float) for c in schema.covariates})
    for c in schema.covariates:
        if c.kind == "categorical":
            X[c.name] = X[c.name].astype(str)
    codes = [a.code for a in schema.arms]
    arm = np.array([codes.index(str(v)) for v in Xraw[schema.treatment_column].astype(str)], dtype=int)
    stratum = None
    if schema.stratum_column:
        stratum = Xraw[schema.stratum_column].astype(str).to_numpy()
    return TrialData(schema, X, arm, np.asarray(y[time_field], float), np.asarray(y[event_field], bool), stratum)


def load_trial(name: str) -> TrialData:
    """Load a trial from scikit-survival's bundled data (offline), in the schema's covariate names and coding."""
    schema = trial_schema(name)
    data = _load_cached(schema.name)
    return TrialData(schema, data.X.copy(), data.arm.copy(), data.time.copy(), data.event.copy(),
                     None if data.stratum is None else data.stratum.copy())


@dataclass
class PatientCheck:
    """Result of checking a patient's covariates against a trial.

    ``values`` holds the normalised covariates (trial coding); ``missing`` names absent covariates; ``flags`` lists
    reasons the patient lies outside the trial's population ("outside validated population").
    """

    trial: str
    values: dict[str, Any]
    missing: list[str]
    flags: list[str]
    ignored: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def within_population(self) -> bool:
        return not self.flags

    @property
    def status(self) -> str:
        if self.missing:
            return "indeterminate"
        return "outside validated population" if self.flags else "within validated population"


def check_patient(trial: str, covariates: dict[str, Any]) -> PatientCheck:
    """Normalise and check a patient's covariates against a trial.

    Raises :class:`InputError` for values that cannot be right (unknown category, implausible number or unit);
    returns missing covariates and population flags rather than raising, so callers can report "indeterminate".
    """
    schema = trial_schema(trial)
    if not isinstance(covariates, dict):
        raise InputError(f"patient covariates must be a mapping of name to value, got {type(covariates).__name__}")
    data = _load_cached(schema.name)
    values: dict[str, Any] = {}
    missing: list[str] = []
    flags: list[str] = []
    lowered = {str(k).strip().lower(): v for k, v in covariates.items()}
    known = {c.name.lower() for c in schema.covariates} | {c.column.lower() for c in schema.covariates}
    for c in schema.covariates:
        raw = lowered.get(c.name.lower(), lowered.get(c.column.lower()))
        if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
            missing.append(c.name)
            continue
        v = c.normalise(raw, schema.name)
        values[c.name] = v
        column = data.X[c.name]
        if c.kind == "numeric":
            lo, hi = float(column.min()), float(column.max())
            if v < lo or v > hi:
                flags.append(f"{c.name}={v:g} {c.unit or ''} is outside the trial's range {lo:g}-{hi:g}".replace("  ", " "))
        else:
            n = int((column == v).sum())
            if n == 0:
                flags.append(f"{c.name}={c.levels[v]} was not seen in the trial")
            elif n < 10:
                flags.append(f"{c.name}={c.levels[v]} was rare in the trial (n={n}); estimates for it are unstable")
    ignored = sorted(k for k in lowered if k not in known)
    return PatientCheck(schema.name, values, missing, flags, ignored)
