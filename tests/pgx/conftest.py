from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pgx_dir() -> Path:
    p = Path(os.environ["GENMED_DATA_DIR"]) / "pgx"
    if not p.is_dir():
        pytest.skip("pgx reference data not available")
    return p


@pytest.fixture(scope="session")
def example(pgx_dir) -> Path:
    return pgx_dir / "pharmcat" / "examples"


@pytest.fixture(scope="session")
def haplo(pgx_dir) -> Path:
    return pgx_dir / "pharmcat" / "haplotype_tests"
