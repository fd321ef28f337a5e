# The TensorFlow and Keras workbook. On a fresh Linux machine with Python 3.11 (3.12 works too; Keras 3.15 needs 3.11 or newer):
#   make lab    create the environment (first run only) and open the course in JupyterLab
#   make test   create the environment (first run only) and run the whole test suite
#   make test-floor  every chapter and exercise notebook on the oldest supported TensorFlow and Keras
# Other targets: make lint, make clean-notebooks, make clean.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# TensorFlow build: gpu where an NVIDIA driver answers, cpu elsewhere. Override: make lab TF_VARIANT=cpu
TF_VARIANT ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
STAMP  := $(VENV)/.installed-$(TF_VARIANT)
# Real offline data subsets (read in place, never copied) where this checkout has them beside it.
SHARED_DATA ?= $(firstword $(wildcard ../shared/data))
LAB_ARGS ?=
PYTEST_ARGS ?=
# Two notebook kernels at a time fit a 2-core, 24 GiB machine; `make test JOBS=0` runs serially.
JOBS ?= 2

# Name for the result files of `make figures`: the GPU's name where an NVIDIA driver answers.
DEVICE ?= $(shell (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo cpu) | head -n 1 | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$$//')

.PHONY: lab test test-floor lint clean-notebooks release-exercises clean env figures

env: $(STAMP)

$(STAMP): requirements/base.txt requirements/$(TF_VARIANT).txt requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 12) else "Python 3.11 or 3.12 is needed, found %d.%d: run make with PYTHON=python3.11" % v)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/$(TF_VARIANT).txt -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(STAMP)
	COURSE_PROFILE=quick COURSE_OFFLINE=1 COURSE_ALLOW_STANDINS=1 TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg \
	$(if $(SHARED_DATA),COURSE_DATA_SUBSETS=$(abspath $(SHARED_DATA))) \
	$(BIN)/python -m pytest $(if $(filter-out 0,$(JOBS)),-n $(JOBS) --dist loadscope) $(PYTEST_ARGS)

# The floor stack (requirements/floor.txt: the oldest TensorFlow and Keras the course supports) in
# its own environment, CPU build; `make test-floor` runs every chapter and exercise notebook on it.
FLOOR_VENV  ?= .venv-floor
FLOOR_STAMP := $(FLOOR_VENV)/.installed-floor

$(FLOOR_STAMP): requirements/floor.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v <= (3, 12) else "Python 3.11 or 3.12 is needed, found %d.%d: run make with PYTHON=python3.11" % v)'
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FLOOR_VENV)/bin/python -m pip install --quiet -r requirements/floor.txt
	$(FLOOR_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

test-floor: $(FLOOR_STAMP)
	COURSE_PROFILE=quick COURSE_OFFLINE=1 COURSE_ALLOW_STANDINS=1 TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg \
	$(if $(SHARED_DATA),COURSE_DATA_SUBSETS=$(abspath $(SHARED_DATA))) \
	$(FLOOR_VENV)/bin/python -m pytest $(if $(filter-out 0,$(JOBS)),-n $(JOBS) --dist loadscope) \
	  notebooks exercises/source $(PYTEST_ARGS)

# The figures benchmarks/README.md asks for, in one command (meant for a GPU machine with the
# complete data sets): the device report, the training benchmark, the chapters' full profiles.
figures: $(STAMP)
	$(BIN)/course doctor
	TF_CPP_MIN_LOG_LEVEL=3 $(BIN)/python benchmarks/train_benchmark.py --repeats 3 \
	  --json benchmarks/results/$(DEVICE).json
	TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg $(BIN)/python benchmarks/full_profile.py \
	  --chapters 03 04 08 09 10 --json benchmarks/results/full-profile-$(DEVICE).json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/course nb check notebooks/*.ipynb

clean-notebooks: $(STAMP)
	$(BIN)/course nb clean notebooks/*.ipynb

# Student versions of the exercises (exercises/source -> exercises/release), made by nbgrader.
release-exercises: $(STAMP)
	$(BIN)/python -m course_lib.grading.release

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache .ruff_cache test-artifacts
