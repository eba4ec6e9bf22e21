"""The release-spread measurement behind `genmed bench privacy-spread` (genmed.privacy.spread)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genmed.core.errors import InputError
from genmed.privacy.bench import _pairs
from genmed.privacy.spread import BAR, release_spread, row_stats, variance_components


def test_variance_components_recover_known_between_and_within_parts():
    # fit means 0.50, 0.52, 0.54; each fit's two releases at mean -/+ 0.01
    auc = np.array([[0.49, 0.51], [0.51, 0.53], [0.53, 0.55]])
    c = variance_components(auc)
    assert c["sd_within_fit"] == pytest.approx(np.sqrt(2e-4))
    # MS_between = 2 * var(means) = 8e-4; (8e-4 - 2e-4) / 2 = 3e-4
    assert c["sd_between_fits"] == pytest.approx(np.sqrt(3e-4))
    assert c["sd_one_release"] == pytest.approx(np.sqrt(5e-4))


def test_variance_components_put_nothing_between_fits_when_fits_agree():
    auc = np.array([[0.50, 0.54], [0.54, 0.50], [0.52, 0.52]])
    c = variance_components(auc)
    assert c["sd_between_fits"] == 0.0
    assert c["sd_one_release"] == pytest.approx(c["sd_within_fit"])


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (6,)])
def test_variance_components_refuse_too_few_fits_or_samples(shape):
    with pytest.raises(InputError, match="at least 2 fits x 2 samples"):
        variance_components(np.full(shape, 0.5))


def test_release_spread_flags_the_bootstrap_and_not_independent_marginals():
    """Real ACTG 320 split: copying real rows is over the bar in every release; independent DP marginals are not
    on average, and the model-level attack (10 x n rows) is at least as strong against the copy."""
    rows = release_spread("actg320", [("bootstrap", 0.0), ("independent", 10.0)], fits=2, samples=2, large=3,
                          log=lambda _: None)
    boot, ind = rows
    assert boot["releases_over_bar"] == boot["releases"] == 4
    assert boot["release_auc_mean"] >= 0.75 and boot["p_all_repeats_pass"] < 0.01
    assert boot["model_level_auc_mean"] >= boot["release_auc_mean"]
    assert ind["release_auc_mean"] < BAR
    assert np.array(ind["auc"]).shape == (2, 2)
    lo, hi = ind["share_over_bar_ci95"]
    assert 0.0 <= lo <= ind["releases_over_bar"] / ind["releases"] <= hi <= 1.0


def test_bench_privacy_spread_cli_writes_json_and_rejects_bad_pairs(cli, tmp_path):
    out = tmp_path / "spread.json"
    r = cli(["bench", "privacy-spread", "--configs", "independent:10", "--fits", "2", "--samples", "2",
             "--large", "1", "--workers", "1", "--no-write", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["rows"][0]["method"] == "independent" and doc["rows"][0]["model_level_auc_mean"] is None
    bad = cli(["bench", "privacy-spread", "--configs", "aim3", "--no-write"])
    assert bad.exit_code != 0 and "aim3" in bad.output and "METHOD:EPSILON" in bad.output
    few = cli(["bench", "privacy-spread", "--fits", "1", "--no-write"])
    assert few.exit_code != 0 and "at least 2" in few.output


def test_row_stats_probabilities():
    from statistics import NormalDist

    auc = np.array([[0.54, 0.56], [0.53, 0.55], [0.52, 0.54], [0.53, 0.53]])
    r = row_stats(auc, repeats=3)
    assert r["releases_over_bar"] == 1 and r["releases"] == 8
    assert r["p_all_repeats_pass_empirical"] == pytest.approx((7 / 8) ** 3)
    lo, hi = r["p_all_repeats_pass_empirical_ci95"]
    assert lo < r["p_all_repeats_pass_empirical"] < hi <= 1.0
    p = 1 - NormalDist(auc.mean(), r["sd_one_release"]).cdf(BAR)
    assert r["p_release_over_bar"] == pytest.approx(p) and r["p_all_repeats_pass"] == pytest.approx((1 - p) ** 3)


def test_release_spread_refuses_too_few_fits_before_fitting_anything():
    with pytest.raises(InputError, match="at least 2 fits x 2 samples"):
        release_spread("actg320", [("aim", 3.0)], fits=1, samples=8, log=lambda _: None)


@pytest.mark.parametrize("text,msg", [(":3", "not METHOD:EPSILON"), ("aim:", "not METHOD:EPSILON"),
                                      ("aim:x", "not METHOD:EPSILON"), ("aim3", "not METHOD:EPSILON"),
                                      ("nosuch:3", "unknown method"), ("structured:0", "> 0"),
                                      ("structured:-1", "> 0"), ("structured:inf", "> 0")])
def test_method_eps_pairs_are_checked_before_anything_runs(text, msg):
    import typer

    with pytest.raises(typer.BadParameter, match=msg):
        _pairs(text)


def test_method_eps_pairs_dedupe_and_allow_the_bootstrap_at_zero():
    import typer

    assert _pairs("aim:3, aim:3.0,bootstrap:0,,") == [("aim", 3.0), ("bootstrap", 0.0)]
    assert _pairs(",") == []
    with pytest.raises(typer.BadParameter, match="no METHOD:EPSILON"):
        _pairs(",", allow_empty=False)


def test_bench_privacy_refuses_a_malformed_spread_file_before_fitting(cli, tmp_path):
    bad = tmp_path / "spread.json"
    bad.write_text("{not json")
    r = cli(["bench", "privacy", "--datasets", "veterans", "--spread-json", str(bad), "--no-write"])
    assert r.exit_code != 0 and "privacy-spread --out" in r.output
