"""`genmed imaging` as a user runs it: JSON output, run directory, one-line errors with exit codes, nothing
written for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imaging_helpers import pydicom_file, write_dicom
from PIL import Image


def genmed(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "genmed.cli.main", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=240)


def cli(capsys, *args) -> tuple[int, str, str]:
    """In-process CLI call (no interpreter start-up): exit code, stdout, stderr."""
    from genmed.cli.main import main

    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diagnose_json_and_run_directory(tmp_path, shipped_model, test_images):
    images, _ = test_images
    png = tmp_path / "cxr.png"
    Image.fromarray(images[2]).resize((256, 256)).save(png)
    out = tmp_path / "run"
    r = genmed("imaging", "diagnose", png, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["finding"] in ("normal", "pneumonia") and 0 <= d["probability"] <= 1
    saved = json.loads((out / "diagnosis.json").read_text())
    assert saved["probability"] == d["probability"]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "succeeded" and "diagnosis.json" in run["outputs"]
    assert all((out / Path(p).name).exists() for p in d["saliency"].values())


@pytest.mark.parametrize("case", ["empty", "volume", "no-pixels", "garbage"])
def test_bad_inputs_fail_cleanly(tmp_path, case, shipped_model, capsys):
    if case == "empty":
        path, expect = tmp_path / "empty.dcm", "empty file"
        path.write_bytes(b"")
    elif case == "volume":
        path, expect = write_dicom(tmp_path / "vol.dcm", np.zeros((4, 32, 32), np.uint16)), "2-D model"
    elif case == "no-pixels":
        path, expect = pydicom_file("rtplan.dcm"), "no pixel data"
    else:
        path, expect = tmp_path / "scan.jpg", "not a readable image"
        path.write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "out"
    code, _, err = cli(capsys, "imaging", "diagnose", path, "--out", out)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expect in lines[0] and path.name in lines[0]
    assert not out.exists()


def test_inspect_hides_identifiers(capsys):
    code, out, err = cli(capsys, "imaging", "inspect", pydicom_file("CT_small.dcm"), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["metadata"]["modality"] == "CT" and info["metadata"]["patient"].startswith("pt-")
    assert "CompressedSamples" not in out


def test_missing_model(tmp_path, test_images, capsys):
    png = tmp_path / "x.png"
    Image.fromarray(test_images[0][0]).save(png)
    code, _, err = cli(capsys, "imaging", "diagnose", png, "--model", tmp_path / "nomodel", "--out", tmp_path / "o")
    assert code == 3 and "imaging model not found" in err and not (tmp_path / "o").exists()


def test_refer_band_option(tmp_path, test_images, capsys, shipped_model):
    png = tmp_path / "x.png"
    Image.fromarray(test_images[0][0]).resize((128, 128)).save(png)
    code, out, _ = cli(capsys, "imaging", "diagnose", png, "--refer-band", "0,1", "--no-saliency", "--json",
                       "--out", tmp_path / "o")
    assert code == 0 and json.loads(out)["refer"] is True  # every probability is inside [0, 1]
    code, _, err = cli(capsys, "imaging", "diagnose", png, "--refer-band", "0.9,0.1", "--out", tmp_path / "p")
    assert code == 2 and "--refer-band" in err and not (tmp_path / "p").exists()


def test_outputs_carry_pseudonym_not_identifiers(tmp_path, test_images, capsys, shipped_model):
    img = np.asarray(Image.fromarray(test_images[0][4]).resize((128, 128)), dtype=np.uint16) * 16
    path = write_dicom(tmp_path / "cxr.dcm", img, window=(2048, 4096),
                       extra={"PatientName": "Roe^Richard", "PatientID": "HOSP-4711", "BodyPartExamined": "CHEST"})
    out = tmp_path / "run"
    code, stdout, err = cli(capsys, "imaging", "diagnose", path, "--out", out, "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d["image"]["patient"].startswith("pt-") and d["probability"] is not None
    for f in ("diagnosis.json", "run.json"):
        text = (out / f).read_text()
        assert "Roe" not in text and "HOSP-4711" not in text
    assert json.loads((out / "run.json").read_text())["subject"] == d["image"]["patient"]
