"""Fingerprints and similarity (RDKit generators; ECFP4/6, FCFP4, atom pairs, MACCS)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem import rdMolDescriptors as rdmd

from genmed.core.errors import ConfigError

FINGERPRINTS = ("ecfp4", "ecfp6", "fcfp4", "atompair", "maccs")


@lru_cache(maxsize=16)
def _generator(kind: str, n_bits: int):
    if kind == "ecfp4":
        return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=n_bits)
    if kind == "ecfp6":
        return rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=n_bits)
    if kind == "fcfp4":
        return rdFingerprintGenerator.GetMorganGenerator(
            radius=2, fpSize=n_bits, atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen()
        )
    if kind == "atompair":
        return rdFingerprintGenerator.GetAtomPairGenerator(fpSize=n_bits)
    raise ConfigError(f"unknown fingerprint {kind!r}", hint=f"known: {', '.join(FINGERPRINTS)}")


def fingerprint(mol: Chem.Mol, kind: str = "ecfp4", n_bits: int = 2048) -> DataStructs.ExplicitBitVect:
    """Bit-vector fingerprint of one molecule."""
    if kind == "maccs":
        return rdmd.GetMACCSKeysFingerprint(mol)
    return _generator(kind, n_bits).GetFingerprint(mol)


def fingerprints(mols: Sequence[Chem.Mol], kind: str = "ecfp4", n_bits: int = 2048) -> list:
    return [fingerprint(m, kind, n_bits) for m in mols]


def fingerprint_array(mols: Sequence[Chem.Mol], kind: str = "ecfp4", n_bits: int = 2048) -> np.ndarray:
    """Fingerprints as a dense uint8 matrix [n_mols, n_bits] (for vectorised Tanimoto)."""
    fps = fingerprints(mols, kind, n_bits)
    width = fps[0].GetNumBits() if fps else n_bits
    out = np.zeros((len(fps), width), dtype=np.uint8)
    for i, fp in enumerate(fps):
        DataStructs.ConvertToNumpyArray(fp, out[i])
    return out


def tanimoto(a, b) -> float:
    return DataStructs.TanimotoSimilarity(a, b)


def bulk_tanimoto(query, references: Sequence) -> np.ndarray:
    return np.asarray(DataStructs.BulkTanimotoSimilarity(query, list(references)))


def max_tanimoto(queries: Sequence, references: Sequence) -> np.ndarray:
    """For each query fingerprint, its highest Tanimoto similarity to any reference."""
    return np.array([bulk_tanimoto(q, references).max() if len(references) else 0.0 for q in queries])
