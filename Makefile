# Homework 4: the student handout and its machine-verified solution key.
# `make` sets everything up (a .venv, TeX via apt-get when run as root) and builds output/.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SOURCES := build.py $(wildcard templates/*.j2 solutions/*.py verify/*.py pipeline/*.py)
OUTPUTS := output/hw4.pdf output/hw4-solutions.pdf output/verify-report.json

.PHONY: all verify test bench watch clean help

all: $(OUTPUTS) ## Build the handout, the solution key and the check report (default)

$(OUTPUTS) &: $(SOURCES) $(STAMP)
	@scripts/ensure-tex.sh
	$(PY) build.py

$(STAMP): pyproject.toml
	@PYTHON=$(PYTHON) scripts/ensure-venv.sh $(VENV)
	@touch $@

verify: $(STAMP) ## Run every check of the key and print what was checked (exit 1 on a failure)
	$(PY) -m verify

test: $(STAMP) ## Run the test suite (includes a real LaTeX build)
	@scripts/ensure-tex.sh --test
	$(PY) -m pytest

bench: $(STAMP) ## Measure the speed targets of the issues and print ratios
	@scripts/ensure-tex.sh
	$(PY) bench/run.py

watch: $(STAMP) ## Rebuild whenever a template or a solution changes (Ctrl-C stops)
	@scripts/ensure-tex.sh
	$(PY) build.py watch

clean: ## Remove build/ and output/ (keeps .venv)
	rm -rf build
	find output -mindepth 1 ! -name .gitkeep -delete

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10
