"""`genmed bench moses` and `genmed bench moses-train`: MOSES distribution-learning benchmark of the prior."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from genmed.cli._common import emit, progress_bar

ORDER = ["valid", "unique@1000", "unique@10000", "FCD/Test", "FCD/TestSF", "SNN/Test", "SNN/TestSF", "Frag/Test",
         "Frag/TestSF", "Scaf/Test", "Scaf/TestSF", "IntDiv", "IntDiv2", "Filters", "Novelty"]


def markdown_table(ours: dict[str, dict[str, float]], published_rows: list[str]) -> str:
    from genmed.chem.metrics.moses import PUBLISHED

    head = "| model | " + " | ".join(ORDER) + " |\n|---|" + "---|" * len(ORDER) + "\n"
    lines = []
    for name, m in ours.items():
        lines.append(f"| **{name}** | " + " | ".join(f"{m[k]:.4f}" if k in m else "–" for k in ORDER) + " |")
    for name in published_rows:
        m = PUBLISHED[name]
        lines.append(f"| {name} (published) | " + " | ".join(f"{m[k]:.3f}" if k in m else "–" for k in ORDER) + " |")
    return head + "\n".join(lines)


# The foundation issue's acceptance bars for the prior at 30,000 samples: (label, metric, direction, bar).
BARS = [("Valid", "valid", ">=", 0.95), ("Unique@10k", "unique@10000", ">=", 0.99), ("Novelty", "Novelty", ">=", 0.85),
        ("Filters", "Filters", ">=", 0.95), ("FCD/Test", "FCD/Test", "<=", 0.15)]


def bar_verdicts(metrics: dict[str, float]) -> str:
    """One line stating each bar, our value and whether it is met (never hand-edited)."""
    parts = []
    for label, key, op, bar in BARS:
        v = metrics.get(key)
        ok = v is not None and (v >= bar if op == ">=" else v <= bar)
        parts.append(f"{label} {op} {bar}: {'–' if v is None else f'{v:.4g}'} {'✓' if ok else '**not met**'}")
    return "**Bars:** " + " · ".join(parts)


def register(app: typer.Typer) -> None:
    @app.command("moses")
    def moses(
        n: int = typer.Option(30000, "--n", help="Samples (MOSES uses 30,000; FCD depends on the count)."),
        seed: int = typer.Option(0),
        prior_path: Path = typer.Option(None, "--prior", help="Prior checkpoint (default: shipped prior)."),
        temperature: float = typer.Option(1.0),
        out: Path = typer.Option(Path("runs/bench-moses"), help="Where samples and metrics.json go."),
        write: bool = typer.Option(True, help="Update BENCHMARKS.md."),
        section: str = typer.Option(
            None, help="BENCHMARKS.md section to write (default: 'moses' for the shipped prior, "
                       "'moses-<run directory name>' for a --prior checkpoint)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Sample from the prior and compute every MOSES metric; published MOSES rows beside ours."""
        from genmed.chem.io import write_molecules
        from genmed.chem.metrics.moses import PUBLISHED_SOURCE, compute_moses_metrics
        from genmed.chem.models.prior import default_prior_path, load_prior
        from genmed.chem.models.sampling import sample_molecules
        from genmed.core.benchmarks import update_section

        path = prior_path or default_prior_path()
        prior = load_prior(path)
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with progress_bar("sampling", n, enabled=not as_json) as advance:
            mols = sample_molecules(prior, n, temperature=temperature, seed=seed, progress=advance)
        t_sample = time.perf_counter() - t0
        write_molecules(out / "samples.csv", [{"smiles": m.smiles, "valid": m.valid} for m in mols])
        t1 = time.perf_counter()
        res = compute_moses_metrics([m.smiles for m in mols],
                                    progress=None if as_json else (lambda s: typer.echo(f"  computing {s}", err=True)))
        t_metrics = time.perf_counter() - t1
        md = prior.metadata
        doc = {"prior": str(path), "n": n, "seed": seed, "temperature": temperature, **res.as_dict(),
               "sampling_seconds": round(t_sample, 1), "metrics_seconds": round(t_metrics, 1),
               "prior_training": {k: md.get(k) for k in ("molecules_seen", "wall_minutes", "device_name",
                                                          "final_val_nll", "steps")}}
        (out / "metrics.json").write_text(json.dumps(doc, indent=2))
        if write:
            tr = doc["prior_training"]
            which = "the shipped prior" if prior_path is None else f"the prior `{path}`"
            body = (
                f"MOSES distribution-learning metrics of {which} ({n:,} samples, seed {seed}, "
                f"T={temperature}). Prior: 3x{prior.config.hidden_dim} LSTM, "
                f"{prior.num_parameters() / 1e6:.1f} M parameters, trained on the MOSES train split "
                f"({tr['molecules_seen']:,} molecules seen, {tr['wall_minutes']:.1f} min on {tr['device_name']}, "
                f"validation NLL {tr['final_val_nll']:.2f}). Sampling took {t_sample:.0f} s here.\n\n"
                + markdown_table({"genmed prior": res.metrics}, ["CharRNN", "VAE", "AAE", "JTN-VAE", "LatentGAN",
                                                                 "Train"])
                + f"\n\n{bar_verdicts(res.metrics)}\n\nPublished rows: {PUBLISHED_SOURCE}."
            )
            update_section(section or ("moses" if prior_path is None else f"moses-{path.parent.name}"), body)
        emit(doc, as_json, json.dumps(res.as_dict(), indent=2))

    @app.command("moses-train")
    def moses_train(
        n: int = typer.Option(0, "--n", help="Training molecules to score (0 = the whole train split, slow)."),
        seed: int = typer.Option(0),
        write: bool = typer.Option(True, help="Update BENCHMARKS.md."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Validate our metric implementation: score the MOSES train split against the test sets and compare with
        MOSES' published "Train" row."""
        import random

        from genmed.chem.metrics.moses import PUBLISHED_SOURCE, compute_moses_metrics, read_moses_split
        from genmed.core.benchmarks import update_section

        train = read_moses_split("train")
        gen = train if not n else random.Random(seed).sample(train, n)
        res = compute_moses_metrics(gen, train=train,
                                    progress=None if as_json else (lambda s: typer.echo(f"  computing {s}", err=True)))
        if write:
            body = (
                f"Check of our MOSES metric implementation: {len(gen):,} molecules of the MOSES train split "
                "scored as if generated. SNN, Frag, IntDiv and Filters should match the published Train row; FCD "
                "and Scaf depend on the sample count (the published row uses the full 1.58 M set).\n\n"
                + markdown_table({f"train ({len(gen):,})": res.metrics}, ["Train"])
                + f"\n\nPublished row: {PUBLISHED_SOURCE}."
            )
            update_section("moses-train", body)
        emit(res.as_dict(), as_json, json.dumps(res.as_dict(), indent=2))
