"""Writing benchmark results into BENCHMARKS.md, one marked section per benchmark, with date/machine/command."""

from __future__ import annotations

import platform
import re
import shlex
import sys
import time
from pathlib import Path


def default_benchmarks_file() -> Path:
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "pyproject.toml").exists():
            return candidate / "BENCHMARKS.md"
    return here / "BENCHMARKS.md"


def machine_line() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


def update_section(name: str, body: str, path: Path | None = None, command: str | None = None) -> Path:
    """Replace (or append) the section ``name`` of BENCHMARKS.md; other sections are left untouched."""
    path = path or default_benchmarks_file()
    cmd = command or " ".join(shlex.quote(a) for a in ["genmed", *sys.argv[1:]])
    header = (
        f"<!-- bench:{name}:start -->\n"
        f"_Measured {time.strftime('%Y-%m-%d')} on {machine_line()}; command: `{cmd}`_\n\n"
    )
    block = header + body.strip() + f"\n<!-- bench:{name}:end -->"
    text = path.read_text() if path.exists() else "# genmed benchmarks\n\nNumbers written by `genmed bench …`.\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path
