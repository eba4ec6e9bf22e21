"""`genmed response`: treatment-response models and digital twins trained on randomised trials.

Thin layer over :mod:`genmed.clinical`; heavy imports (scikit-survival) happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genmed.cli._common import emit
from genmed.core.errors import InputError

app = typer.Typer(help="Treatment-response models and digital twins trained on randomised trials.",
                  no_args_is_help=True)

DATASET_HELP = "trial: actg320 | veterans | gbsg2"


def _read_patient(path: Path) -> dict:
    """A patient JSON file: {"covariates": {...}} or a flat {name: value} mapping."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError("patient file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read patient file: {exc}", source=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno})", source=str(path)) from None
    if isinstance(doc, dict) and isinstance(doc.get("covariates"), dict):
        doc = doc["covariates"]
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object of covariates (or {\"covariates\": {...}})", source=str(path))
    return doc


def _calibration_plot(groups: list, path, title: str, horizon: float, unit: str) -> None:
    """Predicted vs observed event-free probability at the horizon, by quintile group."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    p = [g.predicted for g in groups]
    o = [g.observed for g in groups]
    err = np.array([[g.observed - g.observed_ci[0] for g in groups], [g.observed_ci[1] - g.observed for g in groups]])
    ax.errorbar(p, o, yerr=np.clip(err, 0, None), fmt="o", capsize=3, label="quintile groups (KM, 95% CI)")
    lo = min(min(p), min(o), 0.5)
    ax.plot([lo, 1], [lo, 1], "k--", lw=1, label="perfect calibration")
    ax.set_xlabel(f"predicted P(event-free at {horizon:g} {unit})")
    ax.set_ylabel("observed (Kaplan-Meier)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_twin(twin, path: Path) -> None:
    """Survival curve per arm with its 90% band, horizon marked (rendering stays out of genmed.clinical)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for arm in twin.arms.values():
        line, = ax.step(arm.times, arm.survival, where="post", label=f"{arm.label} (RMST {arm.rmst:.0f})")
        ax.fill_between(arm.times, arm.survival_lower, arm.survival_upper, step="post", alpha=0.2,
                        color=line.get_color())
    ax.axvline(twin.horizon, color="grey", lw=0.8, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"time ({twin.time_unit})")
    ax.set_ylabel(f"P(free of {twin.endpoint})")
    status = "" if twin.within_population else " - OUTSIDE VALIDATED POPULATION"
    ax.set_title(f"digital twin, {twin.trial} (90% bands){status}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@app.command("trials")
def trials_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the trials with their arms, endpoint and the covariates a patient must supply."""
    from genmed.clinical import list_trials, trial_schema

    docs = [trial_schema(t).to_dict() for t in list_trials()]
    human = "\n".join(
        f"{d['name']:<9} {d['title']}\n          arms: {', '.join(a['name'] for a in d['arms'])}; endpoint: "
        f"{d['endpoint']} ({d['time_unit']})\n          covariates: "
        + ", ".join(f"{c['name']}" + (f" [{c['unit']}]" if c["unit"] else "") for c in d["covariates"])
        for d in docs
    )
    emit(docs, as_json, human)


@app.command("schema")
def schema_cmd(dataset: str = typer.Argument(..., help=DATASET_HELP),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one trial's schema: covariates (units, allowed values), arms, published effect."""
    from genmed.clinical import trial_schema

    d = trial_schema(dataset).to_dict()
    rows = [f"{d['name']}: {d['title']}", f"endpoint: {d['endpoint']} (time in {d['time_unit']}); randomised: "
            f"{d['randomised']}", "arms:"]
    rows += [f"  {a['name']}: {a['label']} (aliases: {', '.join(a['aliases'])})" for a in d["arms"]]
    rows.append("required covariates:")
    for c in d["covariates"]:
        what = f"{c['unit']}, plausible {c['plausible'][0]:g}-{c['plausible'][1]:g}" if c["kind"] == "numeric" \
            else "one of " + "/".join(c["levels"])
        rows.append(f"  {c['name']:<24} {c['label']} ({what})")
    emit(d, as_json, "\n".join(rows))


@app.command("models")
def models_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the registered response models."""
    from genmed.clinical.models import RESPONSE_MODELS

    rows = [{"name": n, "kind": RESPONSE_MODELS.get(n).kind, "description": RESPONSE_MODELS.get(n).description}
            for n in RESPONSE_MODELS.names()]
    emit(rows, as_json, "\n".join(f"{r['name']:<16} [{r['kind']}] {r['description']}" for r in rows))


@app.command("train")
def train_cmd(
    dataset: str = typer.Option(..., "--dataset", "-d", help=DATASET_HELP),
    model: str = typer.Option("cox-interaction", "--model", "-m",
                              help="registered model, or 'auto' (best CV C-index among the survival models)"),
    bootstrap: int = typer.Option(200, "--bootstrap", "-b", min=5, help="bootstrap replicates (90% intervals)"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", "-o", help="run directory (default runs/<id>)"),
    ship: bool = typer.Option(False, "--ship", help="also install as the package's default twin model"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train a digital-twin model (bootstrap ensemble) on a trial; writes the model, metrics and run.json."""
    from genmed.cli._common import progress_bar
    from genmed.clinical.ensemble import WEIGHTS_DIR, train_cox_ensemble, train_model_ensemble
    from genmed.clinical.evaluation import select_model
    from genmed.clinical.models import RESPONSE_MODELS
    from genmed.clinical.trials import trial_schema
    from genmed.core.provenance import run_directory

    schema = trial_schema(dataset)
    selection = None
    if model == "auto":
        model, selection = select_model(schema.name, ["cox", "cox-interaction", "t-cox", "rsf", "gbsa"], seed=seed)
    RESPONSE_MODELS.get(model)  # clear error for unknown names before any work
    if ship and model != "cox-interaction":
        raise InputError("--ship installs the default twin model, which is cox-interaction",
                         hint="train other models with --out and pass --model DIR to `genmed response predict`")
    config = {"dataset": schema.name, "model": model, "bootstrap": bootstrap, "seed": seed}
    with run_directory("response-train", out=out, config=config, seed=seed) as run, \
            progress_bar(f"bootstrap {model}", bootstrap, enabled=not as_json) as advance:
        with run.timed("train"):
            if model == "cox-interaction":
                ens = train_cox_ensemble(schema.name, n_bootstrap=bootstrap, seed=seed,
                                         progress=lambda n: advance(completed=n))
                files = [str(p) for p in ens.save(run.path / schema.name)]
                if ship:
                    files += [str(p) for p in ens.save(WEIGHTS_DIR / schema.name)]
            else:
                ens = train_model_ensemble(schema.name, model, n_bootstrap=bootstrap, seed=seed,
                                           progress=lambda n: advance(completed=n))
                files = [str(ens.save(run.path / schema.name))]
        if selection:
            ens.meta["selection"] = selection
        run.outputs.extend(Path(f).name for f in files)
        run.summary = {"model": model, "cv": ens.meta.get("cv"), "n_bootstrap": bootstrap}
        (run.path / "metrics.json").write_text(json.dumps({"cv": ens.meta.get("cv"), "selection": selection},
                                                          indent=2))
    cv = ens.meta.get("cv", {})
    emit({"run_dir": str(run.path), "model": model, "files": files, "cv": cv, "selection": selection}, as_json,
         f"trained {model} on {schema.name} ({bootstrap} bootstrap replicates): CV C-index "
         f"{cv.get('c_index')} ± {cv.get('c_index_sd')}, IBS {cv.get('ibs')}\nmodel: {run.path}")


def _twin(dataset, model_dir, patient, arms, horizon, samples, seed):
    from genmed.clinical import digital_twin, load_model

    covariates = _read_patient(patient)
    ens = None
    if model_dir is not None:
        ens = load_model(str(model_dir))
        dataset = dataset or ens.trial
    if dataset is None:
        raise InputError("give --dataset NAME or --model DIR")
    arm_list = [a.strip() for a in arms.split(",")] if arms else None
    return digital_twin(dataset, covariates, arms=arm_list, horizon=horizon, seed=seed, n_samples=samples, model=ens)


@app.command("predict")
def predict_cmd(
    patient: Path = typer.Option(..., "--patient", "-p", help="patient JSON: {name: value} or {covariates: {...}}"),
    model_dir: Path = typer.Option(None, "--model", "-m", help="model trained by `genmed response train`"),
    dataset: str = typer.Option(None, "--dataset", "-d", help=DATASET_HELP + " (uses the shipped model)"),
    arms: str = typer.Option(None, "--arms", help="comma-separated arms; first is the reference"),
    horizon: float = typer.Option(None, "--horizon", help="RMST horizon in the trial's time unit"),
    samples: int = typer.Option(20, "--samples", min=0, help="sampled counterfactual trajectories"),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Predict one patient's survival under each arm (90% intervals), RMST gain and P(benefit)."""
    twin = _twin(dataset, model_dir, patient, arms, horizon, samples, seed)
    emit(twin.to_dict(), as_json, twin.summary())


@app.command("twin")
def twin_cmd(
    dataset: str = typer.Option(..., "--dataset", "-d", help=DATASET_HELP),
    patient: Path = typer.Option(..., "--patient", "-p", help="patient JSON"),
    model_dir: Path = typer.Option(None, "--model", "-m", help="model trained by `genmed response train`"),
    arms: str = typer.Option(None, "--arms"),
    horizon: float = typer.Option(None, "--horizon"),
    samples: int = typer.Option(200, "--samples", min=0),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", "-o", help="run directory for twin.json + curves.png"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The full digital twin: curves with intervals, RMST gain, P(benefit), sampled trajectories, explanation."""
    from genmed.core.provenance import run_directory

    twin = _twin(dataset, model_dir, patient, arms, horizon, samples, seed)
    with run_directory("response-twin", out=out, config={"dataset": twin.trial, "horizon": twin.horizon,
                                                        "samples": samples}, seed=seed) as run:
        run.file("twin.json").write_text(json.dumps(twin.to_dict(), indent=2, default=str))
        _plot_twin(twin, run.file("curves.png"))
        run.summary = {"status": twin.status, "best_arm": twin.best_arm(),
                       "comparisons": [c.__dict__ for c in twin.comparisons]}
    emit({**twin.to_dict(), "run_dir": str(run.path)}, as_json, twin.summary() + f"\nwritten: {run.path}")


@app.command("validate")
def validate_cmd(
    dataset: str = typer.Option(..., "--dataset", "-d", help=DATASET_HELP),
    models: str = typer.Option(None, "--models", help="comma-separated candidates (default: all survival models)"),
    folds: int = typer.Option(5, "--folds", min=2, max=20),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", "-o", help="run directory (report.json, report.md, calibration.png)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Cross-validated C-index / integrated Brier score, calibration, and the trial's published effect reproduced."""
    from genmed.clinical.evaluation import CalibrationGroup
    from genmed.clinical.models import RESPONSE_MODELS
    from genmed.clinical.trials import trial_schema
    from genmed.clinical.validation import validate_trial
    from genmed.core.provenance import run_directory

    schema = trial_schema(dataset)
    candidates = [m.strip() for m in models.split(",")] if models else None
    for m in candidates or []:
        RESPONSE_MODELS.get(m)
    with run_directory("response-validate", out=out, config={"dataset": schema.name, "models": candidates,
                                                             "folds": folds}, seed=seed) as run:
        report = validate_trial(schema.name, candidates=candidates, folds=folds, seed=seed)
        png = run.file(f"calibration_{schema.name}.png")
        _calibration_plot([CalibrationGroup(**g) for g in report.calibration], png,
                          f"{schema.name}: cox-interaction (twin model), out-of-fold", report.horizon, report.time_unit)
        report.files["calibration_plot"] = str(png)
        run.file("report.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
        run.file("report.md").write_text(report.markdown() + "\n")
        run.summary = {"best_model": report.best_model, "cv": report.cv, "verdict": report.verdict}
    emit({**report.to_dict(), "run_dir": str(run.path)}, as_json, report.markdown() + f"\n\nwritten: {run.path}")
