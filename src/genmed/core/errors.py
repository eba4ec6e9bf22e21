"""User-facing error hierarchy.

Every error says what input, what is wrong and, where we know, what to do. The CLI prints ``str(error)`` on one
line and exits with ``error.exit_code``; the service maps the same errors to RFC 9457 problem+json.
"""

from __future__ import annotations


class GenmedError(Exception):
    """Base class: an error meant for a person, not a traceback."""

    exit_code = 1
    http_status = 500
    title = "genmed error"

    def __init__(self, message: str, *, hint: str | None = None, source: str | None = None):
        self.message = message
        self.hint = hint
        self.source = source  # the file/record/key the problem is in
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        tail = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{tail}"

    def to_problem(self) -> dict[str, object]:
        """RFC 9457 problem details."""
        return {
            "type": f"https://genmed.dev/problems/{type(self).__name__}",
            "title": self.title,
            "status": self.http_status,
            "detail": str(self),
        }


class InputError(GenmedError):
    """Malformed or unusable input (a file, a record, a SMILES, an image)."""

    exit_code = 2
    http_status = 422
    title = "invalid input"


class ConfigError(InputError):
    """A configuration file or value is invalid."""

    title = "invalid configuration"


class DataNotFoundError(GenmedError):
    """A data set, knowledge file or data directory is missing."""

    exit_code = 3
    http_status = 404
    title = "data not found"


class ModelNotFoundError(DataNotFoundError):
    """A model checkpoint is missing or unreadable."""

    title = "model not found"


class AccessDeniedError(GenmedError):
    """The caller lacks the role for this action."""

    exit_code = 4
    http_status = 403
    title = "access denied"
