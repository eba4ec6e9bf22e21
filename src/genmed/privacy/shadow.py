"""Shadow-model membership inference against a synthetic-data generator (our own short implementation).

The attack of Shokri et al. (IEEE S&P 2017), as adapted to synthetic data by Stadler, Oprisanu & Troncoso
("Synthetic Data – Anonymisation Groundhog Day", USENIX Security 2022) and framed as a privacy game by Houssiau
et al. (TAPAS, 2022):

1. the attacker picks vulnerable **targets**: the outliers of the population, i.e. the records with the largest
   mean (Gower) distance to their 5 nearest neighbours (Meeus et al., "Achilles' heels", ESORICS 2023);
2. the population without the targets is split into the attacker's **auxiliary** data and a disjoint
   **evaluation** pool. From the auxiliary data the attacker draws shadow data sets of ``n`` rows, half of them
   with the target in place of one row, and runs the *same generator at the same ε* on each (the generator is
   public; only its input is secret);
3. each synthetic data set is summarised by target-centred queries (Houssiau et al.'s query-based features):
   the share of synthetic rows that equal the target, lie within Gower distance 1, 2, 3 columns' worth of it,
   and match it on each column and on each pair of columns; plus the distance of the nearest synthetic row;
4. a classifier (random forest) trained on the shadow releases predicts "target in the input" and is scored on
   **fresh test releases** fitted on data drawn from the evaluation pool (never seen by the attacker), half
   with the target. The AUC is averaged over targets (0.5 = no leak) with a bootstrap 95% interval over test
   releases.

Costs ``targets × (shadows + tests)`` generator fits: cheap for genmed's own synthesizers (milliseconds), but
minutes each for smartnoise's MST/AIM on a shared 2-core CPU, so the benchmark runs it where the fit count fits
the time cap and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from genmed.privacy.cohorts import CohortSchema

# generator: (input codes, rng) -> synthetic codes (same number of rows as the input)
Generator = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


def _scaled(codes: pd.DataFrame, schema: CohortSchema) -> tuple[np.ndarray, np.ndarray]:
    """Numeric codes scaled to [0, 1] and categorical codes, as in :mod:`genmed.privacy.evaluate`."""
    from genmed.privacy.evaluate import _features

    return _features(codes, schema)


def _gower_to(x: tuple[np.ndarray, np.ndarray], tn: np.ndarray, tc: np.ndarray) -> np.ndarray:
    xn, xc = x
    d = xn.shape[1] + xc.shape[1]
    return (np.abs(xn - tn).sum(1) + (xc != tc).sum(1)) / d


def vulnerable_targets(pool: pd.DataFrame, schema: CohortSchema, k: int, neighbours: int = 5) -> np.ndarray:
    """Row positions of the ``k`` most isolated records (mean Gower distance to their nearest neighbours)."""
    from genmed.privacy.evaluate import _distances

    score = np.empty(len(pool))
    for sl, blk in _distances(pool, pool, schema):
        blk = np.sort(blk, axis=1)[:, 1:neighbours + 1]  # column 0 is the record itself
        score[sl] = blk.mean(axis=1)
    return np.argsort(-score, kind="stable")[:k]


def target_features(syn: pd.DataFrame, target: pd.Series, schema: CohortSchema) -> np.ndarray:
    """Target-centred query answers on one synthetic data set (shares, so data sets of any size compare)."""
    names = schema.names
    x = _scaled(syn[names], schema)
    t = _scaled(target[names].to_frame().T.astype(int), schema)
    dist = _gower_to(x, t[0][0], t[1][0])
    d = len(names)
    near = [float((dist <= j / d + 1e-9).mean()) for j in (0, 1, 2, 3)]
    match = (syn[names].to_numpy() == target[names].to_numpy(int)[None, :]).astype(float)
    one = match.mean(axis=0)
    iu = np.triu_indices(d, 1)
    two = (match.T @ match / len(syn))[iu]
    return np.concatenate([[dist.min()], near, one, two])


def _releases(generator: Generator, pool: pd.DataFrame, target: pd.DataFrame, n: int, count: int,
              schema: CohortSchema, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` releases from data sets of ``n`` rows drawn from ``pool``; odd ones contain the target."""
    feats, labels = [], []
    for i in range(count):
        member = i % 2
        rows = pool.iloc[rng.choice(len(pool), size=n - member, replace=False)]
        data = pd.concat([rows, target], ignore_index=True) if member else rows.reset_index(drop=True)
        syn = generator(data, rng)
        feats.append(target_features(syn, target.iloc[0], schema))
        labels.append(member)
    return np.array(feats), np.array(labels)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from genmed.privacy.evaluate import auc_se

    return auc_se(y, s)[0]


def shadow_mia(population: pd.DataFrame, schema: CohortSchema, generator: Generator, rng: np.random.Generator,
               *, targets: int = 5, shadows: int = 100, tests: int = 50, n: int | None = None,
               boot: int = 1000) -> dict[str, Any]:
    """Run the shadow-model membership game on ``population`` (encoded codes) against ``generator``.

    ``n``: rows of every shadow/test input data set (default: 80% of the attacker's half of the population).
    Returns the mean per-target AUC with a bootstrap 95% interval, the per-target AUCs, and the fit count/time.
    """
    from sklearn.ensemble import RandomForestClassifier

    t0 = time.perf_counter()
    pop = population[schema.names].reset_index(drop=True)
    tix = vulnerable_targets(pop, schema, targets)
    rest = pop.drop(index=tix).reset_index(drop=True)
    perm = rng.permutation(len(rest))
    aux, evalpool = rest.iloc[perm[: len(rest) // 2]], rest.iloc[perm[len(rest) // 2:]]
    n = n or int(0.8 * min(len(aux), len(evalpool)))
    per_target, tests_y, tests_s = [], [], []
    for j in tix:
        target = pop.iloc[[j]]
        X, y = _releases(generator, aux, target, n, shadows, schema, rng)
        clf = RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=int(rng.integers(1 << 31)),
                                     n_jobs=1).fit(X, y)
        Xt, yt = _releases(generator, evalpool, target, n, tests, schema, rng)
        st = clf.predict_proba(Xt)[:, 1]
        per_target.append(_auc(yt, st))
        tests_y.append(yt)
        tests_s.append(st)
    auc = float(np.nanmean(per_target))
    # bootstrap over test releases (within each target), mean of per-target AUCs
    draws = []
    for _ in range(boot):
        vals = []
        for yt, st in zip(tests_y, tests_s, strict=True):
            b = rng.integers(0, len(yt), len(yt))
            vals.append(_auc(yt[b], st[b]))
        draws.append(np.nanmean(vals))
    lo, hi = np.nanpercentile(draws, [2.5, 97.5])
    fits = len(tix) * (shadows + tests)
    return {"shadow_auc": auc, "shadow_auc_ci95": [float(lo), float(hi)],
            "shadow_auc_per_target": [round(a, 3) for a in per_target], "targets": len(tix),
            "shadows_per_target": shadows, "tests_per_target": tests, "rows_per_dataset": n, "fits": fits,
            "seconds": round(time.perf_counter() - t0, 1)}


def method_generator(method: str, schema: CohortSchema, epsilon: float, delta: float) -> Generator:
    """A registered synthesizer as a shadow-attack generator (refitted, same ε, on every input)."""
    from genmed.privacy.synth import synthesize_codes

    def gen(data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return synthesize_codes(method, data, schema, epsilon, delta, rng).codes

    return gen
