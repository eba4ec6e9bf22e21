"""Turn a :class:`ScoringSpec` into a batched, cached scoring function with per-component results.

Order of work for a batch: parse and canonicalise once; compute the hard filters and the cheap objectives
(cache first); aggregate; then compute expensive components (docking) only for molecules that pass every filter
and already reach ``min_score_to_compute``; aggregate again. A molecule that fails to parse or to score gets 0
with the reason recorded, and never raises.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from genmed.chem.scoring.cache import ScoreCache
from genmed.chem.scoring.components import COMPONENTS, Component
from genmed.chem.scoring.config import FilterSpec, ObjectiveSpec, ScoringSpec, parse_scoring
from genmed.chem.scoring.transforms import build_transform
from genmed.core.errors import ConfigError


def canonical_smiles(smiles: str):
    """``(mol, canonical SMILES)`` or ``(None, None)``; plain RDKit canonicalisation (no standardisation, so
    benchmark objectives see exactly the molecule that was generated)."""
    from genmed.chem.molecules import canonical_smiles as _canonical
    from genmed.chem.molecules import to_mol

    try:
        mol = to_mol(smiles)
        if mol is None or mol.GetNumAtoms() == 0:
            return None, None
        return mol, _canonical(mol)
    except Exception:
        return None, None


def _invalid_reason(smiles) -> str:
    from genmed.chem.molecules import explain_invalid

    try:
        return f"invalid SMILES ({explain_invalid(smiles) if isinstance(smiles, str) else 'not a string'})"
    except Exception:
        return "invalid SMILES"


@dataclass
class ScoredBatch:
    """Scores for a batch, aligned with the input list."""

    input_smiles: list[str]
    smiles: list[str | None]  # canonical; None where invalid
    total: np.ndarray
    raw: dict[str, np.ndarray]
    desirability: dict[str, np.ndarray]
    passed: np.ndarray  # hard filters
    failed_filters: list[list[str]]
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def valid(self) -> np.ndarray:
        return np.array([s is not None for s in self.smiles])

    def record(self, i: int) -> dict[str, Any]:
        """One molecule's scores as a flat dict (CSV rows, reports)."""
        row: dict[str, Any] = {"smiles": self.smiles[i] or self.input_smiles[i], "score": float(self.total[i]),
                               "valid": self.smiles[i] is not None, "passed_filters": bool(self.passed[i]),
                               "failed_filters": ";".join(self.failed_filters[i])}
        for name, values in self.raw.items():
            row[f"{name}_raw"] = _f(values[i])
            if name in self.desirability:
                row[f"{name}_desirability"] = _f(self.desirability[name][i])
        return row


def _f(x) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) or np.isnan(float(x)) else float(x)


class Objective:
    def __init__(self, spec: ObjectiveSpec, component: Component, where: str):
        self.spec = spec
        self.component = component
        self.name = spec.label
        self.weight = spec.weight
        self.transform, self.transform_desc = build_transform(
            spec.direction, spec.transform, low=spec.low, high=spec.high, target=spec.target, sigma=spec.sigma,
            k=spec.k, where=where,
        )
        if spec.transform is None and spec.direction in ("maximize", "minimize") and spec.low is None \
                and not component.unit_interval:
            raise ConfigError(
                f"{where}: {component.name} values are not in [0, 1] ({component.unit or 'raw units'}); "
                f"give low and high for the {spec.direction} sigmoid, or a transform"
            )

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight, **self.transform_desc, **self.component.provenance(),
                **({"reason": self.spec.reason} if self.spec.reason else {})}


class Filter:
    def __init__(self, spec: FilterSpec, component: Component, where: str):
        self.spec = spec
        self.component = component
        self.name = spec.label
        if spec.min is None and spec.max is None and not component.unit_interval:
            raise ConfigError(f"{where}: give min and/or max for a filter on {component.name}")

    def passes(self, raw: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(raw)
        if self.spec.min is None and self.spec.max is None:
            return ok & (np.nan_to_num(raw) >= 0.5)
        if self.spec.min is not None:
            ok &= np.nan_to_num(raw, nan=-np.inf) >= self.spec.min
        if self.spec.max is not None:
            ok &= np.nan_to_num(raw, nan=np.inf) <= self.spec.max
        return ok

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "min": self.spec.min, "max": self.spec.max, **self.component.provenance(),
                **({"reason": self.spec.reason} if self.spec.reason else {})}


def _build_component(name: str, params: dict, where: str) -> Component:
    cls = COMPONENTS.get(name) if name in COMPONENTS else None
    if cls is None:
        raise ConfigError(f"{where}.component: unknown scoring component {name!r}",
                          hint=f"known: {', '.join(COMPONENTS.names())}")
    return cls(params, where=f"{where}.params")


class Scorer:
    """Batched scoring function built from a spec. ``scorer(smiles_list) -> ScoredBatch``."""

    def __init__(self, spec: ScoringSpec | dict, cache: ScoreCache | None = None):
        if isinstance(spec, dict):
            spec = parse_scoring(spec)
        self.spec = spec
        self.cache = cache
        self.aggregation = spec.aggregation
        self.objectives = [
            Objective(o, _build_component(o.component, o.params, f"scoring.objective[{i}]"), f"scoring.objective[{i}]")
            for i, o in enumerate(spec.objective)
        ]
        self.filters = [
            Filter(f, _build_component(f.component, f.params, f"scoring.filter[{i}]"), f"scoring.filter[{i}]")
            for i, f in enumerate(spec.filter)
        ]
        self.timings: dict[str, float] = {}

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    def describe(self) -> dict[str, Any]:
        return {"aggregation": self.aggregation, "objectives": [o.describe() for o in self.objectives],
                "filters": [f.describe() for f in self.filters]}

    def _raw(self, comp: Component, mols: list, smiles: list[str | None], label: str) -> np.ndarray:
        t0 = time.perf_counter()
        out = np.full(len(mols), np.nan)
        idx = [i for i, s in enumerate(smiles) if s is not None]
        if not idx:
            return out
        use_cache = self.cache is not None and comp.cacheable
        sig = comp.signature()
        cached = self.cache.get_many(sig, [smiles[i] for i in idx]) if use_cache else {}
        todo = [i for i in idx if smiles[i] not in cached]
        for i in idx:
            if smiles[i] in cached:
                out[i] = cached[smiles[i]]
        if todo:
            # deduplicate within the batch
            first: dict[str, int] = {}
            for i in todo:
                first.setdefault(smiles[i], i)
            uniq = list(first.values())
            vals = np.asarray(comp.compute([mols[i] for i in uniq], [smiles[i] for i in uniq]), dtype=float)
            got = {smiles[i]: float(v) for i, v in zip(uniq, vals, strict=True)}
            for i in todo:
                out[i] = got[smiles[i]]
            if use_cache:
                self.cache.put_many(sig, got)
        self.timings[label] = self.timings.get(label, 0.0) + time.perf_counter() - t0
        return out

    def aggregate(self, des: dict[str, np.ndarray], n: int) -> np.ndarray:
        w = np.array([o.weight for o in self.objectives])
        d = np.stack([np.nan_to_num(des[o.name], nan=0.0) for o in self.objectives]) if self.objectives else np.zeros((0, n))
        d = np.clip(d, 0.0, 1.0)
        if self.aggregation == "arithmetic":
            return (w[:, None] * d).sum(0) / w.sum()
        with np.errstate(divide="ignore"):
            logd = np.log(d)
        return np.exp((w[:, None] * logd).sum(0) / w.sum())

    def __call__(self, smiles: list[str]) -> ScoredBatch:
        parsed = [canonical_smiles(s) for s in smiles]
        mols = [m for m, _ in parsed]
        canon = [c for _, c in parsed]
        n = len(smiles)
        valid = np.array([c is not None for c in canon])
        passed = valid.copy()
        failed: list[list[str]] = [[] if v else [_invalid_reason(s)] for v, s in zip(valid, smiles, strict=True)]
        raw: dict[str, np.ndarray] = {}
        for f in self.filters:
            r = self._raw(f.component, mols, canon, f.name)
            raw[f.name] = r
            ok = f.passes(r)
            for i in np.where(valid & ~ok)[0]:
                failed[i].append(f.name)
            passed &= ok
        des: dict[str, np.ndarray] = {}
        cheap = [o for o in self.objectives if not o.component.expensive]
        expensive = [o for o in self.objectives if o.component.expensive]
        for o in cheap:
            raw[o.name] = self._raw(o.component, mols, canon, o.name)
            des[o.name] = o.transform(raw[o.name])
        if expensive:
            for o in expensive:
                des[o.name] = np.full(n, np.nan)
            partial = self._aggregate_subset(des, cheap, n) if cheap else np.ones(n)
            for o in expensive:
                chosen = passed & (partial >= o.spec.min_score_to_compute)
                sub = [m if c else None for m, c in zip(mols, chosen, strict=True)]
                subc = [s if c else None for s, c in zip(canon, chosen, strict=True)]
                raw[o.name] = self._raw(o.component, sub, subc, o.name)
                des[o.name] = o.transform(raw[o.name])
        total = self.aggregate(des, n) if self.objectives else np.zeros(n)
        total = np.where(passed, total, 0.0)
        return ScoredBatch(list(smiles), canon, total, raw, des, passed, failed, dict(self.timings))

    def _aggregate_subset(self, des, objectives, n):
        w = np.array([o.weight for o in objectives])
        d = np.clip(np.stack([np.nan_to_num(des[o.name], nan=0.0) for o in objectives]), 0, 1)
        if self.aggregation == "arithmetic":
            return (w[:, None] * d).sum(0) / w.sum()
        with np.errstate(divide="ignore"):
            return np.exp((w[:, None] * np.log(d)).sum(0) / w.sum())

    def close(self) -> None:
        for o in self.objectives:
            o.component.close()
        for f in self.filters:
            f.component.close()


def pareto_front(values: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``values`` (shape [n, k], every column to be maximised).

    A row is dominated when another is >= on every column and > on at least one. Duplicated rows are all kept.
    """
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=-np.inf)
    n = len(values)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        ge = (values >= values[i]).all(1)
        gt = (values > values[i]).any(1)
        if (ge & gt).any():
            keep[i] = False
    return np.where(keep)[0]
