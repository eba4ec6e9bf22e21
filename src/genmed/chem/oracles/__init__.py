"""Benchmark objectives written as genmed scoring specs: GuacaMol v2 goal-directed tasks and the PMO oracles."""

from genmed.chem.oracles.guacamol import Task, guacamol_task_score, guacamol_v2
from genmed.chem.oracles.pmo import pmo_oracles, top_auc

__all__ = ["Task", "guacamol_task_score", "guacamol_v2", "pmo_oracles", "top_auc"]
