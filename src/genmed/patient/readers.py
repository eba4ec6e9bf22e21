"""One entry point for any patient input: a FHIR bundle, a compact YAML/JSON record, or a folder holding one."""

from __future__ import annotations

import json
from pathlib import Path

from genmed.core.errors import InputError
from genmed.patient.compact import read_compact
from genmed.patient.fhir import read_fhir_bundle
from genmed.patient.model import Patient
from genmed.patient.vcf import attach_vcf

BUNDLE_NAMES = ("bundle.json", "patient.fhir.json", "fhir.json")
COMPACT_NAMES = ("patient.yaml", "patient.yml", "patient.json")


def _resolve(path: Path) -> Path:
    if path.is_dir():
        for name in (*BUNDLE_NAMES, *COMPACT_NAMES):
            if (path / name).exists():
                return path / name
        raise InputError("folder holds no patient record", source=str(path),
                         hint=f"expected one of {', '.join(BUNDLE_NAMES + COMPACT_NAMES)}")
    if not path.exists():
        raise InputError("file not found", source=str(path))
    return path


def read_patient(path: str | Path, *, vcf: str | Path | None = None, sample: str | None = None,
                 strict: bool = False, check_vcf: bool = True) -> Patient:
    """Read a patient from a FHIR R4 Bundle, a compact record, or a folder; attach and check the VCF."""
    path = _resolve(Path(path))
    if path.suffix in (".yaml", ".yml"):
        patient = read_compact(path)
    else:
        try:
            head = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"not valid JSON ({exc})", source=str(path)) from None
        if not isinstance(head, dict):
            raise InputError(f"expected a FHIR Bundle or a compact record (a JSON object), got a {type(head).__name__}",
                             source=str(path))
        if "resourceType" in head:
            patient = read_fhir_bundle(path, strict=strict, data=head)
        else:
            patient = read_compact(path)
    if check_vcf or vcf is not None:
        attach_vcf(patient, vcf, sample)
    return patient
