"""The declarative scoring configuration (the ``[scoring]`` table of a design-run TOML file).

```toml
[scoring]
aggregation = "geometric"          # or "arithmetic"

[[scoring.objective]]
name = "similar_to_imatinib"       # label in reports (default: the component name)
component = "similarity"
params = { smiles = "Cc1ccc(...)", fingerprint = "ecfp4" }
direction = "maximize"             # maximize | minimize | target | range
transform = "clipped"              # optional: identity sigmoid reverse_sigmoid double_sigmoid gaussian step clipped
low = 0.0
high = 0.6
weight = 2.0

[[scoring.filter]]                 # hard filters zero the total score
component = "alerts"
max = 0                            # raw value must be <= max (and/or >= min); or a 0/1 component, pass = 1
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from genmed.core.errors import ConfigError


class ObjectiveSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component: str
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    direction: Literal["maximize", "minimize", "target", "range"] = "maximize"
    transform: (
        Literal["identity", "sigmoid", "reverse_sigmoid", "double_sigmoid", "gaussian", "step", "clipped"] | None
    ) = None
    low: float | None = None
    high: float | None = None
    target: float | None = None
    sigma: float | None = None
    k: float = Field(default=0.5, gt=0)
    weight: float = Field(default=1.0, gt=0)
    # expensive components only: compute them only where the cheap objectives already reach this score
    min_score_to_compute: float = Field(default=0.0, ge=0, le=1)
    # provenance of objectives added on a patient's behalf (which fact added it)
    reason: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.component


class FilterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component: str
    name: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    reason: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"filter:{self.component}"


class ScoringSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aggregation: Literal["geometric", "arithmetic"] = "geometric"
    objective: list[ObjectiveSpec] = Field(min_length=1)
    filter: list[FilterSpec] = Field(default_factory=list)

    @field_validator("objective", "filter", mode="before")
    @classmethod
    def _listify(cls, v):
        return [v] if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _unique_names(self):
        seen: set[str] = set()
        for o in self.objective:
            if o.label in seen:
                raise ValueError(f"two objectives are named {o.label!r}; give each a distinct `name`")
            seen.add(o.label)
        return self


def validation_message(exc: ValidationError, prefix: str = "") -> str:
    """One line naming the offending key, e.g. ``scoring.objective[2].weight: Input should be greater than 0``."""
    err = exc.errors()[0]
    parts: list[str] = []
    for p in err["loc"]:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        else:
            parts.append(str(p))
    key = ".".join(([prefix] if prefix else []) + parts)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key missing"
    return f"{key}: {msg}" if key else msg


def parse_scoring(data: dict[str, Any], prefix: str = "scoring") -> ScoringSpec:
    try:
        return ScoringSpec(**data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, prefix)) from None
    except TypeError as exc:
        raise ConfigError(f"{prefix}: {exc}") from None
