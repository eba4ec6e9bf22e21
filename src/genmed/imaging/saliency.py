"""Where the model looked: Grad-CAM (Selvaraju et al., ICCV 2017) and integrated gradients (Sundararajan et
al., ICML 2017) for the ensemble's pneumonia logit, and PNG overlays on the presentation image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# "inferno"-like colour ramp (black -> purple -> orange -> yellow), no matplotlib import needed
_RAMP = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66], [245, 125, 21],
                  [250, 193, 39], [252, 255, 164]], dtype=np.float64)


def colourise(heat: np.ndarray) -> np.ndarray:
    """Map [0, 1] values to RGB uint8 with the ramp above."""
    h = np.clip(heat, 0, 1) * (len(_RAMP) - 1)
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, len(_RAMP) - 1)
    t = (h - lo)[..., None]
    return ((1 - t) * _RAMP[lo] + t * _RAMP[hi]).astype(np.uint8)


def grad_cam(models: list[torch.nn.Module], x: np.ndarray) -> np.ndarray:
    """Grad-CAM at the last residual stage (7x7), averaged over ensemble members, upsampled to the input size,
    scaled to [0, 1]. ``x`` is (28, 28) in [0, 1]."""
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))[None, None]
    cams = []
    for m in models:
        store: dict[str, torch.Tensor] = {}
        handle = m.last_conv.register_forward_hook(lambda _m, _i, out, store=store: store.setdefault("a", out))
        try:
            m.zero_grad(set_to_none=True)
            logit = m(xt)
            act = store["a"]
            (grad,) = torch.autograd.grad(logit.sum(), act)
        finally:
            handle.remove()
        w = grad.mean(dim=(2, 3), keepdim=True)
        cams.append(F.relu((w * act).sum(1, keepdim=True)).detach())
    cam = torch.stack(cams).mean(0)
    cam = F.interpolate(cam, size=xt.shape[-2:], mode="bilinear", align_corners=False)[0, 0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def integrated_gradients_raw(models: list[torch.nn.Module], x: np.ndarray, steps: int = 32) -> np.ndarray:
    """Signed integrated gradients of the mean ensemble logit from a black baseline (midpoint Riemann sum).

    Completeness: the attributions sum to f(x) - f(baseline) up to the discretisation error of ``steps``."""
    for m in models:
        m.eval()
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))[None, None]
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    path = (alphas[:, None, None, None] * xt).requires_grad_(True)
    logit = torch.stack([m(path) for m in models]).mean(0)
    (grads,) = torch.autograd.grad(logit.sum(), path)
    return (xt * grads.mean(0, keepdim=True))[0, 0].detach().numpy()


def integrated_gradients(models: list[torch.nn.Module], x: np.ndarray, steps: int = 32) -> np.ndarray:
    """Positive evidence for the positive class from :func:`integrated_gradients_raw`, scaled to [0, 1]."""
    pos = np.clip(integrated_gradients_raw(models, x, steps), 0, None)
    return pos / pos.max() if pos.max() > 0 else pos


def overlay_png(base: np.ndarray, heat: np.ndarray, path: str | Path, size: int = 256, alpha: float = 0.45,
                title_bar: tuple[int, int, int] | None = None) -> Path:
    """Blend a heat map over the greyscale presentation image and write a ``size``-pixel square PNG."""
    from PIL import Image

    base_im = Image.fromarray((np.clip(base, 0, 1) * 255).astype(np.uint8), mode="L")
    if base_im.size != (size, size):
        base_im = base_im.resize((size, size), Image.Resampling.BILINEAR)
    heat_im = Image.fromarray(np.ascontiguousarray(heat, dtype=np.float32), mode="F").resize(
        (size, size), Image.Resampling.BILINEAR)
    h = np.clip(np.asarray(heat_im), 0, 1)
    grey = np.repeat(np.asarray(base_im, dtype=np.float64)[..., None], 3, axis=2)
    colour = colourise(h).astype(np.float64)
    # heat below 20% of the maximum stays transparent so the anatomy remains readable
    hn = h / h.max() if h.max() > 0 else h
    a = (alpha * np.clip((hn - 0.2) / 0.8, 0, 1))[..., None]
    rgb = ((1 - a) * grey + a * colour).astype(np.uint8)
    if title_bar is not None:
        rgb[:4] = np.array(title_bar, dtype=np.uint8)
    path = Path(path)
    Image.fromarray(rgb, mode="RGB").save(path, optimize=False, compress_level=1)
    return path
