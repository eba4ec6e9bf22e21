"""Minimal, strict VCF reader for pharmacogene positions.

Plain-text parsing (gzip or not) rather than htslib: we only need the few thousand PGx positions, and a pure
reader gives precise errors naming the file and line for the malformed inputs real pipelines produce (truncated
gzip, missing GT, wrong sample, odd contig names). Only records at positions of interest are kept.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from genmed.core.errors import DataNotFoundError, InputError

# chr1 length identifies the build when the header declares contigs.
_CHR1_LENGTH = {248956422: "GRCh38", 249250621: "GRCh37"}


def norm_chrom(chrom: str) -> str:
    """'chr1', '1', 'CHR1' -> '1'; 'chrM'/'MT' -> 'M'."""
    c = chrom.strip()
    if c.lower().startswith("chr"):
        c = c[3:]
    c = c.upper()
    return "M" if c in {"MT", "M"} else c


@dataclass
class SampleCall:
    """One sample's genotype at one position: alleles as sequences (None = no-call)."""

    chrom: str
    pos: int
    ref: str
    alts: list[str]
    alleles: tuple[str | None, ...]
    phased: bool
    phase_set: str | None = None
    rsid: str | None = None
    filter: str = "PASS"
    raw_gt: str = ""
    ref_block: bool = False  # covered by a gVCF reference block (REF base not given for this position)

    @property
    def is_haploid(self) -> bool:
        return len(self.alleles) == 1

    @property
    def is_missing(self) -> bool:
        return all(a is None for a in self.alleles)


@dataclass
class VcfData:
    path: str
    samples: list[str]
    build: str | None  # from the header, if it says
    calls: dict[str, dict[tuple[str, int], SampleCall]]  # sample -> (chrom,pos) -> call
    warnings: list[str] = field(default_factory=list)
    contigs: set[str] = field(default_factory=set)  # normalised contigs seen in records


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with _open_text(path) as fh:
            for n, line in enumerate(fh, 1):
                yield n, line.rstrip("\r\n")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"corrupt or truncated gzip ({exc})", source=str(path),
                         hint="re-export or re-compress the VCF") from exc


def parse_gt(gt: str, ref: str, alts: list[str], *, where: str) -> tuple[tuple[str | None, ...], bool]:
    """'0|1' -> (('C','T'), True). Raises InputError on allele indexes beyond ALT."""
    if gt in {".", "./.", ".|."} or gt == "":
        return (None, None), False
    phased = "|" in gt
    parts = gt.replace("|", "/").split("/")
    seqs: list[str | None] = []
    for p in parts:
        if p == ".":
            seqs.append(None)
            continue
        try:
            i = int(p)
        except ValueError as exc:
            raise InputError(f"invalid GT value {gt!r}", source=where) from exc
        if i == 0:
            seqs.append(ref)
        elif 1 <= i <= len(alts):
            a = alts[i - 1]
            seqs.append(None if a in {".", "*"} or a.startswith("<") else a)
        else:
            raise InputError(f"GT {gt!r} refers to allele {i} but ALT has {len(alts)}", source=where)
    if len(seqs) == 1:
        phased = True  # haploid is trivially phased
    return tuple(seqs), phased


def read_vcf(
    path: str | Path,
    positions: Iterable[tuple[str, int]] | None = None,
    *,
    samples: Iterable[str] | None = None,
) -> VcfData:
    """Read genotype calls at ``positions`` ((chrom, pos), chrom normalised) for ``samples`` (default: all).

    Errors (all :class:`InputError` naming the file/line): not a VCF, no #CHROM header, no samples, unknown sample,
    records without a GT field, malformed records, truncated gzip.
    """
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError("VCF file not found", source=str(p))
    if p.is_dir():
        raise InputError("is a directory, not a VCF file", source=str(p))
    want = set(positions) if positions is not None else None
    want_sorted: dict[str, list[int]] = {}
    for c, q in want or ():
        want_sorted.setdefault(c, []).append(q)
    for v in want_sorted.values():
        v.sort()
    header_samples: list[str] | None = None
    sample_idx: list[tuple[str, int]] = []
    build: str | None = None
    calls: dict[str, dict[tuple[str, int], SampleCall]] = {}
    warnings: list[str] = []
    contigs: set[str] = set()
    saw_fileformat = False
    for n, line in _lines(p):
        if n == 1:
            if "\x00" in line:
                raise InputError("not a VCF (binary content)", source=str(p))
            if line.startswith("##fileformat=VCF"):
                saw_fileformat = True
            elif not line.startswith("#"):
                raise InputError("not a VCF: first line is not a '##fileformat=VCF' or '#CHROM' header",
                                 source=str(p))
        if line.startswith("##"):
            low = line.lower()
            if low.startswith("##contig="):
                inner = line[9:].strip("<>")
                kv = dict(x.split("=", 1) for x in inner.split(",") if "=" in x)
                if norm_chrom(kv.get("ID", "")) == "1" and kv.get("length", "").isdigit():
                    build = _CHR1_LENGTH.get(int(kv["length"]), build)
                asm = kv.get("assembly", "").lower()
                if build is None and asm:
                    build = "GRCh38" if ("38" in asm) else ("GRCh37" if ("37" in asm or "19" in asm) else None)
            elif low.startswith("##reference=") and build is None:
                if "38" in low:
                    build = "GRCh38"
                elif "37" in low or "hg19" in low or "b37" in low:
                    build = "GRCh37"
            continue
        if line.startswith("#"):
            cols = line.lstrip("#").split("\t")
            if [c.upper() for c in cols[:8]] != ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
                raise InputError("not a VCF: #CHROM header does not have the 8 fixed tab-separated columns",
                                 source=f"{p}:{n}")
            header_samples = cols[9:]
            if not header_samples:
                raise InputError("VCF has no sample columns (no genotypes to call)", source=str(p))
            if len(set(header_samples)) != len(header_samples):
                raise InputError("VCF has duplicate sample names", source=str(p))
            chosen = list(samples) if samples is not None else header_samples
            for s in chosen:
                if s not in header_samples:
                    raise InputError(f"sample {s!r} is not in the VCF", source=str(p),
                                     hint=f"samples present: {', '.join(header_samples[:10])}"
                                          + (" ..." if len(header_samples) > 10 else ""))
                sample_idx.append((s, 9 + header_samples.index(s)))
                calls[s] = {}
            continue
        if not line.strip():
            continue
        if header_samples is None:
            raise InputError("not a VCF: data line before the #CHROM header", source=f"{p}:{n}")
        # Fast path: look at chrom/pos first and skip positions nobody asked for.
        head = line.split("\t", 2)
        if len(head) < 3:
            raise InputError("malformed VCF record (expected tab-separated columns)", source=f"{p}:{n}")
        chrom = norm_chrom(head[0])
        try:
            pos = int(head[1])
        except ValueError as exc:
            raise InputError(f"POS {head[1]!r} is not an integer", source=f"{p}:{n}") from exc
        contigs.add(chrom)
        if want is not None and (chrom, pos) not in want:
            if ("<NON_REF>" in line or "<*>" in line) and want_sorted.get(chrom):
                _ref_block(line, chrom, pos, want_sorted[chrom], sample_idx, calls, header_samples, p, n)
            continue
        cols = line.split("\t")
        if len(cols) < 9 + len(header_samples):
            raise InputError(f"record has {len(cols)} columns, header declares {9 + len(header_samples)}",
                             source=f"{p}:{n}")
        ref, alt, flt, fmt = cols[3].upper(), cols[4], cols[6], cols[8].split(":")
        alts = [] if alt in {".", ""} else [a.upper() for a in alt.split(",")]
        if "GT" not in fmt:
            raise InputError("record has no GT field in FORMAT", source=f"{p}:{n}",
                             hint="genotype calls are required")
        gi = fmt.index("GT")
        psi = fmt.index("PS") if "PS" in fmt else None
        rsid = cols[2] if cols[2] not in {".", ""} else None
        if flt not in {"PASS", ".", ""}:
            warnings.append(f"{head[0]}:{pos} FILTER={flt} (call used)")
        for s, ci in sample_idx:
            fields = cols[ci].split(":")
            gt = fields[gi] if gi < len(fields) else "."
            try:
                alleles, phased = parse_gt(gt, ref, alts, where=f"{p}:{n} sample {s}")
            except InputError as exc:  # one bad record is a no-call at that position, not a lost sample
                warnings.append(f"{exc} -> treated as no-call")
                alleles, phased = (None, None), False
            ps = None
            if psi is not None and psi < len(fields) and fields[psi] not in {".", ""}:
                ps = fields[psi]
            call = SampleCall(chrom, pos, ref, alts, alleles, phased, ps, rsid, flt or ".", gt)
            prev = calls[s].get((chrom, pos))
            calls[s][(chrom, pos)] = _merge(prev, call) if prev and not prev.ref_block else call
    if header_samples is None:
        if not saw_fileformat:
            raise InputError("not a VCF (no header)", source=str(p))
        raise InputError("VCF has no #CHROM header line", source=str(p))
    return VcfData(str(p), [s for s, _ in sample_idx], build, calls, warnings, contigs)


def _ref_block(line: str, chrom: str, pos: int, wanted: list[int], sample_idx, calls, header_samples, p, n) -> None:
    """gVCF reference block (symbolic ALT, INFO END=): its GT applies to every wanted position inside it."""
    import bisect

    cols = line.split("\t")
    if len(cols) < 9 + len(header_samples):
        raise InputError(f"record has {len(cols)} columns, header declares {9 + len(header_samples)}",
                         source=f"{p}:{n}")
    end = None
    for kv in cols[7].split(";"):
        if kv.startswith("END="):
            try:
                end = int(kv[4:])
            except ValueError:
                return
    if end is None or end <= pos:
        return
    lo, hi = bisect.bisect_right(wanted, pos), bisect.bisect_right(wanted, end)
    if lo >= hi:
        return
    fmt = cols[8].split(":")
    if "GT" not in fmt:
        raise InputError("record has no GT field in FORMAT", source=f"{p}:{n}", hint="genotype calls are required")
    gi = fmt.index("GT")
    for s, ci in sample_idx:
        fields = cols[ci].split(":")
        gt = fields[gi] if gi < len(fields) else "."
        idx = gt.replace("|", "/").split("/")
        if any(x != "0" for x in idx):  # a block is reference-only; anything else is no information
            continue
        for q in wanted[lo:hi]:
            if (chrom, q) not in calls[s]:
                calls[s][(chrom, q)] = SampleCall(chrom, q, "N", [], ("N",) * len(idx), True, None, None,
                                                  cols[6] or ".", gt, ref_block=True)


def vcf_samples(path: str | Path) -> list[str]:
    """Sample names from the header only (stops at #CHROM; cheap on large files)."""
    p = Path(path)
    if not p.exists():
        raise DataNotFoundError("VCF file not found", source=str(p))
    for n, line in _lines(p):
        if n == 1 and not line.startswith("#"):
            raise InputError("not a VCF: first line is not a '##fileformat=VCF' or '#CHROM' header", source=str(p))
        if line.startswith("#CHROM") or (line.startswith("#") and not line.startswith("##")):
            return line.lstrip("#").split("\t")[9:]
        if not line.startswith("#"):
            break
    raise InputError("VCF has no #CHROM header line", source=str(p))


def _merge(a: SampleCall, b: SampleCall) -> SampleCall:
    """Two records at one position (split multi-allelic): keep the non-reference alleles of both."""
    if a.is_missing:
        return b
    if b.is_missing:
        return a
    alleles = []
    for x, y in zip(a.alleles, b.alleles, strict=False):
        alleles.append(y if (x == a.ref and y != b.ref) else x)
    return SampleCall(a.chrom, a.pos, a.ref, a.alts + [x for x in b.alts if x not in a.alts], tuple(alleles),
                      a.phased and b.phased, a.phase_set or b.phase_set, a.rsid or b.rsid, a.filter,
                      f"{a.raw_gt};{b.raw_gt}")
