"""The patient record: model, readers (FHIR R4 bundle, compact YAML/JSON), VCF reference, bundled code map.

    >>> from genmed.patient import read_patient, example_dir
    >>> p = read_patient(example_dir("breast-cyp2d6-pm"))
    >>> p.pseudonym.startswith("pt-")
    True
"""

from genmed.patient.codes import code_map
from genmed.patient.compact import read_compact
from genmed.patient.examples import DEFAULT_EXAMPLE, example_dir, list_examples
from genmed.patient.fhir import (
    genotype_observation,
    patient_resources,
    read_fhir_bundle,
    to_fhir_bundle,
    validate_bundle,
)
from genmed.patient.model import (
    Allergy,
    Code,
    Condition,
    GenotypeObservation,
    Identity,
    Issue,
    Medication,
    Observation,
    Patient,
)
from genmed.patient.readers import read_patient
from genmed.patient.vcf import attach_vcf, vcf_samples

__all__ = [
    "Patient", "Identity", "Code", "Condition", "Medication", "Observation", "Allergy", "GenotypeObservation", "Issue",
    "read_patient", "read_fhir_bundle", "read_compact", "to_fhir_bundle", "patient_resources", "genotype_observation",
    "validate_bundle", "attach_vcf", "vcf_samples", "code_map", "list_examples", "example_dir", "DEFAULT_EXAMPLE",
]
