"""report.html (self-contained, clinician-first) and report.pdf (weasyprint) from a :class:`TreatmentPlan`."""

from __future__ import annotations

from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from genmed.patient.model import Identity
from genmed.plan.model import TreatmentPlan
from genmed.report.plots import survival_plot

STATUS_LABEL = {"recommended": "Recommended", "consider": "Consider", "use-with-caution": "Use with caution",
                "avoid": "Avoid", "not-applicable": "Reference only"}
ACTION_LABEL = {"continue": "Continue", "review": "Review", "stop-or-switch": "Stop or switch",
                "adjust-dose": "Adjust dose", "unknown": "Not checked"}


def _env() -> Environment:
    env = Environment(loader=PackageLoader("genmed.report", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["status_label"] = lambda s: STATUS_LABEL.get(s, s)
    env.filters["action_label"] = lambda s: ACTION_LABEL.get(s, s)
    env.filters["num"] = lambda v, nd=1: "—" if v is None else f"{v:.{nd}f}"
    return env


def render_html(plan: TreatmentPlan, *, identity: Identity | None = None) -> str:
    """The report. ``identity`` None = de-identified (pseudonym, age, sex; dates reduced to the year)."""
    plots = {}
    for c in plan.conditions:
        for o in c.options:
            if o.response and o.response.curves:
                plots[o.id] = survival_plot(o.response, highlight=o.response.arm)
    gene_use: dict[str, set[str]] = {}
    advice = [a for c in plan.conditions for o in c.options for a in o.pgx]
    advice += [a for m in plan.medication_review for a in m.advice]
    for a in advice:
        if a.action in ("avoid", "adjust-dose", "standard", "no-recommendation"):
            for g in a.genes:
                gene_use.setdefault(g, set()).add(a.drug)
    ident = identity if identity is not None and any(identity.values()) else None
    created = plan.created_at[:10] if ident else plan.created_at[:4]
    return _env().get_template("plan.html.j2").render(
        plan=plan, ident=ident, plots=plots, created=created,
        gene_use={g: ", ".join(sorted(d)) for g, d in gene_use.items()}, today=date.today().isoformat(),
    )


def render_pdf(html: str) -> bytes:
    """PDF of the report (weasyprint). Import is lazy: weasyprint costs ~1 s to load."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html).write_pdf()
