"""Differentially private synthesizers behind one registry, all working on public-binned integer codes.

- ``structured`` (genmed's default): zCDP Gaussian measurements of the declared analysis clique
  (exposure × event × time), of one clique per covariate (covariate × its public parent × event × coarse time)
  and of every 1-way marginal; sampled as a Bayesian network (exposure, event, time jointly, then each covariate
  given its parent, event and coarse time), with noisy conditionals smoothed toward pooled ones (below).
  Why: AIM and MST choose 2-way marginals from the data and have no notion of the analysis a researcher will run,
  so they can spend the budget on pairs that do not matter and break the treatment × event × time structure
  (see BENCHMARKS.md); the structure is public, so declaring it costs no budget.
- ``mst`` and ``aim``: smartnoise-synth (McKenna et al. 2021, NIST 2018 winner; McKenna et al., VLDB 2022),
  fed the same codes as categorical columns over the schema's public bins (:func:`public_domain`: smartnoise
  would otherwise read each column's category set from the private data); AIM with capped rounds/model size.
- ``independent``: noisy 1-way marginals (same ε), sampled independently: the baseline every method must beat.
- ``bootstrap``: a resample of the real rows, *not private*: the leak control the privacy metrics must flag.

Post-processing (``structured``, and the same count suppression for ``independent``). The shadow-model attack
(:mod:`genmed.privacy.shadow`) on ACTG 320 at ε = 10 found the leak in three about equal parts: the analysis
clique (one event moves a (treatment, event=1, time) cell holding ~3 rows by +1 against a noise s.d. of 1.7), the
prognostic-factor cliques (CD4, Karnofsky) and the other covariate cliques — all in the event = 1 slice, which
holds ~40 rows in a 458-row data set, so one outlying event moves each covariate conditional by ~1/40. Two steps
that only transform the noisy counts, so the (ε, δ) guarantee is unchanged (post-processing: Dwork & Roth 2014,
Prop. 2.1) and no budget is spent:

1. noisy counts of the analysis clique below one noise s.d. are set to 0 before normalising (the thresholding of
   sparse noisy histograms of Cormode, Procopiuc, Srivastava & Tran, ICDT 2012), except where that would empty a
   whole (exposure, event) stratum (small data at small ε: both arms must keep events for the hazard ratio); the
   ``independent`` baseline gets the same suppression of its 1-way marginals, so the comparison stays like for
   like;
2. each covariate conditional is smoothed toward its conditional pooled over event and time (and that toward
   the 1-way marginal) with pseudo-counts per cell proportional to the clique's noise variance
   (``shrink`` x σ_c² / σ_1, σ_1 = a weight-1 clique's s.d.): the usual empirical-Bayes form, in which a slice
   with m noisy rows keeps the weight m / (m + pseudo-counts) — sparse slices (rare parent values, the few
   events) are pulled hardest, dense ones barely. Measured effect in BENCHMARKS.md and docs/privacy.md.

Accounting: (ε, δ) → zCDP ρ with the conversion of Canonne, Kamath & Steinke (2020), as smartnoise does; each
Gaussian measurement of a count vector (L2 sensitivity 1 under add/remove-one) costs ρ_i = 1 / (2σ_i²).
Noise from our own mechanisms uses NumPy's generator seeded per run (reproducible, not cryptographically secure —
said in every report); smartnoise's noise comes from OpenDP's secure generator and cannot be seeded.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from genmed.core.registry import Registry
from genmed.privacy.cohorts import EVENT, TIME, CohortSchema


class Synthesizer(Protocol):
    """fit(codes, schema, epsilon, delta, rng) -> sample(n, rng) -> codes.

    ``audit_refits``: how many refits the release audit spends by default on the membership floor
    (:func:`genmed.privacy.evaluate.membership_floor`); fewer for engines that take many seconds per fit."""

    private: bool
    audit_refits: int

    def fit(self, codes: pd.DataFrame, schema: CohortSchema, epsilon: float, delta: float,
            rng: np.random.Generator) -> None: ...

    def sample(self, n: int, rng: np.random.Generator) -> pd.DataFrame: ...


SYNTHESIZERS: Registry[type] = Registry("synthesizer")


def cdp_delta(rho: float, eps: float) -> float:
    """δ of a ρ-zCDP mechanism at ε (Canonne, Kamath & Steinke 2020, Prop. 7; as in mbi's cdp2adp)."""
    if rho == 0:
        return 0.0
    amin, amax = 1.01, (eps + 1) / (2 * rho) + 2
    for _ in range(200):
        alpha = (amin + amax) / 2
        derivative = (2 * alpha - 1) * rho - eps + math.log1p(-1.0 / alpha)
        if derivative < 0:
            amin = alpha
        else:
            amax = alpha
    delta = math.exp((alpha - 1) * (alpha * rho - eps) + alpha * math.log1p(-1 / alpha)) / (alpha - 1.0)
    return min(delta, 1.0)


@functools.lru_cache(maxsize=256)
def cdp_rho(eps: float, delta: float) -> float:
    """Largest ρ such that ρ-zCDP implies (ε, δ)-DP (cached: shadow-model audits refit hundreds of times)."""
    rmin, rmax = 0.0, eps + 1
    for _ in range(200):
        rho = (rmin + rmax) / 2
        if cdp_delta(rho, eps) <= delta:
            rmin = rho
        else:
            rmax = rho
    return rmin


def _marginal(codes: np.ndarray, sizes: list[int]) -> np.ndarray:
    idx = np.ravel_multi_index(codes.T, sizes) if codes.shape[1] > 1 else codes[:, 0]
    return np.bincount(idx, minlength=int(np.prod(sizes))).astype(float).reshape(sizes)


def _suppress(noisy: np.ndarray, cut: float) -> np.ndarray:
    """Noisy counts below ``cut`` set to 0 (``cut`` = 0: negatives clipped). A function of the noisy counts only,
    so it keeps their DP guarantee (post-processing; Dwork & Roth 2014, Prop. 2.1)."""
    return np.where(noisy < max(cut, 0.0), 0.0, noisy)


def _normalise(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0, None)
    s = p.sum()
    return p / s if s > 0 else np.full_like(p, 1.0 / p.size)


@SYNTHESIZERS.register("independent")
class IndependentMarginals:
    """Noisy 1-way marginals, sampled independently (the DP baseline), with the same suppression of noisy counts
    below one noise s.d. as genmed's default applies to the count vectors it samples from (post-processing)."""

    private = True
    audit_refits = 3
    threshold = 1.0  # noisy counts below threshold x sigma are set to 0 (see :func:`_suppress`)

    def fit(self, codes, schema, epsilon, delta, rng):
        self.schema = schema
        rho = cdp_rho(epsilon, delta)
        k = len(schema.columns)
        sigma = math.sqrt(k / (2 * rho))
        self.sigma = sigma
        self.p = {}
        for c in schema.columns:
            counts = _marginal(codes[[c.name]].to_numpy(), [c.size])
            noisy = counts + rng.normal(0, sigma, counts.shape)
            self.p[c.name] = _normalise(_suppress(noisy, self.threshold * sigma))
        self.budget = {"rho": rho, "measurements": k, "sigma": sigma, "suppressed_below": self.threshold * sigma}

    def sample(self, n, rng):
        return pd.DataFrame({c: rng.choice(len(p), size=n, p=p) for c, p in self.p.items()})


@SYNTHESIZERS.register("structured")
class StructuredBayesNet:
    """genmed's default: the declared analysis clique + one clique per covariate (see the module docstring).

    Post-processing of the noisy counts (no extra budget; see the module docstring, "Post-processing"):
    ``root_threshold``: noisy cells of the analysis clique below that many noise s.d. are set to 0;
    ``shrink``: pseudo-counts per cell, in units of the clique's noise variance over a weight-1 clique's s.d.,
    pulling each covariate conditional toward its pooled (over event and time) conditional, itself pulled toward
    the 1-way marginal — sparse slices (rare parent values, the few events) are pulled hardest.
    """

    private = True
    audit_refits = 3
    root_weight = 3.0  # share of budget of the analysis clique relative to one covariate clique
    oneway_weight = 0.25
    shrink = 4.0
    root_threshold = 1.0

    def fit(self, codes, schema, epsilon, delta, rng):
        self.schema = schema
        size = {c.name: c.size for c in schema.columns}
        self.size = size
        tbins = size[TIME]
        self.tc = schema.time_coarse
        # coarse time: contiguous groups of the public time bins (no data used)
        self.coarse_of = np.minimum((np.arange(tbins) * self.tc) // tbins, self.tc - 1)
        data = codes[schema.names].to_numpy()
        col = {n: i for i, n in enumerate(schema.names)}
        tcoarse = self.coarse_of[data[:, col[TIME]]]
        covs = self._order(schema)
        weights = {"root": self.root_weight, **{c: schema.weights.get(c, 1.0) for c in covs},
                   **{f"1:{c}": self.oneway_weight for c in covs}}
        rho = cdp_rho(epsilon, delta)
        total_w = sum(weights.values())
        sig = {k: math.sqrt(total_w / (2 * rho * w)) for k, w in weights.items()}
        self.sigma = sig
        # analysis clique: exposure x event x time
        a = schema.analysis
        root = _marginal(data[:, [col[a[0]], col[a[1]], col[a[2]]]], [size[a[0]], size[a[1]], size[a[2]]])
        noisy_root = root + rng.normal(0, sig["root"], root.shape)
        kept = _suppress(noisy_root, self.root_threshold * sig["root"])
        # never delete a whole (exposure, event) stratum: where every time cell falls below the cut (small data at
        # small ε), that stratum keeps its clipped noisy counts, so both arms keep events and the HR stays defined
        empty = kept.sum(axis=2, keepdims=True) == 0
        self.root = _normalise(np.where(empty, _suppress(noisy_root, 0.0), kept))
        self.cond: dict[str, tuple[str | None, np.ndarray]] = {}
        for c in covs:
            one = _marginal(data[:, [col[c]]], [size[c]])
            p1 = _normalise(one + rng.normal(0, sig[f"1:{c}"], one.shape))
            parent = schema.parents.get(c)
            cols = [data[:, col[c]]] + ([data[:, col[parent]]] if parent else []) + [data[:, col[EVENT]], tcoarse]
            shape = [size[c]] + ([size[parent]] if parent else []) + [2, self.tc]
            noisy = _marginal(np.stack(cols, axis=1), shape) + rng.normal(0, sig[c], shape)
            # pseudo-counts per cell proportional to the noise variance: sigma_c^2 / sigma_1 = sigma_c / sqrt(w_c)
            self.cond[c] = (parent, self._conditional(_suppress(noisy, 0.0), p1,
                                                      self.shrink * sig[c] / math.sqrt(weights[c])))
        self.covs = covs
        self.budget = {"rho": rho, "measurements": len(weights), "sigma": {k: round(v, 3) for k, v in sig.items()},
                       "post_processing": {"root_threshold_sd": self.root_threshold, "shrink": self.shrink}}

    @staticmethod
    def _conditional(noisy: np.ndarray, p1: np.ndarray, per_cell: float) -> np.ndarray:
        """P(covariate | parent, event, coarse time) from a clipped noisy clique (axis 0 = covariate).

        Hierarchical additive smoothing, all post-processing: ``per_cell`` pseudo-counts per cell (``k`` x
        ``per_cell`` per slice) toward the conditional pooled over event and coarse time (``P(c | parent)``), which
        is itself smoothed the same way toward the noisy 1-way marginal ``p1``. A slice with ``m`` noisy rows keeps
        the weight m / (m + k·per_cell) on its own counts, so one record moves a sparse slice little.
        """
        k = noisy.shape[0]
        lam = per_cell * k
        p1 = p1.reshape([-1] + [1] * (noisy.ndim - 1))
        pooled = noisy.sum(axis=(-2, -1), keepdims=True)
        pooled = (pooled + lam * p1) / (pooled.sum(axis=0, keepdims=True) + lam)
        cond = noisy + lam * pooled
        return cond / cond.sum(axis=0, keepdims=True)

    @staticmethod
    def _order(schema: CohortSchema) -> list[str]:
        """Covariates with parents after their parents (the exposure may be a parent: it is sampled first)."""
        done = {schema.exposure}
        order: list[str] = []
        todo = list(schema.covariates)
        while todo:
            for c in list(todo):
                p = schema.parents.get(c)
                if p is None or p in done:
                    order.append(c)
                    done.add(c)
                    todo.remove(c)
                    break
            else:
                raise ValueError(f"cycle in the covariate tree of {schema.name}")
        return order

    def sample(self, n, rng):
        a = self.schema.analysis
        shape = self.root.shape
        flat = rng.choice(self.root.size, size=n, p=self.root.ravel())
        e0, e1, e2 = np.unravel_index(flat, shape)
        out = {a[0]: e0, a[1]: e1, a[2]: e2}
        tco = self.coarse_of[e2]
        for c in self.covs:
            parent, cond = self.cond[c]
            probs = cond[:, out[parent], out[EVENT], tco] if parent else cond[:, out[EVENT], tco]
            cum = np.cumsum(probs.T, axis=1)  # (n, k)
            u = rng.random(n)[:, None]
            out[c] = np.minimum((u > cum).sum(axis=1), cond.shape[0] - 1)
        return pd.DataFrame({k: out[k] for k in self.schema.names})


def public_domain(schema: CohortSchema):
    """A smartnoise ``TableTransformer`` whose category sets are the schema's public bins (codes 0 .. size - 1).

    Given only ``categorical_columns``, smartnoise fits a ``LabelTransformer`` per column on the *private* data,
    so its domain is the set of values present: a bin that one patient alone fills exists in the model (and can
    appear in the release) only when that patient is in the input, and an empty bin can never be sampled. That
    step reads the data outside the (ε, δ) accounting. Fitted here on a data-independent frame instead.
    """
    from snsynth.transform import LabelTransformer, TableTransformer

    tt = TableTransformer([LabelTransformer(nullable=False) for _ in schema.columns])
    longest = max(c.size for c in schema.columns)
    tt.fit(pd.DataFrame({c.name: np.arange(longest) % c.size for c in schema.columns}), epsilon=0.0)
    return tt


class _SmartNoise:
    private = True
    audit_refits = 1  # 10-60 s per fit on a 2-core machine
    method = ""
    kwargs: dict[str, Any] = {}

    def _prepare(self, model, schema: CohortSchema) -> None:
        """Hook for subclasses (e.g. a workload); called before fit."""

    def fit(self, codes, schema, epsilon, delta, rng):
        from snsynth import Synthesizer as SN

        self.schema = schema
        self.model = SN.create(self.method, epsilon=float(epsilon), delta=float(delta), **self.kwargs)
        self._prepare(self.model, schema)
        df = codes[schema.names].astype(int)
        with contextlib.redirect_stdout(io.StringIO()):  # smartnoise prints progress to stdout
            self.model.fit(df, transformer=public_domain(schema), preprocessor_eps=0.0)
        self.budget = {"engine": f"smartnoise-synth {self.method}", "domain": "public bins of the schema",
                       **self.kwargs}

    def model_cliques(self) -> list[tuple[str, ...]]:
        """The fitted graphical model's cliques of two or more columns, by column name: what the model keeps
        beyond the 1-way marginals."""
        names = {f"col{i}": n for i, n in enumerate(self.schema.names)}
        return [tuple(names[c] for c in cl) for cl in self.model.synthesizer.cliques if len(cl) > 1]

    def sample(self, n, rng):
        with contextlib.redirect_stdout(io.StringIO()):
            out = self.model.sample(n)
        return pd.DataFrame(out, columns=self.schema.names).astype(int)

    def _sample_fixed(self, n, decompress) -> pd.DataFrame:
        """Sample the fitted graphical model i.i.d. and read the columns by name (see :class:`MST`)."""
        m = self.model
        with contextlib.redirect_stdout(io.StringIO()):
            data = m.synthesizer.synthetic_data(rows=n, method="sample")
            if decompress:
                data = m.undo_compress_fn(data)
            cols = [f"col{i}" for i in range(m._transformer.output_width)]
            rows = [tuple(t[1:]) for t in data.df[cols].itertuples()]
            out = m._transformer.inverse_transform(rows)
        return pd.DataFrame(out, columns=self.schema.names).astype(int)


@SYNTHESIZERS.register("mst-offshelf")
class MSTOffTheShelf(_SmartNoise):
    """smartnoise-synth's MST exactly as shipped. With mbi >= 1.0 its ``sample`` scrambles the columns (see MST)."""

    method = "mst"


@SYNTHESIZERS.register("mst")
class MST(_SmartNoise):
    """smartnoise-synth's MST with its sampling fixed for mbi >= 1.0 (two bugs, both in ``sample``; fitting is
    unchanged).

    1. mbi 1.x ``synthetic_data`` defaults to ``method="round"``: inside each group of equal parent values, row
       ``r`` gets the quantile ``(r + u)/count`` for *every* child column, so siblings in the tree come out
       comonotonic (flchain: age x creatinine r = 0.91 instead of -0.04; FLC group x death reversed). We sample
       i.i.d. (``method="sample"``).
    2. mbi 1.x builds the synthetic ``Dataset`` from a dict filled in elimination order and snsynth 1.0.8 reads
       ``Dataset.df`` positionally, so columns can come back permuted. We select the columns by name.
    """

    method = "mst"

    def sample(self, n, rng):
        return self._sample_fixed(n, decompress=True)


@SYNTHESIZERS.register("aim")
class AIM(_SmartNoise):
    """smartnoise-synth's AIM, capped for a 2-core machine, with the declared analysis clique in its workload.

    Off the shelf, AIM's workload is every 2-way marginal, so nothing asks it to keep exposure x event x time;
    we add that 3-way query (the public analysis structure) to the workload.
    """

    method = "aim"
    # defaults 80 and 16 x columns: hours here. 16 rounds keep the benchmark's 18 AIM fits (3 ε x 3 repeats x 2 data
    # sets) inside its 20-minute cap on 2 cores; with 24, the 9 flchain fits alone took 13 min
    kwargs = {"max_model_size": 20, "rounds": 16}

    def sample(self, n, rng):  # the same mbi "round" sampling bug as MST (AIM already selects columns by name)
        return self._sample_fixed(n, decompress=False)

    def _prepare(self, model, schema):
        idx = {n: i for i, n in enumerate(schema.names)}
        triple = tuple(f"col{idx[c]}" for c in schema.analysis)
        base = model.get_workload

        def workload(data, degree, max_cells, num_marginals=None):
            return base(data, degree, max_cells, num_marginals) + [triple]

        model.get_workload = workload


@SYNTHESIZERS.register("bootstrap")
class Bootstrap:
    """Resample real rows with replacement. NOT private: the leak control."""

    private = False
    audit_refits = 3

    def fit(self, codes, schema, epsilon, delta, rng):
        self.codes = codes[schema.names].reset_index(drop=True)
        self.budget = {"note": "not differentially private (leak control)"}

    def sample(self, n, rng):
        return self.codes.iloc[rng.integers(0, len(self.codes), n)].reset_index(drop=True)


@dataclass
class Release:
    method: str
    epsilon: float
    delta: float
    codes: pd.DataFrame
    budget: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def synthesize_codes(method: str, codes: pd.DataFrame, schema: CohortSchema, epsilon: float, delta: float,
                     rng: np.random.Generator, n: int | None = None) -> Release:
    import time

    cls = SYNTHESIZERS.get(method)
    model = cls()
    t0 = time.perf_counter()
    model.fit(codes, schema, epsilon, delta, rng)
    out = model.sample(n or len(codes), rng)
    return Release(method, epsilon, delta, out, getattr(model, "budget", {}), time.perf_counter() - t0)
