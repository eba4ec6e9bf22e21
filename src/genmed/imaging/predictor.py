"""A loaded imaging bundle: ensemble classifier + temperature + autoencoder + OOD gate, batch inference.

Load once (``ImagingModel.load``), then predict many images in milliseconds each.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from genmed.core.errors import ModelNotFoundError
from genmed.imaging.anomaly import OODGate, anomaly_scores, reconstruction
from genmed.imaging.calibration import sigmoid
from genmed.imaging.models import build
from genmed.imaging.preprocess import INTENSITY, canonical_intensity

SHIPPED_MODEL_DIR = Path(__file__).parent / "weights" / "pneumoniamnist"


def default_model_dir() -> Path:
    """``$GENMED_IMAGING_MODEL`` if set (a site's own model), else the model shipped in the package."""
    env = os.environ.get("GENMED_IMAGING_MODEL")
    return Path(env) if env else SHIPPED_MODEL_DIR


@dataclass
class BatchPrediction:
    """Per-image arrays for a batch of N images."""

    probability: np.ndarray  # calibrated P(positive), (N,)
    member_probability: np.ndarray  # (M, N), each member calibrated with the ensemble temperature
    interval: np.ndarray  # (N, 2) ensemble mean +- 2 SD, clipped to [0, 1]
    uncalibrated: np.ndarray  # (N,) sigmoid(mean logit), before temperature scaling
    anomaly_score: np.ndarray  # (N,) complexity-normalised reconstruction error (see anomaly.py)
    reconstruction_error: np.ndarray  # (N,) raw mean squared reconstruction error
    anomaly_map: np.ndarray  # (N, 28, 28) squared error per pixel
    reconstruction: np.ndarray  # (N, 28, 28)
    ood: np.ndarray  # (N,) bool
    ood_reasons: list[list[str]]
    ood_scores: dict[str, np.ndarray]
    refer: np.ndarray  # (N,) bool
    refer_reasons: list[list[str]]


class ImagingModel:
    """The default imaging bundle in memory."""

    def __init__(self, bundle: dict, path: Path, card: dict | None):
        self.path = path
        self.card = card or {}
        self.dataset = bundle["dataset"]
        self.class_names = list(bundle["class_names"])
        cls = bundle["classifier"]
        self.members = []
        for state in cls["members"]:
            m = build(cls["name"], cls["config"])
            m.load_state_dict(state)
            m.eval()
            self.members.append(m)
        ae = bundle["autoencoder"]
        self.autoencoder = build(ae["name"], ae["config"])
        self.autoencoder.load_state_dict(ae["state"])
        self.autoencoder.eval()
        self.temperature = float(bundle["temperature"])
        self.anomaly_threshold = float(bundle["anomaly_threshold"])
        self.refer_band = tuple(float(v) for v in bundle["refer_band"])
        self.gate = OODGate.from_state(bundle["ood"])
        self.intensity = bundle.get("preprocess", {}).get("intensity")

    @classmethod
    def load(cls, path: str | Path | None = None) -> ImagingModel:
        """Load ``model.pt`` from a directory or file (default: the bundle shipped in the package)."""
        p = Path(path) if path else default_model_dir()
        file = p / "model.pt" if p.is_dir() else p
        if not file.exists():
            raise ModelNotFoundError(f"imaging model not found: {file}",
                                     hint="train one with `genmed imaging train --out DIR`")
        try:
            bundle = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt or foreign checkpoint
            raise ModelNotFoundError(f"cannot load imaging model {file}: {exc}") from exc
        if not isinstance(bundle, dict) or bundle.get("format", "").split("/")[0] != "genmed-imaging-bundle":
            raise ModelNotFoundError(f"{file} is not a genmed imaging bundle")
        card_file = file.with_name("model.json")
        card = json.loads(card_file.read_text()) if card_file.exists() else None
        return cls(bundle, file, card)

    @property
    def name(self) -> str:
        return f"{self.dataset}-ensemble{len(self.members)}"

    def validation_metrics(self) -> dict:
        return dict(self.card.get("metrics", {}).get("val", {}))

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch: int = 256) -> BatchPrediction:
        """Predict images (N, 28, 28) float in [0, 1]."""
        x = np.asarray(x, dtype=np.float32)
        if self.intensity == INTENSITY:
            x = canonical_intensity(x)
        logits, emb = [], []
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch]).unsqueeze(1)
            f0 = self.members[0].features(xb)
            emb.append(f0.numpy())
            logits.append(torch.stack([self.members[0].head(f0).squeeze(1)]
                                      + [m(xb) for m in self.members[1:]]).numpy())
        lg = np.concatenate(logits, 1).astype(np.float64)
        embedding = np.concatenate(emb)
        t = self.temperature
        prob = sigmoid(lg.mean(0) / t)
        member = sigmoid(lg / t)
        sd = member.std(0, ddof=1) if len(member) > 1 else np.zeros_like(prob)
        interval = np.stack([np.clip(prob - 2 * sd, 0, 1), np.clip(prob + 2 * sd, 0, 1)], 1)
        rec, err = reconstruction(self.autoencoder, x)
        mse = err.reshape(len(x), -1).mean(1)
        score = anomaly_scores(x, err)
        scores = self.gate.scores(embedding, x, mse)
        ood, reasons = self.gate.reject(scores)
        lo, hi = self.refer_band
        refer, refer_reasons = np.zeros(len(x), bool), []
        for i in range(len(x)):
            r = []
            if ood[i]:
                r.append("out of distribution: not like the chest X-rays the model was trained on")
            if lo <= prob[i] <= hi:
                r.append(f"probability {prob[i]:.2f} inside the refer band [{lo:.2f}, {hi:.2f}]")
            if interval[i, 0] < 0.5 < interval[i, 1]:
                r.append("ensemble members disagree across the 0.5 decision threshold")
            if prob[i] < 0.5 and score[i] > self.anomaly_threshold:
                r.append("classified normal but the normal-anatomy model flags an anomaly")
            refer[i] = bool(r)
            refer_reasons.append(r)
        return BatchPrediction(prob, member, interval, sigmoid(lg.mean(0)), score, mse, err, rec, ood, reasons, scores,
                               refer, refer_reasons)


@lru_cache(maxsize=4)
def cached_model(path: str | None = None) -> ImagingModel:
    """Process-wide cache so repeated diagnoses pay the load once."""
    return ImagingModel.load(path)
