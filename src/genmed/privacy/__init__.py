"""genmed.privacy: de-identification, DP synthetic cohorts, privacy evaluation, tamper-evident access log.

Public API (other capabilities call these; everything else is internal):

- :func:`record_access` — append one line to the hash-chained access log (who, role, action, pseudonymous
  patient id, purpose, outcome); :func:`verify_log` and :func:`to_fhir_audit_events` check and export it.
"""

from __future__ import annotations

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

__all__ = [
    "AccessEvent", "AccessLog", "VerifyResult", "default_log_path", "read_log", "record_access",
    "to_fhir_audit_events", "verify_log",
]
