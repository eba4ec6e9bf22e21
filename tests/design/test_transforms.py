import numpy as np
import pytest

from genmed.chem.scoring.transforms import build_transform
from genmed.core.errors import ConfigError

X = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, np.nan])


def test_maximize_minimize_identity_for_unit_values():
    f, d = build_transform("maximize")
    assert d["transform"] == "identity"
    np.testing.assert_allclose(f(np.array([0.2, 1.5]))[:2], [0.2, 1.0])
    g, _ = build_transform("minimize")
    np.testing.assert_allclose(g(np.array([0.2, 0.9])), [0.8, 0.1])


def test_sigmoid_directions_and_bounds():
    up, d = build_transform("maximize", low=1, high=4)
    assert d["transform"] == "sigmoid"
    down, d2 = build_transform("minimize", low=1, high=4)
    assert d2["transform"] == "reverse_sigmoid"
    u, v = up(X), down(X)
    assert u[0] < 0.01 and u[5] > 0.99 and np.all(np.diff(u[:6]) > 0)
    np.testing.assert_allclose(u[:6] + v[:6], 1.0)
    # "minimize" with an explicit sigmoid name still penalises high values
    same, _ = build_transform("minimize", "sigmoid", low=1, high=4)
    np.testing.assert_allclose(same(X[:6]), v[:6])


def test_nan_stays_nan():
    for direction, kw in [("maximize", {}), ("target", {"target": 2}), ("range", {"low": 1, "high": 3})]:
        f, _ = build_transform(direction, **kw)
        assert np.isnan(f(X)[-1])


def test_gaussian_full_and_half():
    full, _ = build_transform("target", target=2, sigma=1)
    np.testing.assert_allclose(full(np.array([2.0, 3.0, 1.0])), [1.0, np.exp(-0.5), np.exp(-0.5)])
    # GuacaMol's MaxGaussian: 1 at or above the target
    hi, _ = build_transform("maximize", "gaussian", target=2, sigma=1)
    np.testing.assert_allclose(hi(np.array([5.0, 1.0])), [1.0, np.exp(-0.5)])
    lo, _ = build_transform("minimize", "gaussian", target=2, sigma=1)
    np.testing.assert_allclose(lo(np.array([0.0, 3.0])), [1.0, np.exp(-0.5)])


def test_range_double_sigmoid_and_step():
    f, _ = build_transform("range", low=2, high=3)
    y = f(X)
    assert y[2] > 0.9 and y[3] > 0.9 and y[0] < 0.05 and y[5] < 0.05
    s, _ = build_transform("minimize", "step", high=0)
    np.testing.assert_allclose(s(np.array([0.0, 1.0, 3.0])), [1.0, 0.0, 0.0])


def test_clipped():
    f, _ = build_transform("maximize", "clipped", low=0, high=0.5)
    np.testing.assert_allclose(f(np.array([0.0, 0.25, 0.9])), [0.0, 0.5, 1.0])
    g, _ = build_transform("minimize", "clipped", low=0, high=0.5)
    np.testing.assert_allclose(g(np.array([0.0, 0.25, 0.9])), [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (("maximize", "sigmoid"), {"low": 4, "high": 1}, "low < high"),
        (("range",), {"low": 1}, "needs high"),
        (("target",), {}, "needs target"),
        (("target", "gaussian"), {"target": 1, "sigma": 0}, "sigma"),
        (("sideways",), {}, "unknown direction"),
        (("maximize", "banana"), {}, "unknown transform"),
        (("maximize", "step"), {}, "step transform needs"),
    ],
)
def test_bad_transforms_are_config_errors(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_transform(*args, where="scoring.objective[0]", **kwargs)
