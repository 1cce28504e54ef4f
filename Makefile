# Homework 4 of CSCI-UA.473: the handout, the solutions and the grading key, every formula checked by machine.
# `make` sets everything up (a .venv, TeX Live via apt-get when run as root) and builds output/;
# `make test` and `make bench` also make sure bubblewrap, the students' sandbox, is there.
# Tests build copies of the project with `make PY=<their python> SETUP=`, so they never touch .venv.

PYTHON ?= python3
# the homework to build: solutions/ (Homework 4) by default; another package of this folder with
# `make HOMEWORK=<package>` (its templates in <package>/templates/, its outputs in output/<package>/)
HOMEWORK ?= solutions
VENV ?= .venv
PY ?= $(VENV)/bin/python
SETUP ?= $(VENV)/.installed
COMMIT := build/.commit
ifeq ($(wildcard $(HOMEWORK)/__init__.py),)
$(error HOMEWORK=$(HOMEWORK): no $(HOMEWORK)/__init__.py here; a homework is a package of this folder)
endif
# the file names follow the number in the package's IDENTITY (number=4 -> hw4.pdf ...)
NAME := hw$(shell sed -n 's/.*number=\([0-9][0-9]*\).*/\1/p' $(HOMEWORK)/__init__.py | head -n 1)
ifeq ($(HOMEWORK),solutions)
OUT := output
HOMEWORK_TEMPLATES :=
else
OUT := output/$(HOMEWORK)
HOMEWORK_TEMPLATES := $(wildcard $(HOMEWORK)/templates/*.j2)
endif
SOURCES := build.py $(wildcard templates/*.j2 $(HOMEWORK)/*.py verify/*.py pipeline/*.py) $(HOMEWORK_TEMPLATES)
OUTPUTS := $(addprefix $(OUT)/,$(NAME).pdf $(NAME)-solutions.pdf $(NAME)-grading.pdf $(NAME)-starter.py verify-report.json)

.PHONY: all variants verify symbols test test-fast lint bench autograder golden watch clean help FORCE

all: $(OUTPUTS) ## Build the handout, the solutions, the grading key and the check report (default)

$(OUTPUTS) &: $(SOURCES) $(COMMIT) $(SETUP)
	@rm -f $(OUTPUTS)
	@scripts/ensure-tex.sh
	HOMEWORK=$(HOMEWORK) scripts/hold-signals $(PY) build.py

# the commit the documents name: rewritten only when HEAD (or the sources' clean state) changes
$(COMMIT): FORCE
	@scripts/commit-stamp.sh $@

$(VENV)/.installed: pyproject.toml
	@PYTHON=$(PYTHON) scripts/ensure-venv.sh $(VENV)
	@touch $@

variants: $(SETUP) ## A variant per student: make variants ROSTER=roster.csv -> output/variants/, output/variants.csv
	$(if $(ROSTER),,$(error make variants needs ROSTER=<the roster CSV, Gradescope's export>))
	@scripts/ensure-tex.sh
	HOMEWORK=$(HOMEWORK) scripts/hold-signals $(PY) build.py variants --roster $(ROSTER) $(if $(JOBS),--jobs $(JOBS))

verify: $(SETUP) ## Run every check of the homework and print them as a table (exit 5 on a failure)
	HOMEWORK=$(HOMEWORK) scripts/hold-signals $(PY) build.py verify

symbols: $(SETUP) ## What a module may use, read from the code: shared symbols and deductions, Step constructors, formula nodes
	@$(PY) scripts/symbols.py $(HOMEWORK)

test: $(SETUP) ## Run the whole test suite, real LaTeX builds included, on every core
	@scripts/ensure-tex.sh --test
	@scripts/ensure-bwrap.sh
	HYPOTHESIS_PROFILE=full $(PY) -m pytest -n auto --dist loadscope

test-fast: $(SETUP) ## Run the tests that need no LaTeX and start no candidate process, on every core
	$(PY) -m pytest -m "not latex and not sandbox" -n auto

lint: $(SETUP) ## ruff and mypy, configured in pyproject.toml
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: $(SETUP) ## Measure the speed targets and print them as ratios
	@scripts/ensure-tex.sh
	@scripts/ensure-bwrap.sh
	$(PY) bench/run.py

autograder: output/autograder.zip ## Build the Gradescope autograder bundle

output/autograder.zip: $(SOURCES) pyproject.toml autograder/setup.sh autograder/run_autograder scripts/build-autograder.sh
	scripts/build-autograder.sh $@

golden: $(SETUP) ## Rewrite tests/pipeline/golden/<unit>.tex, the displays, after a change of notation or an added unit
	$(PY) -m tests.pipeline.golden

watch: $(SETUP) ## Rebuild whenever a template or a solution changes (Ctrl-C stops)
	@scripts/ensure-tex.sh
	$(PY) build.py watch

clean: ## Remove build/ and output/ (keeps .venv)
	rm -rf build
	find output -mindepth 1 ! -name .gitkeep -delete

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12
