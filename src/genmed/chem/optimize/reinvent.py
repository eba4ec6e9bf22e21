"""``reinvent``: reinforcement learning on the SMILES prior (Olivecrona et al. 2017; Blaschke et al. 2020).

The agent starts as a copy of the prior (which stays frozen) and is trained with the augmented-likelihood loss
``(log P_prior(x) + sigma * R(x) - log P_agent(x))^2`` ("DAP"), plus:

- experience replay: the best molecules seen so far are replayed each step;
- a diversity filter on Bemis-Murcko scaffolds: once ``bucket_size`` molecules of one scaffold scored above
  ``df_min_score``, further ones earn no reward (the oracle score is still recorded), which pushes exploration;
- mode-collapse detection: when fewer than ``collapse_threshold`` of a batch are molecules not seen before, or the
  batch's internal diversity falls under ``collapse_diversity``, for ``collapse_patience`` steps, the sampling
  temperature rises (up to ``max_temperature``); if that does not help
  the run stops with the reason recorded, instead of spinning without spending budget.
Defaults follow PMO's tuned REINVENT (batch 64, sigma 500, learning rate 5e-4, 24 replayed molecules).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from pydantic import Field

from genmed.chem.optimize.base import OPTIMIZERS, Optimizer, OptimizerParams, Oracle, internal_diversity
from genmed.chem.scoring.scorer import canonical_smiles
from genmed.core.errors import ModelNotFoundError


class ReinventParams(OptimizerParams):
    prior: str | None = Field(default=None, description="prior checkpoint (default: the one shipped with genmed)")
    batch_size: int = Field(default=64, ge=2)
    sigma: float = Field(default=500.0, gt=0)
    learning_rate: float = Field(default=5e-4, gt=0)
    experience_replay: int = Field(default=24, ge=0)
    memory_size: int = Field(default=100, ge=1)
    likelihood_penalty: float = Field(default=5e3, ge=0, description="weight of REINVENT's -1/logP regulariser")
    diversity_filter: bool = True
    bucket_size: int = Field(default=25, ge=1)
    df_min_score: float = Field(default=0.4, ge=0, le=1)
    temperature: float = Field(default=1.0, gt=0)
    max_temperature: float = Field(default=2.0, gt=0)
    collapse_threshold: float = Field(default=0.05, ge=0, le=1, description="minimum fraction of new molecules")
    collapse_diversity: float = Field(default=0.2, ge=0, le=1, description="minimum batch diversity (IntDiv)")
    collapse_patience: int = Field(default=5, ge=1)
    max_steps: int = Field(default=100_000, ge=1)
    precision: str = Field(default="fp32", pattern="^(fp32|bf16)$")


def _load_prior_compat(load_prior, path: str):
    """``load_prior``, also accepting checkpoints whose metadata holds a ``torch.__version__`` object (a
    ``TorchVersion``, which torch's weights-only loader refuses unless allow-listed)."""
    import torch

    try:
        return load_prior(path)
    except ValueError as exc:
        if "TorchVersion" not in str(exc):
            raise
        from torch.torch_version import TorchVersion

        with torch.serialization.safe_globals([TorchVersion]):
            return load_prior(path)


def murcko_scaffold(smiles: str) -> str:
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    m = Chem.MolFromSmiles(smiles)
    if m is None:
        return ""
    try:
        return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(m))
    except Exception:
        return smiles


@OPTIMIZERS.register("reinvent")
class Reinvent(Optimizer):
    name = "reinvent"
    Params = ReinventParams

    def __init__(self, params=None, *, seed: int = 0):
        super().__init__(params, seed=seed)
        import torch

        from genmed.chem.models.prior import default_prior_path, load_prior

        path = self.params.prior or str(default_prior_path())
        try:
            self.prior = _load_prior_compat(load_prior, path)
        except (FileNotFoundError, ValueError) as exc:
            raise ModelNotFoundError(f"optimizer.reinvent.prior: {exc}") from None
        self.prior_path = path
        for p in self.prior.model.parameters():
            p.requires_grad_(False)
        self.agent = copy.deepcopy(self.prior)
        for p in self.agent.model.parameters():
            p.requires_grad_(True)
        self.opt = torch.optim.Adam(self.agent.model.parameters(), lr=self.params.learning_rate)
        self.generator = torch.Generator().manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self.memory: list[tuple[float, str, list[int]]] = []  # (reward, smiles, tokens with ^ and $)
        self.buckets: dict[str, int] = {}
        self.temperature = self.params.temperature
        self.collapsed_steps = 0

    # -- resumability ---------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"step": self.step, "agent": self.agent.model.state_dict(), "opt": self.opt.state_dict(),
                "generator": self.generator.get_state(), "np_rng": self.np_rng.bit_generator.state,
                "memory": self.memory, "buckets": self.buckets, "temperature": self.temperature,
                "collapsed_steps": self.collapsed_steps}

    def load_state(self, state: dict[str, Any]) -> None:
        self.step = state["step"]
        self.agent.model.load_state_dict(state["agent"])
        self.opt.load_state_dict(state["opt"])
        self.generator.set_state(state["generator"])
        self.np_rng.bit_generator.state = state["np_rng"]
        self.memory = [tuple(m) for m in state["memory"]]
        self.buckets = dict(state["buckets"])
        self.temperature = state["temperature"]
        self.collapsed_steps = state["collapsed_steps"]

    # -- one RL step ----------------------------------------------------------------------------------------
    def _sample(self) -> tuple[list[str], list[list[int]]]:
        from genmed.chem.models.prior import sample_tokens

        vocab = self.agent.vocab
        seqs, loglik = sample_tokens(self.agent, self.params.batch_size, temperature=self.temperature,
                                     generator=self.generator, precision=self.params.precision)
        smiles, toks, seen = [], [], set()
        for seq, ll in zip(seqs, loglik.tolist(), strict=True):
            if not math.isfinite(ll):
                continue  # never emitted an end token
            body = []
            for t in seq:
                if t == vocab.eos_id:
                    break
                body.append(t)
            key = tuple(body)
            if key in seen:
                continue
            seen.add(key)
            smiles.append(vocab.decode(body))
            toks.append([vocab.bos_id, *body, vocab.eos_id])
        return smiles, toks

    def _rewards(self, smiles: list[str], scores: np.ndarray) -> np.ndarray:
        rewards = np.nan_to_num(scores.astype(float), nan=0.0)
        if not self.params.diversity_filter:
            return rewards
        for i, smi in enumerate(smiles):
            if rewards[i] < self.params.df_min_score:
                continue
            scaf = murcko_scaffold(smi)
            if self.buckets.get(scaf, 0) >= self.params.bucket_size:
                rewards[i] = 0.0
            else:
                self.buckets[scaf] = self.buckets.get(scaf, 0) + 1
        return rewards

    def _loss(self, toks: list[list[int]], rewards: np.ndarray):
        import torch

        from genmed.chem.models.prior import pad_batch, sequence_nll

        pad = self.agent.vocab.pad_id
        batch = pad_batch(toks, pad)
        agent_ll = -sequence_nll(self.agent.model, batch, pad, precision=self.params.precision)
        with torch.no_grad():
            prior_ll = -sequence_nll(self.prior.model, batch, pad, precision=self.params.precision)
        augmented = prior_ll + self.params.sigma * torch.as_tensor(rewards, dtype=torch.float32)
        loss = (augmented - agent_ll) ** 2
        return loss, agent_ll

    def run(self, oracle: Oracle, *, log=None, checkpoint=None) -> None:
        import torch

        p = self.params
        self.agent.model.train()
        while not oracle.exhausted and self.step < p.max_steps:
            self.step += 1
            calls_before = oracle.calls
            smiles, toks = self._sample()
            if not smiles:
                self._collapse_check(0.0)
                if self.stop_reason:
                    return
                continue
            scores = oracle(smiles)
            new_fraction = (oracle.calls - calls_before) / max(1, len(smiles))
            valid_fraction = float(np.mean([canonical_smiles(s)[1] is not None for s in smiles]))
            keep = ~np.isnan(scores)  # over-budget molecules were not scored
            smiles = [s for s, k in zip(smiles, keep, strict=True) if k]
            toks = [t for t, k in zip(toks, keep, strict=True) if k]
            scores = scores[keep]
            if not smiles:
                break
            batch_diversity = internal_diversity(smiles[:64])
            rewards = self._rewards(smiles, scores)
            loss, agent_ll = self._loss(toks, rewards)
            if p.experience_replay and self.memory:
                k = min(p.experience_replay, len(self.memory))
                pick = self.np_rng.choice(len(self.memory), size=k, replace=False)
                mem = [self.memory[i] for i in pick]
                mloss, _ = self._loss([m[2] for m in mem], np.array([m[0] for m in mem]))
                loss = torch.cat([loss, mloss])
            total = loss.mean()
            if p.likelihood_penalty:
                total = total + p.likelihood_penalty * (-(1.0 / agent_ll.clamp(max=-1e-3))).mean()
            self.opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(self.agent.model.parameters(), 10.0)
            self.opt.step()
            self._remember(smiles, toks, rewards)
            if log is not None:
                log({"step": self.step, "loss": float(total.detach()), "temperature": self.temperature,
                     "batch_valid": valid_fraction,
                     "batch_new_fraction": round(new_fraction, 3), "batch_mean_score": float(np.mean(scores)),
                     "batch_diversity": batch_diversity,
                     "scaffold_buckets_full": sum(v >= p.bucket_size for v in self.buckets.values())})
            if checkpoint is not None:
                checkpoint()
            self._collapse_check(new_fraction, batch_diversity if len(smiles) > 1 else 1.0)
            if self.stop_reason:
                return
        self.stop_reason = self.stop_reason or ("budget spent" if oracle.exhausted else "max_steps reached")

    def _remember(self, smiles, toks, rewards) -> None:
        known = {m[1] for m in self.memory}
        for s, t, r in zip(smiles, toks, rewards, strict=True):
            if r > 0 and s not in known:
                self.memory.append((float(r), s, list(t)))
                known.add(s)
        self.memory.sort(key=lambda m: -m[0])
        del self.memory[self.params.memory_size:]

    def _collapse_check(self, new_fraction: float, diversity: float = 1.0) -> None:
        """Collapse = too few never-seen molecules, or a batch of near-copies, for ``collapse_patience`` steps."""
        p = self.params
        if new_fraction >= p.collapse_threshold and diversity >= p.collapse_diversity:
            self.collapsed_steps = 0
            return
        self.collapsed_steps += 1
        if self.collapsed_steps < p.collapse_patience:
            return
        if self.temperature < p.max_temperature:
            self.temperature = min(p.max_temperature, self.temperature + 0.25)
            self.collapsed_steps = 0
        else:
            self.stop_reason = (f"mode collapse: under {p.collapse_threshold:.0%} new molecules (or batch diversity "
                                f"under {p.collapse_diversity}) for {p.collapse_patience} steps at the maximum "
                                f"temperature {p.max_temperature}")
