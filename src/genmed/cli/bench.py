"""`genmed bench`: benchmarks against published numbers; each writes its section of BENCHMARKS.md.

Each capability contributes commands from ``genmed/<capability>/bench.py`` by defining
``register(app: typer.Typer) -> None``; heavy imports stay inside the commands.
"""

from __future__ import annotations

import importlib

import typer

from genmed.core.datasets import CAPABILITIES

app = typer.Typer(help="Benchmarks against published numbers (results go to BENCHMARKS.md).", no_args_is_help=True)

for _cap in CAPABILITIES:
    try:
        _mod = importlib.import_module(f"genmed.{_cap}.bench")
    except ModuleNotFoundError as _exc:
        if _exc.name not in (f"genmed.{_cap}.bench", f"genmed.{_cap}"):
            raise
        continue
    _mod.register(app)
