"""Run directories with provenance: every run writes ``run.json`` (command, config, versions, seed, timings)
and is recorded in the store."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import secrets
import shlex
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genmed import __version__

KEY_PACKAGES = ("torch", "rdkit", "numpy", "pandas", "scikit-learn", "scikit-survival", "fhir.resources", "pydantic")


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    out = {"genmed": __version__, "python": platform.python_version()}
    for name in (*KEY_PACKAGES, *extra):
        with suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    return out


def machine_description() -> dict[str, Any]:
    import os

    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()}


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


@dataclass
class RunContext:
    """A live run: its directory, timings, and what ends up in ``run.json``."""

    run_id: str
    kind: str
    path: Path
    config: dict[str, Any]
    seed: int | None
    subject: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    @contextmanager
    def timed(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t0, 3)

    def file(self, name: str) -> Path:
        self.outputs.append(name)
        return self.path / name


@contextmanager
def run_directory(
    kind: str,
    *,
    out: str | Path | None = None,
    config: dict[str, Any] | None = None,
    seed: int | None = None,
    subject: str | None = None,
    record: bool = True,
):
    """Create (or reuse) a run directory, yield a :class:`RunContext`, then write ``run.json`` and record the run.

    ``subject`` must already be a pseudonym. On failure ``run.json`` says ``failed`` with the error message.
    """
    from genmed.core.config import get_settings
    from genmed.core.storage import RunRecord, record_run, utcnow

    run_id = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    path = Path(out) if out else get_settings().runs_dir / run_id
    path.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(run_id, kind, path, _jsonable(config or {}), seed, subject)
    started = utcnow()
    t0 = time.perf_counter()
    status, error = "running", None
    try:
        yield ctx
        status = "succeeded"
    except BaseException as exc:
        status, error = "failed", str(exc)
        raise
    finally:
        ctx.timings["total"] = round(time.perf_counter() - t0, 3)
        doc = {
            "run_id": run_id, "kind": kind, "status": status, "error": error,
            "command": " ".join(shlex.quote(a) for a in sys.argv), "config": ctx.config, "seed": seed,
            "subject": subject, "started_at": started.isoformat(), "finished_at": utcnow().isoformat(),
            "timings_s": ctx.timings, "versions": package_versions(), "machine": machine_description(),
            "outputs": ctx.outputs, "summary": _jsonable(ctx.summary),
        }
        (path / "run.json").write_text(json.dumps(doc, indent=2))
        if record:
            try:
                record_run(
                    RunRecord(
                        run_id=run_id, kind=kind, status=status, command=doc["command"], run_dir=str(path.resolve()),
                        subject=subject, started_at=started, finished_at=utcnow(), summary=doc["summary"],
                    )
                )
            except Exception as exc:  # the store must never lose the run's own files
                (path / "run.json.store-error").write_text(str(exc))
