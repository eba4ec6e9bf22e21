"""Survival-curve plots for the report, as embedded PNG data URIs (the HTML stays one self-contained file)."""

from __future__ import annotations

import base64
import io

from genmed.plan.model import ResponsePrediction

COLORS = ("#1f5fa8", "#b0412e", "#2e7d32", "#6a1b9a")


def survival_plot(pred: ResponsePrediction, *, highlight: str | None = None) -> str | None:
    """PNG data URI of the predicted curves with their intervals, or None when there is nothing to plot."""
    if not pred.curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    years = (pred.time_unit or "").startswith("day")
    scale = 365.25 if years else 1.0
    fig, ax = plt.subplots(figsize=(6.0, 3.2), dpi=110)
    for i, c in enumerate(pred.curves):
        t = [x / scale for x in c.times]
        color = COLORS[i % len(COLORS)]
        lw = 2.4 if c.arm == highlight else 1.6
        ax.step(t, c.survival, where="post", color=color, lw=lw, label=c.label)
        ax.fill_between(t, c.lower, c.upper, step="post", color=color, alpha=0.18, lw=0)
    if pred.horizon:
        ax.axvline(pred.horizon / scale, color="#777", ls=":", lw=1)
    low = min(min(c.lower) for c in pred.curves)
    ax.set_ylim(0 if low < 0.5 else max(0.0, (int(low * 10) - 1) / 10), 1.005)  # zoom when all curves stay high
    ax.set_xlabel("years" if years else (pred.time_unit or "time"))
    ax.set_ylabel(f"P(free of {pred.endpoint or 'event'})", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", frameon=False)
    ax.set_title(f"{pred.trial}: predicted curves with 90% intervals", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
