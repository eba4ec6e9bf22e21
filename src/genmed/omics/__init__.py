"""Generative omics: a latent model of cells (scVI-class VAE, NB/ZINB/Gaussian, optional RNA + protein), simulated
cells, perturbation-response prediction with baselines, Bayesian DE and driver genes, genomic risk from bulk
expression. Torch is imported only when a model is built or loaded.

Typical use::

    from genmed.omics import load_dataset, load_model, predict_perturbation, differential_expression
    cells = load_dataset("kang2018")
    model = load_model("kang2018")            # shipped default model (or a directory)
    pred = predict_perturbation(model, cells[cells.obs.condition == "control"], "stimulated")
"""

from genmed.omics.de import (
    DEResult,
    differential_expression,
    driver_genes,
    gene_set_scores,
    null_calibration,
    read_gmt,
)
from genmed.omics.findings import Finding, OmicsFindings, plan_findings
from genmed.omics.io import (
    ScaleReport,
    attach_adt,
    detect_scale,
    load_dataset,
    read_10x_mtx,
    read_expression,
    read_h5ad,
    read_table,
)
from genmed.omics.model import LatentModel, ModelConfig, fit_latent_model, save_reference
from genmed.omics.perturb import (
    PERTURBATION_METHODS,
    PerturbationPrediction,
    PerturbationSpec,
    evaluate_perturbation,
    predict_perturbation,
)
from genmed.omics.protein import fit_rna_protein_model, impute_proteins, protein_imputation_cv
from genmed.omics.risk import (
    RiskPrediction,
    cross_validate,
    genomic_risk,
    load_risk_dataset,
    train_risk_model,
)
from genmed.omics.simulate import RealismReport, realism, simulate_cells


def load_model(path_or_name: str) -> LatentModel:
    """A trained model from a directory, or a shipped default by name (``kang2018``, ``eccite-pbmc``...)."""
    return LatentModel.load(path_or_name)


__all__ = [
    "PERTURBATION_METHODS", "DEResult", "LatentModel", "ModelConfig", "PerturbationPrediction", "PerturbationSpec",
    "RealismReport", "RiskPrediction", "ScaleReport", "attach_adt", "cross_validate", "detect_scale",
    "differential_expression", "driver_genes", "evaluate_perturbation", "fit_latent_model", "gene_set_scores",
    "genomic_risk", "load_dataset", "load_model", "load_risk_dataset", "null_calibration", "predict_perturbation",
    "read_10x_mtx", "read_expression", "read_gmt", "read_h5ad", "read_table", "realism", "save_reference",
    "simulate_cells", "train_risk_model", "Finding", "OmicsFindings", "plan_findings", "fit_rna_protein_model",
    "impute_proteins", "protein_imputation_cv",
]
