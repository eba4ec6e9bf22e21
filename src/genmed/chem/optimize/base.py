"""The optimiser contract and the budgeted oracle every optimiser talks to.

One budget for all optimisers: *unique oracle calls* (distinct canonical SMILES scored), as in PMO. Asking again
for a molecule already scored returns the remembered score for free; invalid SMILES cost nothing and score 0.
The oracle keeps every scored molecule (score, call index, per-component values), which is what the run writes
out (top-k, Pareto front, score-over-calls curves) and what a resumed run reloads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from genmed.chem.scoring import Scorer
from genmed.chem.scoring.scorer import canonical_smiles
from genmed.core.errors import ConfigError
from genmed.core.registry import Registry


@dataclass
class Entry:
    score: float
    call: int  # 1-based index of the unique oracle call that scored it
    record: dict[str, Any] = field(default_factory=dict)


class BudgetExhausted(Exception):
    """Raised inside optimisers' loops to stop cleanly when the budget is spent."""


class Oracle:
    """Budgeted, memoising front of a :class:`Scorer` (or any ``list[str] -> scores`` function)."""

    def __init__(self, scorer: Scorer | Callable[[list[str]], np.ndarray], budget: int,
                 on_batch: Callable[[Oracle], None] | None = None, keep_records: bool = True):
        if budget < 1:
            raise ConfigError(f"budget must be at least 1 unique oracle call (got {budget})")
        self.scorer = scorer
        self.budget = int(budget)
        self.buffer: dict[str, Entry] = {}
        self.on_batch = on_batch
        self.keep_records = keep_records and isinstance(scorer, Scorer)
        self.invalid = 0
        self.requested = 0
        self.started = time.perf_counter()

    @property
    def calls(self) -> int:
        return len(self.buffer)

    @property
    def exhausted(self) -> bool:
        return self.calls >= self.budget

    def __call__(self, smiles: list[str]) -> np.ndarray:
        """Scores aligned with ``smiles``. New molecules beyond the budget are not scored (NaN)."""
        self.requested += len(smiles)
        canon = [canonical_smiles(s)[1] for s in smiles]
        out = np.zeros(len(smiles))
        new = list(dict.fromkeys(c for c in canon if c is not None and c not in self.buffer))
        room = self.budget - self.calls
        to_score = new[: max(room, 0)]
        if to_score:
            if isinstance(self.scorer, Scorer):
                batch = self.scorer(to_score)
                scores = batch.total
                for i, smi in enumerate(to_score):
                    rec = batch.record(i) if self.keep_records else {}
                    self.buffer[smi] = Entry(float(scores[i]), self.calls + 1, rec)
            else:
                scores = np.asarray(self.scorer(to_score), dtype=float)
                for smi, s in zip(to_score, scores, strict=True):
                    self.buffer[smi] = Entry(0.0 if math.isnan(s) else float(s), self.calls + 1)
        for i, c in enumerate(canon):
            if c is None:
                self.invalid += 1
                out[i] = 0.0
            elif c in self.buffer:
                out[i] = self.buffer[c].score
            else:
                out[i] = np.nan  # over budget, never scored
        if to_score and self.on_batch is not None:
            self.on_batch(self)
        return out

    def top(self, k: int) -> list[tuple[str, Entry]]:
        return sorted(self.buffer.items(), key=lambda kv: (-kv[1].score, kv[1].call))[:k]

    def top_mean(self, k: int) -> float:
        top = self.top(k)
        return float(np.mean([e.score for _, e in top])) if top else 0.0

    def state(self) -> dict[str, Any]:
        return {"budget": self.budget, "invalid": self.invalid, "requested": self.requested,
                "buffer": [[s, e.score, e.call, e.record] for s, e in self.buffer.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.invalid = state.get("invalid", 0)
        self.requested = state.get("requested", 0)
        self.buffer = {s: Entry(score, call, rec) for s, score, call, rec in state["buffer"]}


def internal_diversity(smiles: list[str]) -> float:
    """1 - mean pairwise Tanimoto (ECFP4, 2048 bits) — MOSES IntDiv1; 0 for fewer than two molecules."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(m) for m in (Chem.MolFromSmiles(s) for s in smiles) if m is not None]
    if len(fps) < 2:
        return 0.0
    sims = []
    for i in range(1, len(fps)):
        sims.extend(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
    return float(1.0 - np.mean(sims))


class Optimizer:
    """Base class. Subclasses define ``Params`` and :meth:`run`; progress flows through the oracle."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]]

    def __init__(self, params: dict[str, Any] | None = None, *, seed: int = 0):
        try:
            self.params = self.Params(**(params or {}))
        except ValidationError as exc:
            from genmed.chem.scoring.config import validation_message

            raise ConfigError(validation_message(exc, f"optimizer.{self.name}")) from None
        self.seed = seed
        self.step = 0
        self.stop_reason: str | None = None

    def run(self, oracle: Oracle, *, log: Callable[[dict[str, Any]], None] | None = None,
            checkpoint: Callable[[], None] | None = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """Everything needed to resume (besides the oracle's buffer)."""
        return {"step": self.step}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = state.get("step", 0)


class OptimizerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


OPTIMIZERS: Registry[type[Optimizer]] = Registry("optimizer")
