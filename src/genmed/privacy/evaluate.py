"""Privacy and utility of a synthetic cohort, measured against a held-out part of the real data.

Short implementations of published definitions (synthcity and anonymeter cannot be installed beside numpy 2):

- distance to closest record, DCR (Park et al. 2018; synthcity's ``DistanceToClosestRecord``): synthetic→train
  versus holdout→train; plus the share of synthetic rows nearer to train than to an equal-sized holdout
  (Platzer & Reutterer 2021: 0.5 = no memorisation) and the exact-copy rate;
- black-box membership inference: DOMIAS (van Breugel et al., AISTATS 2023): score = density of the synthetic
  data at a record / density of a reference sample at it, and the distance to the closest synthetic record
  (Hayes et al. 2019); AUC of members (train) vs non-members (holdout), 0.5 = no leak, with DeLong standard
  errors and a cross-fitted choice of the stronger attack (:func:`mia_auc`). The shadow-model attack (Shokri
  et al. 2017; Stadler et al. 2022), which refits the generator hundreds of times, is in
  :mod:`genmed.privacy.shadow`;
- attribute inference (anonymeter, Giomi et al., PoPETs 2023): nearest-synthetic-neighbour guess of a secret
  column, success on train targets vs control (holdout) targets, risk = (s_train − s_control)/(1 − s_control),
  95% Wilson interval;
- utility: mean total-variation distance of 1-, 2- and 3-way marginals and of the declared analysis clique;
  train-on-synthetic-test-on-real (TSTR) C-index of a Cox model and the hazard ratio of interest, beside
  train-on-real; the exposure × covariate interaction coefficient on real and synthetic data.

Distances are computed on the public-bin codes (numeric bins as ordinal positions scaled to [0, 1], categories as
0/1 mismatch): the information a release carries.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from genmed.privacy.cohorts import EVENT, TIME, CohortSchema, decode


def _features(codes: pd.DataFrame, schema: CohortSchema) -> tuple[np.ndarray, np.ndarray]:
    """(ordinal-scaled numeric part, categorical part) of the codes."""
    num = [c for c in schema.columns if c.kind == "numeric"]
    cat = [c for c in schema.columns if c.kind == "categorical"]
    xn = np.stack([codes[c.name].to_numpy(float) / max(1, c.size - 1) for c in num], axis=1) if num \
        else np.zeros((len(codes), 0))
    xc = np.stack([codes[c.name].to_numpy(int) for c in cat], axis=1) if cat else np.zeros((len(codes), 0), int)
    return xn, xc


def _embedding(codes: pd.DataFrame, schema: CohortSchema) -> tuple[np.ndarray, np.ndarray]:
    """(F, r) with  D x Gower(a, b) = r_a + r_b - 2 F_a . F_b  exactly (D = number of columns).

    A numeric bin code k of a column with m + 1 bins is the thermometer vector [k > 0, ..., k > m - 1] / sqrt(m):
    |k - l| / m = (k + l - 2 min(k, l)) / m. A category is its one-hot vector / sqrt(2): a mismatch is
    1 - onehot . onehot. So a whole distance block is one matrix product instead of a 3-D broadcast.
    """
    feats, row = [], np.zeros(len(codes))
    for c in schema.columns:
        k = np.clip(codes[c.name].to_numpy(int), 0, c.size - 1)
        if c.kind == "numeric":
            m = max(1, c.size - 1)
            feats.append((k[:, None] > np.arange(m)[None, :]) / math.sqrt(m))
            row += k / m
        else:
            feats.append(np.eye(c.size)[k] / math.sqrt(2))
            row += 0.5
    return np.concatenate(feats, axis=1), row


def _distances(a: pd.DataFrame, b: pd.DataFrame, schema: CohortSchema, chunk: int = 2048):
    """Yield (slice, distance block) of the mixed (Gower-like) distance between rows of a and b: numeric bins as
    ordinal positions scaled to [0, 1], categories as 0/1 mismatch, averaged over the columns. Every exact
    distance is a multiple of 1 / (columns x lcm of the numeric columns' bins - 1); the product is rounded to that
    grid, so equal distances compare equal (ties in :func:`dcr`, the sort of the shadow attack's targets)."""
    fa, ra = _embedding(a, schema)
    fb, rb = _embedding(b, schema)
    d = len(schema.columns)
    grid = d * math.lcm(*[max(1, c.size - 1) for c in schema.columns if c.kind == "numeric"] or [1])
    for s in range(0, len(a), chunk):
        blk = ra[s:s + chunk, None] + rb[None, :] - 2.0 * (fa[s:s + chunk] @ fb.T)
        yield slice(s, s + chunk), np.round(np.maximum(blk, 0.0) * (grid / d)) / grid


def _nearest(a, b, schema) -> np.ndarray:
    out = np.empty(len(a))
    for sl, blk in _distances(a, b, schema):
        out[sl] = blk.min(axis=1)
    return out


def dcr(train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame, schema: CohortSchema,
        rng: np.random.Generator) -> dict[str, float]:
    m = min(len(holdout), len(train), len(syn))
    tr = train.sample(m, random_state=int(rng.integers(1 << 31)))
    syn_m = syn.sample(m, random_state=int(rng.integers(1 << 31)))
    d_syn_train = _nearest(syn_m, tr, schema)
    d_syn_hold = _nearest(syn_m, holdout.iloc[:m], schema)
    d_hold_train = _nearest(holdout.iloc[:m], tr, schema)
    ties = d_syn_train == d_syn_hold
    closer = float(((d_syn_train < d_syn_hold) + 0.5 * ties).mean())
    train_rows = {tuple(r) for r in train[schema.names].itertuples(index=False)}
    copy = float(np.mean([tuple(r) in train_rows for r in syn[schema.names].itertuples(index=False)]))
    copy_hold = float(np.mean([tuple(r) in train_rows for r in holdout[schema.names].itertuples(index=False)]))
    return {
        "dcr_syn_train_p5": float(np.percentile(d_syn_train, 5)), "dcr_holdout_train_p5": float(np.percentile(d_hold_train, 5)),
        "dcr_syn_train_median": float(np.median(d_syn_train)),
        "dcr_holdout_train_median": float(np.median(d_hold_train)),
        "share_closer_to_train": closer, "exact_copy_rate": copy, "exact_copy_rate_holdout_baseline": copy_hold,
    }


def auc_se(labels, scores) -> tuple[float, float]:
    """Mann-Whitney AUC (ties count one half) and its DeLong et al. (Biometrics 1988) standard error."""
    from scipy.stats import rankdata

    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, float)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    r_all = rankdata(s)
    v10 = (r_all[y] - rankdata(s[y])) / n  # per member: share of non-members scored lower
    v01 = 1 - (r_all[~y] - rankdata(s[~y])) / m  # per non-member: share of members scored higher
    auc = float(v10.mean())
    var = (v10.var(ddof=1) / m if m > 1 else 0.0) + (v01.var(ddof=1) / n if n > 1 else 0.0)
    return auc, float(math.sqrt(var))


def mia_auc(train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame, schema: CohortSchema,
            rng: np.random.Generator, bandwidth: float = 0.08, crossfit_repeats: int = 25) -> dict[str, Any]:
    """Two black-box membership attacks; every training row is a member, every holdout row a non-member.

    ``domias``: log density of the synthetic data minus log density of a reference sample (van Breugel et al.,
    AISTATS 2023). The reference is the holdout, leave-one-out: a non-member is scored against every *other*
    holdout row, a member against all of them, so no record is in its own reference. ``distance``: minus the
    distance to the closest synthetic record (Hayes et al., PoPETs 2019, LOGAN's black-box variant; catches
    copied rows).

    Headline ``mia_auc``: the attacker picks the stronger attack, but picking the larger of two noisy AUCs
    on the same records is biased upward (by about 0.4 standard errors when both are at chance). So the choice
    is cross-fitted: the records are split in two halves; the attack that wins on one half is scored on the
    other, and the two halves' scores are averaged. That is repeated over ``crossfit_repeats`` random halvings
    and averaged (repeated cross-fitting, as in Chernozhukov et al., Econometrics J. 2018): it has the
    expectation of one cross-fit without the noise of one random halving. Every AUC comes with its DeLong
    standard error; the headline's 95% interval is that of the attack the full data would pick.

    Why leave-one-out and repeated halvings (2026-12-03): with a random 5-fold reference and one halving, the
    headline of one and the same ACTG 320 release moved with the evaluation's own seed (SD 0.011-0.016, range
    0.515-0.562 over 10 seeds for smartnoise MST at ε = 10), as much as it moved between releases. Both changes
    remove that noise; the leave-one-out reference is also larger (n - 1 rows instead of 4n/5), so the attack is
    not weakened.
    """
    if len(train) < 2 or len(holdout) < 2:
        from genmed.core.errors import InputError

        raise InputError(f"membership inference needs at least 2 members and 2 non-members, got {len(train)} "
                         f"and {len(holdout)}")
    ref_kernel = np.zeros((len(train) + len(holdout), len(holdout)))
    targets = pd.concat([train, holdout], ignore_index=True)
    for sl, blk in _distances(targets, holdout, schema):
        ref_kernel[sl] = np.exp(-blk / bandwidth)
    labels = np.r_[np.ones(len(train)), np.zeros(len(holdout))]
    n = len(holdout)
    ref_sum = ref_kernel.sum(axis=1)
    own = np.r_[np.zeros(len(train)), np.diagonal(ref_kernel[len(train):])]  # a non-member's own kernel term
    ref_n = np.r_[np.full(len(train), n), np.full(n, max(n - 1, 1))]
    log_ref = np.log((ref_sum - own) / ref_n + 1e-12)
    log_syn, nearest = np.zeros(len(targets)), np.zeros(len(targets))
    for sl, blk in _distances(targets, syn, schema):
        log_syn[sl] = np.log(np.exp(-blk / bandwidth).mean(axis=1) + 1e-12)
        nearest[sl] = blk.min(axis=1)
    attacks = {"domias": log_syn - log_ref, "distance": -nearest}
    out: dict[str, Any] = {}
    for name, sc in attacks.items():
        a, se = auc_se(labels, sc)
        out[f"mia_auc_{name}"], out[f"mia_auc_{name}_se"] = a, se
    # repeated cross-fitted choice of the attack (halves stratified by membership)
    mem_idx, non_idx = np.arange(len(train)), len(train) + np.arange(n)
    scores, picks = [], []
    for _ in range(max(1, crossfit_repeats)):
        half = np.zeros(len(targets), bool)
        half[rng.permutation(mem_idx)[: len(mem_idx) // 2]] = True
        half[rng.permutation(non_idx)[: n // 2]] = True
        for sel, ev in ((half, ~half), (~half, half)):
            best = max(attacks, key=lambda a: auc_se(labels[sel], attacks[a][sel])[0])
            picks.append(best)
            scores.append(auc_se(labels[ev], attacks[best][ev])[0])
    full_best = max(attacks, key=lambda a: out[f"mia_auc_{a}"])
    auc = float(np.mean(scores))
    se = out[f"mia_auc_{full_best}_se"]
    out.update({"mia_auc": auc, "mia_auc_ci95": [auc - 1.96 * se, auc + 1.96 * se],
                "mia_attack": "/".join(sorted(set(picks))),
                "mia_attack_share": {a: picks.count(a) / len(picks) for a in attacks},
                "mia_auc_naive_max": max(out["mia_auc_domias"], out["mia_auc_distance"]),
                "mia_members": len(train), "mia_non_members": n})
    return out


UNSEEN_SHARE = 0.25  # share of the training rows the membership floor's refits leave out


def floor_draw(method: str, train: pd.DataFrame, holdout: pd.DataFrame, schema: CohortSchema, epsilon: float,
               delta: float, rng: np.random.Generator, unseen_share: float = UNSEEN_SHARE) -> dict[str, float]:
    """One draw of :func:`membership_floor`: fit ``method`` on a random ``1 - unseen_share`` of the training rows,
    then attack with those rows (seen) and with the rest (unseen) as the members, against the same holdout."""
    from genmed.privacy.synth import synthesize_codes

    perm = rng.permutation(len(train))
    k = int(len(train) * unseen_share)
    unseen, seen = train.iloc[perm[:k]].reset_index(drop=True), train.iloc[perm[k:]].reset_index(drop=True)
    syn = synthesize_codes(method, seen, schema, epsilon, delta, rng).codes
    return {"seen": mia_auc(seen, holdout, syn, schema, rng)["mia_auc"],
            "unseen": mia_auc(unseen, holdout, syn, schema, rng)["mia_auc"], "n_seen": len(seen), "n_unseen": k}


def membership_floor(method: str, train: pd.DataFrame, holdout: pd.DataFrame, schema: CohortSchema,
                     epsilon: float, delta: float, rng: np.random.Generator, draws: int = 3) -> dict[str, Any]:
    """How much of the black-box AUC is this train/holdout split rather than a leak?

    Training and holdout rows differ by chance, and any generator that fits its input reproduces those
    differences, so even training rows the generator never saw score above 0.5 on a given split (ACTG 320,
    benchmark split: 0.51-0.54; over random splits 0.500). Refitting the same method on part of the training rows
    measures that floor (``unseen``) and the generator's own membership signal (``seen - unseen``), mean and
    standard error over ``draws`` refits. The refits are audit computations, never released.
    """
    from genmed.core.errors import InputError

    if draws < 1:
        raise InputError(f"the membership floor needs at least one refit, got {draws}")
    if int(len(train) * UNSEEN_SHARE) < 2:
        raise InputError(f"the membership floor needs at least 2 unseen training rows ({UNSEEN_SHARE:.0%} of "
                         f"{len(train)})")
    got = [floor_draw(method, train, holdout, schema, epsilon, delta, rng) for _ in range(draws)]

    def stat(v):
        v = np.asarray(v, float)
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None

    out: dict[str, Any] = {"draws": draws, "n_seen": got[0]["n_seen"], "n_unseen": got[0]["n_unseen"]}
    for key, vals in (("unseen", [g["unseen"] for g in got]), ("seen", [g["seen"] for g in got]),
                      ("excess", [g["seen"] - g["unseen"] for g in got])):
        out[f"{key}_auc_mean"], out[f"{key}_auc_se"] = stat(vals)
    return out


def attribute_inference(train, holdout, syn, schema: CohortSchema, rng, n_targets: int = 300) -> dict[str, float]:
    secret = schema.secret
    known = [c for c in schema.names if c != secret]
    sub = CohortSchema(schema.name, tuple(schema.column(c) for c in known), schema.exposure,
                       schema.exposure_level, secret)
    n = min(n_targets, len(holdout), len(train))
    tr = train.iloc[rng.permutation(len(train))[:n]]
    ho = holdout.iloc[rng.permutation(len(holdout))[:n]]

    def success(targets):
        hits = np.zeros(len(targets))
        for sl, blk in _distances(targets[known], syn[known], sub):
            j = blk.argmin(axis=1)
            hits[sl] = syn[secret].to_numpy()[j] == targets[secret].to_numpy()[sl]
        return hits.mean()

    s_tr, s_co = success(tr), success(ho)
    risk = (s_tr - s_co) / (1 - s_co) if s_co < 1 else 0.0
    lo, hi = _wilson(s_tr, n)
    return {"secret": secret, "success_train": float(s_tr), "success_control": float(s_co),
            "risk": float(risk), "risk_ci95": [float((lo - s_co) / (1 - s_co)) if s_co < 1 else 0.0,
                                               float((hi - s_co) / (1 - s_co)) if s_co < 1 else 0.0],
            "targets": n}


def _wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return centre - half, centre + half


def _tvd(a: pd.DataFrame, b: pd.DataFrame, cols: tuple[str, ...]) -> float:
    pa = a.groupby(list(cols)).size() / len(a)
    pb = b.groupby(list(cols)).size() / len(b)
    idx = pa.index.union(pb.index)
    return 0.5 * float(np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def marginal_tvd(real: pd.DataFrame, syn: pd.DataFrame, schema: CohortSchema, rng, max_triples: int = 40):
    names = schema.names
    one = [_tvd(real, syn, (c,)) for c in names]
    two = [_tvd(real, syn, p) for p in itertools.combinations(names, 2)]
    triples = list(itertools.combinations(names, 3))
    pick = rng.choice(len(triples), size=min(max_triples, len(triples)), replace=False)
    three = [_tvd(real, syn, triples[i]) for i in pick]
    return {"tvd_1way": float(np.mean(one)), "tvd_2way": float(np.mean(two)), "tvd_3way": float(np.mean(three)),
            "tvd_analysis": _tvd(real, syn, schema.analysis)}


# ------------------------------------------------------------------------------------------ survival utility


def _design(df: pd.DataFrame, schema: CohortSchema) -> pd.DataFrame:
    cols = {}
    for c in schema.columns:
        if c.name in (TIME, EVENT):
            continue
        if c.kind == "categorical":
            for lev in c.categories[1:]:
                cols[f"{c.name}={lev}"] = (df[c.name].astype(str) == lev).astype(float)
        else:
            v = df[c.name].astype(float)
            mid = (c.bins[0] + c.bins[-1]) / 2
            cols[c.name] = (v.fillna(mid) - c.bins[0]) / (c.bins[-1] - c.bins[0])
            if c.missing:
                cols[f"{c.name}_missing"] = v.isna().astype(float)
    return pd.DataFrame(cols, index=df.index)


def _surv(df):
    from sksurv.util import Surv

    return Surv.from_arrays(df[EVENT].astype(int).astype(bool).to_numpy(),
                            np.maximum(df[TIME].astype(float).to_numpy(), 0.5))


def _cox(X, y, alpha=0.01):
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxPHSurvivalAnalysis(alpha=alpha, n_iter=200).fit(X, y)


def survival_utility(train_typed: pd.DataFrame, test_typed: pd.DataFrame, fit_typed: pd.DataFrame,
                     schema: CohortSchema) -> dict[str, Any]:
    """Fit on ``fit_typed`` (synthetic or real train), evaluate the C-index on the real test set."""
    from sksurv.metrics import concordance_index_censored

    out: dict[str, Any] = {}
    try:
        X = _design(fit_typed, schema)
        keep = [c for c in X.columns if X[c].std() > 0]
        model = _cox(X[keep], _surv(fit_typed))
        Xt = _design(test_typed, schema)[keep]
        yt = _surv(test_typed)
        out["c_index"] = float(concordance_index_censored(yt["event"], yt["time"], model.predict(Xt))[0])
    except Exception as exc:  # degenerate synthetic data: say so
        out["c_index"] = None
        out["c_index_error"] = type(exc).__name__
    expo = (fit_typed[schema.exposure].astype(str) == schema.exposure_level).astype(float).to_frame("exposed")
    try:
        if expo["exposed"].std() == 0:
            raise ValueError("exposure constant")
        m = _cox(expo, _surv(fit_typed), alpha=1e-6)
        out["hazard_ratio"] = float(np.exp(m.coef_[0]))
    except Exception as exc:
        out["hazard_ratio"] = None
        out["hazard_ratio_error"] = type(exc).__name__
    inter = schema.interaction
    if inter:
        try:
            z = _design(fit_typed, schema)
            zc = [c for c in z.columns if c == inter or c.startswith(inter + "=")][:1]
            if not zc:
                raise ValueError("no interaction column")
            d = pd.DataFrame({"exposed": expo["exposed"], "z": z[zc[0]]})
            d["exposed_x_z"] = d["exposed"] * d["z"]
            m = _cox(d, _surv(fit_typed), alpha=1e-4)
            out["interaction"] = {"covariate": zc[0], "coef": float(m.coef_[2])}
        except Exception as exc:
            out["interaction"] = {"covariate": inter, "coef": None, "error": type(exc).__name__}
    return out


def evaluate_release(train_codes, holdout_codes, syn_codes, train_typed, holdout_typed, schema, rng,
                     real_utility: dict | None = None) -> dict[str, Any]:
    syn_typed = decode(syn_codes, schema, rng)
    res: dict[str, Any] = {}
    res.update(marginal_tvd(train_codes, syn_codes, schema, rng))
    res.update(dcr(train_codes, holdout_codes, syn_codes, schema, rng))
    res.update(mia_auc(train_codes, holdout_codes, syn_codes, schema, rng))
    res["attribute_inference"] = attribute_inference(train_codes, holdout_codes, syn_codes, schema, rng)
    res["tstr"] = survival_utility(train_typed, holdout_typed, syn_typed, schema)
    if real_utility is not None and res["tstr"].get("interaction") and real_utility.get("interaction"):
        a, b = res["tstr"]["interaction"].get("coef"), real_utility["interaction"].get("coef")
        res["tstr"]["interaction_sign_kept"] = None if a is None or b is None else bool(np.sign(a) == np.sign(b))
    return res
