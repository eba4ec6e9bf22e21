"""genmed.service: the REST API (FastAPI) over the same functions the CLI calls.

- :func:`create_app` — the application: ``POST /v1/plans`` (record + VCF + attachments → plan, FHIR CarePlan,
  HTML/PDF report), ``GET /v1/plans/{id}[/careplan|/report|/pdf]``, ``POST /v1/pgx/calls``,
  ``POST /v1/privacy/deidentify``, ``GET /v1/audit/verify``, ``GET /health``.
- :class:`KeyStore` / :data:`ROLES` — API keys (only their SHA-256 is stored) and role-based permissions.

Run it with ``genmed service serve``; make keys with ``genmed service key add NAME --role clinician``.
"""

from genmed.service.app import PURPOSES, create_app
from genmed.service.auth import ROLES, ApiKey, KeyStore, Principal

__all__ = ["PURPOSES", "ROLES", "ApiKey", "KeyStore", "Principal", "create_app"]
