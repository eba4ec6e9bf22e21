"""``mol-ga``: the graph GA of Tripp & Hernández-Lobato, "Genetic algorithms are strong baselines for molecule
generation" (arXiv:2310.09267, 2023; reference implementation: the ``mol_ga`` package, written again here).

It uses Jensen's graph crossover and mutation operators (the same ones as ``graph-ga``), with three changes:

- a large population (everything scored, up to ``population_size``) instead of the best 120;
- parents drawn *uniformly from the top quantiles*: for each of 25 log-spaced fractions from the top 0.1 % to the
  whole population, the same number of parents is drawn uniformly from that top fraction, so the best
  molecules are picked often while the rest of the population is never cut off;
- small offspring batches per generation (``offspring_size``), a blend of mutation-only children
  (``frac_mutate``) and crossover children with a low mutation rate, and no early stop: the run spends its budget.

Deterministic for a given seed (one ``random.Random`` drives the sampling and the operators).
"""

from __future__ import annotations

import bisect
import math
import random
from typing import Any

import numpy as np
from pydantic import Field

from genmed.chem.optimize.base import OPTIMIZERS, OptimizerParams, Oracle, internal_diversity
from genmed.chem.optimize.graph_ga import PopulationOptimizer, load_pool
from genmed.chem.optimize.graph_operators import mutate, reproduce


class MolGAParams(OptimizerParams):
    population_size: int = Field(default=10_000, ge=2, description="best molecules kept as parents")
    offspring_size: int = Field(default=5, ge=1, description="children made per generation")
    initial_size: int = Field(default=120, ge=1, description="random molecules scored first")
    frac_mutate: float = Field(default=0.1, ge=0, le=1, description="fraction of children made by mutation only")
    crossover_mutation_rate: float = Field(default=0.01, ge=0, le=1,
                                           description="mutation rate applied to crossover children")
    n_quantiles: int = Field(default=25, ge=1, description="log-spaced top fractions parents are drawn from")
    top_fraction_min: float = Field(default=1e-3, gt=0, le=1, description="smallest top fraction")
    initial: str = Field(default="moses", description="'moses', 'moses-test' or a SMILES file")
    initial_smiles: list[str] = Field(default_factory=list, description="seed molecules added to the first draw")
    max_idle_generations: int = Field(default=1000, ge=1,
                                      description="stop after this many generations that found nothing new")


def quantile_parents(scores_desc: np.ndarray, n: int, fractions: np.ndarray, rng: random.Random) -> list[int]:
    """Indices into a population sorted best-first: ``ceil(n / len(fractions))`` parents drawn uniformly from the
    top ``fraction`` of the population for each fraction (ties with the cut-off score included), shuffled,
    first ``n`` returned."""
    size = len(scores_desc)
    per = int(math.ceil(n / len(fractions)))
    # score thresholds at quantile 1 - fraction; eligible = every molecule scoring at least the threshold
    thresholds = np.quantile(scores_desc, 1.0 - fractions)
    ascending = scores_desc[::-1]
    out: list[int] = []
    for thr in thresholds:
        k = size - int(np.searchsorted(ascending, thr, side="left"))
        k = max(k, 1)
        out.extend(rng.randrange(k) for _ in range(per))
    rng.shuffle(out)
    return out[:n]


@OPTIMIZERS.register("mol-ga")
class MolGA(PopulationOptimizer):
    name = "mol-ga"
    Params = MolGAParams

    def __init__(self, params=None, *, seed: int = 0):
        super().__init__(params, seed=seed)
        self.idle = 0

    def extra_state(self) -> dict[str, Any]:
        return {"idle": self.idle}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.idle = state.get("idle", 0)

    def _select(self, merged: dict[str, float]) -> None:
        ranked = sorted(merged.items(), key=lambda kv: -kv[1])[: self.params.population_size]
        self.population = [s for s, _ in ranked]
        self.scores = [sc for _, sc in ranked]

    def _add(self, new: dict[str, float]) -> None:
        """Insert new molecules into the best-first population (ties: earlier molecules first); keep the best."""
        members = set(self.population)
        neg = [-s for s in self.scores]
        for smi, sc in new.items():
            if smi in members:
                continue
            i = bisect.bisect_right(neg, -sc)
            neg.insert(i, -sc)
            self.population.insert(i, smi)
            members.add(smi)
        del neg[self.params.population_size:], self.population[self.params.population_size:]
        self.scores = [-s for s in neg]

    def _initial(self, oracle: Oracle) -> None:
        p = self.params
        pool = load_pool(p.initial)
        draw = [pool[i] for i in self.np_rng.choice(len(pool), size=min(p.initial_size, len(pool)), replace=False)]
        start = list(dict.fromkeys(list(p.initial_smiles) + draw))
        scores = oracle(start)
        self._select(self._canonical_scores(start, scores))

    @staticmethod
    def _canonical_scores(smiles: list[str], scores: np.ndarray) -> dict[str, float]:
        from genmed.chem.scoring.scorer import canonical_smiles

        out: dict[str, float] = {}
        for smi, sc in zip(smiles, scores, strict=True):
            if np.isnan(sc):
                continue
            canon = canonical_smiles(smi)[1]
            if canon is not None:
                out.setdefault(canon, float(sc))
        return out

    def _children(self) -> list[str]:
        from rdkit import Chem

        p = self.params
        fractions = np.logspace(math.log10(p.top_fraction_min), 0, p.n_quantiles)
        idx = quantile_parents(np.asarray(self.scores, dtype=float), 2 * p.offspring_size, fractions, self.rng)
        parents = [self.population[i] for i in idx]
        n_mut = int(p.offspring_size * p.frac_mutate)
        children: list[str] = []
        for smi in parents[:n_mut]:
            mol = Chem.MolFromSmiles(smi)
            child = mutate(mol, 1.0, self.rng) if mol is not None else None
            if child is not None:
                children.append(Chem.MolToSmiles(child))
        cross = parents[n_mut:]
        partners = list(cross)
        self.rng.shuffle(partners)
        for a_smi, b_smi in zip(cross[: p.offspring_size - n_mut], partners, strict=False):
            a, b = Chem.MolFromSmiles(a_smi), Chem.MolFromSmiles(b_smi)
            if a is None or b is None:
                continue
            child_smiles = reproduce(a, b, p.crossover_mutation_rate, self.rng)
            if child_smiles is not None:
                children.append(child_smiles)
        return list(dict.fromkeys(children))

    def run(self, oracle: Oracle, *, log=None, checkpoint=None) -> None:
        p = self.params
        if not self.population:
            self._initial(oracle)
        while not oracle.exhausted:
            self.step += 1
            before = oracle.calls
            children = self._children()
            new_scores = oracle(children) if children else np.array([])
            self._add(self._canonical_scores(children, new_scores))
            self.idle = self.idle + 1 if oracle.calls == before else 0
            if log is not None and (self.step % 20 == 0 or oracle.exhausted):
                log({"step": self.step, "population_mean": float(np.mean(self.scores[:100])),
                     "population_diversity": internal_diversity(self.population[:100])})
            if checkpoint is not None and self.step % 20 == 0:
                checkpoint()
            if self.idle >= p.max_idle_generations:
                self.stop_reason = f"no new molecules for {p.max_idle_generations} generations"
                return
        self.stop_reason = "budget spent"
