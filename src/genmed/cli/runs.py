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
