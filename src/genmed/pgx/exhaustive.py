"""Clean-room exhaustive allele-pair suite: from each definition, build genotypes for every allele pair and check
the matcher calls that pair back.

For every gene and every pair (A, B) of named alleles (A == B gives the homozygous cases) the generator derives
the two strands from the definitions (blank cell = reference base, IUPAC code = one of its bases) and builds the
sample's calls, phased (``0|1``) and unphased (``0/1``). Pass criteria:

* phased: the expected diplotype is among the top-scoring calls (``exact`` when it is the only one);
* unphased: the expected diplotype is among the viable diplotypes; ``top`` counts when it is also top-scoring
  (by design the longest alleles win ties of unphased data, e.g. TPMT *1/*3A over *3B/*3C, as in PharmCAT).

A *failure* is a pair whose own genotype does not return it at all. ``write_vcf`` writes the same cases as VCF
files so the full reader path can be exercised too.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from genmed.pgx.knowledge import VCF_GENES
from genmed.pgx.matcher import IUPAC, GeneDefinition, gene_definition, is_wobble, match_gene, natural_key
from genmed.pgx.vcf import SampleCall


def strand(d: GeneDefinition, h: int) -> list[str]:
    """Concrete sequence of named allele ``h`` at every locus (blank -> reference, wobble -> a documented base)."""
    ref_seq = d.seqs[d.reference]
    out = []
    for i, loc in enumerate(d.loci):
        a = d.seqs[h][i]
        if a is None:
            r = ref_seq[i]
            a = loc.ref if (r is None or is_wobble(r)) else r
        if is_wobble(a):
            choices = [b for b in IUPAC[a] if b in {loc.ref, *loc.alts}] or list(IUPAC[a])
            a = next((b for b in choices if b != loc.ref), choices[0])
        out.append(a)
    return out


def pair_calls(d: GeneDefinition, s1: list[str], s2: list[str] | None, phased: bool
               ) -> dict[tuple[str, int], SampleCall]:
    calls = {}
    for i, loc in enumerate(d.loci):
        alts = list(loc.alts)
        alleles = (s1[i],) if s2 is None else (s1[i], s2[i])
        for a in alleles:
            if a != loc.ref and a not in alts:
                alts.append(a)
        idx = [0 if a == loc.ref else alts.index(a) + 1 for a in alleles]
        gt = ("|" if phased else "/").join(map(str, idx))
        calls[(d.chrom, loc.pos)] = SampleCall(d.chrom, loc.pos, loc.ref, alts, alleles, phased or s2 is None,
                                               None, loc.rsid, "PASS", gt)
    return calls


@dataclass
class GeneTally:
    gene: str
    cases: int = 0
    failures: int = 0
    phased_exact: int = 0
    phased_top: int = 0
    unphased_top: int = 0
    unphased_viable: int = 0
    phased_cases: int = 0
    unphased_cases: int = 0
    seconds: float = 0.0
    failed_examples: list[str] = field(default_factory=list)


def iter_pairs(d: GeneDefinition, sample: int | None = None, seed: int = 0) -> Iterator[tuple[int, int]]:
    pairs = list(itertools.combinations_with_replacement(range(len(d.names)), 2))
    if sample is not None and sample < len(pairs):
        rng = random.Random(seed)
        pairs = rng.sample(pairs, sample)
    yield from pairs


def run_gene(gene: str, *, sample: int | None = None, seed: int = 0) -> GeneTally:
    d = gene_definition(gene)
    t = GeneTally(gene)
    t0 = time.perf_counter()
    strands = [strand(d, h) for h in range(len(d.names))]
    for a, b in iter_pairs(d, sample, seed):
        expected = "/".join(sorted((d.names[a], d.names[b]), key=natural_key))
        for phased in (True, False):
            if not phased and a == b:
                continue  # a homozygous genotype is the same phased or not
            m = match_gene(d, pair_calls(d, strands[a], strands[b], phased))
            top = {c.name for c in m.top}
            viable = {c.name for c in m.candidates}
            t.cases += 1
            if phased:
                t.phased_cases += 1
                t.phased_exact += top == {expected}
                ok = expected in top
                t.phased_top += ok
            else:
                t.unphased_cases += 1
                t.unphased_top += expected in top
                ok = expected in viable
                t.unphased_viable += ok
            if not ok:
                t.failures += 1
                if len(t.failed_examples) < 5:
                    t.failed_examples.append(f"{expected} ({'phased' if phased else 'unphased'}) -> "
                                             f"{sorted(top) or m.reason}")
    t.seconds = time.perf_counter() - t0
    return t


def run_suite(genes: Iterable[str] = VCF_GENES, *, sample: int | None = None, seed: int = 0) -> list[GeneTally]:
    return [run_gene(g, sample=sample, seed=seed) for g in genes]


def write_vcf(gene: str, a: str, b: str, path: str | Path, *, phased: bool = True, sample_id: str = "S1") -> Path:
    """Write a VCF for the pair of named alleles ``a``/``b`` of ``gene`` (GRCh38, chr-prefixed contigs)."""
    d = gene_definition(gene)
    ia, ib = d.names.index(a), d.names.index(b)
    calls = pair_calls(d, strand(d, ia), strand(d, ib), phased)
    lines = ["##fileformat=VCFv4.2", "##reference=GRCh38", f"##contig=<ID=chr{d.chrom},assembly=GRCh38>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample_id]
    for (_, pos), c in sorted(calls.items(), key=lambda kv: kv[0][1]):
        lines.append("\t".join([f"chr{d.chrom}", str(pos), c.rsid or ".", c.ref, ",".join(c.alts) or ".", ".",
                                "PASS", ".", "GT", c.raw_gt]))
    p = Path(path)
    p.write_text("\n".join(lines) + "\n")
    return p
