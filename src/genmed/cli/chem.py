"""`genmed chem`: the chemical language model prior — train it, sample from it, fine-tune it on your actives."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from genmed.cli._common import emit, progress_bar
from genmed.core.errors import InputError, ModelNotFoundError

app = typer.Typer(
    help="Chemical language model (SMILES LSTM prior): train on MOSES, sample molecules, transfer-learn.",
    no_args_is_help=True,
)


def _load_prior(path: Path | None, device: str = "cpu"):
    from genmed.chem.models.prior import default_prior_path, load_prior

    path = path or default_prior_path()
    try:
        return load_prior(path, device=device)
    except FileNotFoundError:
        raise ModelNotFoundError(
            "prior checkpoint not found", source=str(path),
            hint="train one with `genmed chem train-prior` or pass --prior PATH",
        ) from None
    except ValueError as exc:
        raise ModelNotFoundError(str(exc), source=str(path)) from None


@app.command("train-prior")
def train_prior_cmd(
    out: Path = typer.Option(..., "--out", help="Run directory: checkpoint.pt (resumable), prior.pt, logs."),
    data: str = typer.Option("moses", help="'moses' (train split from the installed molsets package) or a "
                                            "SMILES/CSV file."),
    epochs: float = typer.Option(3.0, help="Passes over the data; the LR decays to the end of this budget."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(2e-3, min=0),
    max_minutes: float = typer.Option(0.0, help="Wall-clock budget; the LR schedule ends here if it comes first."),
    device: str = typer.Option("auto", help="cpu, cuda or auto."),
    precision: str = typer.Option("bf16", help="bf16 autocast (fast on AMX CPUs/GPUs) or fp32."),
    threads: int = typer.Option(0, help="torch CPU threads (0 = default)."),
    hidden_dim: int = typer.Option(512),
    num_layers: int = typer.Option(3),
    dropout: float = typer.Option(0.0),
    seed: int = typer.Option(42),
) -> None:
    """Train the SMILES prior. Re-run the same command to resume from the last checkpoint."""
    from dataclasses import asdict

    from genmed.chem.models.prior import PriorConfig
    from genmed.chem.models.train import TrainConfig, read_smiles_file, train_prior
    from genmed.core.provenance import run_directory

    if precision not in ("bf16", "fp32"):
        raise InputError(f"--precision must be bf16 or fp32, got {precision!r}")
    if data == "moses":
        from genmed.chem.metrics.moses import read_moses_split

        smiles = read_moses_split("train")
    else:
        if not Path(data).exists():
            raise InputError("training data file not found", source=data)
        smiles = read_smiles_file(data)
    cfg = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, max_minutes=max_minutes, device=device, precision=precision,
        threads=threads, seed=seed, prior=PriorConfig(hidden_dim=hidden_dim, num_layers=num_layers, dropout=dropout),
    )
    with run_directory("prior-training", out=out, config=asdict(cfg), seed=seed) as run, \
            progress_bar("training prior", None) as advance:
        def prog(step, total, info):
            advance(completed=step, total=total, info=f"loss {info['loss']:.3f} lr {info['lr']:.1e}")

        prior = train_prior(smiles, out, cfg, progress=prog, log=lambda m: None)
        run.summary = prior.metadata
    typer.echo(f"prior written to {out / 'prior.pt'} (val NLL {prior.metadata.get('final_val_nll')})")


@app.command()
def sample(
    n: int = typer.Option(1000, "--n", min=1, help="Number of SMILES to sample."),
    out: Path = typer.Option(..., "--out", help="Output .csv or .sdf."),
    temperature: float = typer.Option(1.0, min=0.01, help=">1 more diverse, <1 more conservative."),
    seed: int = typer.Option(None, help="Random seed (reproducible samples)."),
    prior_path: Path = typer.Option(None, "--prior", help="Prior checkpoint (default: the shipped prior)."),
    batch_size: int = typer.Option(2000, min=1),
    standardize: bool = typer.Option(False, help="Also strip salts / neutralise (canonical SMILES always)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Sample molecules: CSV/SDF with the generated SMILES, validity, canonical SMILES and log-likelihood."""
    from genmed.chem.io import write_molecules

    if out.suffix.lower() not in (".csv", ".sdf", ".tsv"):
        raise InputError("output must end in .csv, .tsv or .sdf", source=str(out))
    t0 = time.perf_counter()
    from genmed.chem.models.sampling import sample_molecules

    prior = _load_prior(prior_path)
    with progress_bar("sampling", n, enabled=not as_json) as advance:
        mols = sample_molecules(prior, n, temperature=temperature, seed=seed, batch_size=batch_size,
                                standardize=standardize, progress=advance)
    rows = [
        {"smiles": m.canonical_smiles or m.smiles, "generated_smiles": m.smiles, "valid": m.valid,
         "canonical_smiles": m.canonical_smiles or "", "log_likelihood": round(m.log_likelihood, 4)}
        for m in mols
    ]
    write_molecules(out, rows)
    elapsed = time.perf_counter() - t0
    n_valid = sum(m.valid for m in mols)
    summary = {"out": str(out), "n": n, "valid": n_valid, "validity": n_valid / n,
               "unique_valid": len({m.canonical_smiles for m in mols if m.valid}), "seconds": round(elapsed, 2),
               "valid_per_second": round(n_valid / elapsed, 1)}
    emit(summary, as_json, f"{n_valid}/{n} valid ({summary['validity']:.1%}), {summary['valid_per_second']} valid/s "
                           f"-> {out}")


@app.command()
def transfer(
    smiles: Path = typer.Option(..., "--smiles", help="Actives (.smi/.csv/.sdf) to fine-tune on."),
    out: Path = typer.Option(..., "--out", help="Directory for the fine-tuned prior.pt and history."),
    prior_path: Path = typer.Option(None, "--prior", help="Starting prior (default: the shipped prior)."),
    epochs: int = typer.Option(100, min=1),
    patience: int = typer.Option(5, min=1, help="Stop after this many epochs without held-out improvement."),
    lr: float = typer.Option(1e-4, min=0),
    holdout: float = typer.Option(0.2, min=0.05, max=0.5, help="Fraction held out for early stopping."),
    augment: int = typer.Option(0, min=0, help="Randomized SMILES per molecule and epoch."),
    seed: int = typer.Option(42),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Transfer learning: focus the prior on a chemical series (REINVENT's TL), with early stopping."""
    import json

    from genmed.chem.io import read_molecules
    from genmed.chem.models.transfer import TransferConfig, transfer_learn
    from genmed.core.provenance import run_directory

    table = read_molecules(smiles)
    if table.errors:
        typer.echo(table.error_report(), err=True)
    actives = [r.smiles for r in table.valid]
    prior = _load_prior(prior_path)
    unknown = [s for s in actives if prior.vocab.has_unknown(s)]
    if len(actives) - len(unknown) < 5:
        raise InputError(f"need at least 5 valid molecules the prior can encode, got {len(actives) - len(unknown)}",
                         source=str(smiles))
    cfg = TransferConfig(epochs=epochs, lr=lr, holdout_fraction=holdout, patience=patience, seed=seed,
                         augment=augment)
    with run_directory("transfer-learning", out=out, config=cfg.__dict__, seed=seed) as run, \
            progress_bar("fine-tuning", epochs, enabled=not as_json) as advance:
        res = transfer_learn(prior, actives, cfg, log=lambda r: advance(info=f"held-out NLL {r['holdout_nll']:.2f}"))
        res.prior.save(out / "prior.pt")
        (out / "history.json").write_text(json.dumps(res.history, indent=2))
        run.summary = {"best_epoch": res.best_epoch, "n_train": res.n_train, "n_holdout": res.n_holdout,
                       "skipped_unencodable": len(unknown), "skipped_invalid": len(table.errors)}
    emit(run.summary | {"prior": str(out / "prior.pt")}, as_json,
         f"fine-tuned prior -> {out / 'prior.pt'} (best epoch {res.best_epoch}, "
         f"held-out NLL {res.history[res.best_epoch]['holdout_nll']:.2f} from {res.history[0]['holdout_nll']:.2f})")
