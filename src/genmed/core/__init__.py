"""Shared core: errors, settings, data-directory resolution, storage, provenance, PHI-safe logging, registries.

Knows no capability. Cheap to import (no torch/RDKit).
"""

from genmed.core.errors import (
    ConfigError,
    DataNotFoundError,
    GenmedError,
    InputError,
    ModelNotFoundError,
)

__all__ = ["GenmedError", "InputError", "ConfigError", "DataNotFoundError", "ModelNotFoundError"]
