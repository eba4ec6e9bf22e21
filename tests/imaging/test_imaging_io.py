"""Image I/O: DICOM (rescale, window, MONOCHROME1, multi-frame, compressed, no meta), studies, NIfTI, PNG,
and the bad inputs a hospital feed produces."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest
from imaging_helpers import pydicom_file, write_dicom
from PIL import Image

from genmed.core.errors import InputError
from genmed.imaging.io import load_image, load_study


def ramp(h=32, w=32, top=4000):
    return (np.arange(h * w).reshape(h, w) * top // (h * w)).astype(np.uint16)


def test_ct_rescale_gives_hounsfield_units():
    import pydicom

    path = pydicom_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    img = load_image(path)
    assert img.kind == "2d" and img.format == "dicom" and img.metadata["modality"] == "CT"
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    np.testing.assert_allclose(img.pixels, expected)


def test_window_applied_on_display(tmp_path):
    px = ramp(top=4000)
    img = load_image(write_dicom(tmp_path / "w.dcm", px, window=(1000, 1000)))
    d = img.display()
    assert img.window == (1000.0, 1000.0)
    assert d[px <= 500].max() == 0.0 and d[px >= 1500].min() == 1.0  # outside the window: clipped
    mid = (px > 600) & (px < 1400)
    assert 0 < d[mid].min() < d[mid].max() < 1


def test_rescale_slope_intercept(tmp_path):
    img = load_image(write_dicom(tmp_path / "r.dcm", ramp(), slope=2.0, intercept=-1024))
    np.testing.assert_allclose(img.pixels, ramp() * 2.0 - 1024)


def test_monochrome1_is_inverted(tmp_path):
    px = ramp()
    m2 = load_image(write_dicom(tmp_path / "m2.dcm", px)).display()
    m1 = load_image(write_dicom(tmp_path / "m1.dcm", px, photometric="MONOCHROME1")).display()
    np.testing.assert_allclose(m1, 1 - m2, atol=1e-6)


def test_multiframe_and_frame_selection(tmp_path):
    frames = np.stack([ramp() + i * 10 for i in range(3)])
    img = load_image(write_dicom(tmp_path / "mf.dcm", frames))
    assert img.kind == "multiframe" and img.shape == (3, 32, 32)
    f1 = img.frame(1)
    assert f1.kind == "2d" and f1.metadata["frame"] == 1
    np.testing.assert_allclose(f1.pixels, frames[1])
    with pytest.raises(InputError, match="out of range"):
        img.frame(5)


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm"])
def test_compressed_transfer_syntaxes_decode(name):
    img = load_image(pydicom_file(name))
    assert img.pixels.size > 0 and np.isfinite(img.pixels).all()


def test_jpeg_ls_matches_uncompressed():
    a = load_image(pydicom_file("MR_small.dcm")).pixels
    b = load_image(pydicom_file("MR_small_jpeg_ls_lossless.dcm")).pixels
    np.testing.assert_array_equal(a, b)


def test_dicom_without_file_meta(tmp_path):
    path = write_dicom(tmp_path / "nometa.dcm", ramp(), meta=False)
    assert path.read_bytes()[128:132] != b"DICM"
    img = load_image(path)
    assert img.format == "dicom" and img.shape == (32, 32) and img.metadata["file_meta_missing"]


def test_dicom_without_pixel_data_is_clear_error():
    with pytest.raises(InputError, match="no pixel data") as exc:
        load_image(pydicom_file("rtplan.dcm"))
    assert "rtplan.dcm" in str(exc.value)


def test_corrupt_dicom(tmp_path):
    good = write_dicom(tmp_path / "g.dcm", ramp())
    bad = tmp_path / "corrupt.dcm"
    bad.write_bytes(good.read_bytes()[:300])  # header cut mid-element, pixel data gone
    with pytest.raises(InputError) as exc:
        load_image(bad)
    assert "corrupt.dcm" in str(exc.value)


def test_truncated_pixel_data(tmp_path):
    good = write_dicom(tmp_path / "g.dcm", ramp(64, 64))
    bad = tmp_path / "short.dcm"
    bad.write_bytes(good.read_bytes()[:-2000])
    with pytest.raises(InputError, match="short.dcm"):
        load_image(bad)


def test_empty_file(tmp_path):
    f = tmp_path / "empty.dcm"
    f.write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        load_image(f)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")


def test_garbage_file(tmp_path):
    f = tmp_path / "x.png"
    f.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(InputError, match="x.png"):
        load_image(f)


def test_identifiers_never_reach_logs_or_metadata(tmp_path):
    from genmed.core.logging import configure_logging

    path = write_dicom(tmp_path / "id.dcm", ramp(), extra={"PatientName": "Doe^Janet", "PatientID": "MRN998877",
                                                            "AccessionNumber": "ACC556677"})
    stream = io.StringIO()
    logger = logging.getLogger("genmed")
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    configure_logging("DEBUG", stream=stream)
    handler = next(h for h in logger.handlers if isinstance(h, logging.StreamHandler))
    old = handler.stream
    handler.setStream(stream)
    try:
        img = load_image(path)
        logging.getLogger("genmed.imaging.test").info("read image of %s (%s)", "Doe^Janet", "MRN998877")
    finally:
        handler.setStream(old)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate
    text = stream.getvalue() + json.dumps(img.metadata)
    for ident in ("Doe^Janet", "Doe Janet", "MRN998877", "ACC556677"):
        assert ident not in text
    assert img.metadata["patient"].startswith("pt-")
    assert "read DICOM" in stream.getvalue()


def test_study_directory_sorted_into_volume(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    for z in (2, 0, 1):
        write_dicom(study / f"s{z}.dcm", ramp() + z, extra={
            "ImagePositionPatient": [0, 0, float(z) * 2.5], "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
            "InstanceNumber": 3 - z})
    (study / "README.txt").write_text("not an image")
    st = load_study(study)
    assert len(st.series) == 1 and st.skipped and st.skipped[0][0] == "README.txt"
    vol = st.series[0]
    assert vol.kind == "volume" and vol.shape == (3, 32, 32)
    assert [float(vol.pixels[i, 0, 0]) for i in range(3)] == [0.0, 1.0, 2.0]  # sorted by position, not name
    assert load_image(study).kind == "volume"


def test_directory_with_two_series_asks_to_choose(tmp_path):
    study = tmp_path / "two"
    study.mkdir()
    write_dicom(study / "a.dcm", ramp(), extra={"SeriesInstanceUID": "1.2.3.1", "SeriesDescription": "PA"})
    write_dicom(study / "b.dcm", ramp(16, 16), extra={"SeriesInstanceUID": "1.2.3.2", "SeriesDescription": "LAT"})
    with pytest.raises(InputError, match="2 image series"):
        load_image(study)
    assert sorted(s.shape for s in load_study(study).series) == [(16, 16), (32, 32)]


def test_empty_directory(tmp_path):
    with pytest.raises(InputError, match="no readable DICOM"):
        load_image(tmp_path)


def test_png_8bit_and_grey_rgb(tmp_path):
    a = (np.arange(64 * 64).reshape(64, 64) % 256).astype(np.uint8)
    Image.fromarray(a).save(tmp_path / "g.png")
    Image.fromarray(np.stack([a] * 3, 2)).save(tmp_path / "rgb.png")
    g, rgb = load_image(tmp_path / "g.png"), load_image(tmp_path / "rgb.png")
    assert g.kind == rgb.kind == "2d" and g.metadata["stored_bits"] == 8
    np.testing.assert_allclose(g.display(), a / 255.0, atol=1e-6)
    np.testing.assert_allclose(rgb.pixels, g.pixels)


def test_png_16bit_keeps_full_range(tmp_path):
    a = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    Image.fromarray(a).save(tmp_path / "16.png")
    img = load_image(tmp_path / "16.png")
    assert img.metadata["stored_bits"] == 16 and img.pixels.max() == a.max()
    d = img.display()
    assert d.min() == 0.0 and d.max() == 1.0 and len(np.unique(d)) > 1000  # not squashed to 8 bits


def test_colour_png_stays_colour(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert load_image(tmp_path / "c.png").kind == "2d-colour"


def test_truncated_png(tmp_path):
    a = np.random.default_rng(1).integers(0, 255, (128, 128), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:2000])
    with pytest.raises(InputError, match="cut.png"):
        load_image(tmp_path / "cut.png")


def test_nifti_2d_3d_and_4d(tmp_path):
    import nibabel as nib

    vol = np.random.default_rng(0).random((20, 24, 5)).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "v.nii.gz")
    img = load_image(tmp_path / "v.nii.gz")
    assert img.kind == "volume" and img.shape == (5, 24, 20) and img.format == "nifti"
    nib.save(nib.Nifti1Image(vol[:, :, :1], np.eye(4)), tmp_path / "s.nii")
    assert load_image(tmp_path / "s.nii").kind == "2d"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 3), np.float32), np.eye(4)), tmp_path / "t.nii")
    with pytest.raises(InputError, match="4-D"):
        load_image(tmp_path / "t.nii")


def test_corrupt_nifti(tmp_path):
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b" + b"nonsense" * 10)
    with pytest.raises(InputError, match="bad.nii.gz"):
        load_image(tmp_path / "bad.nii.gz")
