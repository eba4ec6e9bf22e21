"""Substructure components: required / forbidden SMARTS patterns."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component
from genmed.core.errors import ConfigError


class SmartsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patterns: list[str] = Field(min_length=1)
    mode: Literal["require", "forbid"] = "require"
    match: Literal["any", "all"] = "any"

    @field_validator("patterns", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v


@COMPONENTS.register("smarts")
class Smarts(Component):
    """1 if the molecule matches (``require``) / does not match (``forbid``) the patterns, else 0.

    ``match="any"``: require = at least one pattern present, forbid = none present; ``"all"``: require = every
    pattern present, forbid = not all present.
    """

    name = "smarts"
    Params = SmartsParams
    unit_interval = True
    description = "SMARTS substructure match (RDKit)."

    def setup(self):
        from rdkit import Chem

        self.queries = []
        for i, p in enumerate(self.params.patterns):
            q = Chem.MolFromSmarts(p) if p else None
            if q is None:
                raise ConfigError(f"{self.where}.patterns[{i}]: invalid SMARTS {p!r}")
            self.queries.append(q)

    def compute(self, mols, smiles):
        out = np.full(len(mols), np.nan)
        combine = any if self.params.match == "any" else all
        for i, m in enumerate(mols):
            if m is None:
                continue
            try:
                hit = combine(m.HasSubstructMatch(q) for q in self.queries)
            except Exception:
                continue
            out[i] = float(hit if self.params.mode == "require" else not hit)
        return out
