"""One DP synthetic-cohort release: budget check, synthesis, privacy/utility evaluation, report — in one run.

The real data are split 70/30 (stratified by event, seeded): the release is fitted on the 70% and the 30% stays
out as the holdout every privacy metric needs. The independent-marginals baseline (same ε) and the bootstrap
leak control are evaluated in the same run; the baseline is a DP computation on the same data, so it is charged
to the budget too (``baselines=False`` halves the cost).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genmed.core.errors import ConfigError, InputError
from genmed.privacy.cohorts import EVENT, SCHEMAS, TIME, CohortSchema, decode, encode, load_cohort, load_csv


def load_source(dataset: str, schema_name: str | None = None) -> tuple[pd.DataFrame, CohortSchema, str]:
    """(typed frame, schema, ledger id) for a named data set or a CSV with a declared schema."""
    if dataset in SCHEMAS:
        df, schema = load_cohort(dataset)
        return df, schema, dataset
    path = Path(dataset)
    if path.suffix.lower() != ".csv" and not path.exists():
        raise InputError(f"unknown data set {dataset!r}", hint=f"known: {', '.join(SCHEMAS)} or a CSV path")
    if not schema_name:
        raise ConfigError("a CSV needs --schema NAME: the public bins it is released under",
                          hint=f"known schemas: {', '.join(SCHEMAS)}")
    if schema_name not in SCHEMAS:
        raise ConfigError(f"unknown schema {schema_name!r}", hint=f"known: {', '.join(SCHEMAS)}")
    schema = SCHEMAS[schema_name]
    df = load_csv(path, schema)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"
    return df, schema, f"csv:{schema_name}:{digest}"


def check_parameters(epsilon: float, delta: float, n: int) -> None:
    if not (epsilon > 0) or not np.isfinite(epsilon):
        raise InputError(f"ε must be a positive number, got {epsilon:g}")
    if not (0 < delta < 1.0 / n):
        raise InputError(f"δ must lie in (0, 1/n) = (0, {1.0 / n:.3g}) for the {n} training rows, got {delta:g}",
                         hint="a δ of 1/n or more allows releasing a whole record; 1e-9 is customary")


def split(df: pd.DataFrame, seed: int, holdout: float = 0.3) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    tr, ho = train_test_split(df, test_size=holdout, random_state=seed, stratify=df[EVENT])
    return tr.reset_index(drop=True), ho.reset_index(drop=True)


def _membership_floor(method, ctr, cho, schema, epsilon, delta, seed, draws) -> dict[str, Any] | None:
    """The audit's floor refits, on their own random stream (so they do not move the release's other numbers).
    The release has been charged by now: a floor that cannot be measured is reported, never fatal."""
    from genmed.core.errors import InputError
    from genmed.privacy.evaluate import membership_floor

    if draws <= 0:
        return None
    try:
        return membership_floor(method, ctr, cho, schema, epsilon, delta, np.random.default_rng([seed, 2]), draws)
    except InputError as exc:
        return {"draws": draws, "not_measured": str(exc)}
    except Exception as exc:  # an audit extra must not lose a release whose budget is spent
        return {"draws": draws, "not_measured": f"{type(exc).__name__}: {exc}"}


def run_release(df: pd.DataFrame, schema: CohortSchema, *, method: str, epsilon: float, delta: float, seed: int,
                baselines: bool = True, controls: bool = True, floor_draws: int | None = None) -> dict[str, Any]:
    """Fit the release (and baselines) on the train split; evaluate all against the holdout. No I/O.

    ``floor_draws`` refits of the released method on 75% of the training rows measure this split's membership
    floor (:func:`genmed.privacy.evaluate.membership_floor`; ``None``: the method's ``audit_refits``, 0 skips
    it). Like the rest of the audit they are computed on the real data for the steward and never released."""
    from genmed.privacy.evaluate import evaluate_release, survival_utility
    from genmed.privacy.synth import SYNTHESIZERS, synthesize_codes

    rng = np.random.default_rng(seed)
    tr, ho = split(df, seed)
    ctr, cho = encode(tr, schema), encode(ho, schema)
    real = survival_utility(tr, ho, tr, schema)
    out: dict[str, Any] = {"n_train": len(tr), "n_holdout": len(ho), "events_train": int(tr[EVENT].astype(int).sum()),
                           "real": real, "methods": {}}
    methods = [method] + (["independent"] if baselines and method != "independent" else []) \
        + (["bootstrap"] if controls else [])
    for m in methods:
        rel = synthesize_codes(m, ctr, schema, epsilon, delta, rng)
        ev = evaluate_release(ctr, cho, rel.codes, tr, ho, schema, rng, real)
        ev["fit_seconds"] = round(rel.seconds, 2)
        ev["accounting"] = rel.budget
        out["methods"][m] = ev
        if m == method:
            out["release_codes"] = rel.codes
    draws = floor_draws if floor_draws is not None else getattr(SYNTHESIZERS.get(method), "audit_refits", 1)
    out["membership_floor"] = _membership_floor(method, ctr, cho, schema, epsilon, delta, seed, draws)
    return out


DEFAULT_METHOD = "structured"


def _refusal_hint(method: str, epsilon: float, dataset: str, delta: float) -> str:
    """The ways out of a refusal that measured evidence supports: the default method where a current game
    cleared it at this (ε, δ), the largest smaller ε at which one cleared this method, and the override."""
    from genmed.privacy.evidence import epsilon_text, largest_passing_epsilon, passing_evidence

    def where(rows):
        sets = sorted({r["dataset"] for r in rows})
        return ", ".join(sets) + ("" if dataset in sets else "; not this data")

    ways = []
    if method != DEFAULT_METHOD and (rows := passing_evidence(DEFAULT_METHOD, epsilon, delta)):
        ways.append(f"release with the default --method {DEFAULT_METHOD} (the attack measured it at or below the "
                    f"bar at this ε, on {where(rows)})")
    lower = largest_passing_epsilon(method, epsilon, delta)
    if lower is not None:
        ways.append(f"release at --epsilon {epsilon_text(lower)} (there the attack measured {method} at or below the bar, "
                    f"on {where(passing_evidence(method, lower, delta))})")
    ways.append("pass --accept-measured-risk to release anyway (recorded in run.json and the access log)")
    return "; or ".join(ways)


def synthesize(dataset: str, *, epsilon: float, delta: float = 1e-9, method: str = DEFAULT_METHOD,
               out: str | Path | None = None, seed: int = 0, schema_name: str | None = None,
               baselines: bool = True, db_url: str | None = None, floor_draws: int | None = None,
               accept_measured_risk: bool = False) -> dict[str, Any]:
    """Release a DP synthetic cohort with its privacy/utility evaluation (``synthetic.csv``,
    ``privacy_metrics.json``, ``privacy_report.html``, ``run.json``).

    An engine whose shadow-model attack measured above the bar at this ε (:mod:`genmed.privacy.evidence`) is
    refused, before any budget is charged, unless ``accept_measured_risk``: the DP guarantee still holds, but
    the steward must choose knowingly to release what genmed's bar rejects; the choice is kept in ``run.json``
    and the access log."""
    from genmed.core.provenance import run_directory
    from genmed.privacy import budget
    from genmed.privacy.evidence import evidence_for
    from genmed.privacy.synth import SYNTHESIZERS

    cls = SYNTHESIZERS.get(method)
    if not getattr(cls, "private", False):
        raise ConfigError(f"method {method!r} is not differentially private and cannot make a release")
    df, schema, ledger_id = load_source(dataset, schema_name)
    n_train = int(round(len(df) * 0.7))
    check_parameters(epsilon, delta, n_train)
    evidence = evidence_for(method, epsilon, ledger_id, delta)  # before any charge: a damaged table stops the release
    if evidence["refuse"] and not accept_measured_risk:
        from genmed.privacy.audit import record_access

        record_access(None, "steward", "synthesize", None, "research", "denied",
                      detail={"dataset": ledger_id, "epsilon": epsilon, "delta": delta, "method": method,
                              "reason": "shadow-model attack above the bar"})
        sets = sorted({r["dataset"] for r in evidence["failing"]})
        here = "" if ledger_id in sets else " (not this data)"
        raise ConfigError(f"refused: genmed's shadow-model attack measured {method} above the {evidence['bar']} "
                          f"bar on {', '.join(sets)}{here} at this ε or a smaller one. {evidence['summary']} "
                          "Nothing was released and no ε was charged.",
                          hint=_refusal_hint(method, epsilon, ledger_id, delta))
    cost = epsilon * (2 if baselines and method != "independent" else 1)
    spent = budget.spend(ledger_id, cost, delta, f"release {method} eps={epsilon:g}"
                         + (" + independent baseline" if cost > epsilon else ""), url=db_url)
    config = {"dataset": ledger_id, "method": method, "epsilon": epsilon, "delta": delta, "baselines": baselines,
              "schema": schema.name, "bins": "public, declared in genmed.privacy.cohorts",
              "shadow_evidence_status": evidence["status"],
              "accepted_measured_risk": bool(accept_measured_risk and evidence["refuse"])}
    with run_directory("privacy-synthesize", out=out, config=config, seed=seed) as run:
        res = run_release(df, schema, method=method, epsilon=epsilon, delta=delta, seed=seed, baselines=baselines,
                          floor_draws=floor_draws)
        syn = decode(res.pop("release_codes"), schema, np.random.default_rng(seed + 1))
        syn.to_csv(run.file("synthetic.csv"), index=False)
        res.update({"dataset": ledger_id, "schema": schema.name, "method": method, "epsilon": epsilon,
                    "delta": delta, "epsilon_charged": cost, "budget": spent, "source": schema.source,
                    "shadow_evidence": evidence,
                    "noise": "genmed mechanisms: NumPy PCG64 seeded per run (reproducible, not a CSPRNG); "
                             "smartnoise: OpenDP secure noise (not seedable)"})
        run.file("privacy_metrics.json").write_text(json.dumps(res, indent=2, default=float))
        run.file("privacy_report.html").write_text(render_report(res, df, syn, schema))
        run.summary.update({"method": method, "epsilon": epsilon, "mia_auc": res["methods"][method]["mia_auc"],
                            "tvd_analysis": res["methods"][method]["tvd_analysis"]})
        path = run.path
    from genmed.privacy.audit import record_access

    record_access(None, "steward", "synthesize", None, "research", "success",
                  detail={"dataset": ledger_id, "epsilon": epsilon, "method": method,
                          "accepted_measured_risk": config["accepted_measured_risk"]})
    res["run_dir"] = str(path)
    return res


def _km_plot(real: pd.DataFrame, syn: pd.DataFrame, schema: CohortSchema) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sksurv.nonparametric import kaplan_meier_estimator

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, frame, style in (("real", real, "-"), ("synthetic", syn, "--")):
        exposed = frame[schema.exposure].astype(str) == schema.exposure_level
        for grp, name in ((exposed, f"{schema.exposure}={schema.exposure_level}"), (~exposed, "others")):
            if grp.sum() < 2:
                continue
            t, s = kaplan_meier_estimator(frame.loc[grp, EVENT].astype(int).astype(bool),
                                          np.maximum(frame.loc[grp, TIME].astype(float), 0.5))
            ax.step(t, s, style, where="post", label=f"{label}: {name}")
    ax.set_xlabel("days")
    ax.set_ylabel("event-free probability")
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _metrics_plot(res: dict[str, Any]) -> str:
    """Privacy (MIA AUC, share closer to train) and utility (analysis-clique TVD) per method, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(res["methods"])
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax, key, title, ref in ((axes[0], "mia_auc", "membership AUC", 0.5),
                                (axes[1], "share_closer_to_train", "share nearer train", 0.5),
                                (axes[2], "tvd_analysis", "TVD analysis clique", None)):
        ax.bar(methods, [res["methods"][m][key] for m in methods], color="#4477aa")
        if ref is not None:
            ax.axhline(ref, color="k", lw=0.8, ls="--")
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


_TEMPLATE = """<!doctype html><html><head><meta charset="utf-8"><title>genmed privacy report</title>
<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}.l{text-align:left}</style>
</head><body><h1>DP synthetic cohort: {{ r.dataset }}</h1>
<p>Method <b>{{ r.method }}</b>, ε = {{ r.epsilon }}, δ = {{ r.delta }}; ε charged to the data set's budget:
{{ r.epsilon_charged }}{% if r.epsilon_charged > r.epsilon %} (this release {{ r.epsilon }} + the independent baseline
fitted on the same rows {{ r.epsilon_charged - r.epsilon }}){% endif %} (left: {{ '%.3g' % r.budget.epsilon_left }} of {{ r.budget.epsilon_total }}).
Fitted on {{ r.n_train }} rows ({{ r.events_train }} events); {{ r.n_holdout }} held out for the audit.
Schema <code>{{ r.schema }}</code>: {{ r.source }}. Noise: {{ r.noise }}.</p>
<h2>Privacy (lower is safer; bootstrap is a non-private leak control)</h2>
<table><tr><th class="l">method</th><th>MIA AUC [95% CI]</th><th>DOMIAS</th><th>distance</th>
<th>share closer to train</th><th>exact copies</th><th>DCR p5 syn→train</th><th>DCR p5 holdout→train</th>
<th>attribute risk [95% CI]</th></tr>
{% for m, e in r.methods.items() %}<tr><td class="l">{{ m }}</td><td>{{ '%.3f' % e.mia_auc }}
[{{ '%.2f' % e.mia_auc_ci95[0] }}, {{ '%.2f' % e.mia_auc_ci95[1] }}]</td>
<td>{{ '%.3f' % e.mia_auc_domias }}</td><td>{{ '%.3f' % e.mia_auc_distance }}</td>
<td>{{ '%.3f' % e.share_closer_to_train }}</td><td>{{ '%.3f' % e.exact_copy_rate }}</td>
<td>{{ '%.3f' % e.dcr_syn_train_p5 }}</td><td>{{ '%.3f' % e.dcr_holdout_train_p5 }}</td>
<td>{{ '%.3f' % e.attribute_inference.risk }} [{{ '%.2f' % e.attribute_inference.risk_ci95[0] }},
{{ '%.2f' % e.attribute_inference.risk_ci95[1] }}]</td></tr>{% endfor %}</table>
<p>Exact-copy baseline (holdout rows identical to a training row in public bins):
{{ '%.3f' % r.methods[r.method].exact_copy_rate_holdout_baseline }}. Membership AUC 0.5 = no information.</p>
{% set f = r.membership_floor %}{% if f and f.unseen_auc_mean is defined %}<p><b>How much of the membership
AUC is this split?</b> Refitted {{ f.draws }} time(s) on a random {{ f.n_seen }} of the training rows,
{{ r.method }} lets the attack score the {{ f.n_unseen }} training rows it never saw at
{{ '%.3f' % f.unseen_auc_mean }}{% if f.unseen_auc_se is not none %} ± {{ '%.3f' % f.unseen_auc_se }}{% endif %}
and the rows it saw at {{ '%.3f' % f.seen_auc_mean }}: the generator's own membership signal is
{{ '%+.3f' % f.excess_auc_mean }}{% if f.excess_auc_se is not none %} ± {{ '%.3f' % f.excess_auc_se }} (mean ± SE
over the refits){% else %} (one refit: no error bar){% endif %}. Unseen rows above 0.5 are the chance differences
between this split's training and holdout rows, which any faithful model reproduces: they measure the split, not
a leak of any record.</p>{% elif f %}<p>The split's membership floor was not measured: {{ f.not_measured }}</p>
{% endif %}
<p><b>Shadow-model attack on this engine at this ε</b> ({{ r.shadow_evidence.status }}{% if
r.shadow_evidence.rows and not r.shadow_evidence.on_this_data %}, measured on other data only{% endif %}):
{{ r.shadow_evidence.summary }}</p>
<h2>Utility</h2>
<table><tr><th class="l">method</th><th>TVD 1-way</th><th>2-way</th><th>3-way</th><th>analysis clique</th>
<th>TSTR C-index</th><th>HR {{ r.schema_exposure }}</th><th>interaction coef</th></tr>
<tr><td class="l">real (train on real)</td><td>0</td><td>0</td><td>0</td><td>0</td>
<td>{{ fmt(r.real.c_index) }}</td><td>{{ fmt(r.real.hazard_ratio) }}</td>
<td>{{ fmt(r.real.interaction.coef if r.real.interaction else None) }}</td></tr>
{% for m, e in r.methods.items() %}<tr><td class="l">{{ m }}</td><td>{{ '%.3f' % e.tvd_1way }}</td>
<td>{{ '%.3f' % e.tvd_2way }}</td><td>{{ '%.3f' % e.tvd_3way }}</td><td>{{ '%.3f' % e.tvd_analysis }}</td>
<td>{{ fmt(e.tstr.c_index) }}</td><td>{{ fmt(e.tstr.hazard_ratio) }}</td>
<td>{{ fmt(e.tstr.interaction.coef if e.tstr.interaction else None) }}</td></tr>{% endfor %}</table>
<img src="data:image/png;base64,{{ bars }}">
<h2>Survival by exposure, real vs released synthetic</h2><img src="data:image/png;base64,{{ km }}">
<h2>Definitions</h2><ul><li>MIA: DOMIAS density ratio (van Breugel et al. 2023) and distance to closest synthetic
record (Hayes et al. 2019), the DOMIAS reference being the holdout, leave-one-out; headline = the attacker's
choice of the two, cross-fitted (chosen on half of the records, scored on the other half, averaged over 25 random
halvings), with a DeLong 95% CI. The shadow-model attack (Shokri et al. 2017; Stadler et
al. 2022), which refits the generator hundreds of times, runs in <code>genmed bench privacy</code>.</li>
<li>Attribute inference: anonymeter's nearest-neighbour attack (Giomi et al. 2023), secret column
<code>{{ r.methods[r.method].attribute_inference.secret }}</code>.</li>
<li>TSTR: Cox model fitted on synthetic data, C-index on the real holdout; HR: unadjusted Cox HR of
{{ r.schema_exposure }}.</li></ul></body></html>"""


def render_report(res: dict[str, Any], real: pd.DataFrame, syn: pd.DataFrame, schema: CohortSchema) -> str:
    from jinja2 import Environment

    env = Environment(autoescape=True)

    def fmt(v):
        return "indeterminate" if v is None else f"{v:.3f}"

    r = {**res, "schema_exposure": f"{schema.exposure}={schema.exposure_level}"}
    return env.from_string(_TEMPLATE).render(r=_ns(r), km=_km_plot(real, syn, schema), bars=_metrics_plot(res),
                                             fmt=fmt)


class _NS(dict):
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None


def _ns(obj):
    if isinstance(obj, dict):
        return _NS({k: _ns(v) for k, v in obj.items()})
    if isinstance(obj, list):
        return [_ns(v) for v in obj]
    return obj
