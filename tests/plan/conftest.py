"""Plans for the bundled examples, built once per session (the response model load costs a few seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def example_plans():
    from genmed.patient import example_dir, list_examples, read_patient
    from genmed.plan import build_plan

    out = {}
    for name in list_examples():
        patient = read_patient(example_dir(name) / "bundle.json")
        out[name] = (patient, build_plan(patient))
    return out
