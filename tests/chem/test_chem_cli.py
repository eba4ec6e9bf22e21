"""`genmed chem` end to end with the shipped prior, and its bad-input behaviour (one line, non-zero exit)."""

import csv

import pytest

from genmed.cli.main import main


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_sample_csv_and_sdf_with_shipped_prior(tmp_path, capsys):
    out = tmp_path / "s.csv"
    code, stdout, _ = run_cli(["chem", "sample", "--n", "300", "--seed", "1", "--out", str(out), "--json"], capsys)
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 300
    assert {"smiles", "valid", "canonical_smiles", "log_likelihood"} <= set(rows[0])
    validity = sum(r["valid"] == "True" for r in rows) / len(rows)
    assert validity > 0.85  # the shipped prior is ~0.97 valid on 30k samples
    code, _, _ = run_cli(["chem", "sample", "--n", "50", "--seed", "1", "--out", str(tmp_path / "s.sdf")], capsys)
    assert code == 0 and (tmp_path / "s.sdf").read_text().count("$$$$") >= 40
    # same seed, same molecules
    out2 = tmp_path / "s2.csv"
    run_cli(["chem", "sample", "--n", "300", "--seed", "1", "--out", str(out2), "--json"], capsys)
    assert out.read_text() == out2.read_text()


def test_missing_checkpoint_is_one_clear_line(tmp_path, capsys):
    code, _, err = run_cli(["chem", "sample", "--n", "5", "--prior", str(tmp_path / "nope.pt"),
                            "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 3 and "prior checkpoint not found" in err and "nope.pt" in err
    assert "Traceback" not in err and not (tmp_path / "x.csv").exists()


def test_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_text("garbage")
    code, _, err = run_cli(["chem", "sample", "--n", "5", "--prior", str(bad), "--out", str(tmp_path / "x.csv")],
                           capsys)
    assert code == 3 and "bad.pt" in err


def test_bad_output_suffix_and_bad_option_values(tmp_path, capsys):
    code, _, err = run_cli(["chem", "sample", "--n", "5", "--out", str(tmp_path / "x.xlsx")], capsys)
    assert code == 2 and ".csv" in err
    code, _, err = run_cli(["chem", "sample", "--n", "0", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2
    code, _, err = run_cli(["chem", "train-prior", "--out", str(tmp_path / "p"), "--precision", "fp16"], capsys)
    assert code == 2 and "precision" in err


@pytest.mark.parametrize(("content", "message"), [("", "empty"), ("C1CC\nXX(\n(((\n", "need at least 5")])
def test_transfer_bad_smiles_files(tmp_path, capsys, content, message):
    f = tmp_path / "actives.smi"
    f.write_text(content)
    code, _, err = run_cli(["chem", "transfer", "--smiles", str(f), "--out", str(tmp_path / "tl")], capsys)
    assert code == 2 and message in err and "actives.smi" in err
    assert not (tmp_path / "tl" / "prior.pt").exists()


def test_transfer_learning_moves_likelihood_towards_actives(tmp_path, capsys):
    from genmed.chem.models.prior import default_prior_path, load_prior, log_likelihood

    actives = ["CC(C)Cc1ccc(C(C)C(=O)O)cc1", "COc1ccc2cc(C(C)C(=O)O)ccc2c1", "CC(C(=O)O)c1ccc(-c2ccccc2)c(F)c1",
               "CC(C(=O)O)c1cccc(C(=O)c2ccccc2)c1", "CC(C(=O)O)c1ccc(CC(C)C)cc1C", "CCC(C(=O)O)c1ccc(CC(C)C)cc1",
               "CC(C(=O)O)c1ccc(C2CCCC2)cc1", "CC(C(=O)O)c1ccc(OC(C)C)cc1", "CC(C(=O)O)c1ccc(C(C)(C)C)cc1",
               "CC(C(=O)O)c1ccc(Cl)cc1", "CC(C(=O)O)c1ccc(C)cc1"]
    f = tmp_path / "nsaids.smi"
    f.write_text("\n".join(actives) + "\nnot_a_smiles\n")
    code, stdout, err = run_cli(["chem", "transfer", "--smiles", str(f), "--out", str(tmp_path / "tl"), "--epochs",
                                 "8", "--patience", "3", "--lr", "3e-4", "--json"], capsys)
    assert code == 0, err
    assert "row 12" in err  # the invalid row is reported, not fatal
    before = load_prior(default_prior_path())
    after = load_prior(tmp_path / "tl" / "prior.pt")
    probe = ["CC(C(=O)O)c1ccc(CC)cc1"]  # an unseen profen
    assert log_likelihood(after, probe)[0] > log_likelihood(before, probe)[0]
