"""`genmed bench omics`: the omics benchmarks of issue #9, each writing its own BENCHMARKS.md section with the
published numbers beside ours, and its full results as JSON in ``benchmarks/omics_results/``.

Parts: ``perturbation`` (Kang 2018 leave-one-cell-type-out), ``de`` (null calibration + CD4T ISGs), ``latent``
(held-out NLL), ``simulation`` (realism), ``protein`` (imputation from RNA), ``risk`` (bulk genomic risk).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

PARTS = ("perturbation", "cvae", "de", "latent", "simulation", "protein", "risk")


def _results_dir() -> Path:
    from genmed.core.benchmarks import default_benchmarks_file

    p = default_benchmarks_file().parent / "benchmarks" / "omics_results"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _f(x, nd: int = 3) -> str:
    try:
        return "n/a" if x is None or x != x else f"{x:.{nd}f}"
    except TypeError:
        return str(x)


def _record_validation(res: dict) -> None:
    """Write the scGen-preset validation into the shipped Kang model's metrics (what the plan quotes)."""
    from genmed.omics.model import WEIGHTS

    path = WEIGHTS / "kang2018-gauss" / "metrics.json"
    if not path.exists():
        return
    doc = json.loads(path.read_text())
    doc["perturbation_validation"] = {
        **{k: v for k, v in res["summary"]["scgen"].items() if not isinstance(v, list)},
        "protocol": "leave-one-cell-type-out over 7 Kang cell types (scGen preset, same configuration as this model)",
        "measured": time.strftime("%Y-%m-%d"), "command": "genmed bench omics --only perturbation"}
    path.write_text(json.dumps(doc, indent=2, default=float))


def bench_perturbation(threads: int = 1, seed: int = 0, cell_types: list[str] | None = None,
                       methods: tuple[str, ...] = ("scgen",)) -> tuple[str, dict]:
    from genmed.omics.io import load_dataset
    from genmed.omics.perturb import evaluate_perturbation

    adata = load_dataset("kang2018")
    t0 = time.perf_counter()
    import sys

    def progress(_n=1, info=""):
        print(f"[omics bench] fold done: {info} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    res = evaluate_perturbation(adata, methods=methods, cell_types=cell_types, seed=seed, threads=threads,
                                progress=progress)
    res["wall_seconds"] = round(time.perf_counter() - t0, 1)
    if "scgen" in methods and cell_types is None:
        _record_validation(res)
    names = res["methods"]
    lines = [
        "### Perturbation response, Kang 2018 (scGen validation subset), leave-one-cell-type-out",
        "",
        f"{res['n_cells']} cells x {res['n_genes']} genes (log-normalised; the 1,975-cell subset, **not** the full "
        "~25k-cell data the published numbers use). For each held-out cell type its stimulated cells are removed "
        "from training; methods predict them from the type's control cells. R² of per-gene mean expression, "
        "squared Pearson (scGen `reg_mean_plot`) with `sklearn.r2_score` (CPA tutorial) in brackets; top-100 "
        "DEGs = the held-out type's top 100 Wilcoxon z-scores, real stimulated vs real control. One seed per fold.",
        "",
        "| held-out | n ctrl/stim | " + " | ".join(f"{m} all" + " | " + f"{m} top100" for m in names) + " |",
        "|---|---|" + "---|---|" * len(names),
    ]
    for f in res["folds"]:
        cells = []
        for m in names:
            r = f["methods"][m]
            cells.append(f"{_f(r['r2_pearson_all'])} ({_f(r['r2_sklearn_all'])})")
            cells.append(f"{_f(r['r2_pearson_top100'])} ({_f(r['r2_sklearn_top100'])})")
        lines.append(f"| {f['cell_type']} | {f['n_control']}/{f['n_perturbed']} | " + " | ".join(cells) + " |")
    s = res["summary"]
    lines += ["", "| method | mean R² all (sklearn) | mean R² top100 (sklearn) | R² of LFC top100 | top-100 DEG overlap "
              "| energy distance (PCA) | s/fold |", "|---|---|---|---|---|---|---|"]
    for m in names:
        secs = [f["methods"][m]["seconds"] for f in res["folds"]]
        lines.append(f"| {m} | {_f(s[m]['r2_pearson_all'])} ({_f(s[m]['r2_sklearn_all'])}) | "
                     f"{_f(s[m]['r2_pearson_top100'])} ({_f(s[m]['r2_sklearn_top100'])}) | {_f(s[m]['r2_lfc_top100'])} | "
                     f"{_f(s[m]['deg_overlap_top100'], 2)} | {_f(s[m]['energy_distance'], 2)} | {sum(secs) / len(secs):.0f} |")
    lines.append("")
    for m in methods:
        lines.append(f"- **{m}** beats no-change on top-100-DEG R² in {s[m]['beats_no_change_top100_folds']}/"
                     f"{len(res['folds'])} folds and gene-space shift in {s[m]['beats_gene_shift_top100_folds']}/"
                     f"{len(res['folds'])}; folds where a baseline matches or beats it on all-genes R²: no-change "
                     f"{s[m]['no_change_wins_all_genes'] or 'none'}, gene shift {s[m]['gene_shift_wins_all_genes'] or 'none'}.")
    lines += [
        "- Energy distance: predictions are decoded means (no observation noise), so their spread is narrower than "
        "real cells; the shift baselines keep the real cells' noise and score lower distances.",
        "- Top-100 DEG overlap: top 100 genes by predicted mean shift vs the real Wilcoxon top 100.",
        "",
        "Published (different data size and splits - context, not a like-for-like comparison):",
        "",
        "| source | setting | R² all genes | R² top DEGs |",
        "|---|---|---|---|",
        "| CPA tutorial (theislab/cpa `docs/tutorials/Kang.ipynb`) | full Kang, OOD B cells, `r2_score` of means | 0.832 "
        "| top-10/20/50: 0.706 / 0.784 / 0.770 |",
        "| scGen (Lotfollahi et al., Nat Methods 2019, Fig. 2) | full Kang, held-out CD4T, squared Pearson | not "
        "transcribed: the figure could not be read offline here | - |",
        "| issue #9 feasibility prototype (same subset, this machine) | scGen-style VAE 256/50, CD4T | 0.918 (0.893) | "
        "0.928 (0.913) |",
    ]
    return "\n".join(lines), res


def bench_cvae(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    """The CPA-style conditional decoder on two folds (CD4T, B): a cheaper check that the second registered
    method runs end to end; the full 7-fold protocol is `perturbation`."""
    from genmed.omics.io import load_dataset
    from genmed.omics.perturb import evaluate_perturbation

    res = evaluate_perturbation(load_dataset("kang2018"), methods=("cvae",), cell_types=["CD4T", "B"], seed=seed,
                                threads=threads)
    lines = ["### Perturbation: CPA-style conditional decoder (`cvae`), folds CD4T and B", "",
             "Same protocol and configuration as `scgen` (Gaussian VAE 256/50, 60 epochs) but the decoder takes "
             "condition and cell type one-hots; prediction = encode with the control label, decode with the "
             "perturbation label. No adversary.", "",
             "| held-out | cvae all (sklearn) | cvae top100 (sklearn) | gene shift top100 | no change top100 |",
             "|---|---|---|---|---|"]
    for f in res["folds"]:
        m = f["methods"]
        lines.append(f"| {f['cell_type']} | {_f(m['cvae']['r2_pearson_all'])} ({_f(m['cvae']['r2_sklearn_all'])}) | "
                     f"{_f(m['cvae']['r2_pearson_top100'])} ({_f(m['cvae']['r2_sklearn_top100'])}) | "
                     f"{_f(m['gene_shift']['r2_pearson_top100'])} | {_f(m['no_change']['r2_pearson_top100'])} |")
    return "\n".join(lines), res


ISGS = ("ISG15", "IFI6", "ISG20", "IFIT1", "IFIT2", "IFIT3", "IRF7", "RSAD2", "TNFSF10", "HERC5", "GBP1", "EIF2AK2",
        "MX1", "OAS1", "LY6E", "IFITM3")


def bench_de(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    from genmed.omics.de import differential_expression, null_calibration
    from genmed.omics.io import load_dataset
    from genmed.omics.model import LatentModel

    adata = load_dataset("kang2018")
    model = LatentModel.load("kang2018")
    t0 = time.perf_counter()
    de = differential_expression(model, adata, groupby="condition", group1="stimulated", group2="control",
                                 cell_type="CD4T", seed=seed, threads=threads)
    de_seconds = time.perf_counter() - t0
    top = de.summary(10)["top_up"]
    wtop = de.table.sort_values("wilcoxon_z", ascending=False)["gene"].head(10).tolist()
    null = null_calibration(model, adata, n_splits=5, seed=seed)
    null_cd4 = null_calibration(model, adata, n_splits=5, seed=seed, cell_type="CD4T")
    res = {"cd4t_top10_up": top, "cd4t_top10_isgs": sum(g in ISGS for g in top),
           "wilcoxon_top10_up": wtop, "wilcoxon_top10_isgs": sum(g in ISGS for g in wtop),
           "n_called": int(de.table["called"].sum()), "n_wilcoxon_called": int(de.table["wilcoxon_called"].sum()),
           "de_seconds": round(de_seconds, 1), "null_all_control": null, "null_cd4t_control": null_cd4,
           "summary": {"isgs_top10": sum(g in ISGS for g in top),
                       "null_called_fraction": null["mean_called_fraction"]}}
    md = "\n".join([
        "### Differential expression with uncertainty (Kang 2018 subset, shipped model `kang2018-gauss`)",
        "",
        "Posterior LFC from 100 draws (z ~ q(z|x), Bayesian bootstrap of cells), δ = 0.5 log2, genes called at "
        "posterior expected FDR ≤ 0.05; Wilcoxon rank-sum + BH on the observed data as the reference column.",
        "",
        "| test | ours | Wilcoxon reference | target (issue #9) |",
        "|---|---|---|---|",
        f"| null: 5 random halves of all {null['n_cells']} control cells, mean fraction of {len(model.genes)} genes "
        f"called at α = 0.05 | {null['mean_called_fraction']:.4f} | {null['mean_wilcoxon_called_fraction']:.4f} | ≤ 0.01 |",
        f"| null: 5 random halves of the {null_cd4['n_cells']} CD4T control cells | "
        f"{null_cd4['mean_called_fraction']:.4f} | {null_cd4['mean_wilcoxon_called_fraction']:.4f} | ≤ 0.01 |",
        f"| CD4T stimulated vs control: ISGs among the top-10 up genes | {res['cd4t_top10_isgs']}/10 | "
        f"{res['wilcoxon_top10_isgs']}/10 | ≥ 8/10 (Wilcoxon measured 8/10) |",
        f"| genes called, CD4T stimulated vs control | {res['n_called']} | {res['n_wilcoxon_called']} | - |",
        f"| time for one comparison (loaded model) | {res['de_seconds']:.1f} s | - | < 30 s |",
        "",
        f"Top-10 up (ours): {', '.join(top)}. Top-10 (Wilcoxon z): {', '.join(wtop)}.",
        "",
        "Ours calls fewer genes than Wilcoxon + BH because a gene must move by more than δ with posterior "
        "confidence, not merely differ. Published context: scvi-tools' change-mode DE is known to call genes on "
        "null splits (scvi-tools issues #1047, #1343); we did not run scvi-tools here (not installable offline in this "
        "environment's time budget).",
    ])
    return md, res


def bench_risk(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    from genmed.omics.risk import cross_validate, load_risk_dataset

    res = {}
    lines = ["### Genomic risk from bulk tumour expression (5-fold CV C-index, 5 repetitions)", "",
             "Nested: the elastic-net penalty is chosen by inner 4-fold CV inside each training fold. Mean ± sd over "
             "the 5 repetitions of the pooled out-of-fold Harrell C-index.", "",
             "| data set | patients / events | genes | clinical only | expression (EN-Cox) | clinical + expression "
             "| PCA-Cox (10 PCs) | clinical + 10 PCs |", "|---|---|---|---|---|---|---|---|"]
    for name in ("gse7390", "nki70"):
        d = load_risk_dataset(name)
        cv = cross_validate(d, seeds=5)
        res[name] = cv
        c = cv["c_index"]

        def cell(k, c=c):
            return f"{c[k]['mean']:.3f} ± {c[k]['sd']:.3f}" if k in c else "n/a"

        lines.append(f"| {name} | {cv['n_patients']} / {cv['n_events']} | {cv['n_genes']} | {cell('clinical')} | "
                     f"{cell('expression')} | {cell('clinical+expression')} | {cell('pca-cox')} | "
                     f"{cell('clinical+pca')} |")
    g = res["gse7390"]["c_index"]
    ok = g["clinical+expression"]["mean"] >= 0.65
    lines += ["", f"- GSE7390 floor (clinical + expression ≥ 0.65 and above clinical-only): "
              f"{'met' if ok else 'NOT met'} ({g['clinical+expression']['mean']:.3f} vs clinical "
              f"{g['clinical']['mean']:.3f}).",
              "- Issue #9 feasibility (same data, not nested): clinical Cox 0.606 ± 0.015, elastic-net Cox on the 76 genes "
              "0.630 ± 0.025, both 0.659 ± 0.020.",
              "- Published: the GSE7390 validation of the 76-gene signature (Desmedt et al., Clin Cancer Res 2007) "
              "reports hazard ratios, not a C-index; no like-for-like published C-index is shown."]
    res["summary"] = {k: {m: v["mean"] for m, v in r["c_index"].items()} for k, r in res.items()}
    return "\n".join(lines), res


def bench_protein(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    from genmed.omics.io import load_dataset
    from genmed.omics.protein import protein_imputation_cv

    res = {}
    lines = ["### RNA + protein: imputing each protein from RNA (5-fold CV over cells)", "",
             "Joint model (NB RNA, NB background/foreground mixture per protein, shared latent; proteins hidden from "
             "the encoder at prediction) vs ridge regression (RidgeCV) from log-normalised RNA on the same 2,000 HVGs "
             "and folds. Pearson r per protein on log1p counts over pooled out-of-fold predictions.", "",
             "| data set | cells | proteins | ours, decoder: median r | ours, linear head on latent: median r | "
             "ridge from RNA: median r | proteins where decoder / head ≥ ridge | s/fold |",
             "|---|---|---|---|---|---|---|---|"]
    for name in ("eccite-pbmc", "pbmc10k-protein"):
        r = protein_imputation_cv(load_dataset(name), seed=seed, threads=threads)
        res[name] = r
        mp = r["median_pearson"]
        lines.append(f"| {name} | {r['n_cells']} | {r['n_proteins']} | {mp['vae']:.3f} | {mp['vae_latent_head']:.3f} | "
                     f"{mp['ridge']:.3f} | {r['vae_wins']} / {r['head_wins']} of {r['n_proteins']} | "
                     f"{sum(r['fold_seconds']) / len(r['fold_seconds']):.0f} |")
    worse = [n for n, r in res.items() if max(r["median_pearson"]["vae"], r["median_pearson"]["vae_latent_head"])
             < r["median_pearson"]["ridge"]]
    lines += ["", f"- Target (ours ≥ ridge baseline): {'NOT met on ' + ', '.join(worse) if worse else 'met'}. "
              "On a few hundred cells a linear map from 2,000 genes beats a 20-dimensional latent."]
    lines += ["", "Published context: totalVI (Gayoso et al., Nat Methods 2021) evaluates protein imputation on "
              "10k-cell data sets; no number on these small subsets exists. Ridge from RNA is a strong baseline on "
              "a few hundred cells; where it wins, the table says so."]
    res["summary"] = {k: v["median_pearson"] for k, v in res.items()}
    return "\n".join(lines), res


def _split(adata, seed: int, frac: float = 0.2, strat: str | None = None):
    import numpy as np

    rng = np.random.default_rng(seed)
    test = np.zeros(adata.n_obs, bool)
    labels = adata.obs[strat].astype(str).to_numpy() if strat else np.zeros(adata.n_obs, str)
    for g in sorted(set(labels)):
        idx = np.where(labels == g)[0]
        test[rng.choice(idx, max(1, int(round(frac * len(idx)))), replace=False)] = True
    tr, te = adata[~test].copy(), adata[test].copy()
    tr.uns["genmed_source"] = te.uns["genmed_source"] = adata.uns.get("genmed_source", "data")
    return tr, te


def bench_simulation(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    import numpy as np

    from genmed.omics.io import load_dataset
    from genmed.omics.model import fit_latent_model, save_reference
    from genmed.omics.simulate import realism, simulate_cells

    kang = load_dataset("kang2018")
    kang.obs["group"] = kang.obs["cell_type"].astype(str) + "|" + kang.obs["condition"].astype(str)
    tr, te = _split(kang, seed, strat="group")
    import tempfile

    res: dict = {"kang": {}, "eccite": {}}
    with tempfile.TemporaryDirectory() as tmp:
        m = fit_latent_model(tr, likelihood="zig", n_genes=2000, n_latent=30, n_hidden=256, epochs=60,
                             kl_weight=0.05, seed=seed, threads=threads, out=tmp)
        save_reference(m, tr, tmp, condition_key="condition", cell_type_key="cell_type", control="control")
        t0 = time.perf_counter()
        simulate_cells(m, 1000, seed=seed)
        res["seconds_1000_cells"] = round(time.perf_counter() - t0, 3)
        for g in sorted(set(te.obs["group"])):
            ct, cond = g.split("|")
            real = te[(te.obs["group"] == g).to_numpy()]
            sim = simulate_cells(m, 500, conditions={"cell_type": ct, "condition": cond}, seed=seed)
            res["kang"][g] = realism(real, sim, m.genes, seed=seed).as_dict()
            # ceiling: the same metrics for the group's real *training* cells against its held-out cells
            ref = tr[(tr.obs["group"] == g).to_numpy()]
            res["kang"][g]["real_train_vs_heldout"] = realism(real, ref, m.genes, seed=seed).as_dict()
        res["kang_model"] = {k: m.metrics[k] for k in ("epochs_run", "s_per_epoch", "n_genes")}
    ecc = load_dataset("eccite-pbmc")
    tr, te = _split(ecc, seed)
    with tempfile.TemporaryDirectory() as tmp:
        m = fit_latent_model(tr, likelihood="nb", n_genes=2000, n_latent=20, n_hidden=128, epochs=200, patience=25,
                             seed=seed, threads=threads, out=tmp)
        save_reference(m, tr, tmp)  # sample from the aggregate posterior, not the prior
        sim = simulate_cells(m, 500, seed=seed)
    res["eccite"] = realism(te, sim, m.genes, seed=seed).as_dict()
    res["eccite"]["real_train_vs_heldout"] = realism(te, tr, m.genes, seed=seed).as_dict()
    res["eccite_model"] = {k: m.metrics[k] for k in ("epochs_run", "s_per_epoch", "n_genes")}
    k = res["kang"]
    lines = ["### Simulation realism (held-out real cells, 20% stratified split)", "",
             f"Kang: zero-inflated Gaussian (`zig`) model on 2,000 HVGs trained on 80% of cells ({res['kang_model']['epochs_run']} epochs, "
             f"{res['kang_model']['s_per_epoch']:.2f} s/epoch); 500 cells simulated per cell type x condition from the "
             "aggregate posterior, compared with that group's held-out cells (log-normalised space). Classifier "
             "two-sample test: logistic regression on 50 PCs, 5-fold CV AUROC (0.5 = indistinguishable).", "",
             "The `real` columns score the group's real training cells against the same held-out cells: the ceiling "
             "that sampling noise of small groups allows.", "",
             "| group | held-out cells | gene-mean R² (real) | gene-variance R² (real) | zero-fraction error (real) "
             "| classifier AUROC (real) | MMD (PCA) |",
             "|---|---|---|---|---|---|---|"]
    for g, r in k.items():
        c = r["real_train_vs_heldout"]
        lines.append(f"| {g} | {r['n_real']} | {r['gene_mean_r2']:.3f} ({c['gene_mean_r2']:.3f}) | "
                     f"{r['gene_var_r2']:.3f} ({c['gene_var_r2']:.3f}) | {r['zero_fraction_error']:.3f} "
                     f"({c['zero_fraction_error']:.3f}) | {r['classifier_auroc']:.3f} ({c['classifier_auroc']:.3f}) | "
                     f"{r['mmd_pca']:.4f} |")
    mins = min(r["gene_mean_r2"] for r in k.values())
    e = res["eccite"]
    lines += ["", f"- Minimum gene-mean R² over the 14 groups: {mins:.3f} (target ≥ 0.95). Mean AUROC "
              f"{np.mean([r['classifier_auroc'] for r in k.values()]):.3f}.",
              f"- ECCITE-seq counts (NB model, 2,000 HVGs, {res['eccite_model']['epochs_run']} epochs, 500 simulated "
              f"cells vs {e['n_real']} held-out cells; real training cells in brackets): gene-mean R² "
              f"{e['gene_mean_r2']:.3f} ({e['real_train_vs_heldout']['gene_mean_r2']:.3f}), variance R² "
              f"{e['gene_var_r2']:.3f} ({e['real_train_vs_heldout']['gene_var_r2']:.3f}), zero-fraction error "
              f"{e['zero_fraction_error']:.3f} ({e['real_train_vs_heldout']['zero_fraction_error']:.3f}), classifier "
              f"AUROC {e['classifier_auroc']:.3f} ({e['real_train_vs_heldout']['classifier_auroc']:.3f}).",
              f"- 1,000 cells simulated in {res['seconds_1000_cells']:.2f} s (target < 2 s).",
              "- scvi-tools SCVI posterior samples were not run as a comparator (scvi-tools is not installed here)."]
    res["summary"] = {"min_gene_mean_r2": mins, "eccite_auroc": e["classifier_auroc"]}
    return "\n".join(lines), res


def _marginal_nll(train, test, lik: str) -> float:
    """Held-out NLL per cell of the no-latent model: per-gene NB (mean = proportion x library, moment-matched
    dispersion) for counts, per-gene Gaussian for log-normalised data."""
    import numpy as np
    from scipy import stats

    if lik == "gauss":
        mu, sd = train.x.mean(0), np.clip(train.x.std(0), 0.1, None)
        return float(-stats.norm.logpdf(test.x, mu, sd).sum(1).mean())
    p = (train.x / train.library[:, None]).mean(0)
    m = p[None, :] * train.library[:, None]
    excess = np.clip(((train.x - m) ** 2 - m).mean(0), 1e-6, None)
    theta = np.clip((m ** 2).mean(0) / excess, 1e-3, 1e4)
    mu = np.clip(p[None, :] * test.library[:, None], 1e-8, None)
    return float(-stats.nbinom.logpmf(test.x, theta, theta / (theta + mu)).sum(1).mean())


def bench_latent(threads: int = 1, seed: int = 0) -> tuple[str, dict]:
    from genmed.omics.io import load_dataset
    from genmed.omics.model import fit_latent_model

    rows = []
    for name, lik, epochs in (("eccite-pbmc", "nb", 200), ("pbmc10k-protein", "nb", 200), ("kang2018", "gauss", 60)):
        a = load_dataset(name)
        tr, te = _split(a, seed)
        # Gaussian: start at the gene means/sds (data_init) - from a uniform start the per-gene variances of sparse
        # genes are far from converged after 60 epochs and dominate the NLL (measured: 158 vs -1360 for no latent)
        kw = dict(kl_weight=0.05, n_hidden=256, n_latent=30, data_init=True) if lik == "gauss" else \
            dict(n_hidden=128, n_latent=20)
        m = fit_latent_model(tr, likelihood=lik, n_genes=2000, epochs=epochs, patience=25, seed=seed,
                             threads=threads, **kw)
        nll = m.nll_per_cell(m.prepare(te))
        base = _marginal_nll(m.prepare(tr), m.prepare(te), lik)
        rows.append({"dataset": name, "likelihood": lik, "n_train": tr.n_obs, "n_test": te.n_obs, **nll,
                     "marginal_nll": base,
                     "epochs": m.metrics["epochs_run"], "s_per_epoch": m.metrics["s_per_epoch"]})
    lines = ["### Latent model: held-out reconstruction NLL per cell (2,000 HVGs, 80/20 split)", "",
             "Reference column: the same likelihood without a latent (per-gene NB with the cell's library size, or "
             "per-gene Gaussian), fitted on the training cells - what the latent has to beat.", "",
             "| data set | likelihood | train / test cells | RNA NLL per cell | no-latent reference | KL | epochs | s/epoch |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['likelihood']} | {r['n_train']} / {r['n_test']} | {r['rna_nll']:.1f} | "
                     f"{r['marginal_nll']:.1f} | {r['kl']:.1f} | {r['epochs']} | {r['s_per_epoch']:.2f} |")
    lines += ["", "Not done: the same-run scvi-tools SCVI comparison (scvi-tools is a benchmark-only extra that is not "
              "installed here). For scale, issue #9 measured scvi-tools at 38 s/epoch on 10k cells x 2,000 genes and "
              "11 s/epoch on the Kang subset on a shared CPU."]
    return "\n".join(lines), {"rows": rows, "summary": {r["dataset"]: r["rna_nll"] for r in rows}}


def register(app: typer.Typer) -> None:
    @app.command("omics")
    def omics_bench(
        only: str = typer.Option(",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}"),
        threads: int = typer.Option(1, help="torch threads (1 is fastest on a busy 2-core machine)"),
        seed: int = typer.Option(0),
        cell_types: str = typer.Option("", help="perturbation: comma-separated held-out cell types (default all 7)"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Run the omics benchmarks and write their sections of BENCHMARKS.md."""
        import torch

        from genmed.core.benchmarks import update_section
        from genmed.core.errors import ConfigError

        torch.set_num_threads(threads)
        parts = [p.strip() for p in only.split(",") if p.strip()]
        bad = [p for p in parts if p not in PARTS]
        if bad:
            raise ConfigError(f"unknown benchmark part(s) {bad}", hint=f"choose from {', '.join(PARTS)}")
        summary = {}
        for part in parts:
            fn = globals()[f"bench_{part}"]
            kw = {"threads": threads, "seed": seed}
            if part == "perturbation" and cell_types:
                kw["cell_types"] = [c for c in cell_types.split(",") if c]
            md, res = fn(**kw)
            (_results_dir() / f"omics_{part}.json").write_text(json.dumps(res, indent=2, default=float))
            update_section(f"omics-{part}", md)
            summary[part] = res.get("summary", {})
            if not json_out:
                typer.echo(md + "\n")
        if json_out:
            typer.echo(json.dumps(summary, indent=2, default=float))
