"""Thin adapters over the capabilities a plan uses (``genmed.pgx``, ``genmed.clinical``).

They turn "capability missing" and "capability cannot answer" into explicit, reasoned results so the plan engine
never invents a value. Only the public APIs of the capabilities are called.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any

from genmed.plan.model import Capability


def _import(name: str) -> tuple[Any | None, str | None]:
    try:
        return importlib.import_module(name), None
    except ImportError as exc:
        return None, f"{name} is not available in this build ({exc})"


def pgx_module() -> tuple[Any | None, Capability]:
    mod, why = _import("genmed.pgx")
    if mod is None:
        return None, Capability(name="pharmacogenomics (genmed.pgx)", available=False, reason=why)
    try:
        version = mod.knowledge_version()
    except Exception as exc:  # a missing knowledge pack is a capability problem, reported as such
        return None, Capability(name="pharmacogenomics (genmed.pgx)", available=False,
                                reason=f"knowledge pack not loadable: {exc}")
    return mod, Capability(name="pharmacogenomics (genmed.pgx)", available=True, version=f"knowledge {version}")


def clinical_module() -> tuple[Any | None, Capability]:
    mod, why = _import("genmed.clinical")
    if mod is None:
        return None, Capability(name="treatment response (genmed.clinical)", available=False, reason=why)
    return mod, Capability(name="treatment response (genmed.clinical)", available=True,
                           version="trials: " + ", ".join(mod.list_trials()))


def outside_calls_file(genotypes: list[tuple[str, str | None, str | None]], folder: Path) -> Path | None:
    """Write the record's genotype results as a PharmCAT outside-call TSV (gene, diplotype, phenotype)."""
    rows = [f"{g}\t{d or ''}\t{p or ''}" for g, d, p in genotypes if d or p]
    if not rows:
        return None
    path = folder / "outside_calls.tsv"
    path.write_text("# genotype results taken from the patient record (genmed plan)\n" + "\n".join(rows) + "\n")
    return path


def empty_vcf(sample: str, folder: Path) -> Path:
    """A header-only VCF: lets the PGx engine interpret outside calls when the record has no VCF (every VCF gene
    is then reported not called, which is the truth)."""
    path = folder / "no_genotypes.vcf"
    path.write_text("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                    f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
    return path


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="genmed-plan-")
