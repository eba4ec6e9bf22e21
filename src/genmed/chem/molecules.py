"""Molecules: parse, standardise, canonicalise (thin, well-named functions over RDKit, datamol-style).

Standardisation = sanitize -> keep the largest organic fragment -> neutralise charges -> canonical SMILES,
optionally without stereochemistry. Batch functions never raise for a bad molecule: they return a per-row
result with the reason, so one bad SMILES cannot crash a batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

from genmed.core.errors import InputError

RDLogger.DisableLog("rdApp.*")


@dataclass(frozen=True)
class StandardizedMolecule:
    """Result for one input: ``smiles`` is the standardised canonical SMILES, or ``None`` with ``error`` set."""

    input: str
    smiles: str | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.smiles is not None


def to_mol(smiles: str, *, sanitize: bool = True) -> Chem.Mol | None:
    """RDKit molecule from SMILES, or ``None`` if it does not parse/sanitize (empty strings included)."""
    if not smiles or not isinstance(smiles, str):
        return None
    return Chem.MolFromSmiles(smiles, sanitize=sanitize)


def to_mol_strict(smiles: str, *, source: str | None = None) -> Chem.Mol:
    """Like :func:`to_mol` but raises :class:`InputError` naming the SMILES and the problem."""
    mol = to_mol(smiles)
    if mol is None:
        raise InputError(f"invalid SMILES {smiles!r}: {explain_invalid(smiles)}", source=source)
    return mol


def explain_invalid(smiles: str) -> str:
    """Why a SMILES fails: unparseable syntax vs chemistry (valence, aromaticity)."""
    if not smiles:
        return "empty string"
    raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is None:
        return "cannot be parsed (syntax)"
    problems = Chem.DetectChemistryProblems(raw)
    if problems:
        return "; ".join(p.Message() for p in problems[:2])
    return "fails RDKit sanitization"


def canonical_smiles(mol_or_smiles: Chem.Mol | str, *, isomeric: bool = True) -> str | None:
    """Canonical SMILES (RDKit), ``None`` for invalid input."""
    mol = to_mol(mol_or_smiles) if isinstance(mol_or_smiles, str) else mol_or_smiles
    if mol is None:
        return None
    return Chem.MolToSmiles(mol, isomericSmiles=isomeric)


@lru_cache(maxsize=1)
def _standardizers():
    return (
        rdMolStandardize.LargestFragmentChooser(preferOrganic=True),
        rdMolStandardize.Uncharger(),
    )


def standardize_mol(mol: Chem.Mol, *, strip_stereo: bool = False) -> Chem.Mol:
    """Largest organic fragment, neutralised, optionally without stereo (input is not modified)."""
    chooser, uncharger = _standardizers()
    mol = chooser.choose(mol)
    mol = uncharger.uncharge(mol)
    Chem.SanitizeMol(mol)
    if strip_stereo:
        mol = Chem.Mol(mol)
        Chem.RemoveStereochemistry(mol)
    return mol


def standardize_smiles(smiles: str, *, strip_stereo: bool = False) -> StandardizedMolecule:
    """Standardise one SMILES; never raises for chemistry problems."""
    mol = to_mol(smiles)
    if mol is None:
        return StandardizedMolecule(smiles, None, explain_invalid(smiles))
    try:
        std = standardize_mol(mol, strip_stereo=strip_stereo)
    except Exception as exc:  # RDKit raises assorted errors on exotic input
        return StandardizedMolecule(smiles, None, f"standardisation failed: {exc}")
    return StandardizedMolecule(smiles, Chem.MolToSmiles(std, isomericSmiles=not strip_stereo))


def standardize_many(smiles: Iterable[str], *, strip_stereo: bool = False) -> list[StandardizedMolecule]:
    return [standardize_smiles(s, strip_stereo=strip_stereo) for s in smiles]


def canonicalize_many(smiles: Iterable[str]) -> list[str | None]:
    """Fast path (no fragment/charge handling): canonical SMILES or ``None`` per input. Used by metrics."""
    out = []
    for s in smiles:
        mol = to_mol(s)
        out.append(Chem.MolToSmiles(mol) if mol is not None else None)
    return out
