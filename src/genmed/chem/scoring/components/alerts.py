"""Structural alerts: PAINS, Brenk, NIH, ZINC, ChEMBL rule sets from RDKit's FilterCatalog."""

from __future__ import annotations

import contextlib
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component

AlertCatalog = Literal["pains", "pains_a", "pains_b", "pains_c", "brenk", "nih", "zinc", "chembl"]


class AlertParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    catalogs: list[AlertCatalog] = Field(default_factory=lambda: ["pains", "brenk", "nih"], min_length=1)

    @field_validator("catalogs", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, str) else v


_CATALOGS: dict = {}


def _catalog(names: tuple[str, ...]):
    if names not in _CATALOGS:
        from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

        cat = FilterCatalogParams.FilterCatalogs
        enum = {
            "pains": cat.PAINS, "pains_a": cat.PAINS_A, "pains_b": cat.PAINS_B, "pains_c": cat.PAINS_C,
            "brenk": cat.BRENK, "nih": cat.NIH, "zinc": cat.ZINC, "chembl": cat.CHEMBL,
        }
        params = FilterCatalogParams()
        for n in names:
            params.AddCatalog(enum[n])
        _CATALOGS[names] = FilterCatalog(params)
    return _CATALOGS[names]


def alert_matches(mol, catalogs: tuple[str, ...] = ("pains", "brenk", "nih")) -> list[str]:
    """Descriptions of the alerts a molecule triggers (for reports: *why* a molecule was penalised)."""
    return [e.GetDescription() for e in _catalog(tuple(catalogs)).GetMatches(mol)]


@COMPONENTS.register("alerts")
class Alerts(Component):
    """Number of structural alerts matched (0 is good; use ``direction = "minimize"`` with a step or sigmoid)."""

    name = "alerts"
    Params = AlertParams
    unit = "alerts"
    description = "Structural alert count (RDKit FilterCatalog: PAINS, Brenk, NIH, ...)."

    def compute(self, mols, smiles):
        catalog = _catalog(tuple(self.params.catalogs))
        out = np.full(len(mols), np.nan)
        for i, m in enumerate(mols):
            if m is None:
                continue
            with contextlib.suppress(Exception):
                out[i] = float(len(catalog.GetMatches(m)))
        return out
