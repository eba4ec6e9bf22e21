"""Plans for the bundled examples, built once per session (the response model load costs a few seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory):
    """Session/module fixtures run before the root conftest's per-test home: point them at the same throw-away
    home so nothing (pseudonym key, run store, audit log) lands in the real ~/.genmed."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.getbasetemp()
    mp.setenv("GENMED_HOME", str(base / "genmed-home"))
    mp.setenv("GENMED_RUNS_DIR", str(base / "runs"))
    from genmed.core.config import reset_settings

    reset_settings()
    yield
    mp.undo()
    reset_settings()


@pytest.fixture(scope="session")
def example_plans(_session_home):
    from genmed.patient import example_dir, list_examples, read_patient
    from genmed.plan import build_plan

    out = {}
    for name in list_examples():
        patient = read_patient(example_dir(name) / "bundle.json")
        out[name] = (patient, build_plan(patient))
    return out
