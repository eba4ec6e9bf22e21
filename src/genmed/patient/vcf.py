"""The patient's VCF reference: present, readable, and holding *this* patient's sample.

Genotype calling is the PGx engine's job; here we only make sure we hand it the right file and sample, because a
VCF for a different person produces a confident, wrong plan.
"""

from __future__ import annotations

from pathlib import Path

from genmed.core.errors import InputError
from genmed.core.logging import register_identifier
from genmed.patient.model import Patient


def vcf_samples(path: Path) -> list[str]:
    """Sample names in a VCF/BCF (plain or gzipped); :class:`InputError` if it is not one."""
    if not path.exists():
        raise InputError("VCF file not found", source=str(path))
    try:
        from cyvcf2 import VCF

        v = VCF(str(path))
        samples = list(v.samples)
        v.close()
    except Exception as exc:  # cyvcf2 raises plain OSError/Exception for non-VCF input
        raise InputError(f"not a readable VCF ({exc})", source=str(path)) from None
    for s in samples:
        register_identifier(s, prefix="sample")
    return samples


def attach_vcf(patient: Patient, vcf: str | Path | None = None, sample: str | None = None) -> Patient:
    """Set/check the patient's VCF and sample; refuse a VCF that does not hold the patient's sample."""
    if vcf is not None:
        patient.vcf = Path(vcf)
    if sample is not None:
        patient.vcf_sample = sample
    if patient.vcf is None:
        return patient
    samples = vcf_samples(patient.vcf)
    if not samples:
        raise InputError("VCF has no sample columns (sites-only); genotypes cannot be read", source=str(patient.vcf))
    if patient.vcf_sample:
        if patient.vcf_sample not in samples:
            shown = ", ".join(samples[:5]) + (" ..." if len(samples) > 5 else "")
            raise InputError(
                f"VCF is for a different sample: the record names sample {patient.vcf_sample!r}, the VCF holds {shown}",
                source=str(patient.vcf), hint="pass the patient's own VCF, or --sample to choose a column deliberately",
            )
    elif len(samples) == 1:
        patient.vcf_sample = samples[0]
    else:
        raise InputError(f"VCF holds {len(samples)} samples and the record does not say which is this patient",
                         source=str(patient.vcf), hint="pass --sample NAME")
    return patient
