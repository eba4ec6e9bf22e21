"""``diagnose(path) -> Diagnosis``: the one call the rest of genmed (treatment plan, service) uses.

Read -> prepare -> OOD gate -> calibrated ensemble probability with interval -> anomaly map -> saliency PNGs.
An image the gate rejects is *not* classified: its finding is ``indeterminate`` with the reasons.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genmed.core.logging import get_logger
from genmed.imaging.io import ImageData, load_image
from genmed.imaging.predictor import ImagingModel, cached_model
from genmed.imaging.preprocess import prepare

log = get_logger("genmed.imaging.diagnosis")

#: DICOM modalities that are projection radiographs (CR computed, DX digital, RG radiographic imaging,
#: OT other — exported radiographs often carry OT).
RADIOGRAPH_MODALITIES = {"CR", "DX", "RG", "OT", "DR"}
CHEST_BODY_PARTS = {"CHEST", "THORAX", "LUNG", "LUNGS"}
COLOUR_SATURATION_LIMIT = 0.04


@dataclass
class Diagnosis:
    """What the model says about one image, with the evidence and its limits.

    ``finding``: ``pneumonia`` / ``normal`` when the model decides, ``indeterminate`` when the image was
    rejected (not a chest X-ray) — then ``probability`` is None. ``refer`` asks for a human read.
    """

    source: str
    finding: str
    probability: float | None
    interval: tuple[float, float] | None
    interval_method: str
    refer: bool
    reasons: list[str]
    anomaly_score: float
    anomaly_threshold: float
    anomalous: bool
    ood: bool
    ood_reasons: list[str]
    ood_scores: dict[str, float]
    saliency: dict[str, str]
    model: dict[str, Any]
    image: dict[str, Any]
    timings_ms: dict[str, float] = field(default_factory=dict)
    label: str = "pneumonia"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_fhir_observation(self, patient_reference: str | None = None) -> dict[str, Any]:
        """FHIR R4 Observation (status ``preliminary``: a machine read awaiting a clinician).

        Value = calibrated probability (UCUM "1"); components carry the interval and anomaly score; a rejected
        image has ``dataAbsentReason = not-applicable`` and the reasons in ``note``.
        """
        def qty(v: float) -> dict[str, Any]:
            return {"value": v, "unit": "probability", "system": "http://unitsofmeasure.org", "code": "1"}

        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "preliminary",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "imaging", "display": "Imaging"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "233604007", "display": "Pneumonia"}],
                     "text": "Probability of pneumonia on chest X-ray (genmed imaging model)"},
            "method": {"text": f"{self.model.get('name')} (sha256 {str(self.model.get('weights_sha256'))[:12]}); "
                               f"{self.interval_method}"},
            "interpretation": [{"text": self.finding + (" - refer for human read" if self.refer else "")}],
            "note": [{"text": r} for r in (self.ood_reasons + self.reasons)] or None,
        }
        if patient_reference:
            obs["subject"] = {"reference": patient_reference}
        if self.probability is None:
            obs["dataAbsentReason"] = {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-applicable"}],
                "text": "image rejected: not like a chest X-ray"}
        else:
            obs["valueQuantity"] = qty(self.probability)
            lo, hi = self.interval or (self.probability, self.probability)
            obs["component"] = [
                {"code": {"text": "probability interval lower bound"}, "valueQuantity": qty(lo)},
                {"code": {"text": "probability interval upper bound"}, "valueQuantity": qty(hi)},
                {"code": {"text": "anomaly score (normal-anatomy autoencoder)"},
                 "valueQuantity": {"value": self.anomaly_score}},
            ]
        return {k: v for k, v in obs.items() if v is not None}

    def summary(self) -> str:
        if self.probability is None:
            return f"{self.finding}: image rejected ({'; '.join(self.ood_reasons)})"
        lo, hi = self.interval or (float("nan"), float("nan"))
        tail = f"; REFER: {'; '.join(self.reasons)}" if self.refer else ""
        return (f"{self.finding}: P({self.label}) = {self.probability:.3f} [{lo:.3f}, {hi:.3f}], "
                f"anomaly {self.anomaly_score:.4f}{' (anomalous)' if self.anomalous else ''}{tail}")


def metadata_reasons(img: ImageData, colour_saturation: float) -> list[str]:
    """Header/colour evidence that the image is not a chest radiograph (checked before any model)."""
    reasons = []
    modality = (img.metadata.get("modality") or "").upper()
    if modality and modality not in RADIOGRAPH_MODALITIES:
        reasons.append(f"DICOM modality {modality} is not a projection radiograph")
    body = (img.metadata.get("body_part") or "").upper()
    if body and body not in CHEST_BODY_PARTS:
        reasons.append(f"DICOM body part {body} is not the chest")
    if colour_saturation > COLOUR_SATURATION_LIMIT:
        reasons.append(f"colour image (mean channel spread {colour_saturation:.2f}); radiographs are greyscale")
    return reasons


def diagnose_image(img: ImageData, model: ImagingModel, out: Path | None, *, frame: int | None = None,
                   saliency: bool = True, integrated_gradients: bool = False) -> Diagnosis:
    """Diagnose an already-read image. Saliency = Grad-CAM + anomaly map PNGs; integrated gradients (about
    5x slower than the rest of the pipeline together) only when asked for."""
    from genmed.imaging.preprocess import resize
    from genmed.imaging.saliency import grad_cam, overlay_png
    from genmed.imaging.saliency import integrated_gradients as ig_map

    t: dict[str, float] = {}
    t0 = time.perf_counter()
    prep = prepare(img, frame=frame)
    t["prepare"] = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    pred = model.predict(prep.x[None])
    t["predict"] = (time.perf_counter() - t1) * 1000
    meta_reasons = metadata_reasons(img, prep.colour_saturation)
    gate_reasons = [f"{name} above the in-distribution threshold" for name in pred.ood_reasons[0]]
    ood = bool(meta_reasons or pred.ood[0])
    prob = float(pred.probability[0])
    interval = (float(pred.interval[0, 0]), float(pred.interval[0, 1]))
    reasons = list(pred.refer_reasons[0])
    if meta_reasons and not pred.ood[0]:
        reasons.insert(0, "out of distribution: not like the chest X-rays the model was trained on")
    finding = "indeterminate" if ood else ("pneumonia" if prob >= 0.5 else "normal")
    paths: dict[str, str] = {}
    if saliency and out is not None and not ood:
        t2 = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        members = model.members
        base = resize(prep.display, 256)
        paths["gradcam"] = str(overlay_png(base, grad_cam(members, prep.x), out / "saliency_gradcam.png"))
        if integrated_gradients:
            paths["integrated_gradients"] = str(overlay_png(base, ig_map(members, prep.x),
                                                            out / "saliency_integrated_gradients.png"))
        amap = pred.anomaly_map[0]
        # opacity follows the image-level score: an image under the anomaly threshold shows only a faint map
        strength = float(np.clip(pred.anomaly_score[0] / max(model.anomaly_threshold, 1e-8), 0.25, 1.0))
        paths["anomaly_map"] = str(overlay_png(base, amap / max(float(amap.max()), 1e-8), out / "anomaly_map.png",
                                               alpha=0.6 * strength))
        t["saliency"] = (time.perf_counter() - t2) * 1000
    t["total"] = (time.perf_counter() - t0) * 1000
    val = model.validation_metrics()
    card = model.card
    d = Diagnosis(
        source=img.source,
        finding=finding,
        probability=None if ood else round(prob, 4),
        interval=None if ood else (round(interval[0], 4), round(interval[1], 4)),
        interval_method=f"deep ensemble of {len(model.members)}: mean +- 2 SD of temperature-scaled member "
                        f"probabilities (T = {model.temperature:.3f}, fitted on the validation split)",
        refer=bool(ood or pred.refer[0] or meta_reasons),
        reasons=reasons if not ood else ["image rejected by the out-of-distribution gate"],
        anomaly_score=round(float(pred.anomaly_score[0]), 6),
        anomaly_threshold=round(model.anomaly_threshold, 6),
        anomalous=bool(pred.anomaly_score[0] > model.anomaly_threshold),
        ood=ood,
        ood_reasons=meta_reasons + gate_reasons,
        ood_scores={k: round(float(v[0]), 4) for k, v in pred.ood_scores.items()},
        saliency=paths,
        model={"name": model.name, "path": str(model.path), "weights_sha256": card.get("weights_sha256"),
               "trained_at": card.get("trained_at"), "dataset": model.dataset,
               "validation": {k: val.get(k) for k in ("auc", "acc", "ece", "n")},
               "test": {k: card.get("metrics", {}).get("test", {}).get(k) for k in ("auc", "acc", "ece", "n")},
               "temperature": model.temperature},
        image={"format": img.format, "kind": img.kind, "shape": list(img.shape), "frame": frame,
               "modality": img.metadata.get("modality"), "patient": img.metadata.get("patient"),
               "crop": list(prep.crop), "warnings": img.warnings},
        timings_ms={k: round(v, 1) for k, v in t.items()},
    )
    log.info("diagnosis %s finding=%s p=%s ood=%s patient=%s", Path(img.source).suffix or "image", d.finding,
             d.probability, d.ood, d.image["patient"])
    return d


def diagnose(path: str | Path, *, model: str | Path | ImagingModel | None = None, out: str | Path | None = None,
             frame: int | None = None, saliency: bool = True, integrated_gradients: bool = False) -> Diagnosis:
    """Diagnose one image file (DICOM, NIfTI, PNG/JPEG) with the shipped (or given) model.

    ``out``: folder for the saliency/anomaly PNGs (default: a new folder under the runs directory).
    """
    from genmed.core.config import get_settings

    m = model if isinstance(model, ImagingModel) else cached_model(str(model) if model else None)
    img = load_image(path)
    if out is None and saliency:
        out = get_settings().runs_dir / f"imaging-diagnose-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    return diagnose_image(img, m, Path(out) if out else None, frame=frame, saliency=saliency,
                          integrated_gradients=integrated_gradients)


def diagnose_array(x: np.ndarray, model: ImagingModel | None = None) -> Diagnosis:
    """Diagnose a 2-D greyscale array already in [0, 1] (no saliency files)."""
    img = ImageData(np.asarray(x, dtype=np.float32), "2d", "array", "<array>",
                    {"stored_bits": None, "voi_lut_function": "LINEAR_EXACT"}, (0.5, 1.0))
    return diagnose_image(img, model or cached_model(None), None, saliency=False)
