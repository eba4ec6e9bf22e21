"""genmed.imaging: read medical images, diagnose with a calibrated ensemble, flag anomalies and non-chest
inputs, explain with saliency maps.

Public API::

    from genmed.imaging import diagnose, load_image
    d = diagnose("cxr.dcm")           # Diagnosis: probability, interval, refer, anomaly/OOD flags, saliency PNGs
    img = load_image("study_dir/")    # ImageData: pixels + metadata (identifiers pseudonymised)

Heavy modules (torch) load on first use, so importing this package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from genmed.imaging.diagnosis import Diagnosis, diagnose, diagnose_array
    from genmed.imaging.evaluate import Evaluation, evaluate_bundle
    from genmed.imaging.io import ImageData, Study, load_image, load_study
    from genmed.imaging.medmnist import MedMNISTSplit, load_medmnist
    from genmed.imaging.models import IMAGE_MODELS
    from genmed.imaging.predictor import ImagingModel
    from genmed.imaging.train import TrainConfig, train_bundle

_EXPORTS = {
    "Diagnosis": "diagnosis", "diagnose": "diagnosis", "diagnose_array": "diagnosis",
    "Evaluation": "evaluate", "evaluate_bundle": "evaluate",
    "ImageData": "io", "Study": "io", "load_image": "io", "load_study": "io",
    "MedMNISTSplit": "medmnist", "load_medmnist": "medmnist",
    "IMAGE_MODELS": "models", "ImagingModel": "predictor",
    "TrainConfig": "train", "train_bundle": "train",
}
__all__ = [
    "IMAGE_MODELS", "Diagnosis", "Evaluation", "ImageData", "ImagingModel", "MedMNISTSplit", "Study", "TrainConfig",
    "diagnose", "diagnose_array", "evaluate_bundle", "load_image", "load_medmnist", "load_study", "train_bundle",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"genmed.imaging.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'genmed.imaging' has no attribute {name!r}")
