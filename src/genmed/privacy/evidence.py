"""The measured shadow-model attack results that every release carries for its (method, ε), and the release gate.

A release's own audit (:mod:`genmed.privacy.evaluate`) runs the black-box membership attacks, which need one fit.
The shadow-model attack (:mod:`genmed.privacy.shadow`), which targets the most exposed records, refits the
generator hundreds of times, so it is run by the benchmarks (`genmed bench privacy` for genmed's methods,
`genmed bench privacy-shadow` for smartnoise's MST/AIM), not per release. Their record files in the checkout
(``benchmarks/privacy_bench.json``, ``benchmarks/privacy_shadow.json``) are distilled into
``shadow_evidence.json`` beside this module whenever a benchmark writes its section — always rebuilt whole from
those two files, never edited by hand (a test checks the shipped table equals a rebuild of the committed files).
So a data steward releasing with ``--method mst --epsilon 10`` is told what the attack measured for that engine at
that ε, a (method, ε) never attacked is said to be unmeasured, never given a neighbour's number, and an engine
measured above the bar at this ε or a smaller one is refused unless the steward accepts it
(:func:`genmed.privacy.release.synthesize`).
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
from genmed.privacy.shadow_bench import BAR, typed_rows  # BAR: the Must's shadow-model MIA AUC <= 0.55

EVIDENCE_FILE = Path(__file__).with_name("shadow_evidence.json")
PRIVACY = "genmed bench privacy"
PRIVACY_SHADOW = "genmed bench privacy-shadow"
BENCH_DELTA = 1e-9  # both benchmarks fit at δ = 1e-9 (fixed in bench.py and chunked_shadow_mia; not an option)
_ROW_FIELDS = {"dataset": str, "method": str, "epsilon": (int, float), "delta": float, "shadow_auc": (int, float),
               "shadow_auc_ci95": list, "targets": int, "shadows_per_target": int, "tests_per_target": int,
               "rows_per_dataset": int, "measured": str, "source": str}
_KEY = ("dataset", "method", "epsilon", "source")


def _row(dataset: str, r: dict[str, Any], sh: dict[str, Any], measured: str, source: str) -> dict[str, Any]:
    row = {"dataset": dataset, "method": r["method"], "epsilon": float(r["epsilon"]), "delta": BENCH_DELTA,
           "shadow_auc": round(float(sh["shadow_auc"]), 4),
           "shadow_auc_ci95": [round(float(v), 4) for v in sh["shadow_auc_ci95"]],
           "targets": int(sh["targets"]), "shadows_per_target": int(sh["shadows_per_target"]),
           "tests_per_target": int(sh["tests_per_target"]), "rows_per_dataset": int(sh["rows_per_dataset"]),
           "measured": measured, "source": source}
    if sh.get("shadow_auc_per_target"):
        row["shadow_auc_per_target"] = [round(float(a), 3) for a in sh["shadow_auc_per_target"]]
    row["format"] = int(sh.get("format", 1))  # results saved before the game recorded its format: format 1
    row["scoring"] = int(sh.get("scoring", 1))  # results scored before the attack suite: the random forest alone
    if sh.get("attack"):
        row["attack"] = sh["attack"]
    return row


def engine_changed_since(r: dict[str, Any]) -> str:
    """Why a measurement describes an earlier version of its engine, or '' where it describes the current one.

    Game format 2 (2026-12-04) fits smartnoise on the schema's public domain; earlier games let smartnoise read
    each column's category set from the input data (10% of the ACTG 320 game's inputs lacked a public bin)."""
    from genmed.privacy.synth import SYNTHESIZERS, _SmartNoise

    smartnoise = r["method"] in SYNTHESIZERS.names() and issubclass(SYNTHESIZERS.get(r["method"]), _SmartNoise)
    if smartnoise and r.get("format", 1) < 2:
        return ("measured before genmed fitted smartnoise on the schema's public bins (2026-12-04): the engine "
                "attacked read each column's category set from its input data")
    return ""


def measurement_outdated(r: dict[str, Any]) -> str:
    """Why a row does not measure the engine genmed ships with the attack genmed runs now, or ''. Such a row
    never passes a Must (it counts as not measured there), but a failing one still refuses releases: dropping it
    would let a change clear its own record without a new measurement."""
    from genmed.privacy.shadow import SCORING

    why = [engine_changed_since(r)]
    if r.get("scoring", 1) < SCORING:
        why.append("scored by the random-forest attack alone, before the strongest of genmed's two attacks was "
                   "taken (2026-12-04)")
    return "; ".join(w for w in why if w)


def privacy_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence rows of a `genmed bench privacy` run (its in-run shadow attacks on genmed's methods and the
    bootstrap control: the control shows the attack can see a leak)."""
    measured = doc["params"].get("measured", "undated")
    return [_row(ds, r, r["shadow"], measured, PRIVACY)
            for ds, e in doc["results"].items() for r in e["summary"] if r.get("shadow")]


def shadow_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evidence rows of `genmed bench privacy-shadow` (MST/AIM; rows as :func:`shadow_bench.load_rows` gives)."""
    return [_row(r["dataset"], r, r, r.get("date", "undated"), PRIVACY_SHADOW) for r in rows]


def build(privacy_doc: dict[str, Any] | None, shadow: list[dict[str, Any]]) -> dict[str, Any]:
    """The table from a `privacy` run's JSON and the `privacy-shadow` rows, sorted (the same results always
    give the same bytes, whatever order they came in)."""
    rows = (privacy_rows(privacy_doc) if privacy_doc else []) + shadow_rows(shadow)
    return {"bar": BAR, "rows": sorted(rows, key=lambda r: tuple(r[k] for k in _KEY))}


def checkout_root(path: Path | None = None) -> Path | None:
    """The source checkout the table sits in (src/genmed/privacy beside pyproject.toml and benchmarks/), or
    None for an installed genmed, which keeps the table it shipped with."""
    root = Path(path or EVIDENCE_FILE).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "benchmarks").is_dir() else None


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


def rebuild(path: str | Path | None = None) -> Path | None:
    """Rebuild the table from the checkout's two record files (called by the benchmarks when they write their
    sections); None outside a checkout. A run saved elsewhere (``--out other.json``) is not quoted to releases."""
    from genmed.privacy.shadow_bench import load_rows

    path = Path(path or EVIDENCE_FILE)
    root = checkout_root(path)
    if root is None:
        return None
    bench = root / "benchmarks" / "privacy_bench.json"
    try:
        doc = json.loads(bench.read_text()) if bench.is_file() else None
        table = build(doc, load_rows(root / "benchmarks" / "privacy_shadow.json"))
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{bench} is not the JSON of `genmed bench privacy --out` ({type(exc).__name__})",
                          hint="the shadow-attack evidence for releases was left as it was") from None
    return write(table, path)


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
    a substitution, i.e. two add/remove steps (synth.py's neighbouring relation), so (2ε, (1 + e^ε) δ) by applying
    the definition twice (group privacy, Dwork & Roth 2014, Thm 2.2 for the ε part); the random other rows can be
    paired so that every pair is such a substitution, and a mixture of such pairs obeys the same bound."""
    return dp_auc_bound(2 * epsilon, (1 + math.exp(min(epsilon, 700.0))) * delta)


def epsilon_text(epsilon: float) -> str:
    return f"{epsilon:.12g}"  # never rounded to a neighbour: 10.00001 is not ε = 10


def _game(r: dict[str, Any]) -> str:
    return f"{r['targets']} × ({r['shadows_per_target']} + {r['tests_per_target']}) releases"


def _measured(r: dict[str, Any]) -> str:
    lo, hi = r["shadow_auc_ci95"]
    top = f", most exposed target {max(r['shadow_auc_per_target']):.2f}" if r.get("shadow_auc_per_target") else ""
    spans = ", its interval spanning the bar" if lo <= BAR < hi else ""
    changed = measurement_outdated(r)
    attack = f"strongest attack: {r['attack']}; " if r.get("attack") else ""
    return (f"{r['shadow_auc']:.3f} [{lo:.3f}, {hi:.3f}] on {r['dataset']} ({attack}{_game(r)}, "
            f"{r['rows_per_dataset']} rows per data set{top}; {r['source']}, {r['measured']}"
            f"{'; ' + changed if changed else ''}){spans}")


def _verdict(r: dict[str, Any]) -> str:
    """The worst row's reading: against the bar by its point estimate (as the Must), 'better than chance' and
    'exceeds the guarantee' only where the interval's lower end says so."""
    if r["shadow_auc"] <= BAR:
        return f"at or below the {BAR} bar by its point estimate"
    lo = r["shadow_auc_ci95"][0]
    bound = game_auc_bound(r["epsilon"], r["delta"])
    chance = (" and its interval excludes 0.5: the attacker told releases with an outlying record from releases "
              "without it better than chance") if lo > 0.5 else ""
    dp = (f"; that exceeds, even at its interval's lower end, the {bound:.3f} the (ε, δ) guarantee allows in this "
          "game: a faulty mechanism or a faulty attack") if lo > bound else (
        f"; the measurement does not contradict the (ε, δ) guarantee, which allows up to {bound:.2f} in this game")
    return f"above the {BAR} bar by its point estimate{chance}{dp}"


def _nearest(table: list[dict[str, Any]], method: str, epsilon: float, delta: float) -> str:
    """For an ε no game reached: the worst reading at the nearest smaller and larger ε that were measured, labelled
    as theirs (a release between them adds less noise than the smaller ε's and more than the larger ε's)."""
    current = [r for r in table if r["method"] == method and not measurement_outdated(r)]
    sides = []
    for label, pick in (("smaller", max), ("larger", min)):
        eps = [r["epsilon"] for r in current if (r["epsilon"] < epsilon) == (label == "smaller")]
        if eps:
            e = pick(eps)
            w = max((r for r in current if r["epsilon"] == e), key=lambda r: r["shadow_auc"])
            d = "" if math.isclose(w["delta"], delta) else f", δ = {w['delta']:g}"
            where = "above" if w["shadow_auc"] > BAR else "at or below"
            sides.append(f"ε = {epsilon_text(e)} ({label}{d}; worst {w['shadow_auc']:.3f} on {w['dataset']}, "
                         f"{where} the {BAR} bar)")
    if not sides:
        return ""
    return (f" The nearest ε it was run at: {' and '.join(sides)}; "
            + ("neither number is" if len(sides) > 1 else "that number is not") + " this release's.")


def evidence_for(method: str, epsilon: float, dataset: str | None = None, delta: float = BENCH_DELTA,
                 path: str | Path | None = None) -> dict[str, Any]:
    """What the shadow-model attack measured for ``method`` at exactly this ``epsilon`` (every data set and
    game it was run in), and whether the release is to be refused.

    ``status``, judged like the benchmark's Must by the point estimate against :data:`BAR`: ``above the bar``
    if any game put it there, ``at or below the bar``, or ``not measured`` where none was run at this ε (a
    neighbour's number is never quoted as this ε's). ``refuse``: some game measured ``method`` above the bar at
    this ε or a smaller one, at this δ or a smaller one — a release with at most that much noise is treated as
    failing too (conservative: a larger ε or δ means less noise). ``on_this_data``: whether any of it was
    measured on the released ``dataset`` (a CSV release never is). ``summary``: one sentence that says it all."""
    table = load(path)
    rows = [r for r in table if r["method"] == method and math.isclose(r["epsilon"], epsilon)]
    failing = [r for r in table if r["method"] == method and r["shadow_auc"] > BAR
               and (r["epsilon"] <= epsilon or math.isclose(r["epsilon"], epsilon))
               and (r["delta"] <= delta or math.isclose(r["delta"], delta))]
    out: dict[str, Any] = {"method": method, "epsilon": epsilon, "delta": delta, "bar": BAR, "rows": rows,
                           "on_this_data": dataset is not None and any(r["dataset"] == dataset for r in rows),
                           "refuse": bool(failing), "failing": failing}
    where = "" if out["on_this_data"] or not (rows or failing) else (
        " None of it was measured on this data" + (f" ({dataset})" if dataset else "")
        + ": how exposed this data's outlying records are has not been measured.")
    dnote = "" if not rows or all(math.isclose(r["delta"], delta) for r in rows) else \
        f" (measured at δ = {BENCH_DELTA:g}; this release has δ = {delta:g})"
    if rows:
        worst = max(rows, key=lambda r: r["shadow_auc"])
        status = "above the bar" if worst["shadow_auc"] > BAR else "at or below the bar"
        summary = (f"Shadow-model membership attack on {method} at ε = {epsilon_text(epsilon)}{dnote} (AUC, 0.5 = no "
                   f"leak): " + "; ".join(_measured(r) for r in rows) + f" — {_verdict(worst)}.")
    else:
        status = "not measured"
        summary = (f"The shadow-model attack has not been run on {method} at ε = {epsilon_text(epsilon)}: this release's "
                   "protection of outlying records rests on its DP guarantee and the black-box audit above, not "
                   "on a measured attack.")
    lower = [r for r in failing if r not in rows]
    if not rows and not lower:
        summary += _nearest(table, method, epsilon, delta)
    if lower:
        w = max(lower, key=lambda r: r["shadow_auc"])
        summary += (f" At ε = {epsilon_text(w['epsilon'])} (δ = {w['delta']:g}), a smaller budget than this release's, "
                    f"it measured {_measured(w)}, above the {BAR} bar; this release adds no more noise than that "
                    "one, so it is treated as above the bar too.")
    return {**out, "status": status, "summary": summary + where}


def passing_evidence(method: str, epsilon: float, delta: float = BENCH_DELTA,
                     path: str | Path | None = None) -> list[dict[str, Any]]:
    """The current rows that clear ``method`` at exactly ``epsilon`` for a release at ``delta``, or ``[]``.

    Clears: at least one game measured it at this ε with at least this δ (a release with a smaller δ adds more
    noise than the measured one; with a larger δ it adds less, so a measurement at a smaller δ does not cover
    it), none of those games is outdated (:func:`measurement_outdated`: they count as not measured), every one
    is at or below the bar, and :func:`evidence_for` does not refuse it."""
    rows = [r for r in load(path) if r["method"] == method and math.isclose(r["epsilon"], epsilon)
            and (r["delta"] >= delta or math.isclose(r["delta"], delta)) and not measurement_outdated(r)]
    if not rows or any(r["shadow_auc"] > BAR for r in rows) or evidence_for(method, epsilon, None, delta, path)["refuse"]:
        return []
    return rows


def largest_passing_epsilon(method: str, epsilon: float, delta: float = BENCH_DELTA,
                            path: str | Path | None = None) -> float | None:
    """The largest ε below ``epsilon`` that :func:`passing_evidence` clears for a release at ``delta``, or
    ``None``: what a refused release can fall back to on measured evidence, not on a guess."""
    eps = sorted({r["epsilon"] for r in load(path) if r["method"] == method and r["epsilon"] < epsilon
                  and not math.isclose(r["epsilon"], epsilon)}, reverse=True)
    return next((e for e in eps if passing_evidence(method, e, delta, path)), None)


def overview(method: str | None = None, delta: float = BENCH_DELTA,
             path: str | Path | None = None) -> list[dict[str, Any]]:
    """One line per measured (method, ε) of the shipped table, sorted: what a data steward checks before a
    release. ``status`` and ``refuse`` are those of :func:`evidence_for` for a release at ``delta`` (a leak
    control, ``private`` False, is never released whatever its reading). ``worst`` is the highest reading over
    data sets and games (for a leak control the lowest: the game that came closest to missing the leak),
    ``games`` their count, ``outdated`` how many of them measure an earlier engine or attack suite
    (:func:`measurement_outdated`)."""
    from genmed.privacy.shadow_bench import is_private

    table = load(path)
    pairs = sorted({(r["method"], r["epsilon"]) for r in table if method in (None, r["method"])})
    out = []
    for m, e in pairs:
        ev = evidence_for(m, e, None, delta, path)
        rows = ev["rows"]
        w = (max if is_private(m) else min)(rows, key=lambda r: r["shadow_auc"])  # a control's worst is its weakest flag
        out.append({"method": m, "epsilon": e, "private": is_private(m), "status": ev["status"], "refuse": ev["refuse"],
                    "worst_auc": w["shadow_auc"], "worst_ci95": w["shadow_auc_ci95"], "worst_dataset": w["dataset"],
                    "datasets": sorted({r["dataset"] for r in rows}), "games": len(rows),
                    "outdated": sum(bool(measurement_outdated(r)) for r in rows)})
    return out
