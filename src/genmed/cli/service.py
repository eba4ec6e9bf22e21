"""`genmed service`: run the REST API and manage its API keys."""

from __future__ import annotations

from pathlib import Path

import typer

from genmed.cli._common import emit

app = typer.Typer(help="The REST API: serve it, and make or revoke its API keys.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (shown once; only their SHA-256 is stored).", no_args_is_help=True)
app.add_typer(key_app, name="key")

KEYS_HELP = "API key store (default: $GENMED_HOME/service/api_keys.json)."


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (put TLS in front for anything but localhost)."),
    port: int = typer.Option(8000, help="TCP port."),
    store: Path = typer.Option(None, help="Where plans are kept (default: $GENMED_HOME/service)."),
    keys: Path = typer.Option(None, help=KEYS_HELP),
    deid_key_file: Path = typer.Option(None, help="Secret for de-identification pseudonyms and date shifts."),
) -> None:
    """Serve the API (OpenAPI docs at /docs). Every patient-data request needs a key and X-Purpose-Of-Use."""
    import uvicorn

    from genmed.service import KeyStore, create_app

    if not KeyStore(keys).load():
        typer.secho("no API keys yet: every request except /health will be refused; make one with "
                    "`genmed service key add NAME --role clinician`", fg=typer.colors.YELLOW, err=True)
    uvicorn.run(create_app(store_dir=store, keys_path=keys, deid_key_file=deid_key_file), host=host, port=port,
                log_level="info", access_log=False)  # uvicorn's access log would write URLs; ours is audited


@key_app.command("add")
def key_add(
    name: str = typer.Argument(..., help="Who holds the key (a person or a system)."),
    role: str = typer.Option(..., help="clinician, pharmacist, data-steward or auditor."),
    keys: Path = typer.Option(None, help=KEYS_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make a key; the key itself is printed once and never stored."""
    from genmed.service import KeyStore

    record, secret = KeyStore(keys).add(name, role)
    emit({"key_id": record.key_id, "name": record.name, "role": record.role, "key": secret}, as_json,
         f"key {record.key_id} for {record.name} ({record.role}):\n{secret}\nstore it now: it is not shown again")


@key_app.command("list")
def key_list(keys: Path = typer.Option(None, help=KEYS_HELP), as_json: bool = typer.Option(False, "--json")) -> None:
    """List keys (ids, holders, roles; never the keys)."""
    from dataclasses import asdict

    from genmed.service import KeyStore

    rows = [asdict(k) | {"sha256": None} for k in KeyStore(keys).load()]
    emit(rows, as_json, "\n".join(f"{r['key_id']}  {r['role']:<13} {r['name']}  created {r['created']}"
                                  + ("  REVOKED" if r["revoked"] else "") for r in rows) or "no keys")


@key_app.command("revoke")
def key_revoke(key_id: str = typer.Argument(...), keys: Path = typer.Option(None, help=KEYS_HELP)) -> None:
    """Revoke a key: later requests with it get 401."""
    from genmed.service import KeyStore

    k = KeyStore(keys).revoke(key_id)
    typer.echo(f"revoked {k.key_id} ({k.name})")
