"""``graph-ga``: Jensen's graph-based genetic algorithm with PMO's settings (population 120, 70 offspring per
generation, mutation rate 0.067, fitness-proportional mating, stop when the top-100 mean stalls for 5
generations after 2,000 calls).

The initial population is drawn at random from a pool: by default the MOSES training set (1.6 M ZINC
"clean lead" molecules shipped in the molsets wheel; PMO draws from ZINC 250k), or the user's SMILES file.
GuacaMol's protocol (:data:`GUACAMOL_PROTOCOL`) instead scores the whole pool and starts from its best molecules,
makes as many children per generation as the population holds from a mating pool of 200, and stops when the
population has not changed for 5 generations (guacamol_baselines ``graph_ga``, Brown et al. 2019).
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import random
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from genmed.chem.optimize.base import OPTIMIZERS, Optimizer, OptimizerParams, Oracle, internal_diversity
from genmed.chem.optimize.graph_operators import reproduce
from genmed.core.errors import DataNotFoundError, InputError

_POOL_CACHE: dict[str, list[str]] = {}


def moses_pool_path(split: str = "train") -> Path:
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        raise DataNotFoundError("the MOSES data files are missing", hint="pip install --no-deps molsets")
    return Path(os.path.dirname(spec.origin)) / "dataset" / "data" / f"{split}.csv.gz"


def chembl_pool_paths() -> list[Path]:
    """GuacaMol's ChEMBL splits in the data directory (``genmed data fetch guacamol-chembl``)."""
    from genmed.chem.datasets import GUACAMOL_SPLITS
    from genmed.core.data import data_path

    paths = [data_path(f"chem/guacamol/guacamol_v1_{split}.smiles", must_exist=False) for split in GUACAMOL_SPLITS]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataNotFoundError(f"GuacaMol's ChEMBL pool is not in the data directory (missing {', '.join(missing)})",
                                hint="genmed data fetch guacamol-chembl (needs internet), or use --pool moses")
    return paths


def load_pool(source: str) -> list[str]:
    """SMILES to draw the first generation from: ``moses`` (MOSES train), ``moses-test``, ``chembl`` (GuacaMol's
    ChEMBL train + valid + test, fetched with ``genmed data fetch guacamol-chembl``), or a .smi/.csv(.gz) file."""
    if source in _POOL_CACHE:
        return _POOL_CACHE[source]
    if source in ("moses", "moses-train", "moses-test"):
        paths = [moses_pool_path("test" if source == "moses-test" else "train")]
    elif source == "chembl":
        paths = chembl_pool_paths()
    else:
        paths = [Path(source)]
        if not paths[0].is_file():
            raise InputError(f"initial population file not found: {paths[0]}")
    smiles: list[str] = []
    for path in paths:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt") as fh:
            for line in fh:
                tok = line.strip().split(",")[0].split()[0] if line.strip() else ""
                if tok and tok.upper() != "SMILES":
                    smiles.append(tok)
    if not smiles:
        raise InputError(f"{paths[0]}: no SMILES found")
    _POOL_CACHE[source] = smiles
    return smiles


class GraphGAParams(OptimizerParams):
    population_size: int = Field(default=120, ge=2)
    offspring_size: int = Field(default=70, ge=1, description="mating pool drawn per generation")
    children: int = Field(default=0, ge=0, description="children made per generation (0: offspring_size)")
    mutation_rate: float = Field(default=0.067, ge=0, le=1)
    initial: str = Field(default="moses", description="'moses', 'moses-test', 'chembl' or a SMILES file")
    initial_select: Literal["random", "top"] = Field(
        default="random", description="'random': a random draw from the pool; 'top': score the pool, keep the best")
    pool_size: int = Field(default=0, ge=0, description="with 'top': score a seeded random subset this large (0: all)")
    initial_smiles: list[str] = Field(
        default_factory=list,
        description="seed molecules: added to the random draw, or (with 'top') the whole starting population")
    patience: int = Field(default=5, ge=0, description="stop after this many stalled generations (0 = never)")
    stop_rule: Literal["top100", "population"] = Field(
        default="top100", description="'top100': PMO's (top-100 mean of all scored, after 2,000 calls); "
                                      "'population': GuacaMol's (the population's scores unchanged)")
    max_generations: int = Field(default=0, ge=0, description="stop after this many generations (0: no limit)")


# guacamol_baselines graph_ga defaults (population 100, mating pool 200, mutation 0.01, patience 5, 1,000
# generations, top of the data set as the first population); the population grows to the task's top count.
GUACAMOL_PROTOCOL: dict[str, Any] = {
    "population_size": 100, "offspring_size": 200, "mutation_rate": 0.01, "initial_select": "top",
    "patience": 5, "stop_rule": "population", "max_generations": 1000,
}


class PopulationOptimizer(Optimizer):
    """Shared state of the population-based optimisers: a best-first population, its scores and two seeded RNGs
    (``random`` for the graph operators, numpy for parent draws), saved and restored for resumable runs."""

    def __init__(self, params=None, *, seed: int = 0):
        super().__init__(params, seed=seed)
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.population: list[str] = []
        self.scores: list[float] = []

    def extra_state(self) -> dict[str, Any]:
        """Optimiser-specific counters to checkpoint beside the population."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def state(self) -> dict[str, Any]:
        return {"step": self.step, "population": self.population, "scores": self.scores,
                "rng": self.rng.getstate(), "np_rng": self.np_rng.bit_generator.state, **self.extra_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.population, self.scores = list(state["population"]), list(state["scores"])
        rs = state["rng"]
        self.rng.setstate((rs[0], tuple(rs[1]), rs[2]))
        self.np_rng.bit_generator.state = state["np_rng"]
        self.load_extra_state(state)


@OPTIMIZERS.register("graph-ga")
class GraphGA(PopulationOptimizer):
    name = "graph-ga"
    Params = GraphGAParams

    def __init__(self, params=None, *, seed: int = 0):
        super().__init__(params, seed=seed)
        self.patience_used = 0
        self.old_top100: float | None = None

    def extra_state(self) -> dict[str, Any]:
        return {"patience_used": self.patience_used, "old_top100": self.old_top100}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.patience_used, self.old_top100 = state["patience_used"], state["old_top100"]

    def _initial(self, oracle: Oracle) -> None:
        p = self.params
        if p.initial_select == "top" and p.initial_smiles:
            start = list(dict.fromkeys(p.initial_smiles))  # GuacaMol: a given starting population replaces the pool
        elif p.initial_select == "top":
            pool = load_pool(p.initial)
            if p.pool_size and p.pool_size < len(pool):
                idx = np.random.default_rng(0).choice(len(pool), size=p.pool_size, replace=False)  # same for all seeds
                pool = [pool[i] for i in np.sort(idx)]
            start = pool
        else:
            pool = load_pool(p.initial)
            draw = [pool[i] for i in self.np_rng.choice(len(pool), size=p.population_size, replace=False)]
            start = list(dict.fromkeys(list(p.initial_smiles) + draw))
        scores = oracle(start)
        ranked = sorted(((float(np.nan_to_num(s)), smi) for s, smi in zip(scores, start, strict=True)), reverse=True)
        ranked = ranked[: p.population_size]
        self.population = [s for _, s in ranked]
        self.scores = [sc for sc, _ in ranked]

    def run(self, oracle: Oracle, *, log=None, checkpoint=None) -> None:
        from rdkit import Chem

        p = self.params
        if not self.population:
            self._initial(oracle)
        while not oracle.exhausted:
            self.step += 1
            weights = np.asarray(self.scores, dtype=float) + 1e-10
            probs = weights / weights.sum()
            mols = [Chem.MolFromSmiles(s) for s in self.population]
            pool = [mols[i] for i in self.np_rng.choice(len(mols), size=p.offspring_size, p=probs, replace=True)]
            children = []
            for _ in range(p.children or p.offspring_size):
                a, b = self.rng.choice(pool), self.rng.choice(pool)
                if a is None or b is None:
                    continue
                child_smiles = reproduce(a, b, p.mutation_rate, self.rng)
                if child_smiles is not None:
                    children.append(child_smiles)
            new_scores = oracle(children) if children else np.array([])
            merged = dict(zip(self.population, self.scores, strict=True))
            for smi, sc in zip(children, new_scores, strict=True):
                if not np.isnan(sc):
                    canon = Chem.CanonSmiles(smi) if smi else smi
                    merged.setdefault(canon, float(sc))
            ranked = sorted(merged.items(), key=lambda kv: -kv[1])[: p.population_size]
            before = self.scores
            self.population = [s for s, _ in ranked]
            self.scores = [sc for _, sc in ranked]
            if log is not None:
                log({"step": self.step, "population_mean": float(np.mean(self.scores)),
                     "population_diversity": internal_diversity(self.population[:100])})
            if checkpoint is not None:
                checkpoint()
            if p.max_generations and self.step >= p.max_generations:
                self.stop_reason = f"{p.max_generations} generations"
                return
            if p.stop_rule == "population":
                # GuacaMol's early stop: no child entered the population for `patience` generations
                self.patience_used = self.patience_used + 1 if self.scores == before else 0
                if p.patience and self.patience_used >= p.patience:
                    self.stop_reason = f"converged: population unchanged for {p.patience} generations"
                    return
            # PMO's early stop: the top-100 mean of everything scored has stopped moving
            elif p.patience and oracle.calls > 2000:
                now = oracle.top_mean(100)
                if self.old_top100 is not None and now - self.old_top100 < 1e-3:
                    self.patience_used += 1
                    if self.patience_used >= p.patience:
                        self.stop_reason = f"converged: top-100 mean unchanged for {p.patience} generations"
                        return
                else:
                    self.patience_used = 0
                self.old_top100 = now
            elif oracle.calls > 100:
                self.old_top100 = oracle.top_mean(100)
        self.stop_reason = "budget spent"
