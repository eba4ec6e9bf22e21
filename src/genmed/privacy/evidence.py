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

import numpy as np

from genmed.core.errors import ConfigError
from genmed.privacy.shadow_bench import BAR, fits, typed_rows  # BAR: the Must's shadow-model MIA AUC <= 0.55

EVIDENCE_FILE = Path(__file__).with_name("shadow_evidence.json")
PRIVACY = "genmed bench privacy"
PRIVACY_SHADOW = "genmed bench privacy-shadow"
_ROW_FIELDS = {"dataset": str, "method": str, "epsilon": (int, float), "shadow_auc": (int, float),
               "shadow_auc_ci95": list, "targets": int, "shadows_per_target": int, "tests_per_target": int,
               "rows_per_dataset": int, "measured": str, "source": str}
_KEY = ("dataset", "method", "epsilon", "source")


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


def privacy_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence rows of a `genmed bench privacy` run (its in-run shadow attacks on genmed's methods and the
    bootstrap control: the control shows the attack can see a leak)."""
    measured = doc["params"].get("measured", "undated")
    return [_row(ds, r, r["shadow"], measured, PRIVACY)
            for ds, e in doc["results"].items() for r in e["summary"] if r.get("shadow")]


def shadow_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence rows of `genmed bench privacy-shadow` (MST/AIM; rows as :func:`shadow_bench.load_rows` gives)."""
    return [_row(r["dataset"], r, r, r.get("date", "undated"), PRIVACY_SHADOW) for r in rows]


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(table, rows of ``new`` not applied). A new row replaces the row of the same (data set, method, ε,
    benchmark) unless its game is smaller (a smoke run must not replace the measured evidence); rows a run did
    not measure (another data set, another ε) are kept. Sorted, so the same rows always give the same bytes."""
    rows = {tuple(r[k] for k in _KEY): r for r in old}
    skipped = []
    for r in new:
        key = tuple(r[k] for k in _KEY)
        if key in rows and fits(r) < fits(rows[key]):
            skipped.append(r)
        else:
            rows[key] = r
    return {"bar": BAR, "rows": sorted(rows.values(), key=lambda r: tuple(r[k] for k in _KEY))}, skipped


def build(privacy_doc: dict[str, Any] | None, shadow: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole table from a `privacy` run's JSON and the `privacy-shadow` rows (what the shipped file must be
    for the committed benchmark files)."""
    return merge([], (privacy_rows(privacy_doc) if privacy_doc else []) + shadow_rows(shadow))[0]


def in_checkout(path: Path | None = None) -> bool:
    """Whether the table sits in a source checkout (src/genmed/privacy beside pyproject.toml and benchmarks/),
    the only place a benchmark may rewrite it: an installed genmed keeps the table it shipped with."""
    root = Path(path or EVIDENCE_FILE).resolve().parents[3]
    return (root / "pyproject.toml").is_file() and (root / "benchmarks").is_dir()


def write(evidence: dict[str, Any], path: str | Path | None = None) -> Path:
    """Write the table whole (temporary file, then rename), readable by every user of the installation."""
    path = Path(path or EVIDENCE_FILE)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(evidence, indent=1) + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600: other users' releases could not read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def refresh(rows: list[dict[str, Any]], path: str | Path | None = None) -> dict[str, Any]:
    """Merge one benchmark's rows into the shipped table (called by the benchmarks when they write their
    sections). Returns what happened: ``path`` (None: not a checkout, nothing written), ``skipped`` rows (a
    smaller game than the one in the table) and ``damaged`` (the old table could not be read and was replaced by
    these rows alone: the other benchmark's rows are then missing until it writes again)."""
    path = Path(path or EVIDENCE_FILE)
    if not in_checkout(path):
        return {"path": None, "skipped": [], "damaged": None}
    damaged = None
    try:
        old = load(path) if path.exists() else []
    except ConfigError as exc:
        old, damaged = [], exc.message
    table, skipped = merge(old, rows)
    return {"path": write(table, path), "skipped": skipped, "damaged": damaged}


def load(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The shipped rows; a damaged file (or a non-finite number in it) is an error naming it: a release must not
    silently lose its evidence, nor judge a NaN."""
    path = path or EVIDENCE_FILE
    try:
        rows = typed_rows(json.loads(Path(path).read_text())["rows"], _ROW_FIELDS)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        rows = None
    if rows is None:
        raise ConfigError(f"{path} is not genmed's shadow-attack evidence table",
                          hint="restore the shipped file (git checkout src/genmed/privacy/shadow_evidence.json)")
    return rows


def dp_auc_bound(epsilon: float, delta: float) -> float:
    """The largest AUC any membership test can reach against an (ε, δ)-DP mechanism: the area under the boundary
    of its privacy region, TPR <= min(1, e^ε FPR + δ, 1 - e^-ε (1 - FPR - δ)) (Kairouz, Oh & Viswanath, ICML
    2015, Thm 2.1); for δ = 0 it is e^ε / (1 + e^ε)."""
    x = np.linspace(0.0, 1.0, 20001)
    e = math.exp(min(epsilon, 700.0))
    tpr = np.minimum.reduce([np.ones_like(x), e * x + delta, 1 - (1 - x - delta) / e])
    return float(np.clip(np.trapezoid(np.clip(tpr, 0, 1), x), 0.5, 1.0))


def game_auc_bound(epsilon: float, delta: float) -> float:
    """:func:`dp_auc_bound` for the shadow game, whose 'with target' input holds the target in place of one row:
    a substitution, i.e. two add/remove steps, so (2ε, (1 + e^ε) δ) by group privacy (Dwork & Roth 2014, Thm
    2.2); mixing over the random other rows cannot raise it."""
    return dp_auc_bound(2 * epsilon, (1 + math.exp(min(epsilon, 700.0))) * delta)


def _eps(epsilon: float) -> str:
    return f"{epsilon:.12g}"  # never rounded to a neighbour: 10.00001 is not ε = 10


def _game(r: dict[str, Any]) -> str:
    return f"{r['targets']} × ({r['shadows_per_target']} + {r['tests_per_target']}) releases"


def evidence_for(method: str, epsilon: float, dataset: str | None = None, delta: float = 1e-9,
                 path: str | Path | None = None) -> dict[str, Any]:
    """What the shadow-model attack measured for ``method`` at exactly this ``epsilon`` (every data set and
    game it was run in), judged like the benchmark's Must by the point estimate against :data:`BAR`:
    ``above the bar`` if any game put it there, ``at or below the bar``, or ``not measured`` where none was run.
    ``on_this_data``: whether any of it was measured on the released ``dataset`` (a CSV release never is);
    ``summary``: one sentence that says all of it, with the intervals and what the DP guarantee allows."""
    rows = [r for r in load(path) if r["method"] == method and math.isclose(r["epsilon"], epsilon)]
    out: dict[str, Any] = {"method": method, "epsilon": epsilon, "bar": BAR, "rows": rows,
                           "on_this_data": dataset is not None and any(r["dataset"] == dataset for r in rows),
                           "dp_auc_bound_in_game": round(game_auc_bound(epsilon, delta), 4)}
    if not rows:
        return {**out, "status": "not measured",
                "summary": f"The shadow-model attack has not been run on {method} at ε = {_eps(epsilon)}: this "
                           "release's protection of outlying records rests on its DP guarantee and the "
                           "black-box audit above, not on a measured attack."}
    parts = []
    for r in rows:
        lo, hi = r["shadow_auc_ci95"]
        top = f", most exposed target {max(r['shadow_auc_per_target']):.2f}" if r.get("shadow_auc_per_target") \
            else ""
        spans = "; the interval spans the bar" if lo <= BAR < hi else ""
        parts.append(f"{r['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}]{spans} on {r['dataset']} ({_game(r)}, "
                     f"{r['rows_per_dataset']} rows per data set{top}; {r['source']}, {r['measured']})")
    worst = max(rows, key=lambda r: r["shadow_auc"])
    status = "above the bar" if worst["shadow_auc"] > BAR else "at or below the bar"
    bound = out["dp_auc_bound_in_game"]
    if status == "at or below the bar":
        verdict = f"at or below the {BAR} bar by its point estimate"
    else:
        chance = (" and its interval excludes 0.5: the attacker told releases with an outlying record from "
                  "releases without it better than chance") if worst["shadow_auc_ci95"][0] > 0.5 else ""
        dp = (f"; the (ε, δ) guarantee allows up to {bound:.2f} in this game, genmed's bar does not"
              if worst["shadow_auc"] <= bound else
              f"; that exceeds the {bound:.3f} the (ε, δ) guarantee allows in this game: a faulty mechanism or "
              "a faulty attack")
        verdict = f"above the {BAR} bar by its point estimate{chance}{dp}"
    where = "" if out["on_this_data"] else (
        " None of it was measured on this data" + (f" ({dataset})" if dataset else "")
        + ": how exposed this data's outlying records are has not been measured.")
    return {**out, "status": status,
            "summary": f"Shadow-model membership attack on {method} at ε = {_eps(epsilon)} (AUC, 0.5 = no leak): "
                       + "; ".join(parts) + f" — {verdict}.{where}"}
