"""Reading medical images: DICOM (pydicom), NIfTI (nibabel), PNG/JPEG/TIFF (Pillow) -> one :class:`ImageData`.

``pixels`` keep the *values* the modality defines (CT in HU after rescale slope/intercept, 16-bit PNG values
unclipped); :meth:`ImageData.display` applies the presentation steps (VOI window, MONOCHROME1 inversion) and
returns [0, 1]. A directory of DICOM files is a study (:func:`load_study`). Identifiers in DICOM headers are
registered with :func:`genmed.core.logging.register_identifier` and only their pseudonym is kept in metadata.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genmed.core.errors import InputError
from genmed.core.logging import get_logger, pseudonym, register_identifier

log = get_logger("genmed.imaging.io")

PIXEL_KINDS = ("2d", "2d-colour", "multiframe", "volume")
NIFTI_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".img", ".mgz")
# header fields that identify a person or an encounter: never logged, never kept in metadata
DICOM_IDENTIFIERS = ("PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber", "PatientBirthDate",
                     "ReferringPhysicianName", "PerformingPhysicianName", "OperatorsName", "InstitutionName",
                     "InstitutionAddress", "StudyID", "PatientAddress", "PatientTelephoneNumbers")


@dataclass
class ImageData:
    """Pixels plus what is known about them.

    ``kind``: ``2d`` (H, W), ``2d-colour`` (H, W, 3), ``multiframe`` (F, H, W) or ``volume`` (Z, H, W).
    ``window``: (centre, width) of the VOI window to display with, when the file defines one.
    """

    pixels: np.ndarray
    kind: str
    format: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    window: tuple[float, float] | None = None
    invert: bool = False  # MONOCHROME1: low values are white
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.pixels.shape)

    @property
    def is_volume(self) -> bool:
        return self.kind in ("multiframe", "volume")

    def frame(self, index: int) -> ImageData:
        """One frame/slice of a multi-frame image or volume, as a 2-D image."""
        if not self.is_volume:
            raise InputError(f"{self.kind} image has no frames", source=self.source)
        n = self.pixels.shape[0]
        if not -n <= index < n:
            raise InputError(f"frame {index} out of range (image has {n} frames)", source=self.source)
        px = self.pixels[index]
        return ImageData(px, "2d-colour" if px.ndim == 3 else "2d", self.format, self.source,
                         {**self.metadata, "frame": index}, self.window, self.invert, list(self.warnings))

    def display(self) -> np.ndarray:
        """Presentation values in [0, 1] (float32): window (or robust range), MONOCHROME1 inverted.

        8-bit images without a window keep their stored scale (value/255), as image viewers show them.
        """
        px = self.pixels.astype(np.float64)
        if self.window is not None:
            c, w = self.window
            fn = str(self.metadata.get("voi_lut_function", "LINEAR")).upper()
            if fn == "SIGMOID":
                out = 1.0 / (1.0 + np.exp(-4.0 * (px - c) / max(w, 1e-6)))
            elif fn == "LINEAR_EXACT":
                out = (px - (c - w / 2)) / max(w, 1e-6)
            else:  # DICOM PS3.3 C.11.2.1.2.1 linear window
                out = (px - (c - 0.5)) / max(w - 1, 1e-6) + 0.5
        elif self.metadata.get("stored_bits") == 8 and px.min() >= 0 and px.max() <= 255:
            out = px / 255.0
        else:
            finite = px[np.isfinite(px)]
            if finite.size == 0:
                raise InputError("image has no finite pixel values", source=self.source)
            lo, hi = np.percentile(finite, [0.5, 99.5])
            if hi <= lo:
                lo, hi = float(finite.min()), float(finite.max())
            out = (px - lo) / (hi - lo) if hi > lo else np.zeros_like(px)
        out = np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0)
        if self.invert:
            out = 1.0 - out
        return out.astype(np.float32)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("file not found", source=str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise InputError("empty file (0 bytes)", source=str(path), hint="the upload or copy probably failed")


def _is_dicom(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _is_nifti(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return True
    try:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            head = fh.read(348)
        return len(head) == 348 and head[344:347] in (b"n+1", b"ni1", b"n+2")
    except OSError:
        return False


def load_image(path: str | Path) -> ImageData:
    """Read a DICOM file, a DICOM directory (study), NIfTI, or PNG/JPEG/TIFF/BMP into :class:`ImageData`.

    The format is recognised by content first (DICOM preamble, NIfTI magic), then by suffix. Errors are
    :class:`InputError` naming the file and what is wrong.
    """
    p = Path(path)
    if p.is_dir():
        study = load_study(p)
        if len(study.series) != 1:
            listing = "; ".join(f"{s.metadata.get('series_description') or 'series'} {s.shape}"
                                for s in study.series)
            raise InputError(f"directory holds {len(study.series)} image series ({listing})", source=str(p),
                             hint="pass one file, or use load_study() to choose a series")
        return study.series[0]
    _check_file(p)
    if _is_dicom(p):
        return _load_dicom(p)
    if _is_nifti(p):
        return _load_nifti(p)
    try:
        return _load_pillow(p)
    except InputError as pil_error:
        # DICOM written without the 128-byte preamble / file meta ("raw" datasets)
        try:
            return _load_dicom(p, force=True)
        except InputError as dicom_error:
            if dicom_error.message.startswith("not a DICOM file"):
                raise pil_error from None
            raise


# ---------------------------------------------------------------- DICOM
def _register_dicom_identifiers(ds) -> str | None:
    """Register every identifying header value; return the patient's pseudonym (None if no patient ID)."""
    for kw in DICOM_IDENTIFIERS:
        val = ds.get(kw)
        if val is None or val == "":
            continue
        values = list(val) if isinstance(val, (list, tuple)) or type(val).__name__ == "MultiValue" else [val]
        for v in values:
            s = str(v)
            register_identifier(s)
            if "^" in s:
                register_identifier(s.replace("^", " ").strip())
    pid = str(ds.get("PatientID", "") or ds.get("PatientName", "") or "")
    return pseudonym(pid) if pid.strip() else None


def _read_dataset(path: Path, force: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, force=force)
    except InvalidDicomError as exc:
        raise InputError(f"not a DICOM file: {exc}", source=str(path)) from exc
    except Exception as exc:  # truncated or garbled headers raise many kinds of errors
        raise InputError(f"corrupt DICOM file: {type(exc).__name__}: {exc}", source=str(path)) from exc
    if force and not any(kw in ds for kw in ("SOPClassUID", "PixelData", "Modality", "Rows")):
        raise InputError("not a DICOM file (no recognisable DICOM elements)", source=str(path))
    return ds


def _ensure_transfer_syntax(ds) -> None:
    """Files without file meta still decode: infer the transfer syntax from how the dataset was read."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    implicit, little = getattr(ds, "original_encoding", (True, True))
    meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit
                              else ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def _dicom_pixels(ds, path: Path) -> np.ndarray:
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = getattr(ds.get("SOPClassUID"), "name", None) or str(ds.get("SOPClassUID", "unknown SOP class"))
        raise InputError(f"DICOM has no pixel data ({sop})", source=str(path),
                         hint="it is not an image object (e.g. a report, RT plan or structure set)")
    _ensure_transfer_syntax(ds)
    ts = ds.file_meta.TransferSyntaxUID
    try:
        return ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        hint = None
        if ts.is_compressed:
            hint = ("install a decoder plugin: `pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg` "
                    "(JPEG, JPEG-LS, JPEG 2000) or `pip install pylibjpeg-rle`")
        reason = str(exc).split("\n")[0].rstrip(": ")
        raise InputError(f"cannot decode pixel data compressed as {ts.name}: {reason}",
                         source=str(path), hint=hint) from exc
    except Exception as exc:
        raise InputError(f"corrupt DICOM pixel data ({ts.name}): {type(exc).__name__}: {exc}".split("\n")[0],
                         source=str(path)) from exc


def _first(v: Any) -> float:
    try:
        return float(v[0]) if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue" else float(v)
    except (TypeError, ValueError, IndexError):
        return float("nan")


def _load_dicom(path: Path, force: bool = False) -> ImageData:
    from pydicom.pixels import apply_color_lut, apply_modality_lut

    ds = _read_dataset(path, force)
    patient = _register_dicom_identifiers(ds)
    arr = _dicom_pixels(ds, path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    warnings: list[str] = []
    if photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        photometric = "RGB"
    colour = photometric in ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420")
    if colour:
        px = arr.astype(np.float32)
        if px.max() > 255:
            px = px / float(2 ** int(ds.get("BitsStored", 16)) - 1) * 255.0
    else:
        try:
            px = apply_modality_lut(arr, ds).astype(np.float32)
        except Exception as exc:
            warnings.append(f"modality LUT not applied ({exc})")
            px = arr.astype(np.float32)
    if frames > 1:
        kind = "multiframe"
    elif colour:
        kind = "2d-colour"
    else:
        kind = "2d"
    window = None
    wc, ww = ds.get("WindowCenter"), ds.get("WindowWidth")
    if wc is not None and ww is not None and not colour:
        c, w = _first(wc), _first(ww)
        if np.isfinite(c) and np.isfinite(w) and w > 0:
            window = (c, w)
            if isinstance(wc, (list, tuple)) or type(wc).__name__ == "MultiValue":
                warnings.append(f"{len(wc)} VOI windows defined; using the first")
    elif "VOILUTSequence" in ds and not colour:
        from pydicom.pixels import apply_voi_lut

        px = apply_voi_lut(px, ds).astype(np.float32)
        warnings.append("VOI LUT sequence applied to pixels")
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    meta = {
        "modality": str(ds.get("Modality", "")) or None,
        "sop_class": getattr(ds.get("SOPClassUID"), "name", None),
        "photometric_interpretation": photometric,
        "body_part": str(ds.get("BodyPartExamined", "")) or None,
        "view_position": str(ds.get("ViewPosition", "")) or None,
        "rows": int(ds.get("Rows", 0) or 0), "columns": int(ds.get("Columns", 0) or 0),
        "frames": frames,
        "stored_bits": int(ds.get("BitsStored", 0) or 0),
        "rescale": [float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)],
        "pixel_spacing_mm": [float(v) for v in spacing] if spacing else None,
        "transfer_syntax": ds.file_meta.TransferSyntaxUID.name,
        "voi_lut_function": str(ds.get("VOILUTFunction", "LINEAR")),
        "series_uid_pseudonym": pseudonym(str(ds.SeriesInstanceUID), "se") if "SeriesInstanceUID" in ds else None,
        "series_description": str(ds.get("SeriesDescription", "")) or None,
        "patient": patient,
        "file_meta_missing": force,
    }
    # file names can carry identifiers (DOE_JANE.dcm): log the pseudonymous patient, never the path
    log.debug("read DICOM modality=%s shape=%s patient=%s", meta["modality"], px.shape, patient)
    return ImageData(px, kind, "dicom", str(path), meta, window, photometric == "MONOCHROME1", warnings)


@dataclass
class Study:
    """A directory of DICOM files grouped into series; files that could not be used are listed with why."""

    source: str
    series: list[ImageData]
    skipped: list[tuple[str, str]]


def _slice_position(img: ImageData, ds) -> float:
    pos, ori = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    if pos is not None and ori is not None and len(ori) == 6:
        normal = np.cross(np.array(ori[:3], float), np.array(ori[3:], float))
        return float(np.dot(normal, np.array(pos, float)))
    return float(ds.get("InstanceNumber", 0) or 0)


def load_study(directory: str | Path) -> Study:
    """Read every DICOM file under ``directory``; stack 2-D slices of one series into a volume (sorted along the
    slice normal, else by InstanceNumber). Non-DICOM and unreadable files are skipped with the reason."""
    import pydicom

    root = Path(directory)
    if not root.is_dir():
        raise InputError("not a directory", source=str(root))
    groups: dict[str, list[tuple[float, ImageData]]] = {}
    skipped: list[tuple[str, str]] = []
    for f in sorted(q for q in root.rglob("*") if q.is_file()):
        try:
            _check_file(f)
            img = _load_dicom(f, force=not _is_dicom(f))
            ds = pydicom.dcmread(f, stop_before_pixels=True, force=True)
        except InputError as exc:
            skipped.append((str(f.relative_to(root)), exc.message))
            continue
        key = str(ds.get("SeriesInstanceUID", f"file:{f.name}"))
        groups.setdefault(key, []).append((_slice_position(img, ds), img))
    series: list[ImageData] = []
    for items in groups.values():
        items.sort(key=lambda t: t[0])
        imgs = [im for _, im in items]
        if len(imgs) == 1:
            series.append(imgs[0])
            continue
        shapes = {im.shape for im in imgs}
        if len(shapes) != 1 or imgs[0].kind != "2d":
            series.extend(imgs)
            continue
        first = imgs[0]
        vol = np.stack([im.pixels for im in imgs])
        series.append(ImageData(vol, "volume", "dicom", str(root), {**first.metadata, "frames": len(imgs)},
                                first.window, first.invert, first.warnings))
    if not series:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped[:3]) or "no files"
        raise InputError(f"no readable DICOM images in directory ({reasons})", source=str(root))
    return Study(str(root), series, skipped)


# ---------------------------------------------------------------- NIfTI
def _load_nifti(path: Path) -> ImageData:
    import nibabel as nib

    try:
        img = nib.load(str(path))
        img = nib.as_closest_canonical(img)
        data = np.asarray(img.get_fdata(dtype=np.float32))
    except Exception as exc:
        raise InputError(f"cannot read NIfTI/Analyze image: {type(exc).__name__}: {exc}", source=str(path)) from exc
    data = np.squeeze(data)
    if data.ndim == 4:
        raise InputError(f"4-D image {data.shape} (time series)", source=str(path),
                         hint="extract one volume first (e.g. `fslroi` or nibabel's slicer)")
    if data.ndim not in (2, 3):
        raise InputError(f"unsupported NIfTI shape {data.shape}", source=str(path))
    # RAS+ canonical -> display orientation: rows run superior/anterior -> inferior/posterior
    if data.ndim == 2:
        px, kind = data.T[::-1].copy(), "2d"
    else:
        px, kind = np.ascontiguousarray(np.transpose(data, (2, 1, 0))[:, ::-1]), "volume"
    zooms = [float(z) for z in img.header.get_zooms()[:3]]
    meta = {"modality": None, "shape_xyz": list(data.shape), "voxel_size_mm": zooms,
            "orientation": "".join(nib.aff2axcodes(img.affine)), "stored_bits": None}
    return ImageData(px, kind, "nifti", str(path), meta)


# ---------------------------------------------------------------- PNG / JPEG / TIFF / BMP
def _load_pillow(path: Path) -> ImageData:
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(path)
        fmt = (im.format or path.suffix.lstrip(".")).lower()
        n_frames = int(getattr(im, "n_frames", 1))
        frames = []
        for i in range(n_frames):
            im.seek(i)
            frames.append(_pillow_array(im))
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InputError(f"not a readable image file: {exc}".split(" - ")[0], source=str(path),
                         hint="supported: DICOM, NIfTI, PNG, JPEG, TIFF, BMP") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"corrupt or truncated {path.suffix or 'image'} file: {exc}", source=str(path)) from exc
    arr, bits, mode = frames[0]
    warnings = []
    if n_frames > 1:
        if len({f[0].shape for f in frames}) != 1:
            raise InputError("multi-page image with pages of different sizes", source=str(path))
        arr = np.stack([f[0] for f in frames])
        kind = "multiframe"
    else:
        kind = "2d-colour" if arr.ndim == 3 else "2d"
    if kind == "2d-colour":
        spread = float(np.abs(arr - arr.mean(axis=2, keepdims=True)).mean())
        if spread < 1.0:  # greyscale saved as RGB (common for exported radiographs)
            arr, kind = arr[..., 0].copy(), "2d"
            warnings.append("RGB image with equal channels read as greyscale")
    meta = {"modality": None, "mode": mode, "stored_bits": bits, "rows": arr.shape[-2 if kind != "2d-colour" else 0],
            "columns": arr.shape[-1 if kind != "2d-colour" else 1], "frames": n_frames}
    return ImageData(arr.astype(np.float32), kind, fmt, str(path), meta, warnings=warnings)


def _pillow_array(im) -> tuple[np.ndarray, int, str]:
    mode = im.mode
    if mode in ("1", "L"):
        return np.asarray(im.convert("L")), 8, mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im)
        if mode == "I":
            arr = arr.astype(np.int64)
        return arr, 16 if mode.startswith("I;16") or arr.max() < 65536 else 32, mode
    if mode == "F":
        return np.asarray(im), 32, mode
    if mode == "LA":
        return np.asarray(im.convert("L")), 8, mode
    return np.asarray(im.convert("RGB")), 8, mode
