"""Registry of external data sets that `genmed data fetch NAME` downloads for users with internet.

Each capability declares its sources in ``genmed/<capability>/datasets.py`` by calling :func:`register_dataset`;
the CLI discovers those modules. Tests never fetch: they read ``GENMED_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from genmed.core.data import data_path
from genmed.core.errors import DataNotFoundError, InputError
from genmed.core.registry import Registry

CAPABILITIES = ("chem", "pgx", "clinical", "imaging", "omics", "privacy", "patient", "plan")


@dataclass(frozen=True)
class RemoteFile:
    url: str
    dest: str  # path relative to the data directory
    sha256: str | None = None
    md5: str | None = None  # where the publisher gives only an MD5 (checked as well as sha256 when both are set)


@dataclass(frozen=True)
class DataSource:
    name: str
    description: str
    files: tuple[RemoteFile, ...]
    license: str = ""
    citation: str = ""
    notes: list[str] = field(default_factory=list)


DATASETS: Registry[DataSource] = Registry("data set")


def register_dataset(source: DataSource) -> DataSource:
    DATASETS.add(source.name, source)
    return source


def discover() -> Registry[DataSource]:
    for cap in CAPABILITIES:
        try:
            importlib.import_module(f"genmed.{cap}.datasets")
        except ModuleNotFoundError as exc:
            if exc.name != f"genmed.{cap}.datasets" and exc.name != f"genmed.{cap}":
                raise
    return DATASETS


def fetch(name: str, *, force: bool = False, timeout: float = 60.0) -> list[Path]:
    """Download a registered data set into the data directory (atomic per file, checksum-verified)."""
    source = discover().get(name)
    written = []
    for f in source.files:
        target = data_path(f.dest, must_exist=False)
        if target.exists() and not force:
            written.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
            try:
                with urllib.request.urlopen(f.url, timeout=timeout) as resp:
                    shutil.copyfileobj(resp, tmp)
            except OSError as exc:
                Path(tmp.name).unlink(missing_ok=True)
                raise DataNotFoundError(f"could not download {f.url}: {exc}", source=name) from exc
        for algo, expected in (("sha256", f.sha256), ("md5", f.md5)):
            if not expected:
                continue
            digest = hashlib.new(algo, Path(tmp.name).read_bytes()).hexdigest()
            if digest != expected:
                Path(tmp.name).unlink(missing_ok=True)
                raise InputError(f"{algo} checksum mismatch for {f.url} (got {digest})", source=name)
        Path(tmp.name).replace(target)
        written.append(target)
    return written
