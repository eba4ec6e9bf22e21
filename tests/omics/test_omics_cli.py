"""The `genmed omics` commands end to end: outputs written, bad input -> one clear line and a non-zero exit."""

from __future__ import annotations

import json

import pytest

from genmed.cli.main import main


def run(args, capsys):
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_info_json(capsys):
    code, out, _ = run(["omics", "info", "kang2018", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["scale"]["kind"] == "log-normalised" and doc["n_cells"] == 1975


def test_train_nb_on_log_data_fails_clearly(tmp_path, capsys):
    code, _, err = run(["omics", "train", "--data", "kang2018", "--out", str(tmp_path / "m"), "--likelihood", "nb",
                        "--epochs", "1"], capsys)
    assert code == 2 and "--likelihood gauss" in err and "Traceback" not in err


def test_train_simulate_perturb_de(tmp_path, capsys, kang300):
    data = tmp_path / "k.h5ad"
    kang300.write_h5ad(data)
    model = tmp_path / "model"
    code, out, err = run(["omics", "train", "--data", str(data), "--out", str(model), "--likelihood", "gauss",
                          "--genes", "300", "--latent", "8", "--hidden", "32", "--epochs", "3",
                          "--condition-key", "condition", "--cell-type-key", "cell_type", "--json"], capsys)
    assert code == 0, err
    assert (model / "model.pt").exists() and (model / "run.json").exists() and (model / "reference.npz").exists()
    code, out, err = run(["omics", "simulate", "--model", str(model), "--n", "50", "--cell-type", "CD4T",
                          "--out", str(tmp_path / "sim.h5ad"), "--json"], capsys)
    assert code == 0, err
    assert (tmp_path / "sim.h5ad").exists()
    code, out, err = run(["omics", "perturb", "--model", str(model), "--cells", str(data), "--perturbation",
                          "stimulated", "--out", str(tmp_path / "pert"), "--n-samples", "3", "--json"], capsys)
    assert code == 0, err
    assert (tmp_path / "pert" / "lfc.csv").exists() and json.loads(out)["cell_types"]
    code, out, err = run(["omics", "de", "--model", str(model), "--data", str(data), "--groupby", "condition",
                          "--group1", "stimulated", "--group2", "control", "--n-samples", "20",
                          "--out", str(tmp_path / "de.csv"), "--json"], capsys)
    assert code == 0, err
    assert (tmp_path / "de.csv").exists() and "n_called" in json.loads(out)


@pytest.mark.parametrize("args,needle", [
    (["omics", "perturb", "--model", "kang2018", "--cells", "kang2018", "--perturbation", "LPS", "--out", "X"],
     "unknown perturbation"),
    (["omics", "de", "--model", "kang2018", "--data", "kang2018", "--groupby", "condition", "--group1", "stimulated",
      "--group2", "control", "--cell-type", "Platelet", "--out", "X/de.csv"], "unknown cell type"),
    (["omics", "simulate", "--model", "/nonexistent", "--out", "X/s.h5ad"], "no omics model"),
])
def test_bad_input_exits_nonzero(args, needle, tmp_path, capsys):
    args = [a.replace("X", str(tmp_path / "o")) for a in args]
    code, _, err = run(args, capsys)
    assert code != 0 and needle in err and "Traceback" not in err
    assert not (tmp_path / "o" / "de.csv").exists() and not (tmp_path / "o" / "s.h5ad").exists()


def test_empty_h5ad_cli(tmp_path, capsys):
    p = tmp_path / "empty.h5ad"
    p.write_bytes(b"")
    code, _, err = run(["omics", "info", str(p)], capsys)
    assert code == 2 and "file is empty" in err
