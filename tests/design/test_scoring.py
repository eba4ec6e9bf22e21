import numpy as np
import pytest

from genmed.chem.scoring import COMPONENTS, ScoreCache, Scorer, pareto_front
from genmed.chem.scoring.components.docking import Docking
from genmed.core.errors import ConfigError, DataNotFoundError

CALLS: list[int] = []


def count_carbons(smiles):
    """Entry point used by the external-component tests (module-level so importlib can find it)."""
    CALLS.append(len(smiles))
    return [s.count("C") + s.count("c") for s in smiles]


def test_every_component_is_registered():
    assert {"qed", "sa_score", "physchem", "atom_count", "isomer", "similarity", "smarts", "alerts", "admet",
            "docking", "external"} <= set(COMPONENTS.names())


def test_geometric_and_arithmetic_weighted_means():
    objs = [
        {"component": "smarts", "name": "has_oh", "params": {"patterns": "[OX2H]"}},
        {"component": "qed", "weight": 3},
    ]
    smi = ["CCO", "CCC"]
    geo = Scorer({"objective": objs})(smi)
    ari = Scorer({"aggregation": "arithmetic", "objective": objs})(smi)
    q = geo.raw["qed"]
    np.testing.assert_allclose(geo.total, [q[0] ** 0.75, 0.0])
    np.testing.assert_allclose(ari.total, [(1 + 3 * q[0]) / 4, 3 * q[1] / 4])


def test_filters_zero_the_score_and_say_which():
    s = Scorer({"objective": [{"component": "qed"}],
                "filter": [{"component": "physchem", "name": "small", "params": {"property": "heavy_atoms"},
                            "max": 5}]})
    b = s(["CCO", "c1ccccc1CCCCCC", "not a smiles"])
    assert b.total[0] > 0 and b.total[1] == 0 and b.total[2] == 0
    assert b.failed_filters[1] == ["small"] and b.failed_filters[2] == ["invalid SMILES (cannot be parsed (syntax))"]
    assert b.record(1)["failed_filters"] == "small"


def test_failing_molecules_never_raise():
    s = Scorer({"objective": [{"component": "qed"}, {"component": "sa_score", "direction": "minimize",
                                                     "low": 2, "high": 6}]})
    b = s(["", "C1CC", "[Xe]", None, "CCO"])
    assert b.total.shape == (5,)
    assert b.total[-1] > 0 and np.all(b.total[:2] == 0)


def test_cache_hits_cost_no_computation(tmp_path):
    CALLS.clear()
    spec = {"objective": [{"component": "external", "params": {"entry_point": f"{__name__}:count_carbons"},
                           "direction": "maximize", "low": 0, "high": 10}]}
    cache = ScoreCache(tmp_path / "c.sqlite")
    s = Scorer(spec, cache=cache)
    first = s(["CCO", "OCC", "c1ccccc1"]).total  # CCO and OCC are one molecule
    assert CALLS == [2]
    again = Scorer(spec, cache=ScoreCache(tmp_path / "c.sqlite"))(["c1ccccc1", "CCO"]).total
    assert CALLS == [2]
    np.testing.assert_allclose(again, [first[2], first[0]])


@pytest.mark.parametrize(
    "spec,match",
    [
        ({"objective": [{"component": "nope"}]}, r"scoring.objective\[0\].component: unknown scoring component"),
        ({"objective": [{"component": "smarts", "params": {"patterns": ["C(("]}}]},
         r"scoring.objective\[0\].params.patterns\[0\]: invalid SMARTS"),
        ({"objective": [{"component": "similarity", "params": {"smiles": ["CC", "C1CC"]}}]},
         r"params.smiles\[1\]: invalid reference SMILES"),
        ({"objective": [{"component": "similarity", "params": {"smiles": "CC", "radius": 3}}]},
         r"params.radius: unknown parameter"),
        ({"objective": [{"component": "physchem", "params": {"property": "mw"}}]}, "give low and high"),
        ({"objective": [{"component": "physchem", "params": {"property": "colour"}}]}, "property"),
        ({"objective": [{"component": "admet", "params": {"endpoint": "telepathy"}}]}, "unknown ADMET-AI endpoint"),
        ({"objective": [{"component": "isomer", "params": {"formula": "C6Xx2"}}]}, "unknown element"),
        ({"objective": [{"component": "qed", "weight": 0}]}, r"scoring.objective\[0\].weight"),
        ({"objective": [{"component": "qed", "colour": "red"}]}, r"scoring.objective\[0\].colour: unknown key"),
        ({"objective": [{"component": "qed"}, {"component": "qed"}]}, "two objectives are named 'qed'"),
        ({"objective": []}, "scoring.objective"),
        ({"objective": [{"component": "qed"}], "filter": [{"component": "physchem", "params": {"property": "mw"}}]},
         "give min and/or max"),
    ],
)
def test_bad_scoring_configs_name_the_key(spec, match):
    with pytest.raises(ConfigError, match=match):
        Scorer(spec)


def test_docking_degrades_clearly_without_obabel(monkeypatch):
    monkeypatch.setattr("genmed.chem.scoring.components.docking.shutil.which", lambda _: None)
    with pytest.raises(DataNotFoundError, match="Open Babel"):
        Docking({"target": "DRD2"}, where="scoring.objective[3].params")
    with pytest.raises(ConfigError, match="unknown dockstring target"):
        Docking({"target": "NOTATARGET"})


def test_expensive_component_only_runs_on_promising_molecules(monkeypatch):
    seen: list[str] = []

    class FakeDock(Docking):
        def setup(self):
            pass

        def compute(self, mols, smiles):
            seen.extend(s for s in smiles if s)
            return np.array([-9.0 if s else np.nan for s in smiles])

    monkeypatch.setitem(COMPONENTS._items, "docking", FakeDock)
    s = Scorer({"objective": [
        {"component": "smarts", "name": "needs_n", "params": {"patterns": "[#7]"}},
        {"component": "docking", "params": {"target": "DRD2"}, "direction": "minimize", "low": -12, "high": -6,
         "min_score_to_compute": 0.5},
    ]})
    b = s(["CCN", "CCO", "CCCN"])
    assert seen == ["CCN", "CCCN"]
    assert b.total[1] == 0 and np.isnan(b.raw["docking"][1]) and b.total[0] > 0.5


def test_pareto_front():
    v = np.array([[1, 0], [0, 1], [0.5, 0.5], [0.4, 0.4], [1, 0]])
    assert sorted(pareto_front(v).tolist()) == [0, 1, 2, 4]
    assert pareto_front(np.array([[np.nan, 1.0], [0.1, 1.0]])).tolist() == [1]
