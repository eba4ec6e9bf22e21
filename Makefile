# Two commands on a fresh machine:  `make demo`  and  `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint setup system-deps clean

setup: $(STAMP)

# System packages some components need (openbabel for docking). Installed only when we are root and apt exists.
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null && ! command -v obabel >/dev/null; then \
		(apt-get install -y -qq openbabel >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq openbabel >/dev/null)) \
		|| echo "warning: could not install openbabel (docking disabled)"; fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	# molsets (MOSES data files), dockstring, guacamol (test oracle reference): declared deps are broken/unneeded, see ../shared/STACK.md
	$(PY) -m pip install -q -c constraints.txt --no-deps molsets dockstring guacamol==0.5.5
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/genmed demo --out runs/demo

test: $(STAMP)
	$(VENV)/bin/pytest -q

test-all: $(STAMP)
	$(VENV)/bin/pytest -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
