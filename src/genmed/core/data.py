"""Locating external data: ``$GENMED_DATA_DIR/<dataset>`` with a clear message when it is absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from genmed.core.config import get_settings
from genmed.core.errors import DataNotFoundError


def data_path(*parts: str, must_exist: bool = True) -> Path:
    """Path under the data directory, e.g. ``data_path("pgx", "pharmcat")``."""
    root = get_settings().resolved_data_dir
    path = root.joinpath(*parts)
    if must_exist and not path.exists():
        dataset = parts[0] if parts else ""
        raise DataNotFoundError(
            f"data not found at {path}",
            hint=f"set GENMED_DATA_DIR to a folder holding it, or run `genmed data fetch {dataset}`".strip(),
        )
    return path


def package_data_dir(package: str) -> Path:
    """Folder of an installed package (for data shipped in wheels, e.g. molsets' MOSES files)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataNotFoundError(f"package {package!r} is not installed", hint=f"pip install {package}")
    return Path(spec.origin).parent
