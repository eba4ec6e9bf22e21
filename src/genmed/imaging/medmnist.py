"""MedMNIST ``.npz`` files (train/val/test arrays), read strictly: a malformed file fails with its name."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genmed.core.data import data_path
from genmed.core.errors import DataNotFoundError, InputError

SPLITS = ("train", "val", "test")

#: Class names of the MedMNIST 2-D data sets genmed knows (index = label).
LABELS: dict[str, tuple[str, ...]] = {
    "pneumoniamnist": ("normal", "pneumonia"),
}


@dataclass(frozen=True)
class MedMNISTSplit:
    """One split: ``images`` (N, H, W) uint8 and ``labels`` (N,) int64, plus where they came from."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def class_names(self) -> tuple[str, ...]:
        return LABELS.get(self.name, tuple(str(i) for i in range(int(self.labels.max()) + 1)))


def medmnist_path(name: str = "pneumoniamnist") -> Path:
    """``$GENMED_DATA_DIR/imaging/<name>/<name>.npz`` (DataNotFoundError with the fetch hint if absent)."""
    path = data_path("imaging", name, f"{name}.npz", must_exist=False)
    if not path.exists():
        raise DataNotFoundError(
            f"MedMNIST file not found at {path}", hint=f"run `genmed data fetch medmnist-{name}` or set GENMED_DATA_DIR"
        )
    return path


def load_medmnist(
    name_or_path: str | Path = "pneumoniamnist", split: str = "train", *, limit: int | None = None
) -> MedMNISTSplit:
    """Load one split of a MedMNIST ``.npz`` (by data-set name or file path).

    ``limit`` keeps the first N images (tests use small slices of the real file).
    """
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}", hint=f"use one of {', '.join(SPLITS)}")
    p = Path(name_or_path)
    if p.suffix == ".npz" or p.exists():
        path, name = p, p.stem
        if not path.exists():
            raise DataNotFoundError(f"MedMNIST file not found: {path}")
    else:
        name = str(name_or_path)
        path = medmnist_path(name)
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            need = {f"{split}_images", f"{split}_labels"}
            if not need <= keys:
                raise InputError(
                    f"not a MedMNIST file: missing {', '.join(sorted(need - keys))}",
                    source=str(path), hint="expected arrays train/val/test_images and _labels",
                )
            images = npz[f"{split}_images"]
            labels = npz[f"{split}_labels"]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read MedMNIST file: {exc}", source=str(path)) from exc
    if images.ndim not in (3, 4) or images.dtype != np.uint8:
        raise InputError(
            f"{split}_images must be uint8 (N,H,W[,C]); got {images.dtype} {images.shape}", source=str(path)
        )
    labels = np.asarray(labels).reshape(len(labels), -1)
    if labels.shape[1] != 1 or len(labels) != len(images):
        raise InputError(
            f"{split}_labels must be (N,1) single-label matching {len(images)} images; got {labels.shape}",
            source=str(path),
        )
    labels = labels[:, 0].astype(np.int64)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return MedMNISTSplit(name=name, split=split, images=images, labels=labels, source=str(path))
