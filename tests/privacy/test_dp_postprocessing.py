"""The post-processing of genmed's DP synthesizers: no extra budget or noise, and less reproduction of one record.

See the module docstring of :mod:`genmed.privacy.synth` ("Post-processing"): suppression of noisy counts below one
noise s.d. (analysis clique; the independent baseline's marginals) and variance-proportional smoothing of the
covariate conditionals toward pooled ones. Both only transform the noisy counts (Dwork & Roth 2014, Prop. 2.1).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from genmed.privacy.cohorts import encode, load_cohort
from genmed.privacy.synth import IndependentMarginals, StructuredBayesNet, _suppress, cdp_rho


@pytest.fixture(scope="module")
def actg():
    df, schema = load_cohort("actg320")
    return encode(df, schema), schema


def _fit(cls, data, schema, eps, seed, **attrs):
    m = cls()
    m.__dict__.update(attrs)  # instance-level override of the post-processing knobs
    rng = np.random.default_rng(seed)
    m.fit(data, schema, eps, 1e-9, rng)
    return m, rng


@pytest.mark.parametrize("eps", [1.0, 10.0])
def test_post_processing_spends_no_budget_and_draws_no_extra_noise(actg, eps):
    codes, schema = actg
    on, rng_on = _fit(StructuredBayesNet, codes, schema, eps, 7)
    off, rng_off = _fit(StructuredBayesNet, codes, schema, eps, 7, root_threshold=0.0, shrink=1e-6)
    # same measurements, same noise draws: the generators are in the same state after fitting
    assert rng_on.random() == rng_off.random()
    assert on.sigma == off.sigma and on.budget["rho"] == off.budget["rho"] == cdp_rho(eps, 1e-9)
    # the Gaussian measurements' zCDP costs 1/(2 sigma^2) add up to the budget, exactly as before
    assert sum(1 / (2 * s ** 2) for s in on.sigma.values()) == pytest.approx(cdp_rho(eps, 1e-9), rel=1e-9)
    assert on.budget["measurements"] == 1 + 2 * len(schema.covariates)
    # ... but what is released from them differs (the post-processing does something)
    assert not np.allclose(on.root, off.root) or not np.allclose(on.cond["cd4"][1], off.cond["cd4"][1])
    ind_on, r1 = _fit(IndependentMarginals, codes, schema, eps, 3)
    ind_off, r2 = _fit(IndependentMarginals, codes, schema, eps, 3, threshold=0.0)
    assert r1.random() == r2.random() and ind_on.sigma == ind_off.sigma
    assert ind_on.budget["measurements"] == len(schema.columns)


def test_suppress_zeroes_counts_below_the_cut_only():
    x = np.array([-2.0, 0.5, 1.0, 1.7, 30.0])
    assert _suppress(x, 1.7).tolist() == [0.0, 0.0, 0.0, 1.7, 30.0]
    assert _suppress(x, 0.0).tolist() == [0.0, 0.5, 1.0, 1.7, 30.0]  # plain clipping of negatives


def test_conditionals_are_distributions_and_sparse_slices_are_pulled_to_the_pooled_one(actg):
    codes, schema = actg
    m, _ = _fit(StructuredBayesNet, codes, schema, 10.0, 0)
    for c, (_, cond) in m.cond.items():
        assert np.all(cond >= 0) and np.allclose(cond.sum(axis=0), 1.0), c
    # ivdrug given raceth: the slice (raceth = 4, event = 1) holds a handful of noisy rows; the default pulls it
    # toward the pooled P(ivdrug | raceth = 4) much harder than weak smoothing does, so event=1 and event=0 agree
    def tv_between_events(seed, **attrs):
        iv = _fit(StructuredBayesNet, codes, schema, 10.0, seed, **attrs)[0].cond["ivdrug"][1]
        return 0.5 * np.abs(iv[:, 4, 1, 0] - iv[:, 4, 0, 0]).sum()

    tv = np.mean([tv_between_events(s) for s in range(15)])
    tv_weak = np.mean([tv_between_events(s, shrink=0.25) for s in range(15)])
    assert tv < 0.5 * tv_weak


def test_a_singleton_combination_is_not_reproduced_beyond_chance_at_eps_10(actg):
    """One event with a combination nobody else has (raceth = 4 and ivdrug = 1): how many more synthetic rows
    carry the combination (expected count from the fitted model) when the record is in the input than when it
    is not, averaged over noise draws. Without the smoothing the record shows through (~0.25 rows); with it the
    difference is a small fraction of a row."""
    codes, schema = actg
    base = codes[~((codes["raceth"] == 4) | (codes["ivdrug"] == 1))].iloc[:458].reset_index(drop=True)
    rec = codes[codes["event"] == 1].iloc[[0]].copy()
    rec["raceth"], rec["ivdrug"] = 4, 1
    with_rec = pd.concat([base.iloc[:-1], rec], ignore_index=True)

    def expected_rows(m, n):
        p_event_r4 = m.root[:, 1, :].sum() * m.cond["raceth"][1][4, 1, 0]
        return n * p_event_r4 * m.cond["ivdrug"][1][1, 4, 1, 0]

    def shift(**attrs):
        d = [expected_rows(_fit(StructuredBayesNet, with_rec, schema, 10.0, s, **attrs)[0], len(with_rec))
             - expected_rows(_fit(StructuredBayesNet, base, schema, 10.0, s, **attrs)[0], len(base))
             for s in range(120)]
        return float(np.mean(d))

    weak = shift(shrink=0.25, root_threshold=0.0)  # about the old smoothing (one s.d. per conditional)
    default = shift()
    assert weak > 0.15  # the test can fail: a weakly smoothed model reproduces the record
    assert default < 0.1 and default < weak / 3


def test_structured_budget_reports_its_post_processing(actg):
    codes, schema = actg
    m, _ = _fit(StructuredBayesNet, codes, schema, 3.0, 0)
    assert m.budget["post_processing"] == {"root_threshold_sd": 1.0, "shrink": 4.0}
    assert math.isclose(m.sigma["cd4"] * math.sqrt(3.0), m.sigma["age"])  # weight 3 = a third of the variance


def test_suppression_never_deletes_an_arms_events(actg):
    """At ε = 1 the noise s.d. of the analysis clique (~14 rows) exceeds every event cell of a 458-row data set;
    suppressing them all would leave an arm without events (hazard ratio undefined). Each (exposure, event)
    stratum keeps its clipped noisy counts then, while at ε = 10 small cells are still suppressed."""
    codes, schema = actg
    small = codes.iloc[:458]
    for seed in range(20):
        m, _ = _fit(StructuredBayesNet, small, schema, 1.0, seed)
        assert np.all(m.root.sum(axis=2) > 0), seed  # every (arm, event) stratum keeps mass
    zeros = [np.mean(_fit(StructuredBayesNet, small, schema, 10.0, s)[0].root == 0) for s in range(20)]
    zeros_off = [np.mean(_fit(StructuredBayesNet, small, schema, 10.0, s, root_threshold=0.0)[0].root == 0)
                 for s in range(20)]
    assert np.mean(zeros) > np.mean(zeros_off) + 0.05  # the suppression does act where the data allow it
