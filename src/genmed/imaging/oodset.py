"""A set of images that are *not* chest X-rays, built offline from files shipped with installed packages
(pydicom's CT/MR/ultrasound/nuclear-medicine test files, nibabel's MRI volumes, matplotlib's photographs)
plus synthetic inputs (noise, patterns). Used only to *measure* the OOD gate; never to fit it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from genmed.core.errors import GenmedError
from genmed.imaging.io import ImageData, load_image
from genmed.imaging.preprocess import centre_crop, prepare, resize


@dataclass
class OODItem:
    name: str
    category: str
    x: np.ndarray  # (28, 28) model input in [0, 1]
    metadata_reasons: list[str]


def _pkg_dir(pkg: str) -> str | None:
    import importlib.util

    spec = importlib.util.find_spec(pkg)
    return os.path.dirname(spec.origin) if spec and spec.origin else None


def _views(disp: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """The centre crop plus ``n - 1`` random square crops (50-90% of the short edge) of a 2-D image."""
    out = [centre_crop(disp)[0]]
    h, w = disp.shape
    for _ in range(n - 1):
        s = int(min(h, w) * rng.uniform(0.5, 0.9))
        top, left = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
        out.append(disp[top:top + s, left:left + s])
    return [np.round(np.clip(resize(v, 28), 0, 1) * 255) / 255 for v in out]


def _from_image(img: ImageData, name: str, category: str, rng, crops: int) -> list[OODItem]:
    from genmed.imaging.diagnosis import metadata_reasons

    items = []
    frames = range(img.shape[0]) if img.is_volume else [None]
    if img.is_volume and len(frames) > 6:
        frames = np.linspace(len(frames) * 0.2, len(frames) * 0.8, 6).astype(int).tolist()
    for f in frames:
        prep = prepare(img, frame=f)
        reasons = metadata_reasons(img, prep.colour_saturation)
        for i, v in enumerate(_views(prep.display, rng, crops)):
            items.append(OODItem(f"{name}[{f if f is not None else 0}:{i}]", category, v.astype(np.float32), reasons))
    return items


def build_ood_set(seed: int = 0, crops: int = 4) -> list[OODItem]:
    rng = np.random.default_rng(seed)
    items: list[OODItem] = []
    sources: list[tuple[str, str]] = []
    pyd = _pkg_dir("pydicom")
    if pyd:
        for f, cat in [("CT_small.dcm", "CT slice"), ("MR_small.dcm", "MR slice"), ("JPEG2000.dcm", "nuclear medicine"),
                       ("examples_palette.dcm", "ultrasound"), ("examples_jpeg2k.dcm", "ultrasound"),
                       ("examples_ybr_color.dcm", "ultrasound"), ("examples_rgb_color.dcm", "ultrasound"),
                       ("liver_1frame.dcm", "CT segmentation"), ("SC_rgb_rle.dcm", "synthetic colour")]:
            sources.append((os.path.join(pyd, "data", "test_files", f), cat))
    nib = _pkg_dir("nibabel")
    if nib:
        for f in ("anatomical.nii", "functional.nii", "standard.nii.gz"):
            sources.append((os.path.join(nib, "tests", "data", f), "MR volume"))
    mpl = _pkg_dir("matplotlib")
    if mpl:
        for f in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
            sources.append((os.path.join(mpl, "mpl-data", "sample_data", f), "photograph/graphic"))
    for path, cat in sources:
        if not os.path.exists(path):
            continue
        try:
            img = load_image(path)
            if img.kind == "volume" and img.shape[0] < 3:
                continue
            items.extend(_from_image(img, os.path.basename(path), cat, rng, crops))
        except GenmedError:
            continue
    # synthetic inputs: what a mis-routed upload or a broken detector produces
    for i in range(10):
        items.append(OODItem(f"uniform-noise-{i}", "noise", rng.random((28, 28)).astype(np.float32), []))
        g = np.clip(rng.normal(0.5, 0.2, (28, 28)), 0, 1)
        items.append(OODItem(f"gaussian-noise-{i}", "noise", g.astype(np.float32), []))
        smooth = resize(rng.random((7, 7)).astype(np.float32), 28)
        items.append(OODItem(f"smooth-noise-{i}", "noise", np.clip(smooth, 0, 1).astype(np.float32), []))
        items.append(OODItem(f"constant-{i}", "blank", np.full((28, 28), i / 9, np.float32), []))
        yy, xx = np.mgrid[0:28, 0:28] / 27.0
        ang = rng.uniform(0, np.pi)
        items.append(OODItem(f"gradient-{i}", "pattern", (np.cos(ang) * xx + np.sin(ang) * yy).clip(0, 1)
                             .astype(np.float32), []))
        k = 2 + i % 5
        items.append(OODItem(f"checkerboard-{i}", "pattern",
                             (((np.arange(28)[:, None] // k) + (np.arange(28)[None] // k)) % 2).astype(np.float32), []))
    return items
