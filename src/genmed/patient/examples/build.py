"""Regenerate the example bundles and VCFs: ``python -m genmed.patient.examples.build``.

VCFs are PharmCAT's position file (every pharmacogene position, GRCh38) with genotypes set from named alleles in
PharmCAT's allele definitions, so the examples are genotype-complete except CYP2D6 and HLA, which PharmCAT takes as
outside calls (they come from the record's genotype observations). Needs ``$GENMED_DATA_DIR/pgx/pharmcat``.
"""

from __future__ import annotations

import json
from pathlib import Path

from genmed.core.data import data_path
from genmed.patient.compact import read_compact
from genmed.patient.examples import DESCRIPTIONS
from genmed.patient.fhir import to_fhir_bundle

HERE = Path(__file__).parent
# example -> ({gene: (hap1, hap2)}, {rsid: GT})
GENOTYPES: dict[str, tuple[dict[str, tuple[str, str]], dict[str, str]]] = {
    "breast-cyp2d6-pm": ({}, {}),
    "acs-cyp2c19-warfarin": ({"CYP2C19": ("*2", "*2"), "CYP2C9": ("*1", "*3")}, {"rs9923231": "0/1"}),
    "crc-dpyd": ({}, {"rs3918290": "0/1"}),
    "hiv-hla-cyp2b6": ({"CYP2B6": ("*6", "*6")}, {}),
}
OUTSIDE_CALL_GENES = ("CYP2D6",)


def _haplotype(gene: str, name: str) -> dict[int, str]:
    d = json.loads(data_path("pgx", "pharmcat", "definitions", f"{gene}_translation.json").read_text())
    named = {a["name"]: a for a in d["namedAlleles"]}
    ref = next(a for a in d["namedAlleles"] if a.get("reference"))
    allele = named[name]
    out = {}
    for var, base, refbase in zip(d["variants"], allele["alleles"], ref["alleles"], strict=True):
        if base and refbase and base != refbase and base in var.get("cpicToVcfAlleleMap", {}):
            out[var["position"]] = var["cpicToVcfAlleleMap"][base]
    return out


def build_vcf(example: str, sample: str) -> str:
    genes, rsids = GENOTYPES[example]
    haps = {g: (_haplotype(g, a), _haplotype(g, b)) for g, (a, b) in genes.items()}
    lines = []
    for line in data_path("pgx", "pharmcat", "pharmcat_positions.vcf").read_text().splitlines():
        if line.startswith("##"):
            if not line.startswith("##fileDate"):
                lines.append(line)
            continue
        if line.startswith("#CHROM"):
            lines.append("##genmed=made-up example genotypes for " + example)
            lines.append("\t".join(line.split("\t")[:9] + [sample]))
            continue
        f = line.split("\t")
        gene = f[7].removeprefix("PX=")
        if gene in OUTSIDE_CALL_GENES:
            continue
        gt = "0/0"
        alleles = [f[3], *f[4].split(",")]
        if gene in haps:
            pos = int(f[1])
            h1, h2 = haps[gene]
            idx = [alleles.index(h[pos]) if pos in h and h[pos] in alleles else 0 for h in (h1, h2)]
            gt = f"{idx[0]}/{idx[1]}"
        if f[2] in rsids:
            gt = rsids[f[2]]
        lines.append("\t".join(f[:9] + [gt]))
    return "\n".join(lines) + "\n"


def main() -> None:
    for name in DESCRIPTIONS:
        folder = HERE / name
        patient = read_compact(folder / "patient.yaml")
        bundle = to_fhir_bundle(patient, identified=True, timestamp="2026-11-20T09:00:00Z")
        (folder / "bundle.json").write_text(json.dumps(bundle, indent=1) + "\n")
        (folder / "genotypes.vcf").write_text(build_vcf(name, patient.vcf_sample or name))
        print(f"wrote {folder}/bundle.json, genotypes.vcf")


if __name__ == "__main__":
    main()
