"""DICOM de-identification against PS3.15 Table E.1-1, on pydicom's bundled files and datasets we write."""

from __future__ import annotations

import copy
import json

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from genmed.core.errors import InputError
from genmed.privacy.dicom_deid import (
    DicomDeidOptions,
    burned_in_check,
    deidentify_dataset,
    deidentify_dicom,
    profile_table,
)

KEY = b"0123456789abcdef0123456789abcdef"
BUNDLED = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "test-SR.dcm", "rtstruct.dcm", "JPEG2000.dcm",
           "SC_rgb_jpeg_dcmtk.dcm", "examples_rgb_color.dcm"]


def _value_for(vr: str, i: int):
    vr = vr.split(" or ")[0]
    return {
        "PN": "Gonzalez^Maria", "DA": "20200102", "TM": "101010", "DT": "20200102101010", "UI": f"1.2.826.0.1.{i}",
        "AS": "045Y", "CS": "SECRET", "IS": "12", "DS": "1.5", "US": 7, "SS": 7, "UL": 7, "SL": 7, "FL": 1.5,
        "FD": 1.5, "OB": b"\x01\x02", "OW": b"\x01\x02", "UN": b"\x01\x02", "OF": b"\x00\x00\x80\x3f",
        "AT": 0x00100010, "UR": "https://example.org/p", "SV": 7, "UV": 7,
    }.get(vr, f"identifying text {i}")


def full_table_dataset() -> tuple[Dataset, dict]:
    """A dataset holding every attribute Table E.1-1 lists (that pydicom's dictionary knows), plus privates."""
    exact, masked = profile_table()
    ds = Dataset()
    originals = {}
    tags = [(g, e) for (g, e) in exact if g != 0x0002]
    tags += [(0x6000, 0x3000), (0x6000, 0x4000), (0x5000, 0x3000)]
    for i, (g, e) in enumerate(tags):
        tag = (g << 16) | e
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        if vr == "SQ":
            item = Dataset()
            item.PatientName = "Gonzalez^Maria"
            item.ReferencedSOPInstanceUID = f"1.2.826.0.9.{i}"
            ds.add_new(tag, "SQ", Sequence([item]))
            originals[tag] = "SQ"
        else:
            v = _value_for(vr, i)
            ds.add_new(tag, vr.split(" or ")[0], v)
            originals[tag] = v
    ds.add_new(0x00091001, "LO", "private identifying")
    ds.add_new(0x00090010, "LO", "ACME private creator")
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    return ds, originals


def test_every_table_attribute_removed_or_replaced():
    ds, originals = full_table_dataset()
    assert len(originals) > 500  # the table really was applied in full
    rep = deidentify_dataset(ds, key=KEY)
    kept = []
    for tag, orig in originals.items():
        if tag not in ds:
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                assert "Gonzalez" not in str(item.get("PatientName", ""))
                if "ReferencedSOPInstanceUID" in item:
                    assert not item.ReferencedSOPInstanceUID.startswith("1.2.826.0.9.")
            continue
        if elem.value in (None, "", b"") or elem.value != orig:
            continue
        kept.append(keyword_for_tag(tag) or hex(tag))
    assert not kept, f"attributes kept with their original value: {kept}"
    assert not any(e.tag.is_private for e in ds.iterall())
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert rep.actions["X"] > 300 and rep.actions["U"] > 40


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_files(name, tmp_path):
    path = get_testdata_file(name)
    before = pydicom.dcmread(path, force=True)  # rtstruct.dcm has no File Meta header
    exact, _ = profile_table()
    listed = {e.tag: copy.deepcopy(e.value) for e in before if (e.tag.group, e.tag.element) in exact
              and e.VR != "SQ" and e.value not in (None, "", b"")}
    pixels = before.PixelData if "PixelData" in before else None
    summary = deidentify_dicom(path, tmp_path / "out", key=KEY, options=DicomDeidOptions(force=True), audit=False)
    out_files = list((tmp_path / "out").rglob("*.dcm"))
    assert len(out_files) == 1 and summary["files_out"] == 1
    after = pydicom.dcmread(out_files[0])
    for tag, value in listed.items():
        if tag in after and keyword_for_tag(tag) not in ("PatientIdentityRemoved",):
            assert after[tag].value in (None, "", b"") or after[tag].value != value, keyword_for_tag(tag)
    assert not any(e.tag.is_private for e in after.iterall())
    if pixels is not None:
        assert after.PixelData == pixels  # pixel data untouched
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    assert name.split(".")[0] not in str(out_files[0].relative_to(tmp_path))


def test_uids_consistent_within_study(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    base = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    for i in range(3):
        ds = copy.deepcopy(base)
        ds.SOPInstanceUID = f"{base.SOPInstanceUID}.{i}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyDate = "20200315"
        ds.save_as(src / f"Gonzalez_{i}.dcm")
    deidentify_dicom(src, tmp_path / "out", key=KEY, options=DicomDeidOptions(longitudinal="shift"), audit=False)
    outs = [pydicom.dcmread(p) for p in sorted((tmp_path / "out").rglob("*.dcm"))]
    assert len(outs) == 3
    assert len({d.StudyInstanceUID for d in outs}) == 1 and outs[0].StudyInstanceUID != base.StudyInstanceUID
    assert len({d.SeriesInstanceUID for d in outs}) == 1
    assert len({d.FrameOfReferenceUID for d in outs}) == 1
    assert len({d.SOPInstanceUID for d in outs}) == 3
    assert all(d.StudyInstanceUID.startswith("2.25.") for d in outs)
    dates = {d.StudyDate for d in outs}
    assert len(dates) == 1 and dates != {"20200315"}  # one keyed shift for the patient
    assert all(d.LongitudinalTemporalInformationModified == "MODIFIED" for d in outs)


def test_options_keep_dates_and_device_identity():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.DeviceSerialNumber = "SN-4242"
    study_date = ds.StudyDate
    deidentify_dataset(ds, key=KEY, options=DicomDeidOptions(longitudinal="keep", retain_device_identity=True))
    assert ds.StudyDate == study_date and ds.DeviceSerialNumber == "SN-4242"
    codes = {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113106", "113109"}


def _text_image(text: bool) -> Dataset:
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:256, 0:256]
    img = 800 * np.exp(-((x - 128) ** 2 + (y - 128) ** 2) / (2 * 60 ** 2)) + np.random.default_rng(0).normal(0, 5, (256, 256))
    if text:
        im = Image.new("L", (256, 256), 0)
        d = ImageDraw.Draw(im)
        d.text((4, 4), "GONZALEZ^MARIA 1950-01-02", fill=255)
        d.text((4, 16), "MRN 12345678", fill=255)
        img = np.maximum(img, np.asarray(im, dtype=np.float32) * 4)
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    arr = np.clip(img, 0, 4095).astype(np.uint16)
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = arr.tobytes()
    return ds


def test_burned_in_text_detected():
    assert burned_in_check(_text_image(True))[0] == "high"
    assert burned_in_check(_text_image(False))[0] == "low"
    us = pydicom.dcmread(get_testdata_file("examples_rgb_color.dcm"))  # ultrasound with burned-in labels
    assert burned_in_check(us)[0] == "high"
    flagged = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    flagged.BurnedInAnnotation = "YES"
    assert burned_in_check(flagged, check_pixels=False)[0] == "high"


def test_no_file_meta_is_refused_then_forced(tmp_path):
    for name in ("no_meta.dcm", "rtstruct.dcm"):
        with pytest.raises(InputError, match="File Meta"):
            deidentify_dicom(get_testdata_file(name), tmp_path / "out", key=KEY, audit=False)
    assert not list((tmp_path / "out").rglob("*.dcm"))
    with pytest.raises(InputError, match="not a DICOM dataset"):  # raw bytes that only parse as garbage
        deidentify_dicom(get_testdata_file("no_meta.dcm"), tmp_path / "out", key=KEY,
                         options=DicomDeidOptions(force=True), audit=False)
    path = get_testdata_file("rtstruct.dcm")
    summary = deidentify_dicom(path, tmp_path / "out2", key=KEY, options=DicomDeidOptions(force=True), audit=False)
    assert summary["files_out"] == 1
    out = pydicom.dcmread(next((tmp_path / "out2").rglob("*.dcm")))
    assert out.PatientIdentityRemoved == "YES"


def test_not_dicom_and_half_written(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    pydicom.dcmread(get_testdata_file("CT_small.dcm")).save_as(src / "a.dcm")
    (src / "notes.txt").write_text("Maria Gonzalez, MRN 12345678")
    with pytest.raises(InputError) as exc:
        deidentify_dicom(src, tmp_path / "out", key=KEY, audit=False)
    assert "Gonzalez" not in str(exc.value) and "12345678" not in str(exc.value)
    assert not list((tmp_path / "out").rglob("*.dcm"))  # nothing half-written
    summary = deidentify_dicom(src, tmp_path / "out", key=KEY, skip_invalid=True, audit=False)
    assert summary["files_out"] == 1 and len(summary["skipped"]) == 1


def test_cli_deidentify_dicom(tmp_path, cli):
    r = cli(["privacy", "deidentify-dicom", get_testdata_file("CT_small.dcm"), "--out", str(tmp_path / "o"),
              "--json", "--dates", "shift"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["files_out"] == 1
    r = cli(["privacy", "deidentify-dicom", get_testdata_file("no_meta.dcm"), "--out", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "File Meta" in r.output or "Part 10" in r.output
