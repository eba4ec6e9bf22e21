"""ADMET-AI endpoints (Swanson et al., Bioinformatics 2024): Chemprop-RDKit ensembles trained on the TDC ADMET
data sets, shipped inside the ``admet-ai`` wheel (no download).

One model is loaded per process (the import alone costs 7-9 s, so it happens on first use) and one prediction
gives every endpoint: several ADMET objectives in a run share it through a per-SMILES memo.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component

# TDC names of the endpoints, with what they predict (probabilities unless a unit is given)
ENDPOINTS: dict[str, str] = {
    "hERG": "hERG channel blockade (probability)",
    "AMES": "Ames mutagenicity (probability)",
    "DILI": "drug-induced liver injury (probability)",
    "ClinTox": "clinical-trial toxicity (probability)",
    "Carcinogens_Lagunin": "carcinogenicity (probability)",
    "Skin_Reaction": "skin reaction (probability)",
    "BBB_Martins": "blood-brain barrier penetration (probability)",
    "Bioavailability_Ma": "oral bioavailability > 20% (probability)",
    "HIA_Hou": "human intestinal absorption (probability)",
    "PAMPA_NCATS": "PAMPA permeability (probability)",
    "Pgp_Broccatelli": "P-glycoprotein inhibition (probability)",
    "CYP1A2_Veith": "CYP1A2 inhibition (probability)",
    "CYP2C19_Veith": "CYP2C19 inhibition (probability)",
    "CYP2C9_Veith": "CYP2C9 inhibition (probability)",
    "CYP2D6_Veith": "CYP2D6 inhibition (probability)",
    "CYP3A4_Veith": "CYP3A4 inhibition (probability)",
    "CYP2C9_Substrate_CarbonMangels": "CYP2C9 substrate (probability)",
    "CYP2D6_Substrate_CarbonMangels": "CYP2D6 substrate (probability)",
    "CYP3A4_Substrate_CarbonMangels": "CYP3A4 substrate (probability)",
    "NR-AR": "Tox21 androgen receptor (probability)", "NR-AR-LBD": "Tox21 AR ligand-binding domain (probability)",
    "NR-AhR": "Tox21 aryl hydrocarbon receptor (probability)", "NR-Aromatase": "Tox21 aromatase (probability)",
    "NR-ER": "Tox21 estrogen receptor (probability)", "NR-ER-LBD": "Tox21 ER ligand-binding domain (probability)",
    "NR-PPAR-gamma": "Tox21 PPAR-gamma (probability)", "SR-ARE": "Tox21 antioxidant response (probability)",
    "SR-ATAD5": "Tox21 ATAD5 (probability)", "SR-HSE": "Tox21 heat shock (probability)",
    "SR-MMP": "Tox21 mitochondrial membrane potential (probability)", "SR-p53": "Tox21 p53 (probability)",
    "Caco2_Wang": "Caco-2 permeability (log cm/s)",
    "Clearance_Hepatocyte_AZ": "hepatocyte clearance (uL/min/10^6 cells)",
    "Clearance_Microsome_AZ": "microsomal clearance (mL/min/g)",
    "Half_Life_Obach": "half-life (h)",
    "HydrationFreeEnergy_FreeSolv": "hydration free energy (kcal/mol)",
    "LD50_Zhu": "acute toxicity LD50 (-log mol/kg)",
    "Lipophilicity_AstraZeneca": "lipophilicity (logD7.4)",
    "PPBR_AZ": "plasma protein binding rate (%)",
    "Solubility_AqSolDB": "aqueous solubility (log mol/L)",
    "VDss_Lombardo": "volume of distribution at steady state (L/kg)",
}
# friendlier aliases accepted in configs
ALIASES = {
    "herg": "hERG", "ames": "AMES", "dili": "DILI", "clintox": "ClinTox", "bbb": "BBB_Martins",
    "half_life": "Half_Life_Obach", "solubility": "Solubility_AqSolDB", "ld50": "LD50_Zhu",
    **{f"{c.lower()}_inhibition": f"{c}_Veith" for c in ("CYP1A2", "CYP2C19", "CYP2C9", "CYP2D6", "CYP3A4")},
    **{f"{c.lower()}_substrate": f"{c}_Substrate_CarbonMangels" for c in ("CYP2C9", "CYP2D6", "CYP3A4")},
}

_MODEL: Any = None
_MEMO: dict[str, dict[str, float]] = {}
_MEMO_MAX = 200_000


def admet_model():
    """The shared ADMETModel (loaded lazily; the import costs seconds)."""
    global _MODEL
    if _MODEL is None:
        with contextlib.redirect_stderr(io.StringIO()):
            from admet_ai import ADMETModel

            _MODEL = ADMETModel(num_workers=0)
    return _MODEL


def admet_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("admet-ai")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


_WORKERS = 1
_POOL: Any = None


def set_workers(n: int) -> None:
    """Predict in ``n`` worker processes (each loads its own model once). A process-level setting, not a
    component parameter, so that it never changes cache keys."""
    global _WORKERS, _POOL
    n = max(1, int(n))
    if n != _WORKERS and _POOL is not None:
        _POOL.shutdown(wait=False, cancel_futures=True)
        _POOL = None
    _WORKERS = n


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)
    admet_model()


def _pool():
    global _POOL
    if _POOL is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _POOL = ProcessPoolExecutor(max_workers=_WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_worker_init)
    return _POOL


def _predict_rows(todo: list[str]) -> dict[str, dict[str, float] | None]:
    """ADMET-AI on a list of SMILES in this process."""
    model = admet_model()
    # ADMET-AI/lightning print progress bars; keep the CLI's own output clean
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), contextlib.redirect_stdout(devnull):
        try:
            df = model.predict(smiles=todo)
            rows = {idx: {k: float(v) for k, v in row.items() if k in ENDPOINTS} for idx, row in df.iterrows()}
        except Exception:
            rows = {}
            for s in todo:  # one bad molecule must not cost the batch
                try:
                    d = model.predict(smiles=[s])
                    rows[s] = {k: float(v) for k, v in d.iloc[0].items() if k in ENDPOINTS}
                except Exception:
                    rows[s] = None
    return rows


def warm_up() -> None:
    """Load the model here, and in every worker process when ``set_workers(n > 1)``."""
    admet_model()
    if _WORKERS > 1:
        list(_pool().map(_predict_rows, [["C"]] * _WORKERS))


def predict_admet(smiles: list[str]) -> list[dict[str, float] | None]:
    """All ADMET-AI endpoints for each SMILES (None where prediction failed); memoised per process."""
    todo = sorted({s for s in smiles if s and s not in _MEMO})
    if todo:
        if _WORKERS > 1 and len(todo) >= 8 * _WORKERS:
            rows: dict[str, dict[str, float] | None] = {}
            for part in _pool().map(_predict_rows, [todo[i::_WORKERS] for i in range(_WORKERS)]):
                rows.update(part)
        else:
            rows = _predict_rows(todo)
        if len(_MEMO) > _MEMO_MAX:
            _MEMO.clear()
        for s in todo:
            _MEMO[s] = rows.get(s)
    return [_MEMO.get(s) if s else None for s in smiles]


class AdmetParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint: str

    @field_validator("endpoint")
    @classmethod
    def _known(cls, v: str) -> str:
        v = ALIASES.get(v.lower(), v) if v not in ENDPOINTS else v
        if v not in ENDPOINTS:
            raise ValueError(f"unknown ADMET-AI endpoint {v!r}; known: {', '.join(sorted(ENDPOINTS))}")
        return v


@COMPONENTS.register("admet")
class Admet(Component):
    name = "admet"
    Params = AdmetParams
    description = "ADMET-AI (Chemprop-RDKit on TDC ADMET data) prediction of one endpoint."
    # ~10x the cost of the RDKit components: computed after them, only for molecules that pass the hard filters
    expensive = True

    @property
    def unit_interval(self) -> bool:  # type: ignore[override]
        return "probability" in ENDPOINTS[self.params.endpoint]

    @property
    def unit(self) -> str:  # type: ignore[override]
        return ENDPOINTS[self.params.endpoint]

    def provenance(self):
        return {**super().provenance(), "model": f"admet-ai {admet_version()}", "meaning": self.unit}

    def compute(self, mols, smiles):
        preds = predict_admet([s if m is not None else "" for m, s in zip(mols, smiles, strict=True)])
        ep = self.params.endpoint
        return np.array([p.get(ep, np.nan) if p else np.nan for p in preds], dtype=float)
