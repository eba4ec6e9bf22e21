"""Real ADMET-AI and dockstring calls (slow: model load ~8 s, one docking 6-35 s). Run with ``pytest -m slow``."""

import shutil

import numpy as np
import pytest

from genmed.chem.scoring import Scorer

pytestmark = pytest.mark.slow


def test_admet_ai_ranks_a_known_herg_blocker_above_aspirin():
    pytest.importorskip("admet_ai")
    s = Scorer({"objective": [{"component": "admet", "name": "herg", "params": {"endpoint": "hERG"},
                               "direction": "minimize"},
                              {"component": "admet", "name": "dili", "params": {"endpoint": "dili"},
                               "direction": "minimize"}]})
    astemizole = "COc1ccc(CCN2CCC(Nc3nc4ccccc4n3Cc3ccc(F)cc3)CC2)cc1"
    b = s(["CC(=O)Oc1ccccc1C(=O)O", astemizole, "not-a-molecule"])
    herg = b.raw["herg"]
    assert herg[1] > 0.5 > herg[0] and np.isnan(herg[2])
    assert 0 <= b.raw["dili"][0] <= 1


@pytest.mark.skipif(shutil.which("obabel") is None, reason="docking needs Open Babel (apt-get install openbabel)")
def test_docking_one_ligand():
    s = Scorer({"objective": [{"component": "docking", "params": {"target": "DRD2", "workers": 1},
                               "direction": "minimize", "low": -12, "high": -6}]})
    b = s(["CCN1CCN(c2ccccc2OC)CC1"])
    assert -14 < b.raw["docking"][0] < -3


def test_admet_worker_processes_give_the_same_predictions():
    pytest.importorskip("admet_ai")
    from genmed.chem.scoring.components import admet

    smiles = ["CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "c1ccc2[nH]ccc2c1", "OC(=O)CCc1ccccc1"] * 5
    smiles = [s + "C" * i for i, s in enumerate(smiles)]  # 20 distinct molecules
    admet._MEMO.clear()
    admet.set_workers(1)
    one = admet.predict_admet(smiles)
    admet._MEMO.clear()
    admet.set_workers(2)
    try:
        two = admet.predict_admet(smiles)
    finally:
        admet.set_workers(1)
    for a, b in zip(one, two, strict=True):
        assert (a is None) == (b is None)
        if a:
            assert a["hERG"] == pytest.approx(b["hERG"], abs=1e-6)
