"""Fixtures for the design tests: a few hundred real molecules (MOSES test split, shipped in the molsets wheel)."""

from __future__ import annotations

import gzip
import importlib.util
import os
import random

import pytest

DRUGS = [
    "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
    "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
    "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
    "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",
    "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F",
    "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C",
    "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",
    "CCCCCCCCCCC", "CC(C)CC(C)CC(C)CC", "Nc1ccc(cc1)C(=O)NO", "O=C(O)c1ccc(N)cc1[N+](=O)[O-]",
    "OC(=O)C1=CC=CC=C1OC(=O)C", "CN1CCC[C@H]1c1cccnc1", "c1ccccc1", "C",
]


def moses_smiles(n: int, seed: int = 0, split: str = "test") -> list[str]:
    spec = importlib.util.find_spec("moses")
    if spec is None or spec.origin is None:
        pytest.skip("molsets (MOSES data files) not installed")
    path = os.path.join(os.path.dirname(spec.origin), "dataset", "data", f"{split}.csv.gz")
    with gzip.open(path, "rt") as fh:
        next(fh)
        rows = [line.split(",")[0].strip() for line in fh]
    return random.Random(seed).sample(rows, n)


@pytest.fixture(scope="session")
def molecules() -> list[str]:
    return moses_smiles(220) + DRUGS


@pytest.fixture(scope="session")
def tiny_prior(tmp_path_factory) -> str:
    """A tiny untrained prior over a C/N/O alphabet: RL must work whatever the prior's quality."""
    import torch

    from genmed.chem.models.prior import PriorConfig, build_prior
    from genmed.chem.models.tokenizer import Vocabulary

    torch.manual_seed(0)
    prior = build_prior(Vocabulary.build(["CCO", "CN", "OC", "CCCC"]),
                        PriorConfig(embedding_dim=16, hidden_dim=32, num_layers=1, max_length=24))
    return str(prior.save(tmp_path_factory.mktemp("prior") / "tiny.pt"))
