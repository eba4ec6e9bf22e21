"""`genmed demo`: the main job on embedded defaults — what `make demo` runs on a fresh clone.

The main job is the personalized treatment plan for the bundled example patient (FHIR bundle + VCF): PGx calls,
medication review, genotype-guided dosing, digital-twin response per option, written as report.html,
report.pdf, plan.json and careplan.json, and recorded in the embedded SQLite store.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Run the main job (treatment plan) on the bundled example patient.",
                  invoke_without_command=True)


@app.callback(invoke_without_command=True)
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Output directory."),
    example: str = typer.Option(None, "--example", help="Bundled example patient (see `genmed plan examples`)."),
    molecules: int = typer.Option(0, "--molecules", min=0,
                                  help="Also sample this many molecules from the prior into a gallery."),
    seed: int = typer.Option(0),
) -> None:
    """Plan for the example patient; optionally also a gallery of molecules sampled from the shipped prior."""
    from genmed.plan import run_example

    res = run_example(example, out / "plan", seed=seed)
    lines = [f"treatment plan for the example patient ({res.seconds:.1f} s):"]
    lines += [f"  {fmt:<5} {path}" for fmt, path in res.files.items()]
    if molecules:
        from genmed.chem.gallery import write_gallery
        from genmed.chem.io import write_molecules
        from genmed.chem.models.prior import default_prior_path, load_prior
        from genmed.chem.models.sampling import sample_molecules
        from genmed.cli._common import progress_bar
        from genmed.core.provenance import run_directory

        with run_directory("molecule-sampling", out=out / "molecules", config={"n": molecules}, seed=seed) as run:
            prior = load_prior(default_prior_path())
            with progress_bar("sampling", molecules) as advance:
                mols = sample_molecules(prior, molecules, seed=seed, progress=advance)
            rows = write_gallery([m.canonical_smiles for m in mols if m.valid], run.file("molecules.html"))
            write_molecules(run.file("molecules.csv"), rows)
            run.summary = {"sampled": molecules, "valid": sum(m.valid for m in mols)}
        lines.append(f"  molecules {out / 'molecules' / 'molecules.html'}")
    lines.append(f"open {out / 'plan' / 'report.html'} in a browser")
    typer.echo("\n".join(lines))
