import random

import numpy as np
from rdkit import Chem

from genmed.chem.optimize.graph_operators import crossover, mutate
from genmed.chem.scoring import Scorer


def _raw(component, molecules, **params):
    obj = {"component": component, "params": params, "direction": "maximize", "low": 0, "high": 1}
    return Scorer({"objective": [obj]})(molecules).raw[component]


def test_physchem_and_counts():
    mw = _raw("physchem", ["CCO", "c1ccccc1"], property="mw")
    np.testing.assert_allclose(mw, [46.069, 78.114], atol=0.01)
    assert _raw("physchem", ["c1ccccc1CC"], property="aromatic_rings")[0] == 1
    assert _raw("physchem", ["CC(=O)O"], property="hbd")[0] == 1
    assert _raw("atom_count", ["CCO"], element="H")[0] == 6
    assert _raw("atom_count", ["FC(F)F"], element="F")[0] == 3


def test_isomer_score_is_one_for_the_formula():
    v = _raw("isomer", ["CCCCCCCCCCC", "CC(C)CCCCCCCC", "CCCCCCCCCC", "CCO"], formula="C11H24")
    assert v[0] == v[1] == 1.0 and 0 < v[2] < 1 and v[3] < 0.01


def test_sa_and_qed_ranges():
    # benzene is trivial; a bridged, stereo-rich polycycle is not
    sa = _raw("sa_score", ["c1ccccc1", "C[C@@H]1C[C@H]2C[C@@H]3[C@H](C1)[C@@]1(C)CC[C@H]2[C@@H]31"])
    assert 1 <= sa[0] < 2 and sa[1] > 4 and sa[1] <= 10
    q = _raw("qed", ["CC(=O)Oc1ccccc1C(=O)O"])
    assert 0.4 < q[0] < 0.7


def test_alerts_count_pains_and_brenk():
    v = _raw("alerts", ["Oc1ccccc1O", "CCO"], catalogs=["pains"])
    assert v[0] >= 1 and v[1] == 0


def test_similarity_fingerprints_and_aggregate():
    ref = "CCCOc1cc2ncnc(Nc3ccc(O)cc3)c2cc1"  # enough pharmacophore features for a non-empty Gobbi fingerprint
    for fp in ("ecfp4", "ecfp6", "fcfp4", "fcfp6", "ap", "phco"):
        v = _raw("similarity", [ref, "CCCC"], smiles=[ref], fingerprint=fp)
        assert v[0] == 1.0 and v[1] < 1.0, fp
    folded = _raw("similarity", ["CCOc1ccccc1"], smiles=["CCOc1ccccc1"], fingerprint="ecfp4", bits=2048)
    assert folded[0] == 1.0
    mx = _raw("similarity", ["CCO"], smiles=["CCO", "c1ccccc1"], aggregate="max")
    mean = _raw("similarity", ["CCO"], smiles=["CCO", "c1ccccc1"], aggregate="mean")
    assert mx[0] == 1.0 and mean[0] < 1.0


def test_smarts_modes():
    req = _raw("smarts", ["CCO", "CCN"], patterns=["[OX2H]", "[NX3]"], match="all")
    forbid = _raw("smarts", ["CCO", "CCC"], patterns=["[OX2H]"], mode="forbid")
    assert req.tolist() == [0.0, 0.0] and forbid.tolist() == [0.0, 1.0]


def test_graph_operators_only_make_valid_molecules():
    rng = random.Random(0)
    parents = [Chem.MolFromSmiles(s) for s in ["COc1ccccc1OCC(O)CN1CCN(CC(=O)Nc2c(C)cccc2C)CC1",
                                               "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1", "Cc1ccc(S(N)(=O)=O)cc1"]]
    made = 0
    for _ in range(60):
        child = crossover(rng.choice(parents), rng.choice(parents), rng)
        if child is not None:
            child = mutate(child, 1.0, rng)
        if child is not None:
            made += 1
            assert Chem.MolFromSmiles(Chem.MolToSmiles(child)) is not None
    assert made > 30
