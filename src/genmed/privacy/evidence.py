"""The measured shadow-model attack results that every release carries for its (method, ε).

A release's own audit (:mod:`genmed.privacy.evaluate`) runs the black-box membership attacks, which need one fit.
The shadow-model attack (:mod:`genmed.privacy.shadow`), which targets the most exposed records, refits the
generator hundreds of times, so it is run by the benchmarks (`genmed bench privacy` for genmed's methods,
`genmed bench privacy-shadow` for smartnoise's MST/AIM), not per release. Their saved results are distilled into
``shadow_evidence.json`` beside this module, rebuilt from the benchmark JSON files whenever a benchmark writes its
section (never edited by hand: a test checks it equals a rebuild from the committed files), so a data steward
releasing with ``--method mst --epsilon 10`` is told what the attack measured for that engine at that ε — and a
(method, ε) never attacked is said to be unmeasured, never given a neighbour's number.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from genmed.core.errors import ConfigError

BAR = 0.55  # the Must: shadow-model MIA AUC <= 0.55 for every DP release
EVIDENCE_FILE = Path(__file__).with_name("shadow_evidence.json")
_ROW_FIELDS = {"dataset": str, "method": str, "epsilon": (int, float), "shadow_auc": (int, float),
               "shadow_auc_ci95": list, "targets": int, "shadows_per_target": int, "tests_per_target": int,
               "rows_per_dataset": int, "measured": str, "source": str}


def _row(dataset: str, r: dict[str, Any], sh: dict[str, Any], measured: str, source: str) -> dict[str, Any]:
    row = {"dataset": dataset, "method": r["method"], "epsilon": float(r["epsilon"]),
           "shadow_auc": round(float(sh["shadow_auc"]), 4),
           "shadow_auc_ci95": [round(float(v), 4) for v in sh["shadow_auc_ci95"]],
           "targets": int(sh["targets"]), "shadows_per_target": int(sh["shadows_per_target"]),
           "tests_per_target": int(sh["tests_per_target"]), "rows_per_dataset": int(sh["rows_per_dataset"]),
           "measured": measured, "source": source}
    if sh.get("shadow_auc_per_target"):
        row["shadow_auc_per_target"] = [round(float(a), 3) for a in sh["shadow_auc_per_target"]]
    return row


PRIVACY = "genmed bench privacy"
PRIVACY_SHADOW = "genmed bench privacy-shadow"


def privacy_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence rows of a `genmed bench privacy` run (its in-run shadow attacks on genmed's methods and the
    bootstrap control: the control shows the attack can see a leak)."""
    measured = doc["params"].get("measured", "undated")
    return [_row(ds, r, r["shadow"], measured, PRIVACY)
            for ds, e in doc["results"].items() for r in e["summary"] if r.get("shadow")]


def shadow_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence rows of `genmed bench privacy-shadow` (MST/AIM; rows as :func:`shadow_bench.load_rows` gives)."""
    return [_row(r["dataset"], r, r, r.get("date", "undated"), PRIVACY_SHADOW) for r in rows]


def _table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    # sorted, so the same results always give the same bytes (a test compares the shipped file with a rebuild)
    return {"bar": BAR, "rows": sorted(rows, key=lambda r: (r["dataset"], r["method"], r["epsilon"], r["source"]))}


def build(privacy_doc: dict[str, Any] | None, shadow: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole table from a `privacy` run's JSON and the `privacy-shadow` rows."""
    return _table((privacy_rows(privacy_doc) if privacy_doc else []) + shadow_rows(shadow))


def write(evidence: dict[str, Any], path: str | Path | None = None) -> Path | None:
    """Write the table whole (temporary file, then rename); ``None`` where the package folder is read-only (an
    installed, non-editable genmed: its shipped table stays as it was)."""
    path = Path(path or EVIDENCE_FILE)
    if not os.access(path.parent, os.W_OK):
        return None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(evidence, indent=1) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def refresh(source: str, rows: list[dict[str, Any]], path: str | Path | None = None) -> Path | None:
    """Replace the rows of one benchmark (``source``) in the shipped table, keeping the other's; called by the
    benchmarks when they write their sections."""
    try:
        kept = [r for r in load(path) if r["source"] != source]
    except ConfigError:  # no table yet, or a damaged one: start from this benchmark's rows
        kept = []
    return write(_table(kept + rows), path)


def load(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The shipped rows; a damaged file is an error naming it (a release must not silently lose its evidence)."""
    path = path or EVIDENCE_FILE
    try:
        rows = json.loads(Path(path).read_text())["rows"]
        ok = isinstance(rows, list) and all(
            isinstance(r, dict) and all(isinstance(r.get(k), t) for k, t in _ROW_FIELDS.items())
            and len(r["shadow_auc_ci95"]) == 2 for r in rows)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise ConfigError(f"{path} is not genmed's shadow-attack evidence table",
                          hint="rebuild it: genmed bench privacy --from-json benchmarks/privacy_bench.json")
    return rows


def _game(r: dict[str, Any]) -> str:
    return f"{r['targets']} × ({r['shadows_per_target']} + {r['tests_per_target']}) releases"


def evidence_for(method: str, epsilon: float, dataset: str | None = None,
                 path: str | Path | None = None) -> dict[str, Any]:
    """What the shadow-model attack measured for ``method`` at exactly this ``epsilon`` (every data set and
    game it was run in), the verdict against :data:`BAR` — ``above the bar`` if any game put it there,
    ``not measured`` where none was run — and one sentence that says so. ``dataset``: the released data set,
    to say whether the evidence was measured on it or on another."""
    rows = [r for r in load(path) if r["method"] == method and math.isclose(r["epsilon"], epsilon)]
    if not rows:
        return {"method": method, "epsilon": epsilon, "status": "not measured", "bar": BAR, "rows": [],
                "summary": f"The shadow-model attack has not been run on {method} at ε = {epsilon:g}: this "
                           "release's protection of outlying records rests on its DP guarantee and the "
                           "black-box audit above, not on a measured attack."}
    worst = max(rows, key=lambda r: r["shadow_auc"])
    status = "above the bar" if worst["shadow_auc"] > BAR else "at or below the bar"
    parts = []
    for r in rows:
        lo, hi = r["shadow_auc_ci95"]
        top = f", most exposed target {max(r['shadow_auc_per_target']):.2f}" if r.get("shadow_auc_per_target") \
            else ""
        parts.append(f"{r['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}] on {r['dataset']} ({_game(r)}, "
                     f"{r['rows_per_dataset']} rows per data set{top}; {r['source']}, {r['measured']})")
    where = "" if dataset is None or any(r["dataset"] == dataset for r in rows) else \
        f" Measured on other data than {dataset}: how exposed this data's outliers are was not measured."
    verdict = (f"above the {BAR} bar: the attacker told releases with an outlying record from releases without "
               f"it better than chance; (ε, δ)-DP at ε = {epsilon:g} allows that, genmed's bar does not") \
        if status == "above the bar" else f"at or below the {BAR} bar"
    return {"method": method, "epsilon": epsilon, "status": status, "bar": BAR, "rows": rows,
            "summary": f"Shadow-model membership attack on {method} at ε = {epsilon:g} (AUC, 0.5 = no leak): "
                       + "; ".join(parts) + f" — {verdict}.{where}"}
