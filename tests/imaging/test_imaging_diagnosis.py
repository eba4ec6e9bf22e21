"""The shipped model end to end: diagnosis of real test images through PNG and DICOM, OOD rejection,
saliency files, accuracy on a slice of the official test split, latency."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from imaging_helpers import pydicom_file, write_dicom
from PIL import Image

from genmed.core.errors import InputError
from genmed.imaging.diagnosis import diagnose, diagnose_array


def save_png(x28: np.ndarray, path, size=224):
    Image.fromarray(x28.astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC).save(path)
    return path


def test_diagnose_png(tmp_path, shipped_model, test_images):
    images, labels = test_images
    d = diagnose(save_png(images[0], tmp_path / "cxr.png"), model=shipped_model, out=tmp_path / "out",
                 integrated_gradients=True)
    assert d.finding in ("normal", "pneumonia") and not d.ood
    assert 0 <= d.interval[0] <= d.probability <= d.interval[1] <= 1
    assert d.finding == ("pneumonia" if d.probability >= 0.5 else "normal")
    assert set(d.saliency) == {"gradcam", "integrated_gradients", "anomaly_map"}
    for p in d.saliency.values():
        im = Image.open(p)
        assert im.size == (256, 256) and im.mode == "RGB"
    assert d.model["validation"]["auc"] > 0.9 and d.model["weights_sha256"]
    assert "deep ensemble" in d.interval_method and d.to_dict()["label"] == "pneumonia"


def test_monochrome1_dicom_gives_same_answer_as_png(tmp_path, shipped_model, test_images):
    images, _ = test_images
    x = np.asarray(Image.fromarray(images[3]).resize((256, 256), Image.Resampling.BICUBIC), dtype=np.float64)
    png = tmp_path / "a.png"
    Image.fromarray(x.astype(np.uint8)).save(png)
    stored = (4095 - np.round(x / 255 * 4095)).astype(np.uint16)  # MONOCHROME1: bright = low value
    dcm = write_dicom(tmp_path / "a.dcm", stored, photometric="MONOCHROME1", window=(2047.5, 4096),
                      extra={"BodyPartExamined": "CHEST"})
    a = diagnose(png, model=shipped_model, saliency=False)
    b = diagnose(dcm, model=shipped_model, saliency=False)
    assert b.probability == pytest.approx(a.probability, abs=0.03)


def test_ct_slice_rejected(shipped_model):
    d = diagnose(pydicom_file("CT_small.dcm"), model=shipped_model, saliency=False)
    assert d.ood and d.finding == "indeterminate" and d.probability is None and d.refer
    assert any("modality CT" in r for r in d.ood_reasons)


def test_noise_rejected_from_pixels_alone(shipped_model):
    rng = np.random.default_rng(0)
    for x in (rng.random((28, 28)), np.full((28, 28), 0.5), rng.random((7, 7)).repeat(4, 0).repeat(4, 1)):
        d = diagnose_array(x, shipped_model)
        assert d.ood and d.probability is None
        assert d.ood_reasons and all("threshold" in r for r in d.ood_reasons)


def test_colour_photo_rejected(shipped_model):
    import matplotlib.cbook as cbook

    d = diagnose(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), model=shipped_model, saliency=False)
    assert d.ood and any("colour" in r for r in d.ood_reasons)


def test_volume_needs_a_frame(tmp_path, shipped_model, test_images):
    images, _ = test_images
    frames = np.stack([images[i].astype(np.uint16) * 16 for i in range(3)])
    path = write_dicom(tmp_path / "mf.dcm", frames)
    with pytest.raises(InputError, match="2-D model"):
        diagnose(path, model=shipped_model, saliency=False)
    d = diagnose(path, model=shipped_model, frame=1, saliency=False)
    assert d.image["frame"] == 1 and d.probability is not None


def test_accuracy_and_acceptance_on_test_slice(shipped_model, test_images):
    from sklearn.metrics import roc_auc_score

    images, labels = test_images
    p = shipped_model.predict(images.astype(np.float32) / 255)
    assert ((p.probability >= 0.5) == labels).mean() >= 0.85
    assert roc_auc_score(labels, p.probability) >= 0.9
    assert p.ood.mean() <= 0.1  # real chest X-rays are (almost all) accepted
    assert (p.interval[:, 0] <= p.probability).all() and (p.probability <= p.interval[:, 1]).all()


def test_integrated_gradients_completeness(shipped_model, test_images):
    import torch

    from genmed.imaging.saliency import grad_cam, integrated_gradients_raw

    x = test_images[0][5].astype(np.float32) / 255
    members = shipped_model.members[:2]
    attr = integrated_gradients_raw(members, x, steps=64)
    with torch.no_grad():
        f = [torch.stack([m(torch.from_numpy(v)[None, None]) for m in members]).mean().item()
             for v in (x, np.zeros_like(x))]
    assert attr.sum() == pytest.approx(f[0] - f[1], rel=0.1, abs=0.1)
    cam = grad_cam(shipped_model.members, x)
    assert cam.shape == (28, 28) and cam.max() == pytest.approx(1.0) and cam.min() >= 0 and cam.std() > 0


def test_latency_under_300ms(tmp_path, shipped_model, test_images):
    import torch

    torch.set_num_threads(1)  # tiny model: one thread is fastest, and the machine is shared
    images, _ = test_images
    path = save_png(images[1], tmp_path / "t.png", size=1024)
    diagnose(path, model=shipped_model, out=tmp_path / "warm")
    times = []
    for i in range(5):
        t0 = time.perf_counter()
        diagnose(path, model=shipped_model, out=tmp_path / f"o{i}")
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.3


def test_fhir_observation_validates(tmp_path, shipped_model, test_images):
    from fhir.resources.R4B.observation import Observation

    d = diagnose(save_png(test_images[0][0], tmp_path / "c.png"), model=shipped_model, saliency=False)
    obs = Observation.model_validate(d.to_fhir_observation("Patient/pt-1"))
    assert float(obs.valueQuantity.value) == d.probability and obs.status == "preliminary"
    rejected = diagnose(pydicom_file("CT_small.dcm"), model=shipped_model, saliency=False)
    obs2 = Observation.model_validate(rejected.to_fhir_observation())
    assert obs2.valueQuantity is None and obs2.dataAbsentReason.coding[0].code == "not-applicable"


def test_public_api_is_the_function_even_after_submodule_import():
    import genmed.imaging
    import genmed.imaging.diagnosis  # noqa: F401  (importing the submodule must not shadow the function)

    assert callable(genmed.imaging.diagnose) and genmed.imaging.diagnose.__name__ == "diagnose"
    from genmed.imaging import Diagnosis, diagnose

    assert diagnose is genmed.imaging.diagnosis.diagnose and Diagnosis.__name__ == "Diagnosis"
