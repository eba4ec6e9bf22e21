"""Docking with dockstring (García-Ortegón et al., JCIM 2022): AutoDock Vina on 58 prepared protein targets.

Docking one ligand takes 6-35 s on 2 cores, so the component is ``expensive``: the aggregator runs it only on
molecules that pass every hard filter and whose other objectives already score above ``min_score_to_dock``, and
molecules are docked concurrently (Vina runs as a subprocess, so threads suffice). dockstring needs Open Babel's
``obabel`` (Debian package ``openbabel``; ``make system-deps`` installs it): without it the component refuses to
start with a message saying so, rather than failing molecule by molecule.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from genmed.chem.scoring.components.base import COMPONENTS, Component
from genmed.core.errors import ConfigError, DataNotFoundError


class DockingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(description="dockstring target name, e.g. DRD2, EGFR, ABL1")
    workers: int = Field(default=2, ge=1, le=64, description="molecules docked at once")
    cpus_per_ligand: int = Field(default=1, ge=1, le=64)
    timeout_s: float = Field(default=300.0, gt=0, description="per-molecule limit; slower ones score NaN")
    seed: int = 974528263


def obabel_available() -> bool:
    return shutil.which("obabel") is not None


@COMPONENTS.register("docking")
class Docking(Component):
    """Vina docking score (kcal/mol, lower is better: use ``direction = "minimize"`` with low/high bounds)."""

    name = "docking"
    Params = DockingParams
    unit = "kcal/mol (Vina)"
    expensive = True
    description = "AutoDock Vina docking score via dockstring."

    def setup(self):
        try:
            from dockstring import list_all_target_names, load_target
        except ImportError:
            raise DataNotFoundError(
                f"{self.where}: docking needs the dockstring package", hint="pip install --no-deps dockstring"
            ) from None
        names = list_all_target_names()
        if self.params.target.upper() not in names:
            raise ConfigError(f"{self.where}.target: unknown dockstring target {self.params.target!r}",
                              hint=f"one of {', '.join(sorted(names))}")
        if not obabel_available():
            raise DataNotFoundError(
                f"{self.where}: docking needs Open Babel's `obabel`, which is not installed",
                hint="apt-get install -y openbabel (or `make system-deps`); or remove the docking objective",
            )
        self.target = load_target(self.params.target.upper())
        self.pool = ThreadPoolExecutor(max_workers=self.params.workers)

    def provenance(self):
        import importlib.metadata

        return {**super().provenance(), "tool": f"dockstring {importlib.metadata.version('dockstring')}"}

    def _dock(self, smi: str) -> float:
        try:
            score, _ = self.target.dock(smi, num_cpus=self.params.cpus_per_ligand, seed=self.params.seed)
            return float(score) if score is not None else np.nan
        except Exception:  # dockstring raises for ligands it cannot prepare: that molecule only
            return np.nan

    def compute(self, mols, smiles):
        out = np.full(len(mols), np.nan)
        futures = {self.pool.submit(self._dock, s): i for i, (m, s) in enumerate(zip(mols, smiles, strict=True))
                   if m is not None}
        done, not_done = wait(futures, timeout=self.params.timeout_s * max(1, len(futures) / self.params.workers))
        for f in done:
            out[futures[f]] = f.result()
        for f in not_done:
            f.cancel()
        return out

    def close(self):
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
