"""`genmed bench`: benchmarks against published numbers; each writes its section of BENCHMARKS.md.

Each capability contributes commands from ``genmed/<capability>/bench.py`` by defining
``register(app: typer.Typer) -> None``; heavy imports stay inside the commands.
"""

from __future__ import annotations

import importlib

import typer

from genmed.core.datasets import CAPABILITIES

BENCH_MODULES = [f"genmed.{cap}.bench" for cap in CAPABILITIES] + ["genmed.chem.optimize.bench"]
app = typer.Typer(help="Benchmarks against published numbers (results go to BENCHMARKS.md).", no_args_is_help=True)

for _name in BENCH_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:
        if _exc.name is None or not _name.startswith(_exc.name):
            raise
        continue
    _mod.register(app)
