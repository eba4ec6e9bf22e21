"""Helpers for imaging tests: pydicom's bundled files, small DICOMs written on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def pydicom_file(name: str) -> Path:
    import pydicom

    path = Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files" / name
    if not path.exists():
        pytest.skip(f"pydicom test file {name} not installed")
    return path


def write_dicom(path: Path, pixels: np.ndarray, *, photometric: str = "MONOCHROME2", modality: str = "DX",
                bits: int = 12, window: tuple[float, float] | None = None, slope: float = 1.0,
                intercept: float = 0.0, meta: bool = True, extra: dict | None = None) -> Path:
    """A minimal valid DICOM image (1 or more frames) with optional identifiers in ``extra``."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    px = np.asarray(pixels)
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = pydicom.uid.DigitalXRayImageStorageForPresentation
    fm.MediaStorageSOPInstanceUID = generate_uid()
    fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=fm, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = fm.MediaStorageSOPClassUID, fm.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.SeriesInstanceUID = "1.2.3.4"
    if px.ndim == 3:
        ds.NumberOfFrames = px.shape[0]
    ds.Rows, ds.Columns = px.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits, bits - 1, 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
    ds.PixelData = px.astype(np.uint16).tobytes()
    if meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        ds.file_meta = FileMetaDataset()
        ds.preamble = None
        ds.save_as(path, implicit_vr=False, little_endian=True)
    return path
