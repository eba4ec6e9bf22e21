"""genmed.plan: the personalized treatment plan (genmed's main job).

Public API::

    from genmed.plan import build_plan, run_plan, run_example
    plan = build_plan(read_patient("patient/"))          # TreatmentPlan (pure, writes nothing)
    run = run_plan("patient/", out_dir="runs/p1")         # writes report.html/pdf, plan.json, careplan.json
    run = run_example("breast-cyp2d6-pm", out_dir="runs/demo")   # what `make demo` runs
    rows = run_batch("exports/", "runs/cohort", workers=2)         # one plan per patient file
"""

from genmed.plan.engine import build_plan
from genmed.plan.knowledge import Knowledge, load_knowledge
from genmed.plan.model import (
    ConditionPlan,
    DoseEstimate,
    DrugAdvice,
    Evidence,
    Flag,
    GeneResult,
    MedicationReview,
    Option,
    ResponsePrediction,
    TreatmentPlan,
)
from genmed.plan.runner import FORMATS, PlanRun, load_plan, run_batch, run_example, run_plan

__all__ = [
    "build_plan", "run_plan", "run_example", "run_batch", "load_plan", "PlanRun", "FORMATS", "load_knowledge", "Knowledge",
    "TreatmentPlan", "ConditionPlan", "Option", "DrugAdvice", "DoseEstimate", "Evidence", "Flag", "GeneResult",
    "MedicationReview", "ResponsePrediction",
]
