"""`genmed design`: goal-directed molecule design against objectives declared in a TOML file."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Goal-directed molecule design (RL on the prior, graph GA) against declared objectives.",
                  no_args_is_help=True)


@app.command("run")
def run(
    config: Path = typer.Argument(..., help="design run TOML ([run], [scoring], [optimizer.NAME])"),
    out: Path = typer.Option(..., "--out", help="run directory (rerun with the same config to resume)"),
    optimizer: str = typer.Option(None, help="override run.optimizer: reinvent or graph-ga"),
    budget: int = typer.Option(None, help="override run.budget (unique oracle calls)"),
    seed: int = typer.Option(None, help="override run.seed"),
    workers: int = typer.Option(None, help="processes for ADMET-AI predictions and parallel docking jobs"),
    patient: Path = typer.Option(None, help="patient profile JSON (PGx phenotypes, conditions, medications)"),
    restart: bool = typer.Option(False, help="ignore a checkpoint in --out and start over"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
) -> None:
    """Design molecules; writes metrics.jsonl, top.csv/.sdf, pareto.csv and report.html to --out."""
    from genmed.chem.optimize.run import load_config, parse_config, run_design
    from genmed.cli._common import emit, progress_bar

    data = load_config(config)
    parse_config(data, str(config))  # fail on a bad config before drawing a progress bar
    total = budget or data.get("run", {}).get("budget", 1000)
    with progress_bar("design", total=total, enabled=not as_json) as advance:
        def on_progress(line):
            advance(completed=line["oracle_calls"],
                    info=f"best {line['best']:.3f} top10 {line['top10_mean']:.3f} div {line['top100_diversity']:.2f}")

        summary = run_design(config, out, optimizer=optimizer, budget=budget, seed=seed, workers=workers,
                             patient=patient, restart=restart, on_progress=on_progress)
    improved = summary["improved_over_baseline"]
    human = (
        f"{summary['optimizer']}: {summary['oracle_calls']} oracle calls, best {summary['best_score']:.3f}, "
        f"top-10 mean {summary['top10_mean']:.3f}, stop: {summary['stop_reason']}\n"
        f"improved over the starting distribution on "
        f"{sum(v for k, v in improved.items() if k != '__total__')}/{len(improved) - ('__total__' in improved)} "
        f"objectives\nreport: {out / 'report.html'}"
    )
    emit(summary, as_json, human=human)


@app.command("validate")
def validate(
    config: Path = typer.Argument(..., help="design run TOML"),
    patient: Path = typer.Option(None, help="patient profile JSON"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check a config (components, parameters, SMARTS, reference SMILES) without running anything."""
    from genmed.chem.optimize import OPTIMIZERS
    from genmed.chem.optimize.run import load_config, parse_config
    from genmed.chem.scoring import Scorer
    from genmed.cli._common import emit

    data = load_config(config)
    if patient is not None:
        data["patient"] = str(patient)
    cfg = parse_config(data, str(config))
    scoring = cfg.scoring.model_dump(exclude_none=True)
    facts = []
    if cfg.patient:
        from genmed.chem.optimize.patient import load_profile, merge_patient, patient_objectives

        extra = patient_objectives(load_profile(cfg.patient))
        facts = extra.facts
        scoring = merge_patient(scoring, extra)
    scorer = Scorer(scoring)
    OPTIMIZERS.get(cfg.run.optimizer)
    desc = {"valid": True, "scoring": scorer.describe(), "patient_facts": facts, "run": cfg.run.model_dump()}
    scorer.close()
    emit(desc, as_json, human=f"{config}: valid ({len(scorer.objectives)} objectives, {len(scorer.filters)} filters)")


@app.command("components")
def components(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the scoring components and their parameters."""
    from genmed.chem.scoring import COMPONENTS
    from genmed.cli._common import emit

    rows = []
    for name in COMPONENTS.names():
        cls = COMPONENTS.get(name)
        rows.append({"name": name, "description": cls.description,
                     "parameters": list(cls.Params.model_fields)})
    emit(rows, as_json, human="\n".join(f"{r['name']:<12} {r['description']}  params: {', '.join(r['parameters']) or '-'}"
                                         for r in rows))
