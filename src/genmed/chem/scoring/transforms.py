"""Desirability transforms: map a raw component value (a logP, a probability, a docking score) to [0, 1].

Why a separate layer: components report physical quantities with units and provenance; what counts as "good"
is the user's declaration. REINVENT needs a hand-built reverse sigmoid to *minimise*; here the direction is a word
(``maximize``/``minimize``/``target``/``range``) and a sensible transform is derived from it.

All transforms are vectorised over numpy arrays; NaN (a value that could not be computed) stays NaN so that the
aggregator can decide (it scores it 0 and records why).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from genmed.core.errors import ConfigError

Direction = Literal["maximize", "minimize", "target", "range"]
TransformKind = Literal["identity", "sigmoid", "reverse_sigmoid", "double_sigmoid", "gaussian", "step", "clipped"]


def sigmoid(x: np.ndarray, low: float, high: float, k: float = 0.5) -> np.ndarray:
    """0 below ``low``, 1 above ``high``, smooth between (REINVENT's sigmoid; ``k`` sets the steepness)."""
    if high <= low:
        raise ConfigError(f"sigmoid needs low < high (got low={low}, high={high})")
    mid = (low + high) / 2.0
    # scale so that at low/high the value is ~10**-(10*k) away from 0/1, as in REINVENT
    return 1.0 / (1.0 + 10.0 ** (10.0 * k * (mid - x) / (high - low)))


def reverse_sigmoid(x: np.ndarray, low: float, high: float, k: float = 0.5) -> np.ndarray:
    return 1.0 - sigmoid(x, low, high, k)


def double_sigmoid(x: np.ndarray, low: float, high: float, k: float = 0.5, width: float | None = None) -> np.ndarray:
    """1 inside [low, high], falling smoothly outside over ``width`` (default: a quarter of the window)."""
    if high <= low:
        raise ConfigError(f"double_sigmoid needs low < high (got low={low}, high={high})")
    w = width if width is not None else max((high - low) / 4.0, 1e-6)
    up = sigmoid(x, low - w, low, k)
    down = reverse_sigmoid(x, high, high + w, k)
    return up * down


def gaussian(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    if sigma <= 0:
        raise ConfigError(f"gaussian needs sigma > 0 (got {sigma})")
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def step(x: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
    """1 where low <= x <= high (either bound optional), else 0 (the direction does not flip a window)."""
    ok = np.ones_like(x, dtype=float)
    if low is not None:
        ok = ok * (x >= low)
    if high is not None:
        ok = ok * (x <= high)
    return ok.astype(float)


def clipped(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear from 0 at ``low`` to 1 at ``high`` (``high < low`` gives a decreasing ramp); GuacaMol's ClippedScoreModifier."""
    if high == low:
        raise ConfigError("clipped needs low != high")
    return np.clip((x - low) / (high - low), 0.0, 1.0)


def build_transform(
    direction: Direction,
    kind: TransformKind | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    target: float | None = None,
    sigma: float | None = None,
    k: float = 0.5,
    where: str = "objective",
) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """Return ``(f, description)`` for a declared direction; ``where`` names the config key in error messages.

    Defaults: ``maximize``/``minimize`` without bounds = identity / 1-x (for values already in [0, 1], e.g.
    probabilities and similarities); with ``low``/``high`` = sigmoid / reverse sigmoid. ``target`` = Gaussian
    around ``target`` (``sigma`` default 1). ``range`` = double sigmoid on [low, high] (or ``step``).
    """

    def need(**vals):
        missing = [n for n, v in vals.items() if v is None]
        if missing:
            raise ConfigError(f"{where}: direction {direction!r} with transform {kind!r} needs {', '.join(missing)}")

    desc: dict = {"direction": direction}
    if direction == "maximize":
        kind = kind or ("sigmoid" if low is not None and high is not None else "identity")
    elif direction == "minimize":
        kind = kind or ("reverse_sigmoid" if low is not None and high is not None else "identity")
    elif direction == "target":
        kind = kind or "gaussian"
    elif direction == "range":
        kind = kind or "double_sigmoid"
    else:
        raise ConfigError(f"{where}: unknown direction {direction!r}", hint="maximize, minimize, target or range")
    desc["transform"] = kind

    if kind == "identity":
        if direction == "minimize":
            f = lambda x: np.clip(1.0 - x, 0.0, 1.0)  # noqa: E731
        else:
            f = lambda x: np.clip(x, 0.0, 1.0)  # noqa: E731
    elif kind in ("sigmoid", "reverse_sigmoid"):
        need(low=low, high=high)
        if high <= low:
            raise ConfigError(f"{where}: needs low < high (got low={low}, high={high})")
        # "minimize" always means high values are bad, whichever sigmoid name was written
        fn = reverse_sigmoid if (direction == "minimize" or kind == "reverse_sigmoid") else sigmoid
        f = lambda x: fn(x, low, high, k)  # noqa: E731
        desc.update(low=low, high=high, k=k)
    elif kind == "double_sigmoid":
        need(low=low, high=high)
        if high <= low:
            raise ConfigError(f"{where}: needs low < high (got low={low}, high={high})")
        f = lambda x: double_sigmoid(x, low, high, k, sigma)  # noqa: E731
        desc.update(low=low, high=high, k=k)
    elif kind == "gaussian":
        if target is None and low is not None and high is not None:
            target = (low + high) / 2.0
        need(target=target)
        s = sigma if sigma is not None else 1.0
        if s <= 0:
            raise ConfigError(f"{where}: sigma must be > 0 (got {s})")
        # maximize/minimize + gaussian = a half Gaussian: 1 beyond the target on the good side (GuacaMol's
        # MaxGaussianModifier / MinGaussianModifier); "target" = the full bell
        if direction == "maximize":
            f = lambda x: gaussian(np.minimum(x, target), target, s)  # noqa: E731
        elif direction == "minimize":
            f = lambda x: gaussian(np.maximum(x, target), target, s)  # noqa: E731
        else:
            f = lambda x: gaussian(x, target, s)  # noqa: E731
        desc.update(target=target, sigma=s)
    elif kind == "step":
        if low is None and high is None:
            raise ConfigError(f"{where}: step transform needs low and/or high")
        # a step is a window of acceptable values whatever the direction: minimize + high=0 means "x <= 0 is good"
        f = lambda x: step(x, low, high)  # noqa: E731
        desc.update(low=low, high=high)
    elif kind == "clipped":
        need(low=low, high=high)
        f = (lambda x: clipped(x, high, low)) if direction == "minimize" else (lambda x: clipped(x, low, high))
        desc.update(low=low, high=high)
    else:
        raise ConfigError(
            f"{where}: unknown transform {kind!r}",
            hint="identity, sigmoid, reverse_sigmoid, double_sigmoid, gaussian, step, clipped",
        )

    def apply(x):
        arr = np.asarray(x, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            out = f(arr)
        return np.where(np.isnan(arr), np.nan, out)

    return apply, desc
