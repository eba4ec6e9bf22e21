"""`genmed omics`: latent models of cells, simulation, perturbation response, DE/driver genes, RNA + protein,
genomic risk from bulk expression. Thin: every command calls ``genmed.omics``; heavy imports inside commands."""

from __future__ import annotations

from pathlib import Path

import typer

from genmed.cli._common import emit

app = typer.Typer(help="Single-cell/omics generative models: simulate, perturb, find driver genes.",
                  no_args_is_help=True)
evaluate_app = typer.Typer(help="Validate models against real data and baselines.", no_args_is_help=True)
risk_app = typer.Typer(help="Genomic risk from bulk tumour expression (penalised Cox).", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(risk_app, name="risk")


def _threads(n: int) -> None:
    import torch

    torch.set_num_threads(max(1, n))


@app.command("info")
def info(data: str = typer.Argument(..., help="data set name (kang2018, pbmc10k-protein, eccite-pbmc) or a file"),
         adt: Path = typer.Option(None, help="separate ADT (protein counts) table"),
         json_out: bool = typer.Option(False, "--json")) -> None:
    """Describe an expression input: shape, counts vs log-normalised, which likelihoods apply, proteins."""
    from genmed.omics.io import attach_adt, detect_scale, load_dataset, protein_frame

    adata = load_dataset(data)
    if adt is not None:
        attach_adt(adata, adt)
    rep = detect_scale(adata.X)
    pf = protein_frame(adata)
    doc = {"source": adata.uns.get("genmed_source"), "n_cells": adata.n_obs, "n_genes": adata.n_vars,
           "scale": rep.as_dict(), "obs_columns": list(map(str, adata.obs.columns)),
           "proteins": [] if pf is None else list(map(str, pf.columns))}
    emit(doc, json_out, f"{doc['n_cells']} cells x {doc['n_genes']} genes; {rep.reason}; likelihoods: "
                        f"{', '.join(rep.likelihoods)}; proteins: {len(doc['proteins'])}")


@app.command("train")
def train(
    data: str = typer.Option(..., "--data", help="kang2018 | pbmc10k-protein | eccite-pbmc | path"),
    out: Path = typer.Option(..., "--out", help="model directory to write"),
    likelihood: str = typer.Option("nb", help="nb | zinb (counts) | gauss | zig (log-normalised; zig = "
                                   "zero-inflated Gaussian, best for simulation)"),
    genes: int = typer.Option(2000, help="number of highly variable genes (0 = all genes)"),
    latent: int = typer.Option(30, help="latent dimensions"),
    hidden: int = typer.Option(128, help="hidden units per layer"),
    epochs: int = typer.Option(100),
    covariates: str = typer.Option("", help="comma-separated categorical obs columns for encoder+decoder"),
    protein: bool = typer.Option(False, "--protein", help="joint RNA + protein model (totalVI-class)"),
    adt: Path = typer.Option(None, help="separate ADT table for --protein"),
    condition_key: str = typer.Option("", help="obs column of the perturbation condition (stores a reference)"),
    cell_type_key: str = typer.Option("", help="obs column of the cell type (stored in the reference)"),
    control: str = typer.Option("control", help="control label in --condition-key"),
    kl_weight: float = typer.Option(1.0),
    preset: str = typer.Option("", help="'scgen': the configuration validated by `evaluate perturbation` "
                               "(gauss, all genes, 256/50, KL weight 0.05); explicit options are ignored"),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1, help="torch threads (1 is fastest on a busy 2-core machine)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Train the latent generative model; writes weights, config, gene list, metrics and a latent reference."""
    from genmed.core.provenance import run_directory
    from genmed.omics.io import attach_adt, load_dataset
    from genmed.omics.model import ModelConfig, fit_latent_model, save_reference

    _threads(threads)
    cfg = ModelConfig(likelihood=likelihood, n_genes=genes or None, n_latent=latent, n_hidden=hidden, epochs=epochs,
                      covariates=[c for c in covariates.split(",") if c], protein=protein, kl_weight=kl_weight,
                      seed=seed, threads=threads)
    if preset:
        from genmed.core.errors import ConfigError
        from genmed.omics.perturb import ScGen

        if preset != "scgen":
            raise ConfigError(f"unknown preset {preset!r}", hint="known: scgen")
        cfg = ModelConfig(**{**cfg.__dict__, **ScGen.default_config, "covariates": []})
    adata = load_dataset(data)
    if adt is not None:
        attach_adt(adata, adt)
    with run_directory("omics-train", out=out, config={"data": data, **cfg.__dict__}, seed=seed) as run:
        with run.timed("train"):
            model = fit_latent_model(adata, cfg, out=out)
        save_reference(model, adata, out, condition_key=condition_key or None, cell_type_key=cell_type_key or None,
                       control=control if condition_key else None)
        run.summary = {k: model.metrics.get(k) for k in ("epochs_run", "s_per_epoch", "seconds", "val")}
    emit({"model": str(out), **run.summary}, json_out,
         f"trained {cfg.likelihood} model on {model.metrics['n_cells']} cells x {len(model.genes)} genes: "
         f"{model.metrics['epochs_run']} epochs, {model.metrics['s_per_epoch']} s/epoch -> {out}")


@app.command("simulate")
def simulate(
    model: str = typer.Option(..., "--model", help="model directory or shipped model name (kang2018, eccite-pbmc)"),
    n: int = typer.Option(1000, "--n"),
    cell_type: str = typer.Option(None, "--cell-type"),
    condition: str = typer.Option(None, "--condition"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(..., "--out", help="output .h5ad"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Simulate cells (posterior-predictive counts or expression) conditioned on cell type / condition."""
    from genmed.omics.model import LatentModel, read_reference
    from genmed.omics.simulate import simulate_cells

    m = LatentModel.load(model)
    ref = read_reference(m) or {}
    cond = {}
    if cell_type:
        cond[ref.get("cell_type_key") or "cell_type"] = cell_type
    if condition:
        cond[ref.get("condition_key") or "condition"] = condition
    adata = simulate_cells(m, n, conditions=cond, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    adata.write_h5ad(tmp)
    tmp.replace(out)
    info_ = adata.uns["genmed_simulation"]
    emit({"out": str(out), **info_}, json_out, f"simulated {n} cells ({m.scale}) in {info_['seconds']} s -> {out}")


@app.command("perturb")
def perturb(
    model: str = typer.Option(..., "--model", help="model directory or shipped model name"),
    cells: str = typer.Option(..., "--cells", help="control cells (.h5ad / 10x folder / table)"),
    perturbation: str = typer.Option(..., "--perturbation"),
    cell_type_key: str = typer.Option("cell_type", "--cell-type-key"),
    n_samples: int = typer.Option(20, help="posterior/bootstrap draws for the 90% intervals"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(..., "--out", help="output directory"),
    threads: int = typer.Option(1),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Predict the perturbed state of each cell type of a sample, with per-gene LFC and 90% intervals."""
    import json

    import pandas as pd

    from genmed.core.provenance import run_directory
    from genmed.omics.io import load_dataset
    from genmed.omics.perturb import predict_perturbation

    _threads(threads)
    adata = load_dataset(cells)
    with run_directory("omics-perturb", out=out, config={"model": model, "cells": cells,
                                                         "perturbation": perturbation}, seed=seed) as run:
        res = predict_perturbation(model, adata, perturbation, cell_type_key=cell_type_key, n_samples=n_samples,
                                   seed=seed, threads=threads)
        res.predicted.write_h5ad(run.file("predicted.h5ad"))
        frames = [c.lfc.assign(cell_type=c.cell_type) for c in res.cell_types if c.lfc is not None]
        if frames:
            pd.concat(frames).to_csv(run.file("lfc.csv"), index=False)
        doc = res.as_dict()
        run.file("prediction.json").write_text(json.dumps(doc, indent=2, default=float))
        run.summary = {"cell_types": [c.cell_type for c in res.cell_types], "flags": res.flags}
    lines = [res.statement, *res.flags]
    for c in res.cell_types:
        top = ", ".join(c.lfc.nlargest(5, "lfc_mean")["gene"]) if c.lfc is not None else "-"
        lines.append(f"{c.cell_type} ({c.n_cells} cells, {c.status}): top up {top}; {'; '.join(c.flags)}")
    emit(doc, json_out, "\n".join(lines))


@evaluate_app.command("perturbation")
def evaluate_perturbation_cmd(
    dataset: str = typer.Option("kang2018", "--dataset"),
    methods: str = typer.Option("scgen", help="comma-separated: scgen, cvae (baselines always run)"),
    cell_types: str = typer.Option("", help="comma-separated held-out cell types (default: all)"),
    condition_key: str = typer.Option("condition"),
    cell_type_key: str = typer.Option("cell_type"),
    control: str = typer.Option("control"),
    perturbation: str = typer.Option("stimulated"),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Leave-one-cell-type-out validation against real perturbed cells and the no-change/shift/linear baselines."""
    from genmed.omics.io import load_dataset
    from genmed.omics.perturb import PerturbationSpec, evaluate_perturbation

    _threads(threads)
    adata = load_dataset(dataset)
    spec = PerturbationSpec(condition_key, cell_type_key, control, perturbation)
    res = evaluate_perturbation(adata, spec, methods=tuple(m for m in methods.split(",") if m),
                                cell_types=[c for c in cell_types.split(",") if c] or None, seed=seed, threads=threads)
    lines = []
    for f in res["folds"]:
        lines.append(f["cell_type"] + ": " + "; ".join(
            f"{m} R2 all {r['r2_pearson_all']:.3f} top100 {r['r2_pearson_top100']:.3f}" for m, r in f["methods"].items()))
    emit(res, json_out, "\n".join(lines))


@app.command("de")
def de(
    model: str = typer.Option(..., "--model"),
    data: str = typer.Option(..., "--data"),
    groupby: str = typer.Option(..., "--groupby"),
    group1: str = typer.Option(..., "--group1"),
    group2: str = typer.Option(..., "--group2"),
    cell_type: str = typer.Option(None, "--cell-type"),
    cell_type_key: str = typer.Option("cell_type", "--cell-type-key"),
    delta: float = typer.Option(0.5, help="LFC threshold (log2) for P(LFC > δ), P(LFC < -δ), P(|LFC| <= δ)"),
    alpha: float = typer.Option(0.05, help="posterior expected FDR at which genes are called"),
    n_samples: int = typer.Option(100, help="posterior draws"),
    gmt: Path = typer.Option(None, help="gene sets (GMT) to score"),
    drivers: str = typer.Option(None, help="perturbation name: add driver genes with decoder-Jacobian contributions"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(..., "--out", help="output CSV"),
    threads: int = typer.Option(1),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Bayesian differential expression with posterior LFC intervals and expected-FDR calls (+ Wilcoxon column)."""
    from genmed.omics.de import differential_expression, driver_genes, gene_set_scores, read_gmt
    from genmed.omics.io import load_dataset
    from genmed.omics.model import LatentModel

    _threads(threads)
    sets = read_gmt(gmt) if gmt else None
    m = LatentModel.load(model)
    adata = load_dataset(data)
    res = differential_expression(m, adata, groupby=groupby, group1=group1, group2=group2, cell_type=cell_type,
                                  cell_type_key=cell_type_key, delta=delta, alpha=alpha, n_samples=n_samples, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    res.table.to_csv(tmp, index=False)
    tmp.replace(out)
    doc = res.summary()
    if drivers:
        sub = adata if cell_type is None else adata[(adata.obs[cell_type_key].astype(str) == cell_type).to_numpy()]
        sub = sub[(sub.obs[groupby].astype(str) == group2).to_numpy()]
        dg = driver_genes(m, res, sub, perturbation=drivers)
        dg.to_csv(out.with_name(out.stem + "_drivers.csv"), index=False)
        doc["drivers"] = dg.head(10).to_dict("records")
    if sets:
        gs = gene_set_scores(res, sets)
        gs.to_csv(out.with_name(out.stem + "_genesets.csv"), index=False)
        doc["gene_sets"] = gs.head(10).to_dict("records")
    emit(doc, json_out, f"{doc['n_called']} of {doc['n_genes']} genes called at expected FDR {alpha} "
                        f"(Wilcoxon BH: {doc['n_wilcoxon_called']}); top up: {', '.join(doc['top_up'])} -> {out}")


@risk_app.command("train")
def risk_train(
    dataset: str = typer.Option("gse7390", "--dataset", help="gse7390 | nki70 | gse4335 | gse1992 | DLBCL | chop"),
    out: Path = typer.Option(..., "--out"),
    model: str = typer.Option("clinical+expression", "--model", help="clinical+expression | expression | clinical"),
    seeds: int = typer.Option(5, help="repetitions of the 5-fold cross-validation"),
    seed: int = typer.Option(0),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Train a penalised Cox risk model on bulk expression; reports cross-validated C-index beside clinical-only."""
    from genmed.core.provenance import run_directory
    from genmed.omics.risk import train_risk_model

    with run_directory("omics-risk-train", out=out, config={"dataset": dataset, "model": model}, seed=seed) as run:
        doc = train_risk_model(dataset, out, kind=model, seed=seed, cv_seeds=seeds)
        run.summary = {"cv": doc["cv"]["c_index"]}
    cv = doc["cv"]["c_index"]
    emit({"model": str(out), "kind": doc["kind"], "cv": doc["cv"]}, json_out,
         "; ".join(f"{k}: C-index {v['mean']:.3f} ± {v['sd']:.3f}" for k, v in cv.items()) + f" -> {out}")


@risk_app.command("predict")
def risk_predict(
    model: Path = typer.Option(..., "--model"),
    expression: Path = typer.Option(..., "--expression", help="patient CSV: gene,value rows or one row of genes"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Risk of one patient with interval, driver genes and out-of-population flags (research use only)."""
    from genmed.omics.risk import genomic_risk, read_patient_expression

    res = genomic_risk(model, read_patient_expression(expression), source=str(expression))
    emit(res.as_dict(), json_out,
         f"risk percentile {res.percentile:.0f} (90% interval {res.percentile_lo90:.0f}-{res.percentile_hi90:.0f}), "
         f"group {res.risk_group}, model {res.model}; drivers: "
         + ", ".join(f"{d['feature']} ({d['direction']})" for d in res.drivers[:5])
         + ("; flags: " + "; ".join(res.flags) if res.flags else ""))


@app.command("impute-protein")
def impute_protein(
    model: str = typer.Option(..., "--model", help="an RNA + protein model"),
    data: str = typer.Option(..., "--data"),
    out: Path = typer.Option(..., "--out", help="output CSV (cells x proteins, expected counts from RNA only)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Predict every protein of each cell from its RNA alone (proteins hidden from the encoder)."""
    from genmed.omics.io import load_dataset
    from genmed.omics.model import LatentModel
    from genmed.omics.protein import impute_proteins

    m = LatentModel.load(model)
    if not m.proteins:
        from genmed.core.errors import InputError

        raise InputError("the model has no protein decoder", source=model, hint="train with `--protein`")
    adata = load_dataset(data)
    if "protein_expression" not in adata.obsm:  # imputation needs no measured proteins: fill zeros for alignment
        import numpy as np
        import pandas as pd

        adata.obsm["protein_expression"] = pd.DataFrame(np.zeros((adata.n_obs, len(m.proteins))),
                                                        index=adata.obs_names, columns=m.proteins)
    df = impute_proteins(m, adata)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out)
    emit({"out": str(out), "n_cells": len(df), "proteins": list(df.columns)}, json_out,
         f"imputed {df.shape[1]} proteins for {df.shape[0]} cells -> {out}")


@app.command("findings")
def findings(
    expression: Path = typer.Option(None, "--expression", help="bulk tumour CSV (GSE7390 layout) or cells .h5ad; "
                                    "default: the bundled synthetic example patient"),
    perturbation: str = typer.Option("stimulated", "--perturbation"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The plan's "Genomic and proteomic findings" for an expression attachment (research use only)."""
    from genmed.omics.findings import EXAMPLE_BULK, plan_findings

    res = plan_findings(expression or EXAMPLE_BULK, perturbation=perturbation)
    emit(res.as_dict(), json_out, "\n".join(f"{f.title}: {f.summary}" + (f" [flags: {'; '.join(f.flags)}]"
                                                                             if f.flags else "") + f" ({f.label})"
                                            for f in res.findings))
