import json
import logging

import pytest

from genmed.core.errors import ConfigError, GenmedError, InputError
from genmed.core.logging import PHIScrubFilter, register_identifier, scrub
from genmed.core.provenance import run_directory
from genmed.core.registry import Registry
from genmed.core.storage import list_runs


def test_error_message_names_source_and_hint():
    err = InputError("bad value", source="x.vcf", hint="fix it")
    assert str(err) == "x.vcf: bad value (fix it)"
    assert err.exit_code == 2
    assert err.to_problem()["status"] == 422


def test_registry_unknown_name_lists_known():
    reg: Registry[int] = Registry("component")
    reg.add("qed", 1)
    with pytest.raises(ConfigError, match="known: qed"):
        reg.get("sa")
    with pytest.raises(ValueError):
        reg.add("qed", 2)


def test_scrub_replaces_registered_identifiers_and_patterns():
    alias = register_identifier("Maria Testperson")
    text = scrub("patient Maria Testperson, maria@example.org, 555-867-5309, 123-45-6789, born 1961-04-02")
    assert "Maria" not in text and alias in text
    for leaked in ("maria@example.org", "867-5309", "123-45-6789", "1961-04-02"):
        assert leaked not in text


def test_log_records_are_scrubbed(caplog):
    register_identifier("MRN-0099887")
    logger = logging.getLogger("genmed.test")
    handler = logging.StreamHandler()
    handler.addFilter(PHIScrubFilter())
    record = logger.makeRecord("genmed.test", logging.INFO, __file__, 1, "reading %s", ("MRN-0099887",), None)
    handler.filter(record)
    assert "MRN-0099887" not in record.getMessage()


def test_run_directory_writes_provenance_and_store(tmp_path):
    with run_directory("unit", out=tmp_path / "r", config={"a": 1}, seed=7, subject="pt-123") as run, \
            run.timed("work"):
        run.summary = {"ok": True}
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["status"] == "succeeded" and doc["seed"] == 7 and doc["config"] == {"a": 1}
    assert "work" in doc["timings_s"] and doc["versions"]["genmed"]
    runs = list_runs("unit")
    assert runs and runs[0]["subject"] == "pt-123"


def test_run_directory_records_failure(tmp_path):
    with pytest.raises(GenmedError), run_directory("unit", out=tmp_path / "f"):
        raise InputError("broken input")
    assert json.loads((tmp_path / "f" / "run.json").read_text())["status"] == "failed"


def test_cli_runs_list_and_show(tmp_path):
    import json as _json

    from typer.testing import CliRunner

    from genmed.cli.main import build_app

    with run_directory("unit-cli", out=tmp_path / "c", config={}) as run:
        run_id = run.run_id
    runner = CliRunner()
    res = runner.invoke(build_app("runs"), ["runs", "list", "--json", "--kind", "unit-cli"])
    assert res.exit_code == 0 and _json.loads(res.stdout)[0]["run_id"] == run_id
    res = runner.invoke(build_app("runs"), ["runs", "show", run_id, "--json"])
    assert res.exit_code == 0 and _json.loads(res.stdout)["run_json"]["status"] == "succeeded"


def test_cli_help_is_light():
    """`genmed --help` must not import torch, RDKit or admet-ai (start-up < 1 s)."""
    import subprocess
    import sys

    code = ("import sys; from genmed.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'rdkit', 'admet_ai', 'sksurv', 'monai') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "HEAVY []" in out


def test_data_fetch_unknown_dataset_is_a_clear_error(capsys):
    from genmed.cli.main import main

    for verb in ("fetch", "download"):
        with pytest.raises(SystemExit) as exc:
            main(["data", verb, "no-such-dataset"])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "unknown data set 'no-such-dataset'" in err and "known:" in err
