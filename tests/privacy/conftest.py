"""Fixtures for the privacy tests: run the real `genmed` entry point in-process."""

from __future__ import annotations

import pytest


class _Result:
    def __init__(self, exit_code, stdout, stderr):
        self.exit_code, self.stdout, self.output = exit_code, stdout, stdout + stderr


def _cli(args):
    """Run through genmed's real entry point, so GenmedErrors map to their exit codes."""
    import contextlib
    import io

    from genmed.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return _Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return _cli
