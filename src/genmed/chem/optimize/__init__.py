"""Goal-directed molecule design: optimisers (``reinvent``, ``graph-ga``) behind one interface and one budget.

Importing this package registers the built-in optimisers in :data:`OPTIMIZERS`.
"""

from genmed.chem.optimize import graph_ga, reinvent  # noqa: F401  (registration)
from genmed.chem.optimize.base import OPTIMIZERS, Entry, Optimizer, Oracle, internal_diversity

__all__ = ["OPTIMIZERS", "Entry", "Optimizer", "Oracle", "internal_diversity"]
