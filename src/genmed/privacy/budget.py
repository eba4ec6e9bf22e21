"""Privacy-budget accounting per data set in the embedded store (SQLite by default).

Every DP computation on a data set (the release, and the DP baselines evaluated beside it) spends ε under basic
composition; a request that would exceed the data set's budget is refused *before* any noise is drawn, with a
message naming the data set, ε spent and ε left. The budget is set once per data set (``set_budget``) or, on
first use, from the default below.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Float, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from genmed.core.errors import GenmedError

DEFAULT_BUDGET = 20.0


class BudgetExceededError(GenmedError):
    exit_code = 5
    http_status = 409
    title = "privacy budget exceeded"


class _Base(DeclarativeBase):
    pass


class BudgetRow(_Base):
    __tablename__ = "privacy_budget"
    dataset: Mapped[str] = mapped_column(String(256), primary_key=True)
    epsilon_total: Mapped[float] = mapped_column(Float)
    epsilon_spent: Mapped[float] = mapped_column(Float, default=0.0)


class SpendRow(_Base):
    __tablename__ = "privacy_spend"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(256), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    purpose: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _engine(url: str | None = None):
    from genmed.core.storage import get_engine

    engine = get_engine(url)
    _Base.metadata.create_all(engine)
    return engine


def set_budget(dataset: str, epsilon_total: float, url: str | None = None) -> None:
    with Session(_engine(url)) as s:
        row = s.get(BudgetRow, dataset)
        if row is None:
            s.add(BudgetRow(dataset=dataset, epsilon_total=epsilon_total, epsilon_spent=0.0))
        else:
            row.epsilon_total = epsilon_total
        s.commit()


def status(dataset: str, url: str | None = None) -> dict[str, float]:
    with Session(_engine(url)) as s:
        row = s.get(BudgetRow, dataset)
        total = row.epsilon_total if row else DEFAULT_BUDGET
        spent = row.epsilon_spent if row else 0.0
        return {"dataset": dataset, "epsilon_total": total, "epsilon_spent": spent,
                "epsilon_left": max(0.0, total - spent)}


def spend(dataset: str, epsilon: float, delta: float, purpose: str, url: str | None = None) -> dict[str, float]:
    """Charge ``epsilon`` to ``dataset`` or raise :class:`BudgetExceededError` (nothing charged)."""
    with Session(_engine(url)) as s:
        row = s.scalar(select(BudgetRow).where(BudgetRow.dataset == dataset).with_for_update())
        if row is None:
            row = BudgetRow(dataset=dataset, epsilon_total=DEFAULT_BUDGET, epsilon_spent=0.0)
            s.add(row)
        left = row.epsilon_total - row.epsilon_spent
        if epsilon > left + 1e-12:
            raise BudgetExceededError(
                f"privacy budget of data set {dataset!r} would be exceeded: this release needs ε={epsilon:g}, "
                f"ε spent {row.epsilon_spent:g} of {row.epsilon_total:g}, ε left {max(0.0, left):g}",
                hint="release with a smaller ε, or raise the budget deliberately with `genmed privacy budget set`")
        row.epsilon_spent += epsilon
        s.add(SpendRow(dataset=dataset, epsilon=epsilon, delta=delta, purpose=purpose, at=datetime.now(UTC)))
        s.commit()
        return {"dataset": dataset, "epsilon_total": row.epsilon_total, "epsilon_spent": row.epsilon_spent,
                "epsilon_left": row.epsilon_total - row.epsilon_spent}


def history(dataset: str, url: str | None = None) -> list[dict]:
    with Session(_engine(url)) as s:
        rows = s.scalars(select(SpendRow).where(SpendRow.dataset == dataset).order_by(SpendRow.id))
        return [{"epsilon": r.epsilon, "delta": r.delta, "purpose": r.purpose, "at": r.at.isoformat()} for r in rows]
