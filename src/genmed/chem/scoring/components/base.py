"""The scoring-component contract and its registry.

A component turns a batch of RDKit molecules into one raw float per molecule (NaN where it cannot be computed,
never an exception for one bad molecule). Parameters are a pydantic model with ``extra="forbid"``, so a typo in
a config is an error naming the key. Adding a component = one module with one ``@COMPONENTS.register("name")``
class, imported from :mod:`genmed.chem.scoring.components`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from genmed.core.errors import ConfigError
from genmed.core.registry import Registry


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Component:
    """Base class. Subclasses set ``Params`` and implement :meth:`compute`."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    unit: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    cacheable: ClassVar[bool] = True
    # expensive components (docking) run only on molecules that pass the cheap ones and the hard filters
    expensive: ClassVar[bool] = False
    # the value is already a desirability in [0, 1] (similarity, QED, probabilities)
    unit_interval: ClassVar[bool] = False

    def __init__(self, params: dict[str, Any] | None = None, *, where: str | None = None):
        self.where = where or self.name
        try:
            self.params = self.Params(**(params or {}))
        except ValidationError as exc:
            raise ConfigError(_first_error(exc, self.where)) from None
        self.setup()

    def setup(self) -> None:
        """Validate parameters that need RDKit (SMARTS, reference SMILES) and precompute; raise ConfigError."""

    def compute(self, mols: list, smiles: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def signature(self) -> str:
        """Stable identity of (component, version, parameters): the cache key prefix."""
        payload = json.dumps(
            {"c": self.name, "v": self.version, "p": self.params.model_dump(mode="json")}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def provenance(self) -> dict[str, Any]:
        return {"component": self.name, "version": self.version, "params": self.params.model_dump(mode="json")}

    def close(self) -> None:
        """Release external resources (process pools)."""


def _first_error(exc: ValidationError, where: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    key = f"{where}.{loc}" if loc else where
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown parameter"
    if err["type"] == "missing":
        return f"{key}: required parameter missing"
    return f"{key}: {err['msg']}"


def safe_map(fn, mols: list) -> np.ndarray:
    """Apply ``fn`` per molecule; a molecule that makes ``fn`` fail gets NaN (a failing molecule never kills a run)."""
    out = np.full(len(mols), np.nan)
    for i, m in enumerate(mols):
        if m is None:
            continue
        try:
            out[i] = float(fn(m))
        except Exception:
            out[i] = np.nan
    return out


COMPONENTS: Registry[type[Component]] = Registry("scoring component")
