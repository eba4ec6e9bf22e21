"""From any :class:`ImageData` to the model's input: one 2-D frame, [0, 1], centre-cropped square, 28x28.

Follows the MedMNIST v2 recipe for PneumoniaMNIST (centre crop to the short edge, resize, 8-bit), so a DICOM
radiograph reaches the model the way the training images did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genmed.core.errors import InputError
from genmed.imaging.io import ImageData

MODEL_SIZE = 28


@dataclass
class Prepared:
    x: np.ndarray  # (28, 28) float32 in [0, 1], quantised to 1/255 like MedMNIST
    display: np.ndarray  # centre-cropped square presentation image in [0, 1] (for overlays)
    colour_saturation: float  # mean channel spread in [0, 1]; 0 for greyscale
    crop: tuple[int, int, int, int]  # top, left, height, width in the original image


INTENSITY = "robust-minmax-0.5-99.5"


def canonical_intensity(x: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    """Per-image robust min-max to [0, 1], quantised to 8 bits, for images (..., H, W).

    Applied to training and to every input, it makes the model indifferent to exposure, bit depth and a
    missing VOI window (a 16-bit PNG or windowless DICOM would otherwise look unlike the 8-bit training data
    and be rejected by the OOD gate). Polarity (MONOCHROME1) and window clipping still matter.
    """
    x = np.asarray(x, dtype=np.float32)
    flat = x.reshape(*x.shape[:-2], -1)
    lo = np.percentile(flat, lo_pct, axis=-1)[..., None, None]
    hi = np.percentile(flat, hi_pct, axis=-1)[..., None, None]
    span = np.where(hi - lo > 1e-6, hi - lo, 1.0)
    out = np.where(hi - lo > 1e-6, np.clip((x - lo) / span, 0, 1), 0.0)
    return (np.round(out * 255) / 255).astype(np.float32)


def centre_crop(a: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    h, w = a.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return a[top:top + s, left:left + s], (top, left, s, s)


def resize(a: np.ndarray, size: int) -> np.ndarray:
    """Antialiased resize of a float image (box filter when shrinking, bicubic when enlarging)."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    method = Image.Resampling.BOX if a.shape[0] >= size else Image.Resampling.BICUBIC
    return np.asarray(im.resize((size, size), method), dtype=np.float32)


def prepare(img: ImageData, frame: int | None = None, size: int = MODEL_SIZE) -> Prepared:
    """Model input for a 2-D model. A multi-frame image or volume needs ``frame``; otherwise it is an error."""
    if img.is_volume:
        if frame is None:
            raise InputError(
                f"{img.kind} image with {img.shape[0]} frames/slices {img.shape} given to a 2-D model",
                source=img.source, hint="choose one frame (--frame N) or pass a 2-D image",
            )
        img = img.frame(frame)
    elif frame not in (None, 0):
        raise InputError(f"--frame {frame} given for a single 2-D image", source=img.source)
    disp = img.display()
    if disp.ndim == 3:
        saturation = float((disp.max(axis=2) - disp.min(axis=2)).mean())
        disp = (0.299 * disp[..., 0] + 0.587 * disp[..., 1] + 0.114 * disp[..., 2]).astype(np.float32)
    else:
        saturation = 0.0
    if min(disp.shape) < 8:
        raise InputError(f"image too small ({disp.shape[0]}x{disp.shape[1]} pixels)", source=img.source)
    square, crop = centre_crop(disp)
    x = np.clip(resize(square, size), 0, 1)
    x = np.round(x * 255.0) / 255.0
    return Prepared(x.astype(np.float32), square, saturation, crop)
