import numpy as np
import pytest
import torch

from genmed.chem.optimize import OPTIMIZERS, Oracle
from genmed.chem.scoring import Scorer
from genmed.core.errors import ConfigError

QED = {"objective": [{"component": "qed"}]}


def test_oracle_counts_unique_valid_molecules_and_stops_at_budget():
    o = Oracle(Scorer(QED), budget=3)
    s1 = o(["CCO", "OCC", "C(", "CCN"])  # CCO == OCC; C( invalid
    assert o.calls == 2 and o.invalid == 1 and s1[0] == s1[1] and s1[2] == 0
    s2 = o(["CCO", "CCCC", "CCCCC"])
    assert o.calls == 3 and o.exhausted and np.isnan(s2[2]) and s2[0] == s1[0]
    assert [e.call for _, e in sorted(o.buffer.items(), key=lambda kv: kv[1].call)] == [1, 2, 3]
    o2 = Oracle(Scorer(QED), budget=3)
    o2.load_state(o.state())
    assert o2.calls == 3 and o2.top(1) == o.top(1)


def test_bad_budget_and_params():
    with pytest.raises(ConfigError, match="budget"):
        Oracle(Scorer(QED), budget=0)
    with pytest.raises(ConfigError, match="optimizer.graph-ga.mutation_rate"):
        OPTIMIZERS.get("graph-ga")({"mutation_rate": 2})
    with pytest.raises(ConfigError, match="optimizer.graph-ga.colour: unknown key"):
        OPTIMIZERS.get("graph-ga")({"colour": 1})
    with pytest.raises(ConfigError, match="unknown optimizer"):
        OPTIMIZERS.get("simulated-annealing")


def _graph_ga(seed, budget=250):
    o = Oracle(Scorer(QED), budget=budget)
    ga = OPTIMIZERS.get("graph-ga")({"population_size": 30, "offspring_size": 30, "initial": "moses-test"},
                                    seed=seed)
    ga.run(o)
    return o, ga


def test_graph_ga_improves_and_is_reproducible():
    o, ga = _graph_ga(0)
    first30 = sorted(e.score for e in o.buffer.values() if e.call <= 30)
    assert o.calls == 250 and ga.stop_reason == "budget spent"
    assert o.top_mean(10) > np.mean(first30[-10:])  # better than the best of the random start
    o2, _ = _graph_ga(0)
    assert o2.top(10) == o.top(10)


def test_graph_ga_resumes_from_state():
    o, ga = _graph_ga(1, budget=120)
    state, ostate = ga.state(), o.state()
    o2 = Oracle(Scorer(QED), budget=200)
    o2.load_state(ostate)
    ga2 = OPTIMIZERS.get("graph-ga")({"population_size": 30, "offspring_size": 30, "initial": "moses-test"}, seed=1)
    ga2.load_state(state)
    ga2.run(o2)
    assert o2.calls == 200 and ga2.step > ga.step


def test_reinvent_learns_with_any_prior(tiny_prior):
    torch.set_num_threads(1)
    spec = {"objective": [{"component": "atom_count", "params": {"element": "O"}, "direction": "maximize",
                           "low": 0, "high": 6}]}
    # 400 calls left a margin of one seed's noise; 600 clears +0.1 on seeds 0-4
    o = Oracle(Scorer(spec), budget=600)
    logs = []
    rl = OPTIMIZERS.get("reinvent")({"prior": tiny_prior, "batch_size": 32, "sigma": 50, "learning_rate": 1e-3},
                                    seed=0)
    rl.run(o, log=logs.append)
    early = np.mean([entry["batch_mean_score"] for entry in logs[:10]])
    late = np.mean([entry["batch_mean_score"] for entry in logs[-10:]])
    assert late > early + 0.1
    # the prior stayed frozen while the agent moved
    p = dict(rl.prior.model.named_parameters())
    a = dict(rl.agent.model.named_parameters())
    assert not any(v.requires_grad for v in p.values())
    assert any(not torch.equal(p[k], a[k]) for k in p)


def test_reinvent_detects_mode_collapse(tiny_prior, monkeypatch):
    o = Oracle(Scorer(QED), budget=1000)
    rl = OPTIMIZERS.get("reinvent")({"prior": tiny_prior, "batch_size": 8, "collapse_patience": 2,
                                     "max_temperature": 1.5}, seed=0)
    vocab = rl.agent.vocab
    same = [vocab.bos_id, *vocab.encode("CCO")[1:-1], vocab.eos_id]
    monkeypatch.setattr(rl, "_sample", lambda: (["CCO"], [same]))
    rl.run(o)
    assert rl.temperature == 1.5 and rl.stop_reason.startswith("mode collapse")
    assert o.calls == 1


def test_reinvent_diversity_filter_caps_a_scaffold(tiny_prior):
    rl = OPTIMIZERS.get("reinvent")({"prior": tiny_prior, "bucket_size": 2, "df_min_score": 0.1}, seed=0)
    smi = ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1CCC", "C1CCCCC1O"]
    r = rl._rewards(smi, np.array([0.5, 0.6, 0.7, 0.8]))
    assert r.tolist() == [0.5, 0.6, 0.0, 0.8]


def test_missing_prior_is_a_clear_error(tmp_path):
    from genmed.core.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="optimizer.reinvent.prior"):
        OPTIMIZERS.get("reinvent")({"prior": str(tmp_path / "none.pt")})


def test_reinvent_low_diversity_counts_as_collapse(tiny_prior):
    rl = OPTIMIZERS.get("reinvent")({"prior": tiny_prior, "collapse_patience": 2, "collapse_diversity": 0.3}, seed=0)
    for _ in range(2):
        rl._collapse_check(1.0, 0.1)  # all new molecules, but near-copies of one another
    assert rl.temperature == 1.25
    rl._collapse_check(1.0, 0.9)
    assert rl.collapsed_steps == 0


def test_quantile_parents_favour_the_top_but_reach_the_whole_population():
    import random

    from genmed.chem.optimize.mol_ga import quantile_parents

    scores = np.linspace(1.0, 0.0, 1000)  # best-first
    fractions = np.logspace(-3, 0, 25)
    idx = quantile_parents(scores, 5000, fractions, random.Random(0))
    assert len(idx) == 5000 and min(idx) >= 0 and max(idx) < 1000
    # the top 0.1 % fraction (index 0) is always eligible, so the best molecule is drawn far above 1/1000
    assert idx.count(0) > 5000 / 25 * 0.9
    assert max(idx) > 900  # the full-population fraction still reaches the bottom
    assert quantile_parents(scores, 50, fractions, random.Random(3)) == quantile_parents(
        scores, 50, fractions, random.Random(3))


def _mol_ga(seed, budget=200):
    o = Oracle(Scorer(QED), budget=budget)
    ga = OPTIMIZERS.get("mol-ga")({"initial_size": 30, "offspring_size": 10, "initial": "moses-test"}, seed=seed)
    ga.run(o)
    return o, ga


def test_mol_ga_improves_spends_budget_and_is_reproducible():
    o, ga = _mol_ga(0)
    first30 = sorted(e.score for e in o.buffer.values() if e.call <= 30)
    assert o.calls == 200 and ga.stop_reason == "budget spent"
    assert o.top_mean(10) > np.mean(first30[-10:])
    assert ga.scores == sorted(ga.scores, reverse=True) and len(set(ga.population)) == len(ga.population)
    o2, _ = _mol_ga(0)
    assert o2.top(10) == o.top(10)
    with pytest.raises(ConfigError, match="optimizer.mol-ga.frac_mutate"):
        OPTIMIZERS.get("mol-ga")({"frac_mutate": 1.5})


def test_mol_ga_resumes_from_state():
    o, ga = _mol_ga(2, budget=100)
    o2 = Oracle(Scorer(QED), budget=160)
    o2.load_state(o.state())
    ga2 = OPTIMIZERS.get("mol-ga")({"initial_size": 30, "offspring_size": 10, "initial": "moses-test"}, seed=2)
    ga2.load_state(ga.state())
    ga2.run(o2)
    assert o2.calls == 160 and ga2.step > ga.step


def test_graph_ga_guacamol_protocol_starts_from_the_top_of_the_pool_and_stops_on_a_stalled_population(tmp_path):
    from genmed.chem.optimize.graph_ga import GUACAMOL_PROTOCOL, load_pool

    pool = load_pool("moses-test")[:400]
    path = tmp_path / "pool.smi"
    path.write_text("\n".join(pool) + "\n")
    params = GUACAMOL_PROTOCOL | {"initial": str(path), "population_size": 20, "children": 20, "max_generations": 8}
    o = Oracle(Scorer(QED), budget=10**9)
    ga = OPTIMIZERS.get("graph-ga")(params, seed=0)
    ga._initial(o)
    pool_scores = sorted((e.score for e in o.buffer.values()), reverse=True)
    assert o.calls == len(set(o.buffer)) and o.calls >= 390  # the whole pool was scored
    assert ga.scores == pool_scores[:20]  # ... and its best 20 are the first population
    ga.run(o)
    assert ga.step <= 8 and ga.stop_reason in ("8 generations", "converged: population unchanged for 5 generations")
    assert ga.scores[0] >= pool_scores[0]
    # a given starting population replaces the pool (GuacaMol semantics)
    o2 = Oracle(Scorer(QED), budget=10**9)
    ga2 = OPTIMIZERS.get("graph-ga")(params | {"initial_smiles": ["CCOc1ccccc1"], "max_generations": 1}, seed=0)
    ga2._initial(o2)
    assert o2.calls == 1 and ga2.population == ["CCOc1ccccc1"]


def test_chembl_pool_without_data_says_how_to_get_it(monkeypatch, tmp_path):
    from genmed.chem.optimize.graph_ga import load_pool
    from genmed.core.config import reset_settings
    from genmed.core.errors import DataNotFoundError

    monkeypatch.setenv("GENMED_DATA_DIR", str(tmp_path))
    reset_settings()
    with pytest.raises(DataNotFoundError, match="genmed data fetch guacamol-chembl"):
        load_pool("chembl")


def test_fetch_checks_the_published_md5(tmp_path, monkeypatch):
    import hashlib

    from genmed.core import datasets as ds
    from genmed.core.config import reset_settings
    from genmed.core.errors import InputError

    src = tmp_path / "remote.smiles"
    src.write_text("CCO\n")
    monkeypatch.setenv("GENMED_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    good = hashlib.md5(b"CCO\n").hexdigest()
    for name, md5 in (("t-good", good), ("t-bad", "0" * 32)):
        monkeypatch.setitem(ds.DATASETS._items, name, ds.DataSource(
            name, "test", (ds.RemoteFile(src.as_uri(), f"t/{name}.smi", md5=md5),)))
    assert ds.fetch("t-good")[0].read_text() == "CCO\n"
    with pytest.raises(InputError, match="md5 checksum mismatch"):
        ds.fetch("t-bad")
    assert not (tmp_path / "data" / "t" / "t-bad.smi").exists()
