"""Scoring: components (one registry), desirability transforms, aggregation, hard filters, SQLite cache.

```python
from genmed.chem.scoring import Scorer, ScoreCache
scorer = Scorer({"objective": [{"component": "qed"}, {"component": "admet", "params": {"endpoint": "hERG"},
                                                      "direction": "minimize"}]})
batch = scorer(["CCO", "c1ccccc1O"])   # batch.total, batch.raw["qed"], batch.desirability["admet"], ...
```
"""

from genmed.chem.scoring.cache import ScoreCache, default_cache_path
from genmed.chem.scoring.components import COMPONENTS, Component
from genmed.chem.scoring.config import FilterSpec, ObjectiveSpec, ScoringSpec, parse_scoring
from genmed.chem.scoring.scorer import ScoredBatch, Scorer, canonical_smiles, pareto_front
from genmed.chem.scoring.transforms import build_transform

__all__ = [
    "COMPONENTS", "Component", "FilterSpec", "ObjectiveSpec", "ScoreCache", "ScoredBatch", "Scorer", "ScoringSpec",
    "build_transform", "canonical_smiles", "default_cache_path", "pareto_front", "parse_scoring",
]
