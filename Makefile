# Competition pipelines as make DAGs. `make help` lists the targets.
#
# Override one config value for one run with <config>.<key>=<value>, e.g.
#     make spectra-cnn cnn.epochs_ce=3 cnn.lr=3e-4      make spectra data.on_bad_file=skip
SHELL := /bin/bash
# string hashing (set and dict order of str keys) fixed for every stage: it only counts when set before Python starts
export PYTHONHASHSEED := 0
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.SECONDARY:  # resolved configs and run pointers are intermediate files make must not delete

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
VENV_OK := $(VENV)/.installed
COMP   ?= spectra
# stage outputs (processed arrays, features, runs) go under DATA_DIR; data/raw is never written
DATA_DIR ?= data
SUBMISSIONS_DIR ?= submissions
PYTEST_ARGS ?=

FORCE:
.PHONY: FORCE help venv test test-fast compare clean-sample new-competition

empty :=
space := $(empty) $(empty)
comma := ,
# `--set KEY=VALUE` for every command-line variable named <config>.<key>
sets = $(foreach v,$(filter $(1).%,$(.VARIABLES)),$(if $(filter command line,$(origin $(v))),--set '$(patsubst $(1).%,%,$(v))=$($(v))'))

help:  ## list the targets
	@echo "Quick start:  make spectra         (LAMOST spectra end to end; generated sample when data/raw/spectra/ is empty)"
	@echo "              make nl2sql-submit  (Chinese NL2SQL end to end; generated sample when data/raw/nl2sql/ is empty)"
	@echo "              make qa-submit      (DGCNN reading comprehension end to end; generated sample when data/raw/qa/ is empty)"
	@echo "              make cail-submit    (CAIL2019 element recognition, ZLPR vs BCE; generated sample when data/raw/cail2019/ is empty)"
	@echo "              make test      (test suite)"
	@echo
	@grep -hE '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-22s %s\n", $$1, $$2}'

$(VENV_OK): requirements.txt pyproject.toml
	@echo "[setup] creating $(VENV) with $(PYTHON) and installing the pinned dependencies (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

venv: $(VENV_OK)  ## create .venv with the pinned dependencies

test: $(VENV_OK)  ## run the test suite (real-data tests skip when ../shared is absent)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV_OK)  ## the tests that train no real models
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

new-competition: $(VENV_OK)  ## start a fifth competition from a working tabular one: make new-competition NAME=<name>
	@$(PY) -m kexue.core.scaffold "$(NAME)"

compare: $(VENV_OK)  ## CV logs of all runs side by side, best first, plus a PNG (COMP=spectra)
	@$(PY) -m kexue.core.compare $(COMP) --runs $(DATA_DIR)/runs

# ---- hyper-parameter search (kexue.core.tune): an Optuna study over the folds the models train on
MODEL        ?=
TRIALS       ?= 20
TUNE_STORAGE ?=
TUNE_HOLDOUT ?= last
TUNE = $(PY) -m kexue.core.tune --trials $(TRIALS) --holdout $(TUNE_HOLDOUT) $(if $(TUNE_STORAGE),--storage '$(TUNE_STORAGE)')
.PHONY: tune tune-check
tune: $(COMP)-tune  ## Optuna study of a config's tune: section, e.g. make tune COMP=spectra MODEL=lgbm TRIALS=30
tune-check: | $(VENV_OK)
	@if [ -z "$(MODEL)" ] || [ ! -f $(TUNE_CFG)/$(MODEL).yaml ]; then \
	  echo "error: make tune needs MODEL=<config> with a tune: section; in $(TUNE_CFG): $$(grep -l '^tune:' $(TUNE_CFG)/*.yaml 2>/dev/null | xargs -rn1 basename | sed 's/.yaml//' | tr '\n' ' ')" >&2; exit 2; fi

include mk/cv.mk
include mk/spectra.mk
include mk/nl2sql.mk
include mk/qa.mk
include mk/cail.mk
