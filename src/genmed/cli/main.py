"""Entry point of the ``genmed`` command.

Start-up stays light: ``genmed --help`` imports no torch/RDKit. Each capability's Typer app lives in its own
module and is imported only when its subcommand is invoked. Errors derived from :class:`GenmedError` print one
line and exit with their code; nothing else is caught, so real bugs keep their traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

# name -> (module, one-line help). Order is the order shown in --help (the flow of a patient through genmed).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("genmed.cli.demo", "Run the main job on the bundled example (what `make demo` runs)."),
    "plan": ("genmed.cli.plan", "The main job: a personalized treatment plan from a FHIR record + VCF."),
    "pgx": ("genmed.cli.pgx", "Pharmacogenomics: VCF -> diplotypes, phenotypes, CPIC/DPWG recommendations, dosing."),
    "response": ("genmed.cli.response", "Treatment-response models and digital twins trained on randomised trials."),
    "chem": ("genmed.cli.chem", "Chemical language model: train the prior, sample, transfer-learn, design molecules."),
    "design": ("genmed.cli.design", "Goal-directed molecule design (RL on the prior, graph GA) against declared objectives."),
    "imaging": ("genmed.cli.imaging", "Medical images: calibrated diagnosis, anomaly maps, saliency."),
    "omics": ("genmed.cli.omics", "Single-cell/omics generative models: simulate, perturb, find driver genes."),
    "privacy": ("genmed.cli.privacy", "De-identification, DP synthetic cohorts, privacy audit, access log."),
    "report": ("genmed.cli.report", "Render saved results (plans, design runs) as HTML/PDF/FHIR."),
    "service": ("genmed.cli.service", "The REST API (FastAPI): plans, PGx calls, de-identification; API keys."),
    "data": ("genmed.cli.data", "Fetch and locate external data sets (GENMED_DATA_DIR)."),
    "bench": ("genmed.cli.bench", "Benchmarks against published numbers; writes BENCHMARKS.md."),
    "runs": ("genmed.cli.runs", "List runs recorded in the embedded store."),
}

HELP = """genmed: generative AI for personalized medicine.

One patient, one molecule model, four capabilities: treatment plans (pgx + response), molecule design (chem),
diagnostics (imaging) and omics, with privacy and provenance throughout. Run `genmed COMMAND --help` for details.
"""


def build_app(invoked: str | None) -> typer.Typer:
    app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_enable=False)
    for name, (module, help_text) in SUBCOMMANDS.items():
        if name == invoked:
            try:
                sub = importlib.import_module(module).app
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                sub = typer.Typer(help=help_text + " (not available in this build)")
            app.add_typer(sub, name=name, help=help_text)
        else:
            # placeholder so `genmed --help` lists every group without importing it
            app.add_typer(typer.Typer(help=help_text), name=name, help=help_text)

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
    ) -> None:
        if version:
            from genmed import __version__

            typer.echo(__version__)
            raise typer.Exit()

    return app


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    invoked = next((a for a in argv if not a.startswith("-")), None)
    app = build_app(invoked)
    from genmed.core.errors import GenmedError

    try:
        app(args=argv, prog_name="genmed", standalone_mode=True)
    except GenmedError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()
