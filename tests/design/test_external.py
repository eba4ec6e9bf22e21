import sys

import numpy as np
import pytest

from genmed.chem.scoring import Scorer
from genmed.chem.scoring.components.external import ExternalComponentError
from genmed.core.errors import ConfigError


def _spec(**params):
    return {"objective": [{"component": "external", "params": params, "direction": "maximize", "low": 0,
                           "high": 10}]}


def test_command_scores_molecules_and_nan_lines():
    code = "import sys\nfor l in sys.stdin: l=l.strip(); print('nan' if 'N' in l else len(l))"
    b = Scorer(_spec(command=[sys.executable, "-c", code]))(["CCO", "CCN"])
    assert np.isfinite(b.raw["external"][0]) and b.raw["external"][0] == 3
    assert np.isnan(b.raw["external"][1]) and b.total[1] == 0


@pytest.mark.parametrize(
    "code,match",
    [
        ("import sys; sys.stderr.write('boom\\n'); sys.exit(3)", "exited with status 3: boom"),
        ("import time; time.sleep(5)", "did not finish within 1 s"),
        ("print(1)", "returned 1 lines for 2 molecules"),
        ("print('x'); print('y')", "line 1 is not a number"),
    ],
)
def test_command_failures_are_clear_errors(code, match):
    s = Scorer(_spec(command=[sys.executable, "-c", code], timeout_s=1))
    with pytest.raises(ExternalComponentError, match=match):
        s(["CCO", "CCC"])


def test_bad_external_configs():
    with pytest.raises(ConfigError, match="not found on PATH"):
        Scorer(_spec(command=["definitely-not-a-program-genmed"]))
    with pytest.raises(ConfigError, match="exactly one of command or entry_point"):
        Scorer(_spec())
    with pytest.raises(ConfigError, match="cannot load"):
        Scorer(_spec(entry_point="genmed.nothing_here:fn"))
    with pytest.raises(ConfigError, match="expected 'module:function'"):
        Scorer(_spec(entry_point="json"))


def boom(smiles):
    raise RuntimeError("model exploded")


def test_entry_point_exception_is_wrapped():
    with pytest.raises(ExternalComponentError, match="raised RuntimeError: model exploded"):
        Scorer(_spec(entry_point=f"{__name__}:boom"))(["CCO"])
