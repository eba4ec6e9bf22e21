"""Training the default imaging bundle: a deep ensemble of small ResNets (calibrated by temperature scaling on
the validation split), an autoencoder of normal images and the OOD gate, saved as one ``model.pt`` + ``model.json``.

CPU-friendly by design (one thread, channels-last, ~1 minute per ensemble member on a shared 2-core machine).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genmed.core.logging import get_logger
from genmed.imaging.anomaly import (
    Mahalanobis,
    OODGate,
    anomaly_scores,
    fit_ood_gate,
    image_statistics,
    reconstruction,
)
from genmed.imaging.calibration import fit_temperature
from genmed.imaging.medmnist import load_medmnist
from genmed.imaging.models import ConvAutoencoder, SmallResNet
from genmed.imaging.preprocess import INTENSITY, canonical_intensity

log = get_logger("genmed.imaging.train")
BUNDLE_FORMAT = "genmed-imaging-bundle/1"


@dataclass
class TrainConfig:
    dataset: str = "pneumoniamnist"
    members: int = 5
    epochs: int = 12
    width: int = 16
    blocks: int = 1
    dropout: float = 0.2
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 5e-4
    ae_epochs: int = 40
    ae_latent: int = 32
    seed: int = 0
    threads: int = 1
    ood_false_rejection: float = 0.015
    refer_band: tuple[float, float] = (0.2, 0.8)
    limit: int | None = None  # first N training images (tests); None = all
    extra: dict = field(default_factory=dict)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random affine (rotation +-10 deg, scale 0.9-1.1, shift +-2 px) and contrast/brightness/gamma jitter.

    Mirrors the variation between radiographs (patient position, exposure) without flipping anatomy.
    """
    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) - 0.5) * (2 * math.radians(10))
    scale = 1 + (torch.rand(n, generator=gen) - 0.5) * 0.2
    shift = (torch.rand(n, 2, generator=gen) - 0.5) * (2 * 2 / 14)
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    gamma = torch.exp((torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.4)
    contrast = 1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.3
    bright = (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.1
    out = out.clamp(0, 1) ** gamma
    return ((out - 0.5) * contrast + 0.5 + bright).clamp(0, 1)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images -> (N, 1, H, W) float in [0, 1] after the canonical intensity mapping used at inference."""
    return torch.from_numpy(canonical_intensity(images.astype(np.float32) / 255.0)).unsqueeze(1)


def augment_canonical(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """:func:`augment`, then the same robust min-max every inference input gets."""
    return torch.from_numpy(canonical_intensity(augment(x, gen).squeeze(1).numpy())).unsqueeze(1)


def train_classifier(x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, seed: int,
                     on_epoch: Callable[[int, float], None] | None = None) -> SmallResNet:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = SmallResNet(cfg.width, cfg.blocks, cfg.dropout).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(x) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.2)
    yf = y.float()
    for epoch in range(cfg.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb = augment_canonical(x[idx], gen).contiguous(memory_format=torch.channels_last)
            loss = F.binary_cross_entropy_with_logits(model(xb), yf[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if on_epoch:
            on_epoch(epoch, total / len(x))
    model.eval()
    return model.to(memory_format=torch.contiguous_format)


def train_autoencoder(x: torch.Tensor, cfg: TrainConfig, seed: int) -> ConvAutoencoder:
    """Autoencoder on normal images only, with light augmentation so it learns anatomy, not the 1,214 images."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 7)
    ae = ConvAutoencoder(latent=cfg.ae_latent)
    opt = torch.optim.AdamW(ae.parameters(), lr=2e-3, weight_decay=1e-5)
    steps = cfg.ae_epochs * math.ceil(len(x) / 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    for _ in range(cfg.ae_epochs):
        ae.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            xb = augment_canonical(x[perm[i:i + 64]], gen)
            loss = F.mse_loss(ae(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    ae.eval()
    return ae


@torch.no_grad()
def member_outputs(models: list[SmallResNet], x: torch.Tensor, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Logits (M, N) of every member and the pooled embedding (N, D) of the first member."""
    logits, feats = [], []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        f0 = models[0].features(xb)
        feats.append(f0.numpy())
        logits.append(torch.stack([models[0].head(f0).squeeze(1)] + [m(xb) for m in models[1:]]).numpy())
    return np.concatenate(logits, 1), np.concatenate(feats)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_bundle(cfg: TrainConfig, out: Path, progress: Callable[[str], None] | None = None) -> dict:
    """Train everything, write ``out/model.pt`` and ``out/model.json``; returns the model card."""
    torch.set_num_threads(cfg.threads)
    say = progress or (lambda msg: log.info(msg))
    t0, cpu0 = time.perf_counter(), time.process_time()
    train = load_medmnist(cfg.dataset, "train", limit=cfg.limit)
    val = load_medmnist(cfg.dataset, "val")
    xtr, ytr = to_tensor(train.images), torch.from_numpy(train.labels)
    xva = to_tensor(val.images)

    members, timings = [], {}
    for m in range(cfg.members):
        tm = time.perf_counter()
        model = train_classifier(xtr, ytr, cfg, seed=cfg.seed * 1000 + m,
                                 on_epoch=lambda e, loss, m=m: say(f"member {m + 1}/{cfg.members} "
                                                                   f"epoch {e + 1}/{cfg.epochs} loss {loss:.4f}"))
        members.append(model)
        timings[f"member_{m}"] = round(time.perf_counter() - tm, 1)

    tm = time.perf_counter()
    say("autoencoder on normal training images")
    ae = train_autoencoder(xtr[ytr == 0], cfg, seed=cfg.seed)
    timings["autoencoder"] = round(time.perf_counter() - tm, 1)

    # calibration and gates: validation split only
    val_logits, val_emb = member_outputs(members, xva)
    temperature = fit_temperature(val_logits.mean(0), val.labels)
    tr_logits, tr_emb = member_outputs(members, xtr)
    del tr_logits
    xva_np, xtr_np = xva.squeeze(1).numpy(), xtr.squeeze(1).numpy()
    _, va_err = reconstruction(ae, xva_np)
    va_rec = va_err.reshape(len(xva_np), -1).mean(1)
    gate = OODGate(Mahalanobis.fit(tr_emb), Mahalanobis.fit(image_statistics(xtr_np)), {}, 0.0)
    val_scores = gate.scores(val_emb, xva_np, va_rec)
    gate.thresholds = fit_ood_gate({}, val_scores, cfg.ood_false_rejection)
    gate.val_quantile = 1 - cfg.ood_false_rejection / len(val_scores)
    va_anom = anomaly_scores(xva_np, va_err)
    anomaly_threshold = float(np.quantile(va_anom[val.labels == 0], 0.95))

    cfg_dict = asdict(cfg)
    bundle = {
        "format": BUNDLE_FORMAT,
        "dataset": cfg.dataset,
        "class_names": list(train.class_names),
        "classifier": {"name": "resnet-small", "config": members[0].config,
                       "members": [m.state_dict() for m in members]},
        "autoencoder": {"name": "conv-autoencoder", "config": ae.config, "state": ae.state_dict()},
        "temperature": temperature,
        "anomaly_threshold": anomaly_threshold,
        "refer_band": list(cfg.refer_band),
        "preprocess": {"intensity": INTENSITY, "size": 28},
        "ood": gate.to_state(),
        "train_config": json.loads(json.dumps(cfg_dict)),
    }
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "model.pt.tmp"
    torch.save(bundle, tmp)
    tmp.replace(out / "model.pt")

    from genmed.imaging.evaluate import evaluate_bundle

    timings["total_train"] = round(time.perf_counter() - t0, 1)
    timings["total_train_cpu"] = round(time.process_time() - cpu0, 1)
    metrics = {split: evaluate_bundle(out / "model.pt", split=split, dataset=cfg.dataset).summary()
               for split in ("val", "test")}
    from genmed.core.provenance import package_versions

    card = {
        "format": BUNDLE_FORMAT,
        "model": "deep ensemble of SmallResNet + ConvAutoencoder + OOD gate",
        "dataset": {"name": cfg.dataset, "source": train.source, "sha256": file_sha256(train.source),
                    "citation": "Yang J, et al. MedMNIST v2. Scientific Data 2023;10:41"},
        "config": cfg_dict,
        "temperature": temperature,
        "anomaly_threshold": anomaly_threshold,
        "ood_thresholds": gate.thresholds,
        "parameters_per_member": sum(p.numel() for p in members[0].parameters()),
        "parameters_autoencoder": sum(p.numel() for p in ae.parameters()),
        "timings_s": timings,
        "metrics": metrics,
        "versions": package_versions(),
        "weights_sha256": file_sha256(out / "model.pt"),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "model.json").write_text(json.dumps(card, indent=2, default=str))
    return card
