"""Diagnostic findings for the plan from the record's attachments: images (genmed.imaging) and expression
profiles (genmed.omics).

Each attachment becomes one :class:`DiagnosticFinding` with the model, its validation metric and its flags. A
capability that is missing from the build, or an attachment it cannot read, becomes an explicit "unavailable"
finding with the reason (and a line in the plan's "what is missing") - the plan never breaks on an attachment and
never shows a number that was not computed. Only file names reach the plan: paths can carry identifiers.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genmed.core.errors import GenmedError
from genmed.core.logging import scrub, scrub_file_name
from genmed.plan.model import Capability, DiagnosticFinding, Evidence

IMAGING = "diagnostic imaging (genmed.imaging)"
OMICS = "genomic and proteomic analysis (genmed.omics)"
FIGURE_CAPTIONS = {"gradcam": "Where the classifier looked (Grad-CAM)",
                   "anomaly_map": "What the normal-anatomy autoencoder could not reconstruct (anomaly map)"}


@dataclass
class FindingsResult:
    """Findings plus what the plan records about them (capabilities, missing lines, evidence)."""

    findings: list[DiagnosticFinding] = field(default_factory=list)
    capabilities: list[Capability] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)


def _message(text: object, path: Path) -> str:
    """A message (or exception) with the attachment's full path reduced to its scrubbed file name (every mention,
    with or without the folder), scrubbed of identifiers."""
    return scrub(str(text).replace(str(path), path.name).replace(path.name, _label(path)))


def _label(path: Path) -> str:
    """An attachment's file name as the plan shows it: scrubbed, since exports often name files after patients."""
    return scrub_file_name(path.name)


def _unavailable(capability: str, path: Path, why: str) -> DiagnosticFinding:
    return DiagnosticFinding(capability=capability, kind="unavailable", title=f"{_label(path)}: not analysed",
                             summary=f"Not computed: {why}", attachment=_label(path))


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars and paths as plain JSON values (the plan is written as JSON)."""
    return json.loads(json.dumps(d, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def _data_uri(png: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode()


# ---------------------------------------------------------------------------------------------------------------
# imaging


def _imaging_finding(d: Any, path: Path) -> DiagnosticFinding:
    test = d.model.get("test") or {}
    metric = (f"test AUC {test['auc']:.3f}, ECE {test['ece']:.3f} (n = {test['n']})"
              if test.get("auc") is not None else "no test metric recorded with this model")
    if d.probability is None:
        summary = (f"Indeterminate: the image was not analysed as a chest X-ray ({'; '.join(d.ood_reasons)}). "
                   "A clinician must read it.")
    else:
        lo, hi = d.interval or (d.probability, d.probability)
        summary = (f"{d.finding.capitalize()}: probability of {d.label} {d.probability:.2f} "
                   f"(interval {lo:.2f}-{hi:.2f}, {d.interval_method.split(':')[0]}); anomaly score "
                   f"{d.anomaly_score:.4f} vs threshold {d.anomaly_threshold:.4f}"
                   f"{' (anomalous)' if d.anomalous else ''}. Model {d.model.get('name')}: {metric}.")
    flags = list(d.ood_reasons) + list(d.reasons)
    if d.refer:
        flags.insert(0, "refer for a human read")
    provenance = {"model": d.model.get("name"), "weights_sha256": d.model.get("weights_sha256"),
                  "dataset": d.model.get("dataset"), "test": test, "validation": d.model.get("validation"),
                  "interval_method": d.interval_method,
                  "image": {k: d.image.get(k) for k in ("format", "kind", "shape", "modality")}}
    figures = {FIGURE_CAPTIONS.get(k, k): _data_uri(p) for k, p in d.saliency.items() if Path(p).exists()}
    obs = d.to_fhir_observation()
    obs["id"] = "imaging-" + _label(path).split(".")[0][:40].replace("_", "-")
    return DiagnosticFinding(capability="imaging", kind="image_classification" if d.probability is not None
                             else "unavailable", title=f"Chest X-ray {_label(path)}: {d.finding}", summary=summary,
                             attachment=_label(path), flags=list(dict.fromkeys(flags)), provenance=provenance,
                             label="Research use only: a machine read awaiting a clinician's read, not a diagnosis.",
                             figures=figures, fhir=obs)


def imaging_findings(images: list[Path], out: FindingsResult) -> None:
    if not images:
        return
    try:
        from genmed.imaging.diagnosis import diagnose
        from genmed.imaging.predictor import cached_model

        model = cached_model()
    except (ImportError, GenmedError) as exc:
        why = f"the imaging capability is not available in this build ({exc})"
        out.capabilities.append(Capability(name=IMAGING, available=False, reason=why))
        out.missing.append(f"imaging: {len(images)} image(s) in the record were not analysed - {why}")
        out.findings += [_unavailable("imaging", p, why) for p in images]
        return
    out.capabilities.append(Capability(name=IMAGING, available=True, version=model.name))
    test = (model.card.get("metrics") or {}).get("test") or {}
    out.evidence.append(Evidence(kind="model", source=f"genmed imaging model {model.name} ({model.dataset})",
                                 detail=f"test AUC {test.get('auc')}, accuracy {test.get('acc')}, ECE {test.get('ece')}"
                                        " on the official PneumoniaMNIST test split (BENCHMARKS.md, imaging)"))
    for path in images:
        try:
            with tempfile.TemporaryDirectory(prefix="genmed-plan-imaging-") as tmp:
                out.findings.append(_imaging_finding(diagnose(path, model=model, out=tmp), path))
        except GenmedError as exc:
            why = _message(exc, path)
            out.findings.append(_unavailable("imaging", path, why))
            out.missing.append(f"imaging: {_label(path)} was not analysed - {why}")


# ---------------------------------------------------------------------------------------------------------------
# omics


def omics_findings(expression: list[Path], out: FindingsResult) -> None:
    if not expression:
        return
    try:
        from genmed.omics.findings import plan_findings
    except ImportError as exc:
        why = f"the omics capability is not available in this build ({exc})"
        out.capabilities.append(Capability(name=OMICS, available=False, reason=why))
        out.missing.append(f"omics: {len(expression)} expression attachment(s) were not analysed - {why}")
        out.findings += [_unavailable("omics", p, why) for p in expression]
        return
    out.capabilities.append(Capability(name=OMICS, available=True, version="shipped omics models"))
    for path in expression:
        for f in plan_findings(path).findings:
            prov = _jsonable({k: v for k, v in (f.provenance or {}).items() if k not in ("input", "model_path")})
            summary = _message(f.summary, path)
            if f.kind == "unavailable":
                out.missing.append(f"omics: {_label(path)} was not analysed - {summary.removeprefix('Not computed: ')}")
            else:
                out.evidence.append(Evidence(kind="model", source=f"genmed omics {f.kind.replace('_', ' ')} model",
                                             detail="; ".join(f"{k} {v}" for k, v in prov.items()
                                                              if k in ("model", "dataset", "cv_c_index",
                                                                       "cv_c_index_sd", "source"))))
            out.findings.append(DiagnosticFinding(capability="omics", kind=f.kind, title=f.title, summary=summary,
                                                  attachment=_label(path), flags=[_message(x, path)
                                                                               for x in f.flags],
                                                  provenance=prov, label=f.label))


def collect_findings(images: list[Path], expression: list[Path]) -> FindingsResult:
    """Findings for every image and expression attachment of a record."""
    out = FindingsResult()
    imaging_findings(list(images), out)
    omics_findings(list(expression), out)
    return out
