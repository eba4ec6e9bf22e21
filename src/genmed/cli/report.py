"""`genmed report`: render a saved plan.json again (HTML, PDF, FHIR CarePlan) without re-running the plan."""

from __future__ import annotations

from pathlib import Path

import typer

from genmed.cli._common import emit

app = typer.Typer(help="Render saved results (plans) as HTML/PDF/FHIR.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Render saved results (plans) as HTML/PDF/FHIR."""


@app.command("plan")
def plan_cmd(
    plan_json: Path = typer.Argument(..., help="A plan.json, or a plan run folder holding one."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    fmt: str = typer.Option("html,pdf,fhir", "--format", "-f", help="Comma-separated: html, pdf, json, fhir."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-render a plan. plan.json holds no identifiers, so the report is de-identified."""
    from genmed.plan.runner import load_plan, parse_formats, write_outputs

    plan = load_plan(plan_json)
    files = write_outputs(plan, out, parse_formats(fmt), identity=None, deidentify=True)
    data = {k: str(v) for k, v in files.items()}
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))
