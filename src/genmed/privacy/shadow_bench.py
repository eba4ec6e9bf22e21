"""`genmed bench privacy-shadow`: the shadow-model membership attack on methods too slow for `genmed bench privacy`.

`genmed bench privacy` runs the shadow attack (:mod:`genmed.privacy.shadow`) only on genmed's own methods, which
fit in milliseconds. smartnoise's MST and AIM take 8-40 s per fit on this CPU, so one (method, ε) costs
``targets × (shadows + tests)`` fits — hours. This benchmark runs the same game in resumable chunks
(:func:`genmed.privacy.shadow.chunked_shadow_mia`) and keeps one row per (data set, method, ε) in a JSON file, so
pairs measured in different sessions accumulate; `genmed bench privacy` reads that file for its Must on the
shadow-model attack.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError

BAR = 0.55
_KEY = ("dataset", "method", "epsilon")


_FIELDS = {"dataset": str, "method": str, "epsilon": (int, float), "shadow_auc": (int, float),
           "shadow_auc_ci95": list, "shadow_auc_per_target": list, "targets": int, "shadows_per_target": int,
           "tests_per_target": int, "rows_per_dataset": int, "release_seconds_mean": (int, float),
           "seconds": (int, float)}


def typed_rows(rows: Any, fields: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]] | None:
    """``rows`` if it is a list of dicts whose ``fields`` have their types, a 2-number ``shadow_auc_ci95`` and
    finite AUCs (a NaN would pass every ``<=`` bar unjudged); otherwise None."""
    def ok(r: Any) -> bool:
        if not (isinstance(r, dict) and all(isinstance(r.get(k), t) for k, t in fields.items())):
            return False
        ci = r["shadow_auc_ci95"]
        nums = [r["shadow_auc"], *ci]
        return len(ci) == 2 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in nums)

    return rows if isinstance(rows, list) and all(ok(r) for r in rows) else None


def load_rows(path: str | Path | None) -> list[dict[str, Any]]:
    """Rows of a `privacy-shadow` JSON file; [] if there is none. A file that is not one (or a row missing a
    field the checks and the section use) is an error naming the file, raised before any fit."""
    if not path or not Path(path).exists():
        return []
    try:
        rows = typed_rows(json.loads(Path(path).read_text())["rows"], _FIELDS)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        rows = None
    if rows is None:
        raise InputError(f"{path} is not the JSON of `genmed bench privacy-shadow`")
    return rows


def is_private(method: str) -> bool:
    """Whether a method is a DP mechanism (judged by the bar) rather than a leak control; unknown names count as
    DP, so a row is never exempted by a typo."""
    from genmed.privacy.synth import SYNTHESIZERS

    return method not in SYNTHESIZERS.names() or getattr(SYNTHESIZERS.get(method), "private", True)


def fits(r: dict[str, Any]) -> int:
    return r["targets"] * (r["shadows_per_target"] + r["tests_per_target"])


def merge_rows(old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]],
               replace: bool = False) -> list[dict[str, Any]]:
    """``old`` with every row of ``new`` replacing the row of the same (data set, method, ε), sorted. A smaller
    game (fewer fits, or fewer targets: one target cannot stand for five) does not replace a larger one unless
    ``replace``: a smoke run must not become the Must."""
    rows = {tuple(r[k] for k in _KEY): r for r in old}
    for r in new:
        key = tuple(r[k] for k in _KEY)
        if key in rows and (fits(r) < fits(rows[key]) or r["targets"] < rows[key]["targets"]) and not replace:
            o = rows[key]
            raise InputError(f"{r['method']} ε={r['epsilon']:g} on {r['dataset']}: this game ({r['targets']} "
                             f"targets, {fits(r)} fits) would replace a larger one ({o['targets']} targets, "
                             f"{fits(o)} fits); pass --replace to do so")
        rows[key] = r
    return sorted(rows.values(), key=lambda r: (r["dataset"], r["method"], r["epsilon"]))


def run_pairs(dataset: str, pairs: list[tuple[str, float]], *, targets: int, shadows: int, tests: int, chunk: int,
              seed: int, workers: int, state_dir: Path | None, log: Callable[[str], None] | None = None,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Attack every (method, ε) in turn; ``on_row`` gets each row as soon as it is measured (to save it)."""
    from genmed.privacy.shadow import chunked_shadow_mia

    out = []
    for method, eps in pairs:
        r = chunked_shadow_mia(dataset, method, eps, seed=seed, targets=targets, shadows=shadows, tests=tests,
                               chunk=chunk, workers=workers, state_dir=state_dir, log=log)
        r["date"] = time.strftime("%Y-%m-%d")
        out.append(r)
        if on_row:
            on_row(r)
        if log:
            lo, hi = r["shadow_auc_ci95"]
            log(f"[{dataset}] shadow MIA {method} ε={eps:g}: AUC {r['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}] "
                f"({r['fits']} fits, {r['seconds']:.0f} s)")
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["### Privacy: shadow-model membership attack on smartnoise MST/AIM", "",
             "The attack of `genmed bench privacy` (Shokri et al. 2017 as adapted to synthetic data by Stadler, "
             "Oprisanu & Troncoso 2022; targets are the most isolated records, Meeus et al. 2023), run on methods "
             "whose fits are too slow for that benchmark: the generator is refitted at the same ε on every shadow "
             "and test data set. Each row is one (data set, method, ε), possibly from a different session (its "
             "date). smartnoise's DP noise cannot be seeded (OpenDP's secure generator), so a rerun gives other "
             "releases; the 95% interval covers the sampling of test releases only (bootstrap within targets).", "",
             "| data set | method | ε | shadow-model MIA AUC [95% CI] | per target | targets × (shadows + tests) | "
             "rows per data set | s per fit | fit s, all chunks | wall s of the last call (chunks resumed) | date |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["shadow_auc_ci95"]
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['epsilon']:g} | {r['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}] | "
            f"{', '.join(f'{a:.2f}' for a in r['shadow_auc_per_target'])} | {r['targets']} × "
            f"({r['shadows_per_target']} + {r['tests_per_target']}) | {r['rows_per_dataset']} | "
            f"{r['release_seconds_mean']:.3g} | {r.get('fit_seconds', float('nan')):.0f} | {r['seconds']:.0f} "
            f"({r.get('chunks_resumed', 0)} of {r.get('chunks', '?')}) | {r.get('date', '—')} |")
    dp = [r for r in rows if is_private(r["method"])]
    over = [r for r in dp if r["shadow_auc"] > BAR]
    lines += ["", (f"DP methods above the {BAR} bar: " + "; ".join(
        f"{r['method']} ε={r['epsilon']:g} on {r['dataset']} (its most exposed target "
        f"{max(r['shadow_auc_per_target']):.2f})" for r in over)) if over
              else f"No DP method is above the {BAR} bar."]
    from genmed.privacy.evidence import PRIVACY_SHADOW, measurement_outdated

    for r in rows:
        changed = measurement_outdated({**r, "source": PRIVACY_SHADOW})
        if changed:
            lines += ["", f"{r['method']} ε={r['epsilon']:g} on {r['dataset']} ({r.get('date', 'undated')}): {changed}."]
    for r in (r for r in rows if not is_private(r["method"])):
        lines.append("")
        lines.append(f"Leak control {r['method']} on {r['dataset']}: {r['shadow_auc']:.3f} "
                     f"({'flagged' if r['shadow_auc'] >= 0.75 else 'NOT flagged'}, bar 0.75), so this game "
                     "can see a leak.")
    lines += ["", "Every (method, ε) of one game (data set, seed, targets, sizes) is attacked with the same input "
                 "data sets (chunk seeds leave method and ε out), so differences between its rows are the "
                 "generators', not the draws'."]
    return "\n".join(lines)


def coverage_row(rows: list[dict[str, Any]], dataset: str, dp_in_run: set[tuple[str, float]],
                 attacked_in_run: set[tuple[str, float]]) -> dict[str, Any] | None:
    """The Must row that says whether the shadow attack reached every DP (method, ε) of a `privacy` run: in the
    run itself or in a `privacy-shadow` game of the current format. A pair attacked only before the current
    format (an earlier engine) counts as not measured. A Must that holds "for every DP release" is not shown
    while pairs are missing, so the row fails until they are measured (None if the run has no DP release)."""
    from genmed.privacy.evidence import measurement_outdated

    if not dp_in_run:
        return None
    current = {(r["method"], float(r["epsilon"])) for r in rows
               if r["dataset"] == dataset and not measurement_outdated(r)}
    missing = sorted(dp_in_run - attacked_in_run - current)
    n = len(dp_in_run)
    return {"dataset": dataset, "level": "must", "pass": not missing,
            "check": "shadow-model MIA measured for every DP (method, ε) of this run (here or by "
                     "`genmed bench privacy-shadow`, current engine)",
            "value": (f"{n - len(missing)} of {n}; not measured: "
                      + ", ".join(f"{m} ε={e:g}" for m, e in missing)) if missing else f"{n} of {n}"}


def check_row(rows: list[dict[str, Any]], dataset: str) -> dict[str, Any] | None:
    """The Must row for the shadow attacks of this benchmark, also on methods that a `privacy` run attacks in its
    own (larger) game: a failing small game refuses releases, so it is shown where the Musts are judged.
    Rows of an earlier engine or attack suite are left to :func:`coverage_row`, which lists them as not
    measured: they do not pass a Must for the engine genmed ships now."""
    from genmed.privacy.evidence import measurement_outdated

    mine = [r for r in rows if r["dataset"] == dataset
            and is_private(r["method"])  # a leak control (bootstrap) is judged by its own Must
            and not measurement_outdated(r)]
    if not mine:
        return None
    w = max(mine, key=lambda r: r["shadow_auc"])
    lo, hi = w["shadow_auc_ci95"]
    names = ", ".join(f"{r['method']} ε={r['epsilon']:g}" for r in mine)
    return {"dataset": dataset, "level": "must", "pass": all(r["shadow_auc"] <= BAR for r in mine),
            "check": f"shadow-model MIA AUC <= {BAR} for the methods of `genmed bench privacy-shadow` ({names})",
            "value": f"{w['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}] ({w['method']} ε={w['epsilon']:g}, "
                     f"{w['targets']} × ({w['shadows_per_target']} + {w['tests_per_target']}) fits, {w.get('date', '')})"}
