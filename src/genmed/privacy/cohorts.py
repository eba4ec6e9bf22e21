"""Cohort schemas with *public* bins for DP synthesis: declared per data set, never inferred from the data.

Bounds inferred from the data would spend privacy budget (or leak the extremes); the bins below come from the
studies' eligibility criteria and clinical convention. Each schema also declares the analysis structure the
release must keep (treatment or exposure × event × time), the hazard ratio of interest, a secret column for the
attribute-inference audit, and a public dependency tree between covariates (domain knowledge, e.g. the FLC group
is defined from kappa + lambda) that the default synthesizer uses.

Data sets (all shipped inside scikit-survival, so nothing is downloaded):
- ``actg320``: AIDS Clinical Trials Group 320 (Hammer et al., NEJM 1997), indinavir vs control, time to AIDS/death.
- ``flchain``: Mayo serum free light chain cohort (Dispenzieri et al., Mayo Clin Proc 2012), time to death.
- ``gbsg2``: German Breast Cancer Study Group 2 (Schumacher et al., JCO 1994), hormonal therapy, recurrence.
- ``veterans``: Veterans' Administration lung cancer trial (Kalbfleisch & Prentice), standard vs test therapy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genmed.core.errors import InputError

TIME, EVENT = "time", "event"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "categorical" or "numeric"
    categories: tuple[str, ...] = ()
    bins: tuple[float, ...] = ()  # numeric: public bin edges (left-closed), first = lower bound, last = upper bound
    missing: bool = False  # numeric with a "missing" bin

    @property
    def size(self) -> int:
        if self.kind == "categorical":
            return len(self.categories)
        return len(self.bins) - 1 + (1 if self.missing else 0)


@dataclass(frozen=True)
class CohortSchema:
    name: str
    columns: tuple[Column, ...]
    exposure: str  # treatment / exposure column of the analysis structure
    exposure_level: str  # level whose hazard ratio (vs the rest) is "the hazard ratio of interest"
    secret: str  # column for the attribute-inference audit
    parents: dict[str, str] = field(default_factory=dict)  # public covariate tree: child -> parent
    source: str = ""
    time_coarse: int = 4  # time bins used inside covariate cliques
    interaction: str = ""  # covariate whose interaction with the exposure the release should keep
    weights: dict[str, float] = field(default_factory=dict)  # budget weight of a covariate's clique (default 1):
    # published prognostic factors get more, so the outcome model a researcher fits survives the noise

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def covariates(self) -> list[str]:
        return [c for c in self.names if c not in (TIME, EVENT, self.exposure)]

    @property
    def analysis(self) -> tuple[str, str, str]:
        return (self.exposure, EVENT, TIME)


def _cat(name, *cats):
    return Column(name, "categorical", tuple(str(c) for c in cats))


def _num(name, *edges, missing=False):
    return Column(name, "numeric", bins=tuple(float(e) for e in edges), missing=missing)


SCHEMAS: dict[str, CohortSchema] = {
    "actg320": CohortSchema(
        "actg320",
        (
            _cat("tx", 0, 1), _num("age", 15, 25, 30, 35, 40, 45, 50, 75), _num("cd4", 0, 25, 50, 100, 150, 200, 400),
            _cat("karnof", 70, 80, 90, 100), _cat("ivdrug", 1, 2, 3), _cat("hemophil", 0, 1),
            _cat("raceth", 1, 2, 3, 4, 5), _cat("sex", 1, 2), _cat("strat2", 0, 1),
            _num("priorzdv", 0, 12, 24, 48, 400),
            _num(TIME, 0, 60, 120, 180, 240, 300, 400), _cat(EVENT, 0, 1),
        ),
        exposure="tx", exposure_level="1", secret="ivdrug",
        parents={"strat2": "cd4", "hemophil": "sex", "ivdrug": "raceth", "priorzdv": "age"},
        source="ACTG 320 (Hammer et al. 1997) via sksurv.datasets.load_aids('aids'); bins from eligibility "
               "(CD4 <= 200/mm3, age >= 13, Karnofsky >= 70) and 1-year follow-up",
        # 67 training events: covariate cliques condition on the event only (time_coarse=1) so each cell keeps
        # enough events; CD4 and Karnofsky score are the trial's published prognostic factors (Hammer et al.)
        time_coarse=1, interaction="strat2", weights={"cd4": 3.0, "karnof": 3.0},
    ),
    "flchain": CohortSchema(
        "flchain",
        (
            _cat("flc_grp", *range(1, 11)), _num("age", 50, 55, 60, 65, 70, 75, 80, 85, 90, 102), _cat("sex", "F", "M"),
            _cat("sample_yr", *range(1995, 2004)), _num("kappa", 0, 0.75, 1, 1.25, 1.5, 2, 3, 25),
            _num("lambda", 0, 0.75, 1, 1.25, 1.5, 2, 3, 30), _num("creatinine", 0, 0.8, 1, 1.2, 1.5, 11, missing=True),
            _cat("mgus", "no", "yes"),
            _num(TIME, 0, 730, 1460, 2190, 2920, 3650, 4380, 5500), _cat(EVENT, 0, 1),
        ),
        exposure="flc_grp", exposure_level="10", secret="mgus",
        parents={"kappa": "flc_grp", "lambda": "kappa", "creatinine": "age", "mgus": "flc_grp", "sex": "kappa"},
        interaction="age",
        source="Mayo FLC cohort (Dispenzieri et al. 2012) via sksurv.datasets.load_flchain; cause-of-death "
               "'chapter' dropped (it is known only after the outcome); bins from clinical reference ranges",
    ),
    "gbsg2": CohortSchema(
        "gbsg2",
        (
            _cat("horTh", "no", "yes"), _num("age", 20, 40, 50, 60, 70, 81), _cat("menostat", "Pre", "Post"),
            _num("tsize", 0, 20, 30, 50, 125), _cat("tgrade", "I", "II", "III"), _num("pnodes", 1, 2, 4, 10, 52),
            _num("progrec", 0, 10, 100, 2400), _num("estrec", 0, 10, 100, 1150),
            _num(TIME, 0, 365, 730, 1095, 1460, 1825, 2700), _cat(EVENT, 0, 1),
        ),
        exposure="horTh", exposure_level="yes", secret="menostat", parents={"menostat": "age"},
        source="GBSG-2 (Schumacher et al. 1994) via sksurv.datasets.load_gbsg2",
    ),
    "veterans": CohortSchema(
        "veterans",
        (
            _cat("Treatment", "standard", "test"), _num("Age_in_years", 30, 50, 60, 70, 82),
            _cat("Celltype", "adeno", "large", "smallcell", "squamous"), _num("Karnofsky_score", 0, 40, 60, 80, 100),
            _num("Months_from_Diagnosis", 0, 3, 6, 12, 90), _cat("Prior_therapy", "no", "yes"),
            _num(TIME, 0, 30, 90, 180, 365, 1000), _cat(EVENT, 0, 1),
        ),
        exposure="Treatment", exposure_level="test", secret="Prior_therapy",
        source="VA lung cancer trial (Kalbfleisch & Prentice) via sksurv.datasets.load_veterans_lung_cancer",
    ),
}


def load_cohort(name: str) -> tuple[pd.DataFrame, CohortSchema]:
    """A typed data frame (columns of the schema, ``time`` in days, ``event`` 0/1) and its schema."""
    if name not in SCHEMAS:
        raise InputError(f"unknown data set {name!r}", hint=f"known: {', '.join(SCHEMAS)} or a CSV path")
    schema = SCHEMAS[name]
    from sksurv import datasets as d

    if name == "actg320":
        X, y = d.load_aids("aids")
        ev, t = y["censor"], y["time"]
    elif name == "flchain":
        X, y = d.load_flchain()
        X = X.drop(columns=["chapter"]).rename(columns={"flc.grp": "flc_grp", "sample.yr": "sample_yr"})
        ev, t = y["death"], y["futime"]
    elif name == "gbsg2":
        X, y = d.load_gbsg2()
        ev, t = y["cens"], y["time"]
    else:
        X, y = d.load_veterans_lung_cancer()
        ev, t = y["Status"], y["Survival_in_days"]
    df = pd.DataFrame(X).copy()
    df[TIME] = np.asarray(t, dtype=float)
    df[EVENT] = np.asarray(ev, dtype=int)
    return _typed(df[schema.names], schema, str(name)), schema


def load_csv(path: str | Path, schema: CohortSchema) -> pd.DataFrame:
    """A CSV that must have exactly the schema's columns (clear error naming what is missing or extra)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("CSV file not found", source=str(path))
    try:
        df = pd.read_csv(path)
    except Exception as exc:
        raise InputError(f"not a readable CSV ({type(exc).__name__})", source=str(path)) from None
    missing = [c for c in schema.names if c not in df.columns]
    extra = [c for c in df.columns if c not in schema.names]
    if missing or extra:
        raise InputError(
            f"columns do not match the declared schema {schema.name!r}: missing {missing or 'none'}, "
            f"unexpected {extra or 'none'}", source=str(path))
    return _typed(df[schema.names], schema, str(path))


def _typed(df: pd.DataFrame, schema: CohortSchema, source: str) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for c in schema.columns:
        s = df[c.name]
        if c.kind == "categorical":
            vals = s.astype(str).str.replace(r"\.0$", "", regex=True)
            bad = sorted(set(vals[s.notna()]) - set(c.categories))
            if bad or s.isna().any():
                raise InputError(f"column {c.name!r} has values outside its declared categories "
                                 f"{list(c.categories)} ({len(bad)} distinct, {int(s.isna().sum())} missing)",
                                 source=source)
            out[c.name] = vals
        else:
            num = pd.to_numeric(s, errors="coerce")
            if (num.isna() & s.notna()).any():
                raise InputError(f"column {c.name!r} is not numeric", source=source)
            if num.isna().any() and not c.missing:
                raise InputError(f"column {c.name!r} has missing values and no declared missing bin", source=source)
            lo, hi = c.bins[0], c.bins[-1]
            out[c.name] = num.clip(lo, hi)  # public bounds: values outside are clipped, never used to set bounds
    return out


def encode(df: pd.DataFrame, schema: CohortSchema) -> pd.DataFrame:
    """Typed values -> integer bin codes (0..size-1), the representation every synthesizer works on."""
    out = pd.DataFrame(index=df.index)
    for c in schema.columns:
        if c.kind == "categorical":
            out[c.name] = pd.Categorical(df[c.name], categories=list(c.categories)).codes.astype(int)
        else:
            edges = np.asarray(c.bins)
            v = df[c.name].to_numpy(dtype=float)
            code = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
            if c.missing:
                code = np.where(np.isnan(v), len(edges) - 1, code)
            out[c.name] = code.astype(int)
    return out


def decode(codes: pd.DataFrame, schema: CohortSchema, rng: np.random.Generator) -> pd.DataFrame:
    """Integer codes -> typed values; numeric values drawn uniformly inside their public bin."""
    out = pd.DataFrame(index=codes.index)
    for c in schema.columns:
        k = codes[c.name].to_numpy(dtype=int)
        if c.kind == "categorical":
            out[c.name] = np.asarray(c.categories, dtype=object)[np.clip(k, 0, c.size - 1)]
        else:
            edges = np.asarray(c.bins)
            nb = len(edges) - 1
            kk = np.clip(k, 0, nb - 1)
            v = edges[kk] + rng.random(len(k)) * (edges[kk + 1] - edges[kk])
            if c.missing:
                v = np.where(k == nb, np.nan, v)
            out[c.name] = v
    return out
