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


def update_section(name: str, body: str, path: Path | None = None, command: str | None = None,
                   measured: str | None = None, machine: str | None = None) -> Path:
    """Replace (or append) the section ``name`` of BENCHMARKS.md; other sections are left untouched.

    ``measured``/``machine``: when the numbers were measured earlier (a section re-rendered from saved results),
    their own date and machine; otherwise today and this machine."""
    path = path or default_benchmarks_file()
    cmd = command or " ".join(shlex.quote(a) for a in ["genmed", *sys.argv[1:]])
    header = (
        f"<!-- bench:{name}:start -->\n"
        f"_Measured {measured or time.strftime('%Y-%m-%d')} on {machine or machine_line()}; command: `{cmd}`_\n\n"
    )
    block = header + body.strip() + f"\n<!-- bench:{name}:end -->"
    text = path.read_text() if path.exists() else "# genmed benchmarks\n\nNumbers written by `genmed bench …`.\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)}:start -->.*?<!-- bench:{re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(with_index(text))
    return path


# section-name prefix -> capability, in the order a reader meets them (the flow of a patient through genmed)
CAPABILITIES = (
    ("pgx", "Pharmacogenomics"), ("response", "Treatment response"), ("imaging", "Imaging"),
    ("omics", "Omics"), ("moses", "Chemical language model"), ("prior", "Chemical language model"),
    ("design", "Molecule design"), ("privacy", "Privacy"),
)
_SECTION = re.compile(r"<!-- bench:([^:]+):start -->\n_Measured (\S+)[^\n]*\n(.*?)<!-- bench:\1:end -->", re.S)
_INDEX = re.compile(r"<!-- bench-index:start -->.*?<!-- bench-index:end -->\n*", re.S)


def _title(body: str, name: str) -> str:
    """A section's first heading, else the first clause of its first line (at most 100 characters)."""
    for ln in body.splitlines():
        if ln.startswith("#"):
            return ln.lstrip("# ").strip()
    first = next((ln.strip() for ln in body.splitlines() if ln.strip()), name)
    first = re.split(r"(?<=\S)\. (?=[A-Z])", first)[0].rstrip(".")
    return first if len(first) <= 100 else first[:99].rsplit(" ", 1)[0] + " …"


def with_index(text: str) -> str:
    """``text`` with a contents table after the title: every section grouped by capability, with its heading and
    date (sections stay where they were written)."""
    rows: dict[str, list[str]] = {}
    for name, date, body in _SECTION.findall(text):
        cap = next((label for prefix, label in CAPABILITIES if name.startswith(prefix)), "Other")
        rows.setdefault(cap, []).append(f"| {cap} | {_title(body, name)} | `{name}` | {date} |")
    order = [label for _, label in CAPABILITIES] + ["Other"]
    lines = ["<!-- bench-index:start -->", "## Contents", "",
             "Generated from the sections below, grouped by capability (sections keep their place in the file; each "
             "states its targets and whether they are met).", "",
             "| capability | section | name | measured |", "|---|---|---|---|"]
    for cap in dict.fromkeys(order):
        lines += rows.get(cap, [])
    lines += ["<!-- bench-index:end -->", ""]
    index = "\n".join(lines) + "\n"
    text = _INDEX.sub("", text)
    first = text.find("<!-- bench:")
    return text + "\n" + index if first < 0 else text[:first] + index + text[first:]
