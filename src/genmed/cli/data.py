"""`genmed data`: list, locate and fetch external data sets."""

from __future__ import annotations

import typer

from genmed.cli._common import emit

app = typer.Typer(help="External data sets: where genmed looks (GENMED_DATA_DIR) and how to fetch them.",
                  no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the data sets genmed knows, and whether each is present in the data directory."""
    from genmed.core.data import data_path
    from genmed.core.datasets import discover

    rows = []
    for name in discover():
        src = discover().get(name)
        present = all(data_path(f.dest, must_exist=False).exists() for f in src.files)
        rows.append({"name": name, "present": present, "description": src.description, "license": src.license})
    emit(rows, as_json, "\n".join(f"{'✓' if r['present'] else '·'} {r['name']:<28} {r['description']}" for r in rows))


@app.command()
def where(as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the data directory (GENMED_DATA_DIR, default ~/.genmed/data)."""
    from genmed.core.config import get_settings

    path = str(get_settings().resolved_data_dir)
    emit({"data_dir": path}, as_json, path)


@app.command("download", help="Same as `genmed data fetch` (the name some docs use).")
@app.command()
def fetch(
    name: str = typer.Argument(..., help="Data set name (see `genmed data list`)."),
    force: bool = typer.Option(False, help="Download again even if present."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Download a data set from its original public URL into the data directory."""
    from genmed.core.datasets import fetch as do_fetch

    paths = do_fetch(name, force=force)
    emit({"name": name, "files": [str(p) for p in paths]}, as_json, "\n".join(str(p) for p in paths))
