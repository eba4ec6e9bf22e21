"""Goal-directed molecule design: optimisers (``reinvent``, ``graph-ga``) behind one interface and one budget.

```python
from genmed.chem.optimize import run_design
summary = run_design("examples/design/kinase_safety.toml", "runs/kinase", patient="patient.json")
```

Importing this package registers the built-in optimisers in :data:`OPTIMIZERS`; adding one is a module with an
``@OPTIMIZERS.register("name")`` subclass of :class:`Optimizer`.
"""

from genmed.chem.optimize import graph_ga, mol_ga, reinvent  # noqa: F401  (registration)
from genmed.chem.optimize.base import OPTIMIZERS, Entry, Optimizer, Oracle, internal_diversity
from genmed.chem.optimize.patient import PatientProfile, load_profile, merge_patient, patient_objectives
from genmed.chem.optimize.run import DesignConfig, load_config, parse_config, run_design

__all__ = [
    "OPTIMIZERS", "DesignConfig", "Entry", "Optimizer", "Oracle", "PatientProfile", "internal_diversity",
    "load_config", "load_profile", "merge_patient", "parse_config", "patient_objectives", "run_design",
]
