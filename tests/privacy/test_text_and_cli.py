"""Free-text scrubber recognizers, key handling, and the audit CLI's exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from genmed.core.errors import InputError
from genmed.privacy import record_access
from genmed.privacy.fhir_deid import load_key
from genmed.privacy.text import TextScrubber


@pytest.mark.parametrize("text,gone", [
    ("call (617) 555-0123 today", "555-0123"), ("mail maria.g@example.org", "maria.g@"),
    ("SSN 123-45-6789", "123-45-6789"), ("MRN: A1234567", "A1234567"), ("seen on 03/14/2019", "03/14/2019"),
    ("seen on March 14, 2019", "March 14"), ("admitted 2019-03-14T10:00:00Z", "2019-03-14"),
    ("see https://portal.example.org/p/9", "portal.example.org"), ("from 10.1.2.3", "10.1.2.3"),
    ("Boston, MA 02118-1234", "02118"), ("a 94-year-old woman", "94-year"),
])
def test_recognizers(text, gone):
    out = TextScrubber(use_ner=False).scrub(text)
    assert gone not in out


def test_clinical_text_untouched():
    s = TextScrubber(use_ner=False)
    text = "Warfarin 5 MG Oral Tablet; INR 2.4; Hemoglobin A1c/Hemoglobin.total in Blood 6.1 %"
    assert s.scrub(text) == text


def test_known_values_and_xhtml_stay_well_formed():
    s = TextScrubber(["Maria", "Gonzalez", "Springfield"], use_ner=False)
    div = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Maria Gonzalez of Springfield</p><b>INR 2.4</b></div>'
    out = s.scrub_xhtml(div)
    assert "Maria" not in out and "Gonzalez" not in out and "INR 2.4" in out
    ET.fromstring(out)  # still XML
    assert s.counts["known_value"] == 3
    assert "NOT searched" in s.names_searched


def test_key_file_rules(tmp_path, cli):
    with pytest.raises(InputError, match="not found"):
        load_key(tmp_path / "missing")
    short = tmp_path / "short.key"
    short.write_text("abc")
    with pytest.raises(InputError, match="fewer than 16"):
        load_key(short)
    r = cli(["privacy", "keygen", "--out", str(tmp_path / "k.key")])
    assert r.exit_code == 0 and (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    assert len(load_key(tmp_path / "k.key")[0]) == 64
    r = cli(["privacy", "keygen", "--out", str(tmp_path / "k.key")])
    assert r.exit_code == 2  # never overwrites a key


def test_audit_cli_verify_and_export(tmp_path, cli):
    log = tmp_path / "a.jsonl"
    for i in range(3):
        record_access("svc", "service", "read", f"pt-{i}", "treatment", "success", log_path=log)
    r = cli(["privacy", "audit", "verify", str(log), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["ok"]
    r = cli(["privacy", "audit", "export", str(log), "--out", str(tmp_path / "ae.json")])
    assert r.exit_code == 0
    assert json.loads((tmp_path / "ae.json").read_text())["entry"][0]["resource"]["resourceType"] == "AuditEvent"
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], lines[2], lines[1]]) + "\n")
    r = cli(["privacy", "audit", "verify", str(log)])
    assert r.exit_code == 1 and "line 2" in r.stdout
    r = cli(["privacy", "audit", "verify", str(tmp_path / "none.jsonl")])
    assert r.exit_code == 2
