"""Drug-likeness and physicochemical components: QED, SA score, RDKit descriptors, atom counts, formula isomers."""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component, safe_map
from genmed.core.errors import ConfigError


@COMPONENTS.register("qed")
class QED(Component):
    name = "qed"
    description = "Quantitative estimate of drug-likeness (Bickerton 2012), RDKit implementation; 0..1."
    unit_interval = True

    def compute(self, mols, smiles):
        from rdkit.Chem import QED as _qed

        return safe_map(_qed.qed, mols)


_SA = None


def _sascorer():
    """RDKit Contrib SA_Score (Ertl & Schuffenhauer 2009), loaded once from the RDKit installation."""
    global _SA
    if _SA is None:
        import importlib.util
        import os

        from rdkit.Chem import RDConfig

        path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
        spec = importlib.util.spec_from_file_location("genmed_sascorer", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"RDKit Contrib SA_Score not found at {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.readFragmentScores()
        _SA = mod
    return _SA


@COMPONENTS.register("sa_score")
class SAScore(Component):
    name = "sa_score"
    unit = "1 (easy) .. 10 (hard)"
    description = "Synthetic accessibility score (Ertl & Schuffenhauer 2009), RDKit Contrib."

    def compute(self, mols, smiles):
        sa = _sascorer()
        return safe_map(sa.calculateScore, mols)


def _num_atoms_with_h(m):
    from rdkit import Chem

    return Chem.AddHs(m).GetNumAtoms()


def _stereocenters(m):
    from rdkit import Chem

    return len(Chem.FindMolChiralCenters(m, includeUnassigned=True, useLegacyImplementation=False))


def _is_element(symbol: str) -> bool:
    from rdkit import Chem

    if not re.fullmatch(r"[A-Z][a-z]?", symbol):
        return False
    try:
        return Chem.GetPeriodicTable().GetAtomicNumber(symbol) > 0
    except Exception:
        return False


def _descriptor(name: str):
    from rdkit.Chem import Descriptors, rdMolDescriptors
    from rdkit.Chem import rdmolops as ops

    table = {
        "mw": Descriptors.MolWt,
        "logp": Descriptors.MolLogP,
        "tpsa": Descriptors.TPSA,
        "hbd": Descriptors.NumHDonors,
        "hba": Descriptors.NumHAcceptors,
        "rotatable_bonds": Descriptors.NumRotatableBonds,
        "rings": rdMolDescriptors.CalcNumRings,
        "aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
        "fsp3": rdMolDescriptors.CalcFractionCSP3,
        "heavy_atoms": lambda m: m.GetNumHeavyAtoms(),
        "num_atoms": _num_atoms_with_h,
        "bertz": Descriptors.BertzCT,
        "formal_charge": ops.GetFormalCharge,
        "stereocenters": _stereocenters,
    }
    return table[name]


PhyschemProperty = Literal[
    "mw", "logp", "tpsa", "hbd", "hba", "rotatable_bonds", "rings", "aromatic_rings", "fsp3", "heavy_atoms",
    "num_atoms", "bertz", "formal_charge", "stereocenters",
]


class PhyschemParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property: PhyschemProperty


@COMPONENTS.register("physchem")
class Physchem(Component):
    """One RDKit descriptor: MW (MolWt), Crippen logP, TPSA, Lipinski HBD/HBA, rotatable bonds, rings, Csp3 ..."""

    name = "physchem"
    Params = PhyschemParams
    description = "RDKit physicochemical descriptor (Descriptors / rdMolDescriptors)."

    def compute(self, mols, smiles):
        return safe_map(_descriptor(self.params.property), mols)


class AtomCountParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    element: str = Field(description="element symbol, e.g. F; H counts implicit hydrogens")

    @field_validator("element")
    @classmethod
    def _valid(cls, v: str) -> str:
        if not _is_element(v):
            raise ValueError(f"not an element symbol: {v!r}")
        return v


@COMPONENTS.register("atom_count")
class AtomCount(Component):
    name = "atom_count"
    Params = AtomCountParams
    description = "Number of atoms of one element (hydrogens included when element is H)."

    def compute(self, mols, smiles):
        from rdkit import Chem

        el = self.params.element

        def count(m):
            if el == "H":
                m = Chem.AddHs(m)
            return sum(1 for a in m.GetAtoms() if a.GetSymbol() == el)

        return safe_map(count, mols)


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """``C9H10N2O2PF2Cl`` -> [(C, 9), (H, 10), ...]; raise ConfigError for anything that is not a formula."""
    parts = re.findall(r"([A-Z][a-z]?)(\d*)", formula)
    if not parts or "".join(e + n for e, n in parts) != formula:
        raise ConfigError(f"not a molecular formula: {formula!r}")
    out = []
    for el, n in parts:
        if not _is_element(el):
            raise ConfigError(f"unknown element {el!r} in formula {formula!r}")
        out.append((el, int(n) if n else 1))
    return out


class IsomerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formula: str
    mean: Literal["geometric", "arithmetic"] = "geometric"
    # "atoms": total atom count with hydrogens (GuacaMol). "tdc_smiles_letters": TDC's oracle (used by PMO)
    # counts the total by reading the canonical SMILES *string* as if it were a formula (capitalised symbols, a
    # following digit read as a count, aromatic lower-case atoms ignored). Only for reproducing PMO numbers.
    total_count: Literal["atoms", "tdc_smiles_letters"] = "atoms"


@COMPONENTS.register("isomer")
class Isomer(Component):
    """Closeness to a molecular formula (GuacaMol's isomer score).

    Mean of Gaussian(mu=n_el, sigma=1) over each element of the formula and Gaussian(mu=n_total, sigma=2) over the
    total atom count (hydrogens included); only the formula's elements are counted individually, as in GuacaMol.
    """

    name = "isomer"
    Params = IsomerParams
    unit_interval = True
    description = "Element-formula isomer score (Brown et al. 2019, GuacaMol)."

    def setup(self):
        self.counts = parse_formula(self.params.formula)
        self.total = sum(n for _, n in self.counts)

    def compute(self, mols, smiles):
        from rdkit import Chem

        tdc = self.params.total_count == "tdc_smiles_letters"
        out = np.full(len(mols), np.nan)
        for i, (m, smi) in enumerate(zip(mols, smiles, strict=True)):
            if m is None:
                continue
            try:
                mh = Chem.AddHs(m)
                syms = [a.GetSymbol() for a in mh.GetAtoms()]
                vals = [np.exp(-0.5 * (syms.count(el) - n) ** 2) for el, n in self.counts]
                if tdc:
                    total = sum(int(d) if d else 1 for _, d in re.findall(r"([A-Z][a-z]*)(\d*)", smi))
                else:
                    total = mh.GetNumAtoms()
                vals.append(np.exp(-0.5 * ((total - self.total) / 2.0) ** 2))
                arr = np.asarray(vals)
                out[i] = arr.prod() ** (1.0 / len(arr)) if self.params.mean == "geometric" else arr.mean()
            except Exception:
                pass
        return out
