"""Test set-up: real reference data from GENMED_DATA_DIR (default ../shared/data), a throw-away genmed home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("GENMED_DATA_DIR", str(DEFAULT_DATA))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.getbasetemp() / "genmed-home"
    monkeypatch.setenv("GENMED_HOME", str(home))
    monkeypatch.setenv("GENMED_RUNS_DIR", str(tmp_path_factory.getbasetemp() / "runs"))
    from genmed.core.config import reset_settings

    reset_settings()
    yield
    reset_settings()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["GENMED_DATA_DIR"])
    if not path.exists():
        pytest.skip(f"GENMED_DATA_DIR {path} not present")
    return path


@pytest.fixture
def run_genmed(capsys):
    """Run the ``genmed`` command in-process: ``run_genmed([...]) -> (exit code, stdout, stderr)``."""
    from genmed.cli.main import main

    def run(args: list[str]) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(args)
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    return run
