"""A design run: TOML config -> optimiser loop -> run directory with metrics, top-k, Pareto front and report.

Run directory layout::

    run.json            provenance (genmed.core.provenance)
    config.json         the resolved configuration (patient objectives merged in, CLI overrides applied)
    metrics.jsonl       one line per optimiser step: oracle calls, best, top-10 mean, diversity, optimiser state
    checkpoint.pt       optimiser + oracle state; a rerun with the same config resumes from it
    baseline.csv        molecules from the starting distribution (prior sample / initial pool), scored alike
    top.csv / top.sdf   the top-k molecules with every component's raw value and desirability, and why
    pareto.csv          the non-dominated set over the objectives' desirabilities
    report.html         molecule images, component radar, score-over-calls plots, patient facts
    summary.json        the numbers above in one place
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from genmed.chem.optimize.base import OPTIMIZERS, Oracle, internal_diversity
from genmed.chem.scoring import ScoreCache, Scorer, default_cache_path, pareto_front
from genmed.chem.scoring.config import ScoringSpec, validation_message
from genmed.core.errors import ConfigError, InputError

CHECKPOINT = "checkpoint.pt"


class RunSection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "design"
    optimizer: str = "reinvent"
    budget: int = Field(default=1000, ge=1, description="unique oracle calls")
    seed: int = 0
    top_k: int = Field(default=50, ge=1)
    baseline_samples: int = Field(default=200, ge=0, description="starting-distribution molecules to compare with")
    cache: bool = True
    cache_path: str | None = None
    checkpoint_every_s: float = Field(default=30.0, ge=0)


class DesignConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: RunSection = Field(default_factory=RunSection)
    scoring: ScoringSpec
    optimizer: dict[str, dict[str, Any]] = Field(default_factory=dict)
    patient: str | None = None


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None


def parse_config(data: dict[str, Any], source: str = "config") -> DesignConfig:
    try:
        cfg = DesignConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {validation_message(exc)}") from None
    if cfg.run.optimizer not in OPTIMIZERS:
        raise ConfigError(f"{source}: run.optimizer: unknown optimizer {cfg.run.optimizer!r}",
                          hint=f"known: {', '.join(OPTIMIZERS.names())}")
    unknown = [k for k in cfg.optimizer if k not in OPTIMIZERS]
    if unknown:
        raise ConfigError(f"{source}: optimizer.{unknown[0]}: unknown optimizer",
                          hint=f"known: {', '.join(OPTIMIZERS.names())}")
    return cfg


def _explain(row: dict[str, Any], scorer: Scorer) -> str:
    """Why this molecule ranks where it does: its strongest and weakest objectives, and any failed filter."""
    parts = []
    for o in scorer.objectives:
        d = row.get(f"{o.name}_desirability")
        raw = row.get(f"{o.name}_raw")
        if d is None:
            parts.append((-1.0, f"{o.name}: not computed"))
        else:
            parts.append((d, f"{o.name} {raw:.3g} (desirability {d:.2f})"))
    parts.sort(key=lambda p: -p[0])
    text = "best: " + "; ".join(p[1] for p in parts[:2])
    if len(parts) > 2:
        text += " | weakest: " + parts[-1][1]
    if row.get("failed_filters"):
        text += f" | failed filters: {row['failed_filters']}"
    return text


def _baseline_smiles(cfg: DesignConfig, optimizer: Any, n: int, seed: int) -> tuple[list[str], str]:
    """Molecules from the distribution the optimiser starts from (not counted in the budget)."""
    if n <= 0:
        return [], "none"
    if cfg.run.optimizer == "reinvent":
        import torch

        from genmed.chem.models.prior import sample_tokens

        prior = optimizer.prior
        seqs, _ = sample_tokens(prior, n, generator=torch.Generator().manual_seed(seed + 7919))
        return [prior.vocab.decode(s) for s in seqs], f"prior sample ({optimizer.prior_path})"
    from genmed.chem.optimize.graph_ga import load_pool

    pool = load_pool(optimizer.params.initial)
    rng = np.random.default_rng(seed + 7919)
    return [pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)], \
        f"initial pool ({optimizer.params.initial})"


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def _write_sdf(path: Path, rows: list[dict[str, Any]]) -> None:
    from rdkit import Chem

    tmp = path.with_suffix(path.suffix + ".tmp")
    writer = Chem.SDWriter(str(tmp))
    for r in rows:
        m = Chem.MolFromSmiles(r["smiles"])
        if m is None:
            continue
        m.SetProp("_Name", f"rank {r['rank']}")
        for k, v in r.items():
            if v is not None:
                m.SetProp(k, str(v))
        writer.write(m)
    writer.close()
    tmp.replace(path)


def run_design(
    config_path: str | Path,
    out: str | Path,
    *,
    optimizer: str | None = None,
    budget: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    patient: str | Path | None = None,
    restart: bool = False,
    cache_path: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a design run; return its summary. Raises GenmedError subclasses for bad input."""
    import torch

    from genmed.core.logging import get_logger
    from genmed.core.provenance import run_directory

    log = get_logger("genmed.design")
    data = load_config(config_path)
    data.setdefault("run", {})
    if optimizer:
        data["run"]["optimizer"] = optimizer
    if budget is not None:
        data["run"]["budget"] = budget
    if seed is not None:
        data["run"]["seed"] = seed
    if patient is not None:
        data["patient"] = str(patient)
    if cache_path is not None:
        data["run"]["cache_path"] = str(cache_path)
    cfg = parse_config(data, str(config_path))

    patient_facts: list[dict[str, str]] = []
    subject = None
    scoring_dict = cfg.scoring.model_dump(exclude_none=True)
    if cfg.patient:
        from genmed.chem.optimize.patient import load_profile, merge_patient, patient_objectives
        from genmed.core.logging import register_identifier

        ppath = Path(cfg.patient)
        if not ppath.is_absolute() and not ppath.is_file():
            ppath = Path(config_path).parent / ppath
        profile = load_profile(ppath)
        subject = register_identifier(profile.id) if profile.id else None
        extra = patient_objectives(profile)
        patient_facts = extra.facts
        scoring_dict = merge_patient(scoring_dict, extra)
    if workers:
        from genmed.chem.scoring.components.admet import set_workers

        torch.set_num_threads(1)
        set_workers(workers)  # ADMET-AI predictions spread over this many processes
        for o in scoring_dict.get("objective", []):
            if o.get("component") == "docking":
                o.setdefault("params", {})["workers"] = workers
    else:
        torch.set_num_threads(1)

    resolved = {"run": cfg.run.model_dump(), "scoring": scoring_dict,
                "optimizer": {cfg.run.optimizer: cfg.optimizer.get(cfg.run.optimizer, {})},
                "patient_facts": patient_facts}
    # the budget is left out of the identity so that a finished run can be resumed with a larger budget
    # (and the patient facts' wording: the objectives they add are in "scoring")
    ident = {**{k: v for k, v in resolved.items() if k != "patient_facts"},
             "run": {k: v for k, v in resolved["run"].items()
                     if k not in ("budget", "checkpoint_every_s", "cache", "cache_path")}}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]

    out = Path(out)
    ckpt_path = out / CHECKPOINT
    resume_state = None
    if ckpt_path.is_file() and not restart:
        try:
            state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise InputError(f"{ckpt_path}: unreadable checkpoint ({type(exc).__name__})",
                             hint="use --restart to start the run over") from None
        if not isinstance(state, dict) or state.get("config_digest") != digest:
            raise ConfigError(f"{out} holds a run with a different configuration",
                              hint="use a new --out directory, or --restart to overwrite it")
        resume_state = state

    prior_wall = 0.0  # checkpoints written before wall time was tracked: take it from the previous run.json
    if resume_state is not None and (out / "run.json").is_file():
        try:
            prior_wall = float(json.loads((out / "run.json").read_text())["timings_s"]["total"])
        except (ValueError, KeyError, TypeError):
            prior_wall = 0.0

    cache = None
    if cfg.run.cache:
        cache_file = cfg.run.cache_path or default_cache_path()
        try:
            cache = ScoreCache(cache_file)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"run.cache_path: cannot open the scoring cache {cache_file} ({exc})",
                              hint="set run.cache = false or another cache_path") from None
    scorer = Scorer(scoring_dict, cache=cache)
    opt_cls = OPTIMIZERS.get(cfg.run.optimizer)
    opt = opt_cls(cfg.optimizer.get(cfg.run.optimizer, {}), seed=cfg.run.seed)

    with run_directory("design", out=out, config=resolved, seed=cfg.run.seed, subject=subject) as ctx:
        (out / "config.json").write_text(json.dumps(resolved, indent=2, default=str))
        metrics_path = out / "metrics.jsonl"
        if resume_state is None and metrics_path.exists():
            metrics_path.unlink()
        t_start = time.perf_counter()
        wall_before = float(resume_state.get("wall_s", prior_wall)) if resume_state else 0.0
        last_ckpt = [time.perf_counter()]
        oracle = Oracle(scorer, cfg.run.budget)
        if resume_state is not None:
            oracle.load_state(resume_state["oracle"])
            opt.load_state(resume_state["optimizer"])
            log.info("resuming %s at %d oracle calls", out, oracle.calls)

        def save_checkpoint(force: bool = False) -> None:
            if not force and time.perf_counter() - last_ckpt[0] < cfg.run.checkpoint_every_s:
                return
            state = {"config_digest": digest, "oracle": oracle.state(), "optimizer": opt.state(),
                     "wall_s": wall_before + time.perf_counter() - t_start}
            tmp = ckpt_path.with_suffix(".tmp")
            torch.save(state, tmp)
            tmp.replace(ckpt_path)
            last_ckpt[0] = time.perf_counter()

        def log_step(extra: dict[str, Any]) -> None:
            top = oracle.top(100)
            line = {"oracle_calls": oracle.calls, "best": top[0][1].score if top else 0.0,
                    "top10_mean": oracle.top_mean(10), "top100_diversity": internal_diversity([s for s, _ in top]),
                    "invalid_total": oracle.invalid, "elapsed_s": round(time.perf_counter() - t_start, 2), **extra}
            with metrics_path.open("a") as fh:
                fh.write(json.dumps(line) + "\n")
            if on_progress:
                on_progress(line)

        with ctx.timed("optimize"):
            try:
                opt.run(oracle, log=log_step, checkpoint=save_checkpoint)
            finally:
                save_checkpoint(force=True)

        with ctx.timed("baseline"):
            base_smiles, base_source = _baseline_smiles(cfg, opt, cfg.run.baseline_samples, cfg.run.seed)
            base = scorer(base_smiles) if base_smiles else None
        calls_before = len(resume_state["oracle"]["buffer"]) if resume_state else 0
        summary = _write_outputs(out, cfg, scorer, oracle, opt, base, base_source, patient_facts)
        summary["config_digest"] = digest
        # wall time of the work that produced these molecules, across resumptions (a rerun of a finished run
        # only rewrites the outputs and adds nothing)
        did_work = oracle.calls > calls_before or resume_state is None
        summary["wall_s"] = round(wall_before + (time.perf_counter() - t_start if did_work else 0.0), 1)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        if did_work:
            save_checkpoint(force=True)
        ctx.summary.update({k: summary[k] for k in ("oracle_calls", "best_score", "top10_mean", "stop_reason")})
        for name in ("config.json", "metrics.jsonl", "top.csv", "top.sdf", "pareto.csv", "baseline.csv",
                     "report.html", "summary.json", CHECKPOINT):
            if (out / name).exists():
                ctx.outputs.append(name)
    scorer.close()
    if cache is not None:
        cache.close()
    return summary


def _write_outputs(out: Path, cfg: DesignConfig, scorer: Scorer, oracle: Oracle, opt, base, base_source: str,
                   patient_facts) -> dict[str, Any]:
    top = oracle.top(cfg.run.top_k)
    rows = []
    for rank, (smi, e) in enumerate(top, 1):
        rec = dict(e.record) if e.record else {"smiles": smi, "score": e.score}
        row = {"rank": rank, "smiles": smi, "score": round(e.score, 6), "oracle_call": e.call}
        row.update({k: v for k, v in rec.items() if k not in ("smiles", "score")})
        row["why"] = _explain(row, scorer)
        rows.append(row)
    _write_csv(out / "top.csv", rows)
    _write_sdf(out / "top.sdf", rows)

    # Pareto front over the desirabilities of the final population (the top-k)
    names = scorer.names
    matrix = np.array([[r.get(f"{n}_desirability") if r.get(f"{n}_desirability") is not None else np.nan
                        for n in names] for r in rows]) if rows else np.zeros((0, len(names)))
    front = pareto_front(matrix) if len(rows) else []
    pareto_rows = [rows[i] for i in front]
    _write_csv(out / "pareto.csv", pareto_rows)

    # comparison with the starting distribution: per-objective mean desirability
    comparison = {}
    if base is not None:
        base_rows = [base.record(i) for i in range(len(base.input_smiles))]
        _write_csv(out / "baseline.csv", base_rows)
        # per objective: mean desirability over the molecules where it was computed (expensive components are
        # skipped for molecules failing a hard filter; those must not count as zeros against the baseline)
        for n in names:
            b = base.desirability[n][~np.isnan(base.desirability[n])]
            t = np.array([r[f"{n}_desirability"] for r in rows if r.get(f"{n}_desirability") is not None])
            comparison[n] = {"baseline_mean": float(b.mean()) if len(b) else None, "baseline_n": int(len(b)),
                             "top_mean": float(t.mean()) if len(t) else None, "top_n": int(len(t))}
        comparison["__total__"] = {"baseline_mean": float(np.mean(base.total)),
                                   "top_mean": float(np.mean([r["score"] for r in rows])) if rows else None,
                                   "baseline_pass_filters": float(np.mean(base.passed)),
                                   "top_pass_filters": float(np.mean([bool(r.get("passed_filters", True))
                                                                       for r in rows])) if rows else None}
    improved = {n: (v["top_mean"] or 0) > (v["baseline_mean"] or 0) for n, v in comparison.items()}
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()] \
        if (out / "metrics.jsonl").exists() else []
    summary = {
        "name": cfg.run.name, "optimizer": cfg.run.optimizer, "budget": cfg.run.budget, "seed": cfg.run.seed,
        "oracle_calls": oracle.calls, "invalid_smiles": oracle.invalid, "stop_reason": opt.stop_reason,
        "best_score": rows[0]["score"] if rows else 0.0, "top10_mean": oracle.top_mean(10),
        "top_k": len(rows), "top_diversity": internal_diversity([r["smiles"] for r in rows]),
        "pareto_size": len(pareto_rows), "baseline_source": base_source, "comparison": comparison,
        "improved_over_baseline": improved, "patient_facts": patient_facts, "scoring": scorer.describe(),
        "timings_s": {k: round(v, 3) for k, v in scorer.timings.items()},
        "cache": {"hits": scorer.cache.hits, "misses": scorer.cache.misses} if scorer.cache else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    from genmed.chem.optimize.report import write_report

    write_report(out / "report.html", summary, rows, pareto_rows, metrics, scorer.names)
    return summary
