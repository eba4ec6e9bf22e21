"""The "Genomic and proteomic findings" section of a treatment plan, from an expression attachment.

``plan_findings`` is what ``genmed.plan`` calls: a bulk tumour profile (CSV) gets a genomic risk from the shipped
GSE7390 model with its cross-validated C-index; single cells (``.h5ad``) get a predicted response to a
perturbation from the shipped Kang model, with that model's leave-one-cell-type-out validation and top driver
genes with intervals. Every item is labelled research use, carries provenance, and is flagged - never silently
extrapolated - when the input lies outside what the model saw. Failures become an explicit "not available" item
with the reason, so a plan never breaks on a bad attachment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from genmed.core.errors import GenmedError

RESEARCH_USE = "Research use only: not validated for clinical decisions."
WEIGHTS = Path(__file__).parent / "weights"
EXAMPLE_BULK = Path(__file__).parent / "examples" / "synthetic_breast_tumour_gse7390_layout.csv"


@dataclass
class Finding:
    kind: str  # "genomic_risk" | "perturbation_response" | "unavailable"
    title: str
    summary: str
    details: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    label: str = RESEARCH_USE


@dataclass
class OmicsFindings:
    section: str
    findings: list[Finding]

    def as_dict(self) -> dict:
        return {"section": self.section, "findings": [asdict(f) for f in self.findings]}


def _ordinal(x: float) -> str:
    n = int(round(x))
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _risk_finding(path: Path) -> Finding:
    from genmed.omics.risk import genomic_risk, read_patient_expression

    res = genomic_risk(WEIGHTS / "risk-gse7390", read_patient_expression(path), source=str(path))
    p = res.provenance
    c = f"{p['cv_c_index']:.2f} ± {p['cv_c_index_sd']:.2f}" if p.get("cv_c_index") is not None else "n/a"
    up = [d["feature"] for d in res.drivers if d["direction"] == "up"][:3]
    down = [d["feature"] for d in res.drivers if d["direction"] == "down"][:3]
    summary = (f"Distant-metastasis risk at the {_ordinal(res.percentile)} percentile of the GSE7390 cohort (90% interval "
               f"{res.percentile_lo90:.0f}-{res.percentile_hi90:.0f}; group: {res.risk_group}). Model "
               f"{res.model} Cox, cross-validated C-index {c}. Pushing risk up: {', '.join(up) or 'none'}; down: "
               f"{', '.join(down) or 'none'}.")
    return Finding("genomic_risk", "Genomic risk from tumour expression", summary, res.as_dict(), res.flags, p)


def _perturbation_finding(path: Path, perturbation: str, cell_type_key: str) -> Finding:
    from genmed.omics.io import read_h5ad
    from genmed.omics.model import LatentModel
    from genmed.omics.perturb import predict_perturbation

    model = LatentModel.load("kang2018")
    res = predict_perturbation(model, read_h5ad(path), perturbation, cell_type_key=cell_type_key, n_samples=10)
    val = model.metrics.get("perturbation_validation") or {}
    parts, flags = [], list(res.flags)
    for c in res.cell_types:
        if c.lfc is None:
            flags += [f"{c.cell_type}: {f}" for f in c.flags]
            continue
        top = c.lfc.nlargest(3, "lfc_mean")
        genes = ", ".join(f"{r.gene} {r.lfc_mean:+.2f} [{r.lfc_lo90:+.2f}, {r.lfc_hi90:+.2f}]" for r in top.itertuples())
        parts.append(f"{c.cell_type}: {genes}")
        flags += [f"{c.cell_type}: {f}" for f in c.flags]
    vtxt = (f" Validation (leave-one-cell-type-out, Kang 2018 subset): mean R² top-100 DEGs "
            f"{val['r2_pearson_top100']:.2f}, all genes {val['r2_pearson_all']:.2f}." if val else
            " No validation metric recorded with this model.")
    summary = f"Predicted response to {perturbation} (top genes, natural-log change [90% interval]): " + \
        "; ".join(parts) + "." + vtxt
    return Finding("perturbation_response", f"Predicted response of the patient's cells to {perturbation}", summary,
                   res.as_dict(top=10), flags, {**res.provenance, "statement": res.statement})


def plan_findings(expression: str | Path | None, *, perturbation: str = "stimulated",
                  cell_type_key: str = "cell_type") -> OmicsFindings:
    """Findings for a patient's expression attachment (bulk ``.csv``/``.tsv`` or single-cell ``.h5ad``)."""
    section = "Genomic and proteomic findings"
    if expression is None:
        return OmicsFindings(section, [Finding("unavailable", "No expression data",
                                               "The record carries no expression attachment; no omics finding.")])
    path = Path(expression)
    try:
        if path.name.endswith(".h5ad"):
            finding = _perturbation_finding(path, perturbation, cell_type_key)
        else:
            finding = _risk_finding(path)
    except GenmedError as exc:
        finding = Finding("unavailable", "Omics finding not available", f"Not computed: {exc}",
                          provenance={"input": str(path)})
    return OmicsFindings(section, [finding])
