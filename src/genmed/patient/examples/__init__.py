"""Bundled example patients (made up; no real person): each a FHIR R4 bundle, the compact record it was built
from, and a small VCF. ``python -m genmed.patient.examples.build`` regenerates bundles and VCFs."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from genmed.core.errors import InputError

DESCRIPTIONS = {
    "breast-cyp2d6-pm": "ER+ node-positive breast cancer, CYP2D6 *4/*4 poor metabolizer, on paroxetine and codeine",
    "acs-cyp2c19-warfarin": "NSTEMI + PCI, atrial fibrillation on warfarin, prior TIA, CYP2C19 *2/*2, CYP2C9 *1/*3, VKORC1 G/A",
    "crc-dpyd": "Stage III colon cancer, DPYD c.1905+1G>A heterozygous, oxaliplatin hypersensitivity",
    "hiv-hla-cyp2b6": "HIV-1, ZDV-experienced, CD4 180, HLA-B*57:01 carrier, CYP2B6 *6/*6, on sertraline",
}
DEFAULT_EXAMPLE = "breast-cyp2d6-pm"


def list_examples() -> dict[str, str]:
    """Example name -> one-line description."""
    return dict(DESCRIPTIONS)


def example_dir(name: str) -> Path:
    """Folder of a bundled example (``bundle.json``, ``patient.yaml``, ``genotypes.vcf``)."""
    if name not in DESCRIPTIONS:
        raise InputError(f"unknown example patient {name!r}", hint="known: " + ", ".join(DESCRIPTIONS))
    return Path(str(resources.files("genmed.patient.examples").joinpath(name)))
