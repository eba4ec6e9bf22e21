"""genmed.report: renders saved results (plans) as report.html, report.pdf and the FHIR careplan.json.

Computes nothing new: everything shown comes from the :class:`~genmed.plan.model.TreatmentPlan`.
"""

from genmed.report.careplan import careplan_bundle
from genmed.report.html import render_html, render_pdf

__all__ = ["render_html", "render_pdf", "careplan_bundle"]
