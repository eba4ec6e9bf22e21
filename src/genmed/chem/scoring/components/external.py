"""``external``: a score computed by the user's own program or Python function.

- ``command``: an argv list; SMILES go to stdin one per line, one number per line comes back on stdout
  (``nan`` or an empty line for a molecule it cannot score). Runs with a timeout; a command that fails, hangs or
  answers with the wrong number of lines is an :class:`ExternalComponentError` naming the command.
- ``entry_point``: ``"package.module:function"`` taking a list of SMILES, returning a list of numbers.
"""

from __future__ import annotations

import importlib
import math
import shutil
import subprocess

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from genmed.chem.scoring.components.base import COMPONENTS, Component
from genmed.core.errors import ConfigError, GenmedError


class ExternalComponentError(GenmedError):
    """The user's external scoring program failed, hung, or answered in an unexpected format."""

    exit_code = 5


class ExternalParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: list[str] | None = None
    entry_point: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)
    batch_size: int = Field(default=256, ge=1)
    cache: bool = Field(default=True, description="cache values by canonical SMILES (off for stochastic scores)")

    @model_validator(mode="after")
    def _one(self):
        if (self.command is None) == (self.entry_point is None):
            raise ValueError("give exactly one of command or entry_point")
        if self.command is not None and not self.command:
            raise ValueError("command is empty")
        return self


def _parse(value: str) -> float:
    value = value.strip()
    if not value or value.lower() in ("nan", "na", "none", "null"):
        return math.nan
    return float(value)


@COMPONENTS.register("external")
class External(Component):
    name = "external"
    Params = ExternalParams
    description = "User-supplied scoring command or Python entry point."

    @property
    def cacheable(self) -> bool:  # type: ignore[override]
        return self.params.cache

    def setup(self):
        p = self.params
        if p.command is not None:
            if shutil.which(p.command[0]) is None:
                raise ConfigError(f"{self.where}.command: program {p.command[0]!r} not found on PATH")
            self.label = " ".join(p.command)
            self.fn = self._run_command
        else:
            mod_name, _, fn_name = p.entry_point.partition(":")
            if not mod_name or not fn_name:
                raise ConfigError(f"{self.where}.entry_point: expected 'module:function', got {p.entry_point!r}")
            try:
                fn = getattr(importlib.import_module(mod_name), fn_name)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"{self.where}.entry_point: cannot load {p.entry_point!r} ({exc})") from None
            if not callable(fn):
                raise ConfigError(f"{self.where}.entry_point: {p.entry_point!r} is not callable")
            self.label = p.entry_point
            self.fn = fn

    def _run_command(self, smiles: list[str]) -> list[float]:
        p = self.params
        try:
            proc = subprocess.run(
                p.command, input="\n".join(smiles) + "\n", capture_output=True, text=True, timeout=p.timeout_s,
            )
        except subprocess.TimeoutExpired:
            raise ExternalComponentError(
                f"{self.where}: external command `{self.label}` did not finish within {p.timeout_s:g} s",
                hint="raise timeout_s or fix the command",
            ) from None
        except OSError as exc:
            raise ExternalComponentError(f"{self.where}: cannot run `{self.label}` ({exc})") from None
        if proc.returncode != 0:
            tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no stderr"]
            raise ExternalComponentError(
                f"{self.where}: external command `{self.label}` exited with status {proc.returncode}: {tail[0]}"
            )
        lines = proc.stdout.splitlines()
        if len(lines) != len(smiles):
            raise ExternalComponentError(
                f"{self.where}: external command `{self.label}` returned {len(lines)} lines for {len(smiles)} molecules",
                hint="print exactly one number per input SMILES",
            )
        out = []
        for i, line in enumerate(lines):
            try:
                out.append(_parse(line))
            except ValueError:
                raise ExternalComponentError(
                    f"{self.where}: external command `{self.label}` line {i + 1} is not a number: {line[:40]!r}"
                ) from None
        return out

    def compute(self, mols, smiles):
        out = np.full(len(mols), np.nan)
        idx = [i for i, m in enumerate(mols) if m is not None]
        for start in range(0, len(idx), self.params.batch_size):
            chunk = idx[start : start + self.params.batch_size]
            try:
                vals = self.fn([smiles[i] for i in chunk])
                vals = list(vals)
            except ExternalComponentError:
                raise
            except Exception as exc:
                raise ExternalComponentError(f"{self.where}: `{self.label}` raised {type(exc).__name__}: {exc}") from None
            if len(vals) != len(chunk):
                raise ExternalComponentError(
                    f"{self.where}: `{self.label}` returned {len(vals)} values for {len(chunk)} molecules"
                )
            for i, v in zip(chunk, vals, strict=True):
                try:
                    out[i] = float(v) if v is not None else np.nan
                except (TypeError, ValueError):
                    out[i] = np.nan
        return out
