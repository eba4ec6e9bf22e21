"""Built-in scoring components; importing this package registers them all in :data:`COMPONENTS`."""

from genmed.chem.scoring.components import (  # noqa: F401  (imported for registration)
    admet,
    alerts,
    docking,
    external,
    physchem,
    similarity,
    smarts,
)
from genmed.chem.scoring.components.base import COMPONENTS, Component

__all__ = ["COMPONENTS", "Component"]
