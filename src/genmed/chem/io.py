"""Reading and writing molecule files (SMILES, CSV/TSV, SDF; optionally gzipped) with per-row error reports.

A bad row never aborts a batch: it becomes a :class:`MoleculeRecord` with ``error`` set. A file that cannot be
used at all (missing, empty, no SMILES column, unreadable) raises :class:`InputError` naming the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError

SMILES_COLUMNS = ("smiles", "canonical_smiles", "smi", "molecule", "structure")


@dataclass
class MoleculeRecord:
    row: int  # 1-based line/record number in the source file
    name: str | None
    input: str
    smiles: str | None  # standardised canonical SMILES, None if invalid
    error: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class MoleculeTable:
    source: str
    records: list[MoleculeRecord]

    @property
    def valid(self) -> list[MoleculeRecord]:
        return [r for r in self.records if r.smiles is not None]

    @property
    def errors(self) -> list[MoleculeRecord]:
        return [r for r in self.records if r.smiles is None]

    def error_report(self, limit: int = 20) -> str:
        lines = [f"{self.source}: {len(self.errors)} of {len(self.records)} rows invalid"]
        lines += [f"  row {r.row}: {r.input!r}: {r.error}" for r in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(f"  ... and {len(self.errors) - limit} more")
        return "\n".join(lines)


def _read_text(path: Path) -> str:
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_dir():
        raise InputError("is a directory, expected a molecule file", source=str(path))
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InputError(f"cannot read file ({exc})", source=str(path)) from exc


def _format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in ((".sdf", "sdf"), (".sd", "sdf"), (".mol", "sdf"), (".csv", "csv"), (".tsv", "tsv")):
        if name.endswith(ext):
            return fmt
    return "smi"


def read_molecules(
    path: str | Path, *, smiles_column: str | None = None, standardize: bool = True, strip_stereo: bool = False
) -> MoleculeTable:
    """Read a molecule file. Raises :class:`InputError` if the file is missing, empty or has no SMILES column."""
    from genmed.chem.molecules import explain_invalid, standardize_smiles, to_mol

    path = Path(path)
    fmt = _format(path)
    records: list[MoleculeRecord] = []
    if fmt == "sdf":
        from rdkit import Chem

        text = _read_text(path)
        if not text.strip():
            raise InputError("file is empty", source=str(path))
        supplier = Chem.ForwardSDMolSupplier(io.BytesIO(text.encode()), sanitize=True)
        for i, mol in enumerate(supplier, start=1):
            if mol is None:
                records.append(MoleculeRecord(i, None, f"<record {i}>", None, "unreadable SDF record"))
                continue
            smi = Chem.MolToSmiles(mol)
            name = mol.GetProp("_Name") if mol.HasProp("_Name") else None
            props = mol.GetPropsAsDict()
            res = standardize_smiles(smi, strip_stereo=strip_stereo) if standardize else None
            records.append(
                MoleculeRecord(i, name, smi, res.smiles if res else smi, res.error if res else None, props)
            )
        return MoleculeTable(str(path), records)

    text = _read_text(path)
    if not text.strip():
        raise InputError("file is empty", source=str(path))
    rows: Iterable[tuple[int, str, str | None, dict[str, Any]]]
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="," if fmt == "csv" else "\t")
        cols = reader.fieldnames or []
        col = smiles_column or next((c for c in cols if c.strip().lower() in SMILES_COLUMNS), None)
        if col is None or col not in cols:
            raise InputError(
                f"no SMILES column (looked for {smiles_column or ', '.join(SMILES_COLUMNS)}; found {', '.join(cols)})",
                source=str(path), hint="pass --smiles-column NAME",
            )
        name_col = next((c for c in cols if c.strip().lower() in ("name", "id", "compound_id", "title")), None)
        rows = (
            (i, (r.get(col) or "").strip(), (r.get(name_col) if name_col else None), r)
            for i, r in enumerate(reader, start=2)
        )
    else:
        rows = (
            (i, parts[0], parts[1] if len(parts) > 1 else None, {})
            for i, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.startswith("#")
            for parts in [line.split(maxsplit=1)]
        )
    for i, smi, name, props in rows:
        if standardize:
            res = standardize_smiles(smi, strip_stereo=strip_stereo)
            records.append(MoleculeRecord(i, name, smi, res.smiles, res.error, dict(props)))
        else:
            ok = to_mol(smi) is not None
            records.append(MoleculeRecord(i, name, smi, smi if ok else None, None if ok else explain_invalid(smi)))
    if not records:
        raise InputError("no molecules in file", source=str(path))
    return MoleculeTable(str(path), records)


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; the result should be an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_molecules(path: str | Path, rows: Sequence[dict[str, Any]], *, smiles_key: str = "smiles") -> Path:
    """Write rows (dicts) as CSV/TSV or SDF (by suffix); atomic, so no half-written file is ever left."""
    path = Path(path)
    fmt = _format(path)
    if fmt == "sdf":
        from rdkit import Chem

        def write_sdf(fh):
            writer = Chem.SDWriter(fh)
            for r in rows:
                smi = r.get(smiles_key)
                mol = Chem.MolFromSmiles(smi) if smi else None
                if mol is None:
                    continue  # SDF cannot hold an invalid structure; CSV keeps those rows
                for k, v in r.items():
                    if v is not None:
                        mol.SetProp(str(k), str(v))
                writer.write(mol)
            writer.close()

        _atomic_write(path, write_sdf)
        return path
    fields = list(dict.fromkeys(k for r in rows for k in r)) or [smiles_key]

    def write_csv(fh):
        w = csv.DictWriter(fh, fieldnames=fields, delimiter="\t" if fmt == "tsv" else ",")
        w.writeheader()
        w.writerows(rows)

    _atomic_write(path, write_csv)
    return path
