"""`genmed service key …`: keys are printed once, listed without secrets, revoked; bad roles exit non-zero."""

import json

import pytest

from genmed.cli.main import main


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_key_add_list_revoke(tmp_path, capsys):
    from genmed.service import KeyStore

    keys = str(tmp_path / "keys.json")
    code, out, _ = run_cli(["service", "key", "add", "ward 7 pharmacy", "--role", "pharmacist", "--keys", keys,
                            "--json"], capsys)
    assert code == 0
    made = json.loads(out)
    assert KeyStore(keys).authenticate(made["key"]).name == "ward 7 pharmacy"
    code, out, _ = run_cli(["service", "key", "list", "--keys", keys, "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and rows[0]["key_id"] == made["key_id"] and made["key"] not in out and rows[0]["sha256"] is None
    code, out, _ = run_cli(["service", "key", "revoke", made["key_id"], "--keys", keys], capsys)
    assert code == 0 and "revoked" in out
    code, _, err = run_cli(["service", "key", "add", "x", "--role", "root", "--keys", keys], capsys)
    assert code == 2 and "unknown role 'root'" in err
    code, _, err = run_cli(["service", "key", "revoke", "deadbeef", "--keys", keys], capsys)
    assert code == 2 and "no API key" in err
