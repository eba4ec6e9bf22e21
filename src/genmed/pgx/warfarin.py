"""Warfarin dose: the IWPC pharmacogenetic algorithm with CPIC's genotype adjustments.

IWPC: International Warfarin Pharmacogenetics Consortium, N Engl J Med 2009;360:753-64 (supplementary appendix,
pharmacogenetic dosing equation; outcome = square root of the weekly dose in mg). CPIC: Johnson JA et al., Clin
Pharmacol Ther 2017;102:397-404 (CYP2C9 *5/*6/*8/*11 and rs12777823 in African ancestry, CYP4F2*3 otherwise).
"""

from __future__ import annotations

from genmed.core.errors import InputError
from genmed.pgx.models import DoseEstimate, PgxResult

IWPC_CITATION = "IWPC, N Engl J Med 2009;360:753-64 (pharmacogenetic algorithm)"
CPIC_CITATION = "CPIC warfarin guideline: Johnson JA et al., Clin Pharmacol Ther 2017;102:397-404 (PMID 28198005)"

_INTERCEPT = 5.6044
_VKORC1 = {"G/G": 0.0, "A/G": -0.8677, "A/A": -1.6974, None: -0.4854}
_CYP2C9 = {"*1/*1": 0.0, "*1/*2": -0.5211, "*1/*3": -0.9357, "*2/*2": -1.0616, "*2/*3": -1.9206, "*3/*3": -2.3312,
           None: -0.2188}
_RACE = {"white": 0.0, "asian": -0.1092, "black": -0.2760, None: -0.1032}
_CPIC_AFRICAN_ALLELES = {"*5", "*6", "*8", "*11"}


def _norm_vkorc1(v: str | None) -> str | None:
    if v is None:
        return None
    s = v.upper().replace("-1639", "").replace(" ", "").replace("|", "/")
    if "/" not in s and len(s) == 2:
        s = f"{s[0]}/{s[1]}"
    s = "/".join(sorted(s.split("/")))
    if s not in _VKORC1:
        raise InputError(f"VKORC1 -1639 genotype {v!r} not understood", hint="use G/G, A/G or A/A")
    return s


def warfarin_dose_iwpc(*, age_years: float, height_cm: float, weight_kg: float, cyp2c9: str | None = None,
                       vkorc1: str | None = None, race: str | None = None, enzyme_inducer: bool = False,
                       amiodarone: bool = False, cyp4f2_star3_copies: int | None = None,
                       rs12777823_a_copies: int | None = None) -> DoseEstimate:
    """Weekly warfarin dose (mg) from the IWPC equation; CPIC adjustments widen it into a range.

    ``cyp2c9``: diplotype such as "*1/*3" (None = not genotyped); ``vkorc1``: -1639 genotype "G/G", "A/G", "A/A";
    ``race``: "white", "asian", "black" or None (missing/mixed, as in IWPC).
    """
    for name, val, lo, hi in (("age_years", age_years, 18, 110), ("height_cm", height_cm, 100, 230),
                              ("weight_kg", weight_kg, 25, 300)):
        if val is None or not (lo <= float(val) <= hi):
            raise InputError(f"{name}={val!r} outside the range the IWPC algorithm was derived on ({lo}-{hi})")
    r = race.lower() if race else None
    if r not in _RACE:
        raise InputError(f"race {race!r} not understood", hint="white, asian, black, or omit for missing/mixed")
    vk = _norm_vkorc1(vkorc1)
    warnings: list[str] = []
    adjustments: list[str] = []
    lo_mult, hi_mult = 1.0, 1.0
    c9_key: str | None = None
    other: list[str] = []
    if cyp2c9:
        alleles = sorted(a.strip() for a in cyp2c9.split("/"))
        core = [a if a in {"*1", "*2", "*3"} else "*1" for a in alleles]
        other = [a for a in alleles if a not in {"*1", "*2", "*3"}]
        c9_key = "/".join(sorted(core, key=lambda a: int(a[1:])))
        if other:
            african = [a for a in other if a in _CPIC_AFRICAN_ALLELES]
            unknown = [a for a in other if a not in _CPIC_AFRICAN_ALLELES]
            if unknown:
                warnings.append(f"CYP2C9 {', '.join(unknown)} not in the IWPC model; treated as genotype unknown")
                c9_key = None
            elif african:
                hom = len(african) == 2
                lo_mult *= 0.60 if hom else 0.70
                hi_mult *= 0.80 if hom else 0.85
                adjustments.append(f"CYP2C9 {'/'.join(african)} {'homozygous' if hom else 'carrier'}: calculated dose "
                                   f"decreased by {'20-40' if hom else '15-30'}% ({CPIC_CITATION})")
                if r != "black":
                    warnings.append("CPIC's *5/*6/*8/*11 adjustment is derived in African ancestry")
    s = (_INTERCEPT - 0.2614 * int(age_years // 10) + 0.0087 * height_cm + 0.0128 * weight_kg + _VKORC1[vk]
         + _CYP2C9[c9_key] + _RACE[r] + (1.1816 if enzyme_inducer else 0.0) - (0.5503 if amiodarone else 0.0))
    weekly = max(s, 0.0) ** 2
    if r == "black" and rs12777823_a_copies:
        lo_mult *= 0.75
        hi_mult *= 0.90
        adjustments.append(f"rs12777823 A carrier (African ancestry): decreased by 10-25% ({CPIC_CITATION})")
    if r != "black" and cyp4f2_star3_copies:
        lo_mult *= 1.05
        hi_mult *= 1.10
        adjustments.append(f"CYP4F2*3 carrier: increased by 5-10% ({CPIC_CITATION})")
    if r == "black" and not cyp2c9:
        warnings.append("CPIC: in African ancestry, genotype-guided dosing needs CYP2C9 *5/*6/*8/*11 and rs12777823")
    poor = c9_key in {"*2/*3", "*3/*3"}
    if poor or (c9_key == "*1/*3" and vk == "A/A"):
        # Stated as a pharmacological fact, not attributed to a guideline: our snapshot of the CPIC warfarin
        # guideline carries no recommendation text we could quote for these genotypes.
        warnings.append("very high warfarin sensitivity (CYP2C9 " + str(c9_key)
                        + (f" with VKORC1 {vk}" if vk in {"A/G", "A/A"} else "")
                        + "): rare in the IWPC derivation cohort, so the estimate is least certain here; an "
                          "alternative anticoagulant may be preferable (clinical judgement)")
    if vk is None or c9_key is None:
        warnings.append("genotype missing: IWPC 'unknown' coefficient used (less accurate)")
    rng = (round(weekly * lo_mult, 1), round(weekly * hi_mult, 1))
    central = weekly * (lo_mult + hi_mult) / 2
    return DoseEstimate(
        drug="warfarin", weekly_dose_mg=round(central, 1), daily_dose_mg=round(central / 7, 2),
        range_weekly_mg=rng, algorithm="IWPC pharmacogenetic (sqrt weekly dose) + CPIC 2017 adjustments",
        citation=f"{IWPC_CITATION}; {CPIC_CITATION}",
        inputs={"age_decades": int(age_years // 10), "height_cm": height_cm, "weight_kg": weight_kg,
                "cyp2c9": cyp2c9, "cyp2c9_iwpc_category": c9_key or "unknown", "vkorc1_1639": vk or "unknown",
                "race": r or "missing/mixed", "enzyme_inducer": enzyme_inducer, "amiodarone": amiodarone,
                "cyp4f2_star3_copies": cyp4f2_star3_copies, "rs12777823_a_copies": rs12777823_a_copies,
                "iwpc_sqrt_weekly_dose": round(s, 4)},
        adjustments=adjustments, warnings=warnings,
    )


def warfarin_dose(result: PgxResult, *, age_years: float, height_cm: float, weight_kg: float,
                  race: str | None = None, enzyme_inducer: bool = False, amiodarone: bool = False) -> DoseEstimate:
    """IWPC dose using the genotypes in a :class:`PgxResult` (uncallable genes enter as 'unknown')."""
    def top(gene: str):
        c = result.genes.get(gene)
        return c if c is not None and c.status in {"called", "outside_call"} and c.diplotypes else None

    c9 = top("CYP2C9")
    vk = top("VKORC1")
    f2 = top("CYP4F2")
    vk_g = None
    if vk and vk.phenotype and vk.phenotype.startswith("-1639"):
        g = vk.phenotype.split()[-1]
        vk_g = f"{g[0]}/{g[1]}"
    f2_copies = None if f2 is None else sum(1 for h in f2.diplotypes[0].haplotypes if h.name == "*3")
    rs = None
    if c9 is not None and c9.extra.get("rs12777823"):
        rs = c9.extra["rs12777823"].split("/").count("A")
    c9_any = result.genes.get("CYP2C9")
    if race and race.lower() == "black" and c9_any is not None:
        # CPIC 2017: in African ancestry dose clinically if CYP2C9 *5/*6/*8/*11 were not tested
        from genmed.pgx.matcher import gene_definition

        d = gene_definition("CYP2C9")
        missing = {m["position"] for m in c9_any.missing_positions}
        untested = []
        for name in ("*5", "*6", "*8", "*11"):
            seq = d.seqs[d.names.index(name)]
            if any(a is not None and d.loci[i].pos in missing for i, a in enumerate(seq)):
                untested.append(name)
        if untested:
            return DoseEstimate(drug="warfarin", weekly_dose_mg=None, daily_dose_mg=None, range_weekly_mg=None,
                                algorithm="IWPC + CPIC 2017", citation=f"{IWPC_CITATION}; {CPIC_CITATION}",
                                inputs={"race": "black", "cyp2c9": c9_any.diplotype}, status="indeterminate",
                                reason=f"CYP2C9 {', '.join(untested)} not tested (positions missing): CPIC recommends "
                                       "dosing clinically in African ancestry")
    est = warfarin_dose_iwpc(age_years=age_years, height_cm=height_cm, weight_kg=weight_kg,
                             cyp2c9=c9.diplotype if c9 else None, vkorc1=vk_g, race=race,
                             enzyme_inducer=enzyme_inducer, amiodarone=amiodarone, cyp4f2_star3_copies=f2_copies,
                             rs12777823_a_copies=rs)
    for gene, c in (("CYP2C9", c9), ("VKORC1", vk)):
        if c is None:
            g = result.genes.get(gene)
            est.warnings.append(f"{gene} not called ({g.reason if g else 'absent'}); entered as unknown")
    return est
