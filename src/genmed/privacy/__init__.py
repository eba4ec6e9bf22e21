"""genmed.privacy: de-identification, DP synthetic cohorts, privacy evaluation, tamper-evident access log.

Public API (other capabilities call these; everything else is internal):

- :func:`record_access` — append one line to the hash-chained access log (who, role, action, pseudonymous
  patient id, purpose, outcome); :func:`verify_log` and :func:`to_fhir_audit_events` check and export it.
- :func:`deidentify_bundle` / :func:`deidentify_file` — HIPAA Safe Harbor de-identification of a FHIR Bundle.
- :func:`deidentify_dicom` / :func:`deidentify_dataset` — DICOM PS3.15 Basic Profile de-identification.
- :func:`synthesize` — a DP synthetic cohort release with its privacy/utility audit; :data:`SYNTHESIZERS`
  is the registry of engines, :data:`SCHEMAS` the declared cohorts with public bins.

Heavy modules (pydicom, sksurv, smartnoise) load on first use of the function that needs them.
"""

from __future__ import annotations

from typing import Any

from genmed.privacy.audit import (
    AccessEvent,
    AccessLog,
    VerifyResult,
    default_log_path,
    read_log,
    record_access,
    to_fhir_audit_events,
    verify_log,
)
from genmed.privacy.fhir_deid import DeidOptions, DeidReport, DeidResult, deidentify_bundle, deidentify_file

_LAZY = {
    "deidentify_dicom": "genmed.privacy.dicom_deid", "deidentify_dataset": "genmed.privacy.dicom_deid",
    "DicomDeidOptions": "genmed.privacy.dicom_deid", "synthesize": "genmed.privacy.release",
    "SYNTHESIZERS": "genmed.privacy.synth", "SCHEMAS": "genmed.privacy.cohorts",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "AccessEvent", "AccessLog", "VerifyResult", "default_log_path", "read_log", "record_access",
    "to_fhir_audit_events", "verify_log", "DeidOptions", "DeidReport", "DeidResult", "deidentify_bundle",
    "deidentify_file", *_LAZY,
]
