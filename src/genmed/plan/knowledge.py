"""The options knowledge file (``knowledge/options.yaml``): loaded once, schema-checked, versioned."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from genmed.core.errors import ConfigError


class TrialRef(BaseModel):
    name: str
    arm: str
    comparator: str


class BsaDose(BaseModel):
    drug: str
    mg_per_m2: float = Field(gt=0)
    schedule: str


class OptionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    label: str
    drugs: list[str]
    dose: str
    tier: int = Field(ge=1, le=3)
    sources: list[str]
    contraindicated_by: list[str] = Field(default_factory=list)
    avoid_if: dict[str, float] = Field(default_factory=dict)
    requires: dict[str, bool] = Field(default_factory=dict)
    requires_test: dict[str, str] | None = None
    min_egfr: float | None = None
    trial: TrialRef | None = None
    warfarin_dosing: bool = False
    bsa_doses: list[BsaDose] = Field(default_factory=list)
    preferred_with_oral_anticoagulant: bool = False


class ConditionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    options: list[OptionSpec]
    requires_any_observation: dict[str, list[str]] = Field(default_factory=dict)
    pgx_population: list[str] = Field(default_factory=list)


class Interaction(BaseModel):
    drugs: list[str]
    severity: str
    text: str
    source: str


class Knowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    released: str
    maintainer: str
    sources: dict[str, str]
    conditions: dict[str, ConditionSpec]
    interactions: list[Interaction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cited(self) -> Knowledge:
        from genmed.patient.codes import code_map

        cmap = code_map()
        for key, cond in self.conditions.items():
            if key not in cmap.conditions:
                raise ValueError(f"condition {key!r} is not in the patient code map")
            for o in cond.options:
                for s in o.sources:
                    if s not in self.sources:
                        raise ValueError(f"option {o.id}: source {s!r} is not listed under sources")
                for d in o.drugs:
                    if d not in cmap.drugs:
                        raise ValueError(f"option {o.id}: drug {d!r} is not in the patient code map")
        for i in self.interactions:
            if i.source not in self.sources:
                raise ValueError(f"interaction {i.drugs}: source {i.source!r} not listed")
        return self

    def cite(self, key: str) -> str:
        return self.sources[key]


def parse_knowledge(data: Any, source: str) -> Knowledge:
    try:
        return Knowledge.model_validate(data)
    except ValidationError as exc:
        errs = "; ".join(".".join(map(str, e["loc"])) + f": {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(f"invalid knowledge file: {errs}", source=source) from None


@lru_cache(maxsize=4)
def load_knowledge(path: str | None = None) -> Knowledge:
    """The bundled options knowledge file, or another one at ``path`` (same schema)."""
    if path is None:
        text = resources.files("genmed.plan").joinpath("knowledge/options.yaml").read_text()
        source = "genmed/plan/knowledge/options.yaml"
    else:
        text = Path(path).read_text()
        source = path
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"knowledge file is not valid YAML: {exc}", source=source) from None
    return parse_knowledge(data, source)
