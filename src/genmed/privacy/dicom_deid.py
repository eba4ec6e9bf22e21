"""DICOM de-identification: the PS3.15 Basic Application Level Confidentiality Profile (Annex E) with pydicom.

The attribute list and actions of Table E.1-1 come from ``dicom-anonymizer``'s transcription of the current
standard (``dicomfields_2026c``), so genmed follows the table as published rather than a hand-copied subset.
Actions: D (dummy value of the right VR), Z (zero length), X (remove), U (UID remapped), and the compound
actions resolved conservatively (X/Z → Z, Z/D → Z, X/D → D, X/Z/D → Z, X/Z/U* → UIDs inside remapped).
All private tags are removed. UIDs are remapped with a keyed HMAC into the ``2.25`` root, so every file of a
study gets the same new Study/Series/Frame-of-Reference UIDs and references between files stay intact.
Options: Retain Longitudinal Temporal Information (full dates, or a keyed per-patient date shift = Modified
Dates) and Retain Device Identity. Pixel data is never changed; burned-in text is *reported* as a risk (the
``BurnedInAnnotation`` attribute, the modality, and a pixel check of the image corners for text-like marks).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError

TABLE_VERSION = "dicomfields_2026c"
PROFILE_CODES = {  # DICOM CID 7050 de-identification method codes (DCM)
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "long_full": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "long_modified": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "device": ("113109", "Retain Device Identity Option"),
}
# Retain Device Identity Option (PS3.15 Table E.1-1, column "Rtn. Dev. Id. Opt." = K)
DEVICE_TAGS = {
    (0x0018, 0x1000), (0x0018, 0x1002), (0x0008, 0x1010), (0x0018, 0x1004), (0x0018, 0x1005), (0x0018, 0x1007),
    (0x0018, 0x1008), (0x0018, 0x700A), (0x3010, 0x002D), (0x0018, 0x1003), (0x0018, 0x100B),
    (0x0018, 0x11BB), (0x0018, 0x9371), (0x0018, 0x9373), (0x0018, 0x9367), (0x0016, 0x004D),
}
_DUMMY_STR = {"PN": "ANONYMOUS", "AE": "ANONYMOUS", "CS": "ANONYMIZED", "AS": "000Y", "DA": "19000101",
              "TM": "000000.00", "DT": "19000101000000.000000", "IS": "0", "DS": "0"}


@dataclass
class DicomDeidOptions:
    longitudinal: str = "remove"  # "remove" (profile default), "keep" (full dates) or "shift" (modified dates)
    retain_device_identity: bool = False
    max_shift_days: int = 365
    check_pixels: bool = True
    force: bool = False  # read files without a File Meta header (adds one)


@dataclass
class DicomFileReport:
    output: str
    actions: Counter = field(default_factory=Counter)
    private_removed: int = 0
    burned_in_risk: str = "unknown"
    burned_in_evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "actions": dict(self.actions), "private_tags_removed": self.private_removed,
                "burned_in_risk": self.burned_in_risk, "burned_in_evidence": self.burned_in_evidence}


@lru_cache(maxsize=1)
def profile_table() -> tuple[dict[tuple[int, int], str], list[tuple[int, int, int, int, str]]]:
    """Table E.1-1 as {(group, element): action} plus masked entries (curves, overlays)."""
    db = importlib.import_module(f"dicomanonymizer.dicom_anonymization_databases.{TABLE_VERSION}")
    resolve = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z", "X_Z_TAGS": "Z",
               "X_D_TAGS": "D", "X_Z_D_TAGS": "Z", "X_Z_U_STAR_TAGS": "U*"}
    exact: dict[tuple[int, int], str] = {}
    masked: list[tuple[int, int, int, int, str]] = []
    for cat, action in resolve.items():
        for t in getattr(db, cat):
            if len(t) == 2:
                exact[(t[0], t[1])] = action
            else:
                masked.append((t[0], t[1], t[2], t[3], action))
    return exact, masked


class _Keyed:
    def __init__(self, key: bytes):
        self.key = key

    def uid(self, uid: str) -> str:
        d = hmac.new(self.key, b"uid\x1f" + uid.strip().encode(), hashlib.sha256).digest()[:16]
        return f"2.25.{int.from_bytes(d, 'big')}"

    def text(self, kind: str, value: str, n: int = 12) -> str:
        return hmac.new(self.key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:n].upper()

    def shift_days(self, patient: str, max_days: int) -> int:
        n = int.from_bytes(hmac.new(self.key, b"date-shift\x1f" + patient.encode(), hashlib.sha256).digest()[:4],
                           "big")
        return -(1 + n % max_days)


def _action_for(tag, exact, masked) -> str | None:
    key = (tag.group, tag.element)
    if key in exact:
        return exact[key]
    for g, e, gm, em, action in masked:
        if (tag.group & gm) == g and (tag.element & em) == (e & em):
            return action
    return None


def _shift_value(vr: str, value: str, days: int) -> str:
    try:
        if vr == "DA" and len(value) >= 8:
            d = date(int(value[:4]), int(value[4:6]), int(value[6:8])) + timedelta(days=days)
            return d.strftime("%Y%m%d") + value[8:]
        if vr == "DT" and len(value) >= 8:
            d = date(int(value[:4]), int(value[4:6]), int(value[6:8])) + timedelta(days=days)
            return d.strftime("%Y%m%d") + value[8:]
    except ValueError:
        pass
    return _DUMMY_STR.get(vr, "")


def _dummy(elem, keyed: _Keyed):
    vr = elem.VR
    if vr in _DUMMY_STR:
        return _DUMMY_STR[vr]
    if vr in ("LO", "SH", "LT", "ST", "UT", "UC", "UR"):
        return "ANONYMIZED"
    if vr == "UI":
        return keyed.uid(str(elem.value))
    if vr in ("US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"):
        return 0
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        return b"\x00\x00"
    return None


def _deid_dataset(ds, keyed: _Keyed, opt: DicomDeidOptions, rep: DicomFileReport, shift: int, patient_pseudo: str):
    from pydicom.dataset import Dataset  # noqa: F401 - imported for side effects of pydicom init
    from pydicom.sequence import Sequence

    exact, masked = profile_table()
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private:
            continue  # removed wholesale afterwards
        action = _action_for(tag, exact, masked)
        if action is None:
            if elem.VR == "SQ":
                for item in elem.value or []:
                    _deid_dataset(item, keyed, opt, rep, shift, patient_pseudo)
            continue
        name = elem.keyword or str(tag)
        if opt.retain_device_identity and (tag.group, tag.element) in DEVICE_TAGS:
            rep.actions["K(device)"] += 1
            continue
        if elem.VR in ("DA", "DT", "TM") and opt.longitudinal in ("keep", "shift"):
            if opt.longitudinal == "shift" and elem.VR in ("DA", "DT") and elem.value:
                elem.value = _shift_value(elem.VR, str(elem.value), shift)
                rep.actions["date-shifted"] += 1
            else:
                rep.actions["K(dates)"] += 1
            continue
        if name == "PatientID":
            elem.value = patient_pseudo
            rep.actions["D"] += 1
            continue
        if name == "PatientName":
            elem.value = f"ANON^{patient_pseudo}"
            rep.actions["D"] += 1
            continue
        if action == "X":
            del ds[tag]
        elif action == "Z":
            if elem.VR == "SQ":
                elem.value = Sequence()
            else:
                elem.value = None if elem.VR not in ("OB", "OW", "UN") else b""
        elif action == "D":
            if elem.VR == "SQ":
                for item in elem.value or []:
                    _deid_dataset(item, keyed, opt, rep, shift, patient_pseudo)
                    _strip_non_table_text(item, rep)
            else:
                elem.value = _dummy(elem, keyed)
        elif action in ("U", "U*"):
            if elem.VR == "UI" and elem.value:
                vals = elem.value if elem.VM > 1 else [elem.value]
                new = [keyed.uid(str(v)) for v in vals]
                elem.value = new if elem.VM > 1 else new[0]
            elif elem.VR == "SQ":
                for item in elem.value or []:
                    _remap_uids(item, keyed, rep)
                    _deid_dataset(item, keyed, opt, rep, shift, patient_pseudo)
        rep.actions[action.rstrip("*")] += 1


def _remap_uids(ds, keyed: _Keyed, rep: DicomFileReport) -> None:
    """Inside X/Z/U* sequences: referenced SOP Instance UIDs point at remapped instances; class UIDs stay."""
    for elem in ds:
        if elem.VR == "UI" and elem.keyword in ("ReferencedSOPInstanceUID", "ReferencedFrameOfReferenceUID") \
                and elem.value:
            elem.value = keyed.uid(str(elem.value))
            rep.actions["U"] += 1
        elif elem.VR == "SQ":
            for item in elem.value or []:
                _remap_uids(item, keyed, rep)


def _strip_non_table_text(ds, rep: DicomFileReport) -> None:
    """Free text inside structured content (SR) the table does not name is cleaned too."""
    for elem in list(ds):
        if elem.VR in ("LT", "ST", "UT") and elem.keyword not in ("ValueType",):
            elem.value = "ANONYMIZED"
            rep.actions["D(text)"] += 1


# ------------------------------------------------------------------------------------------ burned-in text


def burned_in_check(ds, check_pixels: bool = True) -> tuple[str, list[str]]:
    """Risk that identifying text is burned into the pixels: 'high', 'possible', 'low' or 'unknown'."""
    evidence: list[str] = []
    flag = str(ds.get("BurnedInAnnotation", "")).upper()
    modality = str(ds.get("Modality", ""))
    if flag == "YES":
        evidence.append("BurnedInAnnotation = YES")
    elif flag == "NO":
        evidence.append("BurnedInAnnotation = NO")
    if modality in ("US", "SC", "OT", "ES", "XC", "GM", "SM") and flag != "NO":
        evidence.append(f"modality {modality} often carries burned-in annotation")
    corners: list[str] = []
    if check_pixels and "PixelData" in ds:
        try:
            corners = _text_like_corners(ds)
            evidence.append("text-like marks in image corner(s): " + ", ".join(corners) if corners
                            else "pixel check: no text-like marks in the corners")
        except Exception as exc:  # undecodable pixels (missing codec): say so, do not guess
            evidence.append(f"pixel check not possible ({type(exc).__name__})")
    if flag == "YES" or corners:
        return "high", evidence
    if any("often carries" in e for e in evidence):
        return "possible", evidence
    if flag == "NO" or any(e.startswith("pixel check: no") for e in evidence):
        return "low", evidence
    return "unknown", evidence


def _text_like_corners(ds) -> list[str]:
    """Corners holding several small, bright, similar-height blobs on a flat background (characters)."""
    import numpy as np
    from scipy import ndimage

    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[0]
    if arr.ndim == 3:  # colour: use luminance
        arr = arr[..., :3].mean(axis=-1)
    arr = arr.astype(np.float32)
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        arr = arr.max() - arr
    h, w = arr.shape
    if h < 32 or w < 32:
        return []
    ch, cw = max(16, h // 6), max(32, w // 3)
    found = []
    for name, (ys, xs) in {"top-left": (slice(0, ch), slice(0, cw)), "top-right": (slice(0, ch), slice(w - cw, w)),
                           "bottom-left": (slice(h - ch, h), slice(0, cw)),
                           "bottom-right": (slice(h - ch, h), slice(w - cw, w))}.items():
        region = arr[ys, xs]
        lo, hi = np.percentile(region, 5), region.max()
        if hi - lo < 1e-6:
            continue
        bright = region >= lo + 0.6 * (hi - lo)
        frac = bright.mean()
        if not 0.002 < frac < 0.25:
            continue
        labels, n = ndimage.label(bright)
        if n < 3:
            continue
        sizes = ndimage.sum(bright, labels, range(1, n + 1))
        slices = ndimage.find_objects(labels)
        heights = np.array([s[0].stop - s[0].start for s in slices])
        small = (sizes >= 3) & (sizes <= 400) & (heights >= 3) & (heights <= max(6, ch // 2))
        if small.sum() < 3:
            continue
        hs = heights[small]
        # characters share a height and sit on a few text lines: low spread of heights and of row centres
        rows = np.array([(s[0].start + s[0].stop) / 2 for s, k in zip(slices, small, strict=False) if k])
        same_height = np.median(np.abs(hs - np.median(hs))) <= 2
        on_lines = len(np.unique(np.round(rows / max(3, np.median(hs))))) <= max(3, small.sum() // 2)
        background_flat = np.std(region[~bright]) < 0.15 * (hi - lo)
        if same_height and on_lines and background_flat:
            found.append(name)
    return found


# ------------------------------------------------------------------------------------------ files


def _read(path: Path, force: bool):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, force=False)
    except InvalidDicomError:
        if not force:
            raise InputError("not a DICOM Part 10 file (no preamble/File Meta header)", source=str(path),
                             hint="pass --force to read a bare dataset; a File Meta header is then added") from None
        try:
            ds = pydicom.dcmread(path, force=True)
            if not any(k in ds for k in ("SOPClassUID", "PatientID", "StudyInstanceUID", "PixelData")):
                raise InputError("not a DICOM dataset", source=str(path))
        except InputError:
            raise
        except Exception:
            raise InputError("unreadable as DICOM", source=str(path)) from None
    except Exception as exc:
        raise InputError(f"unreadable as DICOM ({type(exc).__name__})", source=str(path)) from None
    if (not getattr(ds, "file_meta", None) or "TransferSyntaxUID" not in ds.file_meta) and not force:
        raise InputError("DICOM file has no File Meta header (transfer syntax unknown)", source=str(path),
                         hint="pass --force to read it anyway; a File Meta header is then added")
    return ds


def deidentify_dataset(ds, *, key: bytes, options: DicomDeidOptions | None = None, output_name: str = ""):
    """De-identify one pydicom ``Dataset`` in place; returns the :class:`DicomFileReport`."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    opt = options or DicomDeidOptions()
    keyed = _Keyed(key)
    rep = DicomFileReport(output=output_name)
    rep.burned_in_risk, rep.burned_in_evidence = burned_in_check(ds, opt.check_pixels)
    patient_id = str(ds.get("PatientID", "")) or str(ds.get("PatientName", "")) or str(ds.get("StudyInstanceUID", ""))
    pseudo = "GM" + keyed.text("patient", patient_id, 14)
    shift = keyed.shift_days(patient_id, opt.max_shift_days)
    n_private = sum(1 for e in ds.iterall() if e.tag.is_private)
    _deid_dataset(ds, keyed, opt, rep, shift, pseudo)
    ds.remove_private_tags()
    rep.private_removed = n_private
    ds.PatientIdentityRemoved = "YES"
    methods = ["basic"]
    if opt.longitudinal == "keep":
        methods.append("long_full")
    elif opt.longitudinal == "shift":
        methods.append("long_modified")
    if opt.retain_device_identity:
        methods.append("device")
    ds.DeidentificationMethod = ("genmed PS3.15 E.1-1 " + " ".join(PROFILE_CODES[m][0] for m in methods))[:64]
    seq = []
    for m in methods:
        item = Dataset()
        item.CodeValue, item.CodeMeaning = PROFILE_CODES[m]
        item.CodingSchemeDesignator = "DCM"
        seq.append(item)
    ds.DeidentificationMethodCodeSequence = seq
    if opt.longitudinal != "keep":
        ds.LongitudinalTemporalInformationModified = "MODIFIED" if opt.longitudinal == "shift" else "REMOVED"
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        meta = FileMetaDataset()
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if getattr(ds, "is_implicit_VR", True) \
            else ExplicitVRLittleEndian
        ds.file_meta = meta
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    for k in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle",
              "PrivateInformationCreatorUID", "PrivateInformation"):
        if k in meta:
            del meta[k]
            rep.actions["X(meta)"] += 1
    return rep


def _collect_inputs(src: Path) -> list[Path]:
    if src.is_file():
        return [src]
    if src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")
                       and p.name.upper() != "DICOMDIR")
        if not files:
            raise InputError("no files in the directory", source=str(src))
        return files
    raise InputError("DICOM file or directory not found", source=str(src))


def deidentify_dicom(src: str | Path, out_dir: str | Path, *, key: bytes,
                     options: DicomDeidOptions | None = None, skip_invalid: bool = False,
                     audit: bool = True) -> dict[str, Any]:
    """De-identify a DICOM file or directory into ``out_dir/<new study UID>/<new SOP UID>.dcm``.

    All inputs are read and de-identified before anything is written; an unreadable file stops the run (or is
    skipped and listed with ``skip_invalid``). Output names never echo input names.
    """
    opt = options or DicomDeidOptions()
    src, out_dir = Path(src), Path(out_dir)
    files = _collect_inputs(src)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".deid-", dir=out_dir))
    reports, skipped, patients = [], [], set()
    try:
        for i, path in enumerate(files):
            try:
                ds = _read(path, opt.force)
            except InputError as exc:
                if not skip_invalid:
                    raise
                skipped.append({"input_index": i, "reason": exc.message})
                continue
            patients.add(str(ds.get("PatientID", "")))
            rep = deidentify_dataset(ds, key=key, options=opt)
            study = str(ds.get("StudyInstanceUID", "nostudy"))
            name = f"{study}/{ds.get('SOPInstanceUID', f'instance-{i}')}.dcm"
            rep.output = name
            (staging / study).mkdir(parents=True, exist_ok=True)
            ds.save_as(staging / name, enforce_file_format=True)
            reports.append(rep)
        if not reports:
            raise InputError("no readable DICOM files", source=str(src))
        for p in sorted(staging.rglob("*.dcm")):
            dest = out_dir / p.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            p.replace(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    totals: Counter = Counter()
    for r in reports:
        totals.update(r.actions)
    summary = {
        "profile": "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile",
        "table": f"dicom-anonymizer {TABLE_VERSION}", "files_in": len(files), "files_out": len(reports),
        "skipped": skipped, "actions": dict(totals), "options": {
            "longitudinal": opt.longitudinal, "retain_device_identity": opt.retain_device_identity},
        "burned_in_risk": dict(Counter(r.burned_in_risk for r in reports)),
        "files": [r.to_dict() for r in reports],
    }
    warn = [r.output for r in reports if r.burned_in_risk in ("high", "possible")]
    summary["warnings"] = ([f"{len(warn)} file(s) may carry burned-in identifying text in the pixels: review "
                            "or mask before release (pixel data is never altered)"] if warn else [])
    (out_dir / "dicom_deid_report.json").write_text(json.dumps(summary, indent=2))
    if audit:
        from genmed.core.logging import pseudonym
        from genmed.privacy.audit import record_access

        for p in sorted(patients):
            record_access(None, "steward", "deidentify", pseudonym(p or "unknown"), "deidentification", "success",
                          detail={"kind": "dicom"})
    return summary
