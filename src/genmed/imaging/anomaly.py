"""Generative anomaly scores and the out-of-distribution gate.

* Anomaly: an autoencoder trained on *normal* chest X-rays only reconstructs normal anatomy; its per-pixel
  squared error is the anomaly map. It needs no labels of disease, so it can flag findings no classifier label
  covers. The raw mean error is biased by input complexity (smooth images reconstruct well whatever they show:
  on PneumoniaMNIST the hazy pneumonia images reconstruct *better* than normal ones, test AUROC 0.30), so the
  anomaly score divides it by the image's own texture energy (squared mean gradient magnitude), after the
  input-complexity correction of Serra et al., ICLR 2020. The variant was chosen on the validation split.
* OOD gate: before the classifier is trusted, the image must look like the training data. Three scores, each
  compared with a threshold set on in-distribution *validation* images only (never on the OOD examples we
  test with): Mahalanobis distance of the classifier embedding (Lee et al., NeurIPS 2018), Mahalanobis distance of
  simple intensity/texture statistics, and the autoencoder reconstruction error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

STAT_NAMES = ("mean", "std", "p05", "p50", "p95", "dark_frac", "bright_frac", "grad_mean", "grad_std",
              "lr_corr", "top_bottom", "border_centre", "laplacian")


def image_statistics(x: np.ndarray) -> np.ndarray:
    """Intensity and texture statistics of images (N, 28, 28) in [0, 1] -> (N, 13).

    Chest X-rays have a characteristic layout: bright mediastinum in the centre, dark lungs either side,
    near left-right symmetry, smooth gradients. Noise, photos and cross-sectional slices break these.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    flat = x.reshape(n, -1)
    gy, gx = np.gradient(x, axis=(1, 2))
    grad = np.sqrt(gx**2 + gy**2).reshape(n, -1)
    lap = (np.abs(x[:, 1:-1, 1:-1] * 4 - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:])
           .reshape(n, -1).mean(1))
    left, right = x[:, :, :14].reshape(n, -1), x[:, :, 14:][:, :, ::-1].reshape(n, -1)
    lc, rc = left - left.mean(1, keepdims=True), right - right.mean(1, keepdims=True)
    lr = (lc * rc).sum(1) / (np.sqrt((lc**2).sum(1) * (rc**2).sum(1)) + 1e-8)
    border = np.concatenate([x[:, :3].reshape(n, -1), x[:, -3:].reshape(n, -1),
                             x[:, :, :3].reshape(n, -1), x[:, :, -3:].reshape(n, -1)], 1).mean(1)
    centre = x[:, 7:21, 7:21].reshape(n, -1).mean(1)
    q = np.percentile(flat, [5, 50, 95], axis=1)
    return np.stack([
        flat.mean(1), flat.std(1), q[0], q[1], q[2], (flat < 0.05).mean(1), (flat > 0.95).mean(1),
        grad.mean(1), grad.std(1), lr, x[:, :14].reshape(n, -1).mean(1) - x[:, 14:].reshape(n, -1).mean(1),
        border - centre, lap,
    ], axis=1)


@dataclass
class Mahalanobis:
    """Mahalanobis distance to a Gaussian fitted with Ledoit-Wolf shrinkage (stable in small samples)."""

    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, feats: np.ndarray) -> Mahalanobis:
        from sklearn.covariance import LedoitWolf

        lw = LedoitWolf().fit(np.asarray(feats, dtype=np.float64))
        return cls(mean=lw.location_, precision=lw.precision_)

    def distance(self, feats: np.ndarray) -> np.ndarray:
        d = np.asarray(feats, dtype=np.float64) - self.mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, self.precision, d), 0.0))

    def to_state(self) -> dict[str, torch.Tensor]:
        return {"mean": torch.from_numpy(self.mean), "precision": torch.from_numpy(self.precision)}

    @classmethod
    def from_state(cls, state: dict) -> Mahalanobis:
        return cls(mean=state["mean"].numpy(), precision=state["precision"].numpy())


@dataclass
class OODGate:
    """Rejects an image when any of its scores exceeds the threshold learnt on in-distribution val images."""

    embedding: Mahalanobis
    stats: Mahalanobis
    thresholds: dict[str, float]
    val_quantile: float
    notes: list[str] = field(default_factory=list)

    def scores(self, embedding: np.ndarray, images: np.ndarray, recon_error: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "embedding_mahalanobis": self.embedding.distance(embedding),
            "statistics_mahalanobis": self.stats.distance(image_statistics(images)),
            "reconstruction_error": np.asarray(recon_error, dtype=np.float64),
        }

    def reject(self, scores: dict[str, np.ndarray]) -> tuple[np.ndarray, list[list[str]]]:
        """Boolean rejection per image and, for each, the names of the scores over threshold."""
        n = len(next(iter(scores.values())))
        reasons: list[list[str]] = [[] for _ in range(n)]
        for name, vals in scores.items():
            for i in np.flatnonzero(vals > self.thresholds[name]):
                reasons[i].append(name)
        return np.array([bool(r) for r in reasons]), reasons

    def to_state(self) -> dict:
        return {"embedding": self.embedding.to_state(), "stats": self.stats.to_state(),
                "thresholds": dict(self.thresholds), "val_quantile": self.val_quantile}

    @classmethod
    def from_state(cls, state: dict) -> OODGate:
        return cls(Mahalanobis.from_state(state["embedding"]), Mahalanobis.from_state(state["stats"]),
                   {k: float(v) for k, v in state["thresholds"].items()}, float(state["val_quantile"]))


def fit_ood_gate(train_scores_src: dict[str, np.ndarray], val_scores: dict[str, np.ndarray],
                 false_rejection: float = 0.015) -> dict[str, float]:
    """Thresholds: the (1 - a/k) quantile of each of k val scores (Bonferroni), so at most ``a`` of
    in-distribution images are rejected in expectation."""
    del train_scores_src
    k = len(val_scores)
    q = 1.0 - false_rejection / k
    return {name: float(np.quantile(v, q)) for name, v in val_scores.items()}


def texture_energy(x: np.ndarray) -> np.ndarray:
    """Mean absolute finite difference per image (N, H, W) -> (N,): a cheap input-complexity measure."""
    x = np.asarray(x, dtype=np.float64)
    return np.abs(np.diff(x, axis=1)).mean((1, 2)) + np.abs(np.diff(x, axis=2)).mean((1, 2))


def anomaly_scores(x: np.ndarray, sq_err: np.ndarray) -> np.ndarray:
    """Complexity-normalised reconstruction error: mean squared error / texture_energy(x)**2."""
    mse = sq_err.reshape(len(sq_err), -1).mean(1)
    return mse / np.maximum(texture_energy(x), 1e-3) ** 2


def reconstruction(ae: torch.nn.Module, x: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Reconstructions and per-pixel squared errors for images (N, 28, 28) in [0, 1]."""
    outs = []
    ae.eval()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(np.asarray(x[i:i + batch], dtype=np.float32)).unsqueeze(1)
            outs.append(ae(xb).squeeze(1).numpy())
    rec = np.concatenate(outs) if outs else np.zeros_like(x, dtype=np.float32)
    return rec, (rec - x) ** 2
