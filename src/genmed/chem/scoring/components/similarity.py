"""Tanimoto similarity to reference molecules (ECFP4/6, FCFP4/6, atom pairs, 2D pharmacophores)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component
from genmed.core.errors import ConfigError

FingerprintType = Literal["ecfp4", "ecfp6", "fcfp4", "fcfp6", "ap", "phco"]


def fingerprint(mol, fp_type: str, bits: int | None = None):
    """GuacaMol's fingerprint definitions: *count* Morgan (radius 2/3, feature invariants for FCFP), atom pairs up
    to distance 10, Gobbi 2D pharmacophores. ``bits`` gives folded bit vectors instead (the common ECFP4-2048)."""
    if fp_type == "phco":
        from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

        return Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)
    gen = _generator(fp_type, bits)
    return gen.GetFingerprint(mol) if bits else gen.GetSparseCountFingerprint(mol)


_GENS: dict = {}


def _generator(fp_type: str, bits: int | None):
    from rdkit.Chem import rdFingerprintGenerator as G

    key = (fp_type, bits)
    if key not in _GENS:
        size = {"fpSize": bits} if bits else {}
        if fp_type in ("ecfp4", "ecfp6"):
            _GENS[key] = G.GetMorganGenerator(radius=2 if fp_type == "ecfp4" else 3, **size)
        elif fp_type in ("fcfp4", "fcfp6"):
            _GENS[key] = G.GetMorganGenerator(
                radius=2 if fp_type == "fcfp4" else 3, atomInvariantsGenerator=G.GetMorganFeatureAtomInvGen(), **size
            )
        elif fp_type == "ap":
            _GENS[key] = G.GetAtomPairGenerator(maxDistance=10, **size)
        else:
            raise ConfigError(f"unknown fingerprint {fp_type!r}")
    return _GENS[key]


class SimilarityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smiles: list[str] = Field(min_length=1, description="reference molecule(s)")
    fingerprint: FingerprintType = "ecfp4"
    bits: int | None = Field(default=None, ge=64, le=65536, description="fold to a bit vector of this size")
    aggregate: Literal["max", "mean"] = "max"

    @field_validator("smiles", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v


@COMPONENTS.register("similarity")
class Similarity(Component):
    name = "similarity"
    Params = SimilarityParams
    unit_interval = True
    description = "Tanimoto similarity to reference molecules (RDKit fingerprints)."

    def setup(self):
        from rdkit import Chem

        self.refs = []
        for i, s in enumerate(self.params.smiles):
            m = Chem.MolFromSmiles(s) if s else None
            if m is None:
                raise ConfigError(f"{self.where}.smiles[{i}]: invalid reference SMILES {s!r}")
            self.refs.append(fingerprint(m, self.params.fingerprint, self.params.bits))

    def compute(self, mols, smiles):
        from rdkit import DataStructs

        out = np.full(len(mols), np.nan)
        for i, m in enumerate(mols):
            if m is None:
                continue
            try:
                fp = fingerprint(m, self.params.fingerprint, self.params.bits)
                sims = DataStructs.BulkTanimotoSimilarity(fp, self.refs)
                out[i] = max(sims) if self.params.aggregate == "max" else float(np.mean(sims))
            except Exception:
                pass
        return out
