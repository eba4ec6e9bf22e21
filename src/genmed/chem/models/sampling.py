"""Sampling molecules from a prior, with validity and canonical SMILES (what `genmed chem sample` writes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genmed.chem.models.prior import Prior, sample_tokens


@dataclass(frozen=True)
class SampledMolecule:
    smiles: str  # as generated
    valid: bool
    canonical_smiles: str | None
    log_likelihood: float  # under the prior at temperature 1 (-inf if truncated)


def sample_molecules(
    prior: Prior,
    n: int,
    *,
    temperature: float = 1.0,
    seed: int | None = None,
    batch_size: int = 2000,
    standardize: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[SampledMolecule]:
    """Sample ``n`` SMILES; validity and canonical form from RDKit (``standardize`` also strips salts/charges)."""
    from rdkit import Chem

    from genmed.chem.molecules import standardize_smiles

    if n <= 0:
        raise ValueError("n must be positive")
    generator = torch.Generator(device=prior.device)
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    out: list[SampledMolecule] = []
    while len(out) < n:
        k = min(batch_size, n - len(out))
        seqs, loglik = sample_tokens(prior, k, temperature=temperature, generator=generator)
        for seq, ll in zip(seqs, loglik.tolist(), strict=True):
            smi = prior.vocab.decode(seq)
            if standardize:
                can = standardize_smiles(smi).smiles if smi else None
            else:
                mol = Chem.MolFromSmiles(smi) if smi else None
                can = Chem.MolToSmiles(mol) if mol is not None else None
            out.append(SampledMolecule(smi, can is not None, can, ll if math.isfinite(ll) else -math.inf))
        if progress:
            progress(k)
    return out
