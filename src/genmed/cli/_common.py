"""Helpers shared by the CLI modules: JSON output, error wrapping, progress bars."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any

import typer

from genmed.core.errors import GenmedError


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or the human summary."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif human is not None:
        typer.echo(human)


def fail(exc: GenmedError) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True):
    """A rich progress bar on stderr; yields ``advance(n)``. Disabled for --json or non-interactive use."""
    if not enabled:
        yield lambda n=1, **_: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"), console=Console(stderr=True), transient=False,
    ) as prog:
        task = prog.add_task(description, total=total, info="")

        def advance(n: int = 1, *, completed: int | None = None, total: int | None = None, info: str = "") -> None:
            if total is not None:
                prog.update(task, total=total)
            if completed is not None:
                prog.update(task, completed=completed, info=info)
            else:
                prog.update(task, advance=n, info=info)

        yield advance
