import gzip

import pytest

from genmed.chem.fingerprints import fingerprint, max_tanimoto, tanimoto
from genmed.chem.io import read_molecules, write_molecules
from genmed.chem.molecules import canonical_smiles, standardize_smiles, to_mol, to_mol_strict
from genmed.core.errors import InputError


def test_standardize_strips_salt_neutralises_and_canonicalises():
    assert standardize_smiles("[Na+].[O-]C(=O)c1ccccc1").smiles == "O=C(O)c1ccccc1"
    assert standardize_smiles("OCC").smiles == "CCO"
    assert standardize_smiles("C[C@H](N)O", strip_stereo=True).smiles == "CC(N)O"
    assert standardize_smiles("C[C@H](N)O").smiles == "C[C@H](N)O"


@pytest.mark.parametrize(("smiles", "reason"), [("C1CC", "syntax"), ("", "empty"), ("C(C)(C)(C)(C)C", "valence")])
def test_invalid_smiles_reasons(smiles, reason):
    res = standardize_smiles(smiles)
    assert not res.valid and reason in res.error.lower()


def test_to_mol_strict_names_input():
    with pytest.raises(InputError, match="invalid SMILES 'C1CC'"):
        to_mol_strict("C1CC", source="actives.smi")
    assert canonical_smiles("c1ccccc1O") == "Oc1ccccc1"


def test_fingerprint_similarity():
    a, b = fingerprint(to_mol("c1ccccc1O")), fingerprint(to_mol("c1ccccc1N"))
    assert tanimoto(a, a) == 1.0 and 0 < tanimoto(a, b) < 1
    assert max_tanimoto([a], [b, a])[0] == 1.0
    assert fingerprint(to_mol("CCO"), "maccs").GetNumBits() == 167


def test_read_smi_with_bad_rows_reports_each(tmp_path):
    f = tmp_path / "mols.smi"
    f.write_text("CCO ethanol\nC1CC broken\n\n# comment\nc1ccccc1 benzene\nXyz nonsense\n")
    table = read_molecules(f)
    assert [r.smiles for r in table.valid] == ["CCO", "c1ccccc1"]
    assert [r.row for r in table.errors] == [2, 6]
    report = table.error_report()
    assert "row 2: 'C1CC'" in report and "2 of 4 rows invalid" in report


def test_read_csv_gz_and_sdf_round_trip(tmp_path):
    f = tmp_path / "mols.csv.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("id,SMILES,act\nm1,CCO,1\nm2,c1ccncc1,0\n")
    table = read_molecules(f)
    assert [r.name for r in table.valid] == ["m1", "m2"]
    sdf = write_molecules(tmp_path / "out.sdf", [{"smiles": r.smiles, "name": r.name} for r in table.valid])
    again = read_molecules(sdf)
    assert [r.smiles for r in again.valid] == ["CCO", "c1ccncc1"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("empty.smi", "", "empty"), ("nocol.csv", "a,b\n1,2\n", "no SMILES column"), ("blank.csv", "SMILES\n", "no molecules")],
)
def test_unusable_files_raise_clear_errors(tmp_path, name, content, message):
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        read_molecules(f)
    assert name in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_molecules(tmp_path / "nope.smi")


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    import csv

    target = tmp_path / "out.csv"

    def boom(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(csv.DictWriter, "writerows", boom)
    with pytest.raises(RuntimeError):
        write_molecules(target, [{"smiles": "CCO"}])
    assert not target.exists() and not list(tmp_path.glob(".out.csv*"))
