"""`genmed service key …`: keys are printed once, listed without secrets, revoked; bad roles exit non-zero."""

import json


def test_key_add_list_revoke(tmp_path, run_genmed):
    from genmed.service import KeyStore

    keys = str(tmp_path / "keys.json")
    code, out, _ = run_genmed(["service", "key", "add", "ward 7 pharmacy", "--role", "pharmacist", "--keys", keys,
                            "--json"])
    assert code == 0
    made = json.loads(out)
    assert KeyStore(keys).authenticate(made["key"]).name == "ward 7 pharmacy"
    code, out, _ = run_genmed(["service", "key", "list", "--keys", keys, "--json"])
    rows = json.loads(out)
    assert code == 0 and rows[0]["key_id"] == made["key_id"] and made["key"] not in out and rows[0]["sha256"] is None
    code, out, _ = run_genmed(["service", "key", "revoke", made["key_id"], "--keys", keys])
    assert code == 0 and "revoked" in out
    code, _, err = run_genmed(["service", "key", "add", "x", "--role", "root", "--keys", keys])
    assert code == 2 and "unknown role 'root'" in err
    code, _, err = run_genmed(["service", "key", "revoke", "deadbeef", "--keys", keys])
    assert code == 2 and "no API key" in err
