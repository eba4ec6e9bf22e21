"""`genmed bench response`: treatment-response models vs published numbers; writes the BENCHMARKS.md section.

Per trial: cross-validated C-index / integrated Brier score of every survival model (Cox PH baseline included),
the trial's published hazard ratio beside ours, and, for GBSG-2, scikit-survival's published random-survival-forest
C-index re-run with its exact protocol. Then the semi-synthetic PEHE comparison with EconML and CausalML, and the
latency of one digital twin.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

# scikit-survival user guide, "Using Random Survival Forests" (GBSG-2, 25% hold-out, random_state=20,
# 1000 trees, min_samples_split=10, min_samples_leaf=15, max_features="sqrt"): test C-index 0.676.
SKSURV_RSF_GBSG2 = 0.6759696016771488
SKSURV_RSF_SOURCE = ("scikit-survival user guide, 'Using Random Survival Forests' "
                     "(doc/user_guide/random-survival-forest.ipynb)")


def sksurv_rsf_protocol(n_estimators: int = 1000) -> float:
    """Re-run the published scikit-survival RSF example on GBSG-2 with its exact split and settings."""
    import numpy as np
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OrdinalEncoder
    from sksurv.datasets import load_gbsg2
    from sksurv.ensemble import RandomSurvivalForest
    from sksurv.preprocessing import OneHotEncoder

    X, y = load_gbsg2()
    grade = OrdinalEncoder(categories=[["I", "II", "III"]]).fit_transform(
        X.loc[:, "tgrade"].astype(object).values[:, np.newaxis])
    Xt = OneHotEncoder().fit_transform(X.drop("tgrade", axis=1))
    Xt.loc[:, "tgrade"] = grade
    X_train, X_test, y_train, y_test = train_test_split(Xt, y, test_size=0.25, random_state=20)
    rsf = RandomSurvivalForest(n_estimators=n_estimators, min_samples_split=10, min_samples_leaf=15,
                               max_features="sqrt", n_jobs=1, random_state=20)
    rsf.fit(X_train, y_train)
    return float(rsf.score(X_test, y_test))


def twin_latency(repeats: int = 30) -> dict[str, float]:
    """Median wall time of one digital twin (all arms, 90% intervals) after the model is loaded."""
    import numpy as np

    from genmed.clinical import digital_twin

    patient = {"age": 40, "cd4": 30, "karnofsky": 90, "months_prior_zdv": 24, "iv_drug_use": "never",
               "hemophilia": "no", "sex": "male", "race_ethnicity": "white non-hispanic"}
    import subprocess
    import sys

    code = ("import time; t0 = time.perf_counter(); from genmed.clinical import digital_twin; "
            f"digital_twin('actg320', {patient!r}, n_samples=0, explain=False); "
            "print(time.perf_counter() - t0)")
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = {"first_call_s": float(fresh.stdout.strip().splitlines()[-1])}
    digital_twin("actg320", patient, n_samples=0, explain=False)
    for label, kw in (("prediction_ms", {"n_samples": 0, "explain": False}),
                      ("full_twin_ms", {"n_samples": 200, "explain": True})):
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            digital_twin("actg320", patient, **kw)
            ts.append(time.perf_counter() - t0)
        out[label] = float(np.median(ts) * 1000)
    return out


def run(quick: bool = False, seeds: int = 3) -> dict[str, Any]:
    import warnings

    from genmed.clinical.semisynthetic import run_pehe
    from genmed.clinical.validation import validate_trial

    warnings.filterwarnings("ignore")
    results: dict[str, Any] = {"validation": {}, "pehe": [], "latency": None, "sksurv_rsf": None}
    for trial in ("actg320", "actg320-death", "veterans", "gbsg2"):
        results["validation"][trial] = validate_trial(trial).to_dict()
    results["sksurv_rsf_trees"] = 200 if quick else 1000
    results["sksurv_rsf"] = sksurv_rsf_protocol(results["sksurv_rsf_trees"])
    for censored in (False, True):
        # simulations 100+ were never looked at while designing the learners (seeds 0-2 were): honest numbers
        results["pehe"].append(run_pehe("actg320", seeds=tuple(range(100, 100 + (1 if quick else seeds))),
                                        censored=censored))
    results["latency"] = twin_latency(10 if quick else 30)
    return results


def markdown(results: dict[str, Any]) -> str:
    from genmed.clinical.validation import ValidationReport

    parts = ["Treatment-response models on scikit-survival's bundled randomised-trial data (offline). C-index: "
             "Harrell's, of -RMST to the horizon under the arm received; integrated Brier score: scikit-survival "
             "(IPCW) over the 10th-80th percentile of test follow-up; 5-fold CV stratified by arm x event, seed 0. "
             "The digital twin uses `cox-interaction` (shipped bootstrap ensemble, B=200)."]
    for rep in results["validation"].values():
        parts.append(ValidationReport(**rep).markdown())
    kind = results.get("sksurv_rsf_trees")
    parts.append(
        f"Published C-index for the same data: random survival forest on GBSG-2, {SKSURV_RSF_GBSG2:.3f} "
        f"({SKSURV_RSF_SOURCE}; one 25% hold-out). Its exact protocol re-run here ({kind} trees): "
        f"{results['sksurv_rsf']:.3f}. Our 5-fold CV RSF/GBSA numbers above are the comparable figures; no published "
        "cross-validated C-index for ACTG 320 or the Veterans trial with these covariates was found, so the Cox PH "
        "baseline is the reference there.")
    for pe in results["pehe"]:
        setting = "random censoring" if pe["censored"] else "no censoring"
        rows = ["| learner | PEHE (RMST days) | abs. ATE error | time (s) |", "|---|---|---|---|"]
        for r in pe["rows"]:
            name = f"**{r['learner']}** (genmed)" if r["ours"] else r["learner"]
            rows.append(f"| {name} | {r['pehe']:.1f} ± {r['pehe_sd']:.1f} | {r['ate_abs_error']:.1f} | "
                        f"{r['seconds']:.1f} |")
        ours = [r for r in pe["rows"] if r["ours"]]
        theirs = [r for r in pe["rows"] if r["learner"].startswith(("EconML", "CausalML"))]
        verdict = ""
        if ours and theirs:
            b_o, b_t = min(ours, key=lambda r: r["pehe"]), min(theirs, key=lambda r: r["pehe"])
            gap = b_o["pehe"] - b_t["pehe"]
            noise = max(b_o["pehe_sd"], b_t["pehe_sd"])
            verdict = (f"Best of ours: {b_o['learner']} {b_o['pehe']:.1f}; best baseline: {b_t['learner']} "
                       f"{b_t['pehe']:.1f} ({'ours better by' if gap <= 0 else 'gap'} {abs(gap):.1f} days"
                       + ("; within the spread across simulations, i.e. a tie" if abs(gap) < noise else "") + ").")
        parts.append(
            f"Semi-synthetic heterogeneity ({pe['trial']} real covariates, Weibull PH outcomes with a known non-linear "
            f"treatment log-HR, {setting}; RMST horizon {pe['horizon']:g} days; {len(pe['seeds'])} simulations x "
            "70/30 split; PEHE = RMSE of the individual RMST gain on the test split, mean ± sd over simulations; "
            "simulation seeds 100+, disjoint from the seeds 0-2 used while designing our learners):\n\n"
            + "\n".join(rows) + ("\n\n" + verdict if verdict else "")
            + ("\n\n" + "; ".join(pe["notes"]) if pe["notes"] else ""))
    lat = results["latency"]
    parts.append(f"Digital twin latency (ACTG 320, one patient, both arms, 90% intervals from 200 bootstrap "
                 f"replicates, model loaded): prediction {lat['prediction_ms']:.1f} ms (target < 200 ms); with "
                 f"explanation + 200 sampled trajectories {lat['full_twin_ms']:.1f} ms; first call in a fresh "
                 f"process (imports + model load) {lat['first_call_s']:.2f} s.")
    return "\n\n".join(parts)


def register(app: typer.Typer) -> None:
    @app.command("response")
    def bench_response(
        quick: bool = typer.Option(False, "--quick", help="1 simulation, fewer trees (smoke run; not for the table)"),
        seeds: int = typer.Option(3, "--seeds", min=1, help="semi-synthetic simulations"),
        out: Path = typer.Option(None, "--out", help="also write the raw results as JSON here"),
        write: bool = typer.Option(True, "--write/--no-write", help="update BENCHMARKS.md"),
    ) -> None:
        """Response models: CV C-index/IBS per trial, published HRs reproduced, PEHE vs EconML/CausalML, latency."""
        from genmed.core.benchmarks import update_section

        results = run(quick=quick, seeds=seeds)
        md = markdown(results)
        if out:
            Path(out).write_text(json.dumps(results, indent=2, default=str))
        if write:
            path = update_section("response", md)
            typer.echo(f"updated {path}")
        typer.echo(md)
