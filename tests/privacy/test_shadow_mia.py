"""Shadow-model membership inference and the black-box MIA evaluation (AUC, DeLong SE, null calibration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genmed.privacy.cohorts import encode, load_cohort
from genmed.privacy.evaluate import auc_se, mia_auc
from genmed.privacy.release import split
from genmed.privacy.shadow import method_generator, shadow_mia, target_features, vulnerable_targets
from genmed.privacy.synth import synthesize_codes


@pytest.fixture(scope="module")
def actg():
    df, schema = load_cohort("actg320")
    return df, encode(df, schema), schema


def test_shadow_attack_flags_a_generator_that_copies_its_input(actg):
    _, pop, schema = actg

    def copy_rows(data, rng):  # "synthetic" data = the real rows, shuffled
        return data.iloc[rng.permutation(len(data))].reset_index(drop=True)

    r = shadow_mia(pop, schema, copy_rows, np.random.default_rng(0), targets=3, shadows=30, tests=20, n=300)
    assert r["shadow_auc"] > 0.9 and r["shadow_auc_ci95"][0] > 0.75
    assert r["fits"] == 3 * (30 + 20) and r["rows_per_dataset"] == 300 and len(r["shadow_auc_per_target"]) == 3


def test_shadow_attack_is_at_chance_for_a_generator_that_ignores_its_input(actg):
    _, pop, schema = actg
    sizes = [c.size for c in schema.columns]

    def ignore_input(data, rng):  # uniform codes, whatever the input
        return pd.DataFrame({c.name: rng.integers(0, k, len(data)) for c, k in zip(schema.columns, sizes, strict=True)})

    r = shadow_mia(pop, schema, ignore_input, np.random.default_rng(1), targets=3, shadows=40, tests=40, n=300)
    assert abs(r["shadow_auc"] - 0.5) < 0.12
    assert r["shadow_auc_ci95"][0] < 0.5 < r["shadow_auc_ci95"][1]


def test_shadow_attack_on_a_registered_method_refits_it(actg):
    _, pop, schema = actg
    gen = method_generator("bootstrap", schema, 1.0, 1e-9)
    r = shadow_mia(pop, schema, gen, np.random.default_rng(2), targets=2, shadows=30, tests=30, n=300)
    assert r["shadow_auc"] > 0.65  # a resample holds the target in ~63% of "in" releases, never in "out" ones


def test_vulnerable_targets_pick_an_injected_outlier(actg):
    _, pop, schema = actg
    odd = pop.iloc[[0]].copy()
    for c in schema.columns:  # the rarest code of every column
        odd[c.name] = pop[c.name].value_counts().idxmin()
    data = pd.concat([pop.iloc[:300], odd], ignore_index=True)
    assert vulnerable_targets(data, schema, 1)[0] == 300


def test_target_features_count_matches(actg):
    _, pop, schema = actg
    t = pop.iloc[0]
    syn = pd.concat([pop.iloc[[0, 0]], pop.iloc[1:9]], ignore_index=True)
    f = target_features(syn, t, schema)
    d = len(schema.names)
    assert f[0] == 0.0 and f[1] >= 0.2  # nearest distance 0; at least 2 of 10 rows are exact copies
    assert len(f) == 1 + 4 + d + d * (d - 1) // 2
    assert np.all(f[5:5 + d] >= 0.2)  # every column matches on the two copies


def test_auc_se_matches_sklearn_and_bootstrap():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(300), np.zeros(200)]
    s = np.round(rng.normal(0.4 * y, 1.0), 1)  # rounded: ties
    auc, se = auc_se(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    boots = []
    for _ in range(400):
        i = np.r_[rng.choice(300, 300), 300 + rng.choice(200, 200)]
        boots.append(roc_auc_score(y[i], s[i]))
    assert se == pytest.approx(np.std(boots), rel=0.2)


def test_black_box_mia_is_unbiased_when_members_were_never_seen(actg):
    """Null calibration: 'members' the generator never saw must score 0.5 up to noise; seen copies must not."""
    df, _, schema = actg
    null, leak = [], []
    for sp in range(6):
        tr, ho = split(df, seed=100 + sp)
        ctr, cho = encode(tr, schema), encode(ho, schema)
        rng = np.random.default_rng(sp)
        half = len(ctr) // 2
        a, b = ctr.iloc[:half].reset_index(drop=True), ctr.iloc[half:2 * half].reset_index(drop=True)
        syn = synthesize_codes("independent", a, schema, 3.0, 1e-9, rng).codes
        m = mia_auc(b, cho, syn, schema, rng)
        assert m["mia_members"] == len(b) and m["mia_non_members"] == len(cho)
        assert m["mia_auc_ci95"][0] < m["mia_auc"] < m["mia_auc_ci95"][1]
        assert m["mia_auc_naive_max"] == max(m["mia_auc_domias"], m["mia_auc_distance"])
        null.append(m["mia_auc"])
        leak.append(mia_auc(a, cho, a.iloc[rng.permutation(len(a))], schema, rng)["mia_auc"])
    assert abs(np.mean(null) - 0.5) < 0.02
    assert min(leak) > 0.9


def test_bench_reports_shadow_column_calibration_and_checks():
    from genmed.privacy.bench import checks, markdown, mia_calibration, run_dp_bench

    sh = {"methods": ["bootstrap", "structured"], "targets": 2, "shadows": 20, "tests": 10}
    res = run_dp_bench(["veterans"], [3.0], 2, ["structured", "independent"], 0, [], log=lambda m: None, shadow=sh)
    summ = {(r["method"], r["epsilon"]): r for r in res["veterans"]["summary"]}
    assert summ[("structured", 3.0)]["shadow"]["targets"] == 2 and summ[("independent", 3.0)]["shadow"] is None
    assert summ[("bootstrap", 0.0)]["mia_auc"][0] > 0.65  # leak control flagged by the black-box attack
    chk = checks(res)
    names = [c["check"] for c in chk]
    assert "shadow-model MIA AUC <= 0.55 for structured at every ε" in names
    assert "bootstrap control shadow-model MIA AUC >= 0.75" in names
    assert not any("privacy-spread" in n for n in names)
    # with release-spread rows for the data set, their shares sit beside the per-release Must, worst first
    spread = [{"dataset": "veterans", "method": "structured", "epsilon": 3.0, "releases_over_bar": 1, "releases": 64},
              {"dataset": "veterans", "method": "mst", "epsilon": 10.0, "releases_over_bar": 20, "releases": 64},
              {"dataset": "other", "method": "aim", "epsilon": 3.0, "releases_over_bar": 9, "releases": 64}]
    info = [c for c in checks(res, spread=spread) if "privacy-spread" in c["check"]]
    assert len(info) == 1 and info[0]["pass"] is None and info[0]["level"] == "info"
    assert info[0]["value"] == "mst ε=10 20/64, structured ε=3 1/64"
    cal = [{"dataset": "veterans", **c} for c in mia_calibration("veterans", 2, configs=(("independent", 3.0),),
                                                                 log=lambda m: None)]
    assert set(cal[0]["null"]) == {"mia_auc_domias", "mia_auc_distance", "mia_auc_naive_max", "mia_auc"}
    md = markdown(res, chk, {}, {"datasets": ["veterans"], "epsilons": [3.0], "repeats": 2, "sn_eps": [],
                                 "sn_repeats": 0, "shadow": sh, "calibration": cal, "seconds": 1.0})
    assert "shadow-model MIA AUC [95% CI]" in md and "not run" in md and "Is the black-box attack biased?" in md
    assert "2 targets × (20 shadow + 10 test releases) = 60 generator fits" in md


def test_bench_notes_rows_that_pass_the_bar_only_by_their_point_estimate():
    from genmed.privacy.bench import _edge_md

    def row(m, auc, hi, sh=None):
        return {"method": m, "epsilon": 10.0, "mia_auc_max": auc, "mia_auc_worst_ci95": [auc - 0.03, hi],
                "shadow": {"shadow_auc": sh[0], "shadow_auc_ci95": [sh[0] - 0.03, sh[1]]} if sh else None}

    res = {"actg320": {"summary": [row("bootstrap", 0.8, 0.83), row("structured", 0.54, 0.57, (0.542, 0.569)),
                                   row("independent", 0.52, 0.549)]}}
    txt = "\n".join(_edge_md(res))
    assert "black-box structured ε=10 (0.540, CI up to 0.570)" in txt
    assert "shadow-model structured ε=10 (0.542, CI up to 0.569)" in txt
    assert "independent" not in txt and "bootstrap" not in txt
    assert _edge_md({"actg320": {"summary": [row("independent", 0.52, 0.549)]}}) == []


def test_black_box_headline_does_not_depend_on_the_evaluations_own_seed(actg):
    """One release, ten evaluation seeds: the leave-one-out reference is deterministic and the repeated
    cross-fitted choice averages the halvings, so the headline moves by far less than one DeLong SE (before
    2026-12-03 a random 5-fold reference and one halving moved it by SD 0.011-0.016)."""
    df, _, schema = actg
    tr, ho = split(df, seed=0)
    ctr, cho = encode(tr, schema), encode(ho, schema)
    syn = synthesize_codes("independent", ctr, schema, 10.0, 1e-9, np.random.default_rng(0)).codes
    runs = [mia_auc(ctr, cho, syn, schema, np.random.default_rng(s)) for s in range(10)]
    assert len({r["mia_auc_domias"] for r in runs}) == 1 and len({r["mia_auc_distance"] for r in runs}) == 1
    heads = np.array([r["mia_auc"] for r in runs])
    assert heads.std() < 0.004 < runs[0]["mia_auc_domias_se"]


def test_leave_one_out_reference_excludes_the_record_itself(actg):
    """Synthetic data = the holdout itself. A reference that included each non-member would equal the synthetic
    set, every DOMIAS score would be 0 and the AUC 0.5; leaving each non-member out of its own reference exposes
    the copy (non-members score higher than members, AUC far below 0.5), as the distance attack does."""
    df, _, schema = actg
    tr, ho = split(df, seed=1)
    ctr, cho = encode(tr, schema), encode(ho, schema)
    m = mia_auc(ctr, cho, cho, schema, np.random.default_rng(0))
    assert m["mia_auc_distance"] < 0.2
    assert m["mia_auc_domias"] < 0.2


def test_bench_results_do_not_depend_on_the_worker_count():
    """Every release seeds its noise from its own key: one process or a pool of two gives the same numbers."""
    from genmed.privacy.bench import release_plan, run_dp_bench

    args = (["veterans"], [3.0], 2, ["structured", "independent"], 0, [])
    sh = {"methods": ["structured"], "targets": 1, "shadows": 10, "tests": 6}
    one = run_dp_bench(*args, log=lambda m: None, shadow=sh, workers=1)["veterans"]
    two = run_dp_bench(*args, log=lambda m: None, shadow=sh, workers=2)["veterans"]
    key = ("method", "epsilon", "repeat", "mia_auc", "tvd_2way", "tvd_analysis")
    assert [[r[k] for k in key] for r in one["runs"]] == [[r[k] for k in key] for r in two["runs"]]
    assert one["shadow"][0]["shadow_auc"] == two["shadow"][0]["shadow_auc"]
    # the two repeats of a method are different noise draws
    s = [r["tvd_2way"] for r in one["runs"] if r["method"] == "structured"]
    assert len(s) == 2 and s[0] != s[1]
    plan = release_plan(["actg320"], [1.0, 3.0, 10.0], 3, ["structured", "mst", "mst-offshelf"], 3, [1.0, 3.0, 10.0])
    assert sum(p[1] == "mst" for p in plan) == 9 and {p[2] for p in plan if p[1] == "mst-offshelf"} == {3.0}


def test_split_offset_separates_the_split_from_the_generator():
    """Rows the generator never saw measure the split; a copying generator's seen rows stand far above them."""
    from genmed.privacy.bench import _offset_md, split_offset

    rows = split_offset("veterans", [("independent", 3.0), ("bootstrap", 0.0)], 3, log=lambda m: None)
    ind, boot = rows
    assert ind["n_seen"] + ind["n_unseen"] == 95 and ind["draws"] == 3
    assert abs(ind["unseen"]["mean"] - 0.5) < 0.1
    assert boot["excess"]["mean"] > 0.25 and boot["seen"]["mean"] > 0.75
    md = "\n".join(_offset_md(rows))
    assert "| independent | 3 |" in md and "seen − unseen" in md


def test_matrix_product_distances_equal_the_gower_definition(actg):
    """The one-matmul distance equals the mean over columns of |ordinal difference| / (bins - 1) and mismatches."""
    from genmed.privacy.evaluate import _distances, _features

    _, codes, schema = actg
    a, b = codes.iloc[:300], codes.iloc[300:700]
    an, ac = _features(a, schema)
    bn, bc = _features(b, schema)
    direct = (np.abs(an[:, None, :] - bn[None]).sum(-1) + (ac[:, None, :] != bc[None]).sum(-1)) / len(schema.columns)
    fast = np.vstack([blk for _, blk in _distances(a, b, schema, chunk=128)])
    assert fast.shape == (300, 400) and np.abs(fast - direct).max() < 1e-8
    assert (np.vstack([blk for _, blk in _distances(a, a, schema)]).diagonal() == 0).all()
    # flchain: a numeric column with a "missing" bin (creatinine); bins - 1 of 6, 7, 8 (lcm 120)
    df, fschema = load_cohort("flchain")
    fc = encode(df, fschema).iloc[:400]
    fn, fcat = _features(fc, fschema)
    direct = (np.abs(fn[:, None, :] - fn[None]).sum(-1) + (fcat[:, None, :] != fcat[None]).sum(-1)) / len(fschema.columns)
    fast = np.vstack([blk for _, blk in _distances(fc, fc, fschema)])
    assert np.abs(fast - direct).max() < 1e-9
    # ties: the product lands exactly on the grid, so equal exact distances are equal floats
    grid = len(fschema.columns) * 120
    assert np.array_equal(fast, np.round(direct * grid) / grid)


def test_mia_refuses_fewer_than_two_members_or_non_members(actg):
    from genmed.core.errors import InputError

    _, codes, schema = actg
    with pytest.raises(InputError, match="at least 2 members and 2 non-members"):
        mia_auc(codes.iloc[:50], codes.iloc[50:51], codes.iloc[:50], schema, np.random.default_rng(0))


def test_the_game_reports_the_stronger_attack_with_each_attacks_own_numbers():
    """A privacy audit is a worst case: the row's AUC is the larger attack mean, its interval that of the max."""
    from genmed.privacy.shadow import summarise

    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 50)
    sharp = {"weak": rng.random(100), "strong": y + rng.normal(0, 0.8, 100)}
    per = [{"weak": 0.5, "strong": 0.8}, {"weak": 0.52, "strong": 0.76}]
    r = summarise(per, [y, y], [sharp, sharp], np.random.default_rng(1), boot=200)
    assert r["attack"] == "strong" and r["shadow_auc"] == pytest.approx(0.78)
    assert r["by_attack"]["weak"]["shadow_auc"] == pytest.approx(0.51)
    assert r["shadow_auc_per_target"] == [0.8, 0.76] and r["scoring"] >= 2
    lo, hi = r["shadow_auc_ci95"]
    assert lo < hi and lo > r["by_attack"]["weak"]["shadow_auc_ci95"][1]  # the max follows the strong attack
