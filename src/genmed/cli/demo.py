"""`genmed demo`: the main job on embedded defaults — what `make demo` runs on a fresh clone."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run the main job on the bundled example.", invoke_without_command=True)


@app.callback(invoke_without_command=True)
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Output directory."),
    n: int = typer.Option(1000, "--n", help="Molecules to sample for the gallery."),
    seed: int = typer.Option(0),
) -> None:
    """Sample molecules from the shipped prior and write molecules.csv + an HTML gallery with properties."""
    from genmed.chem.gallery import write_gallery
    from genmed.chem.io import write_molecules
    from genmed.chem.models.prior import default_prior_path, load_prior
    from genmed.chem.models.sampling import sample_molecules
    from genmed.cli._common import progress_bar
    from genmed.core.provenance import run_directory

    with run_directory("demo", out=out, config={"n": n}, seed=seed) as run:
        prior = load_prior(default_prior_path())
        with progress_bar("sampling", n) as advance:
            mols = sample_molecules(prior, n, seed=seed, progress=advance)
        rows = write_gallery([m.canonical_smiles for m in mols if m.valid], run.file("molecules.html"))
        write_molecules(run.file("molecules.csv"), rows)
        run.summary = {"sampled": n, "valid": sum(m.valid for m in mols)}
    typer.echo(f"wrote {out / 'molecules.csv'} and {out / 'molecules.html'}")
