"""`genmed runs`: what ran, when, where its files are."""

from __future__ import annotations

import typer

from genmed.cli._common import emit

app = typer.Typer(help="Runs recorded in the embedded store (SQLite by default; GENMED_DB_URL to change).",
                  no_args_is_help=True)


@app.command("list")
def list_(
    kind: str = typer.Option(None, help="Only runs of this kind (plan, prior-training, design, ...)."),
    limit: int = typer.Option(20, min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List recent runs, newest first."""
    from genmed.core.storage import list_runs

    rows = list_runs(kind, limit)
    emit(rows, as_json, "\n".join(f"{r['started_at'][:19]}  {r['status']:<9} {r['kind']:<16} {r['run_dir']}"
                                 for r in rows) or "no runs yet")


@app.command()
def show(
    run_id: str = typer.Argument(..., help="Run id (from `genmed runs list`)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one run: status, directory, timings and summary (run.json when the directory still exists)."""
    import json
    from pathlib import Path

    from genmed.core.errors import InputError
    from genmed.core.storage import get_run

    row = get_run(run_id)
    if row is None:
        raise InputError(f"no run with id {run_id!r}", hint="see `genmed runs list`")
    run_json = Path(row["run_dir"]) / "run.json"
    if run_json.exists():
        row["run_json"] = json.loads(run_json.read_text())
    emit(row, as_json, json.dumps(row, indent=2, default=str))
