"""The embedded store (SQLAlchemy): SQLite by default, any SQLAlchemy URL (e.g. PostgreSQL) via GENMED_DB_URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from genmed.core.config import get_settings


class Base(DeclarativeBase):
    pass


class RunRecord(Base):
    """One run of a genmed command (a plan, a training, a design run, a benchmark)."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    command: Mapped[str] = mapped_column(Text)
    run_dir: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)  # pseudonym, never a real ID
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().resolved_db_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    Base.metadata.create_all(engine)
    return engine


def record_run(record: RunRecord, url: str | None = None) -> None:
    with Session(get_engine(url)) as s:
        existing = s.scalar(select(RunRecord).where(RunRecord.run_id == record.run_id))
        if existing is not None:
            for col in ("status", "finished_at", "summary", "subject"):
                setattr(existing, col, getattr(record, col))
        else:
            s.add(record)
        s.commit()


def _as_dict(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.run_id, "kind": r.kind, "status": r.status, "run_dir": r.run_dir,
        "subject": r.subject, "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "summary": json.loads(json.dumps(r.summary or {})),
    }


def list_runs(kind: str | None = None, limit: int = 50, url: str | None = None) -> list[dict[str, Any]]:
    with Session(get_engine(url)) as s:
        q = select(RunRecord).order_by(RunRecord.id.desc()).limit(limit)
        if kind:
            q = q.where(RunRecord.kind == kind)
        return [_as_dict(r) for r in s.scalars(q)]


def get_run(run_id: str, url: str | None = None) -> dict[str, Any] | None:
    with Session(get_engine(url)) as s:
        r = s.scalar(select(RunRecord).where(RunRecord.run_id == run_id))
        return _as_dict(r) if r is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)
