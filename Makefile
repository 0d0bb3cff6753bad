# Two commands: `make demo` and `make test`. Both set up .venv when needed (idempotent: a stamp
# file records the installed requirements, so a second run takes seconds).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export CSA_DATA_ROOT ?= data
# 2-core machines: one intra-op thread per process keeps the test workers from thrashing.
export OMP_NUM_THREADS ?= 2

.PHONY: setup demo test bench lint clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Generate the synthetic benchmark (reused when present), train and test every suite on it, and
# regenerate the leaderboard. The CSA ablation and its untrained reference run 3 seeds (mean ± std
# in the tables); the other baselines one.
demo: setup
	$(PY) -m csa_bench data synth --format lpr4m --size small --out $(CSA_DATA_ROOT)/synthetic-lpr4m
	$(PY) -m csa_bench data synth --format movingfashion --size small --out $(CSA_DATA_ROOT)/synthetic-movingfashion
	$(PY) -m csa_bench reproduce --suite csa-ablation --dataset synthetic --seeds 3 --jobs 2 --force --no-leaderboard
	$(PY) -m csa_bench reproduce --suite baselines --dataset synthetic --jobs 2 --force --no-leaderboard
	$(PY) -m csa_bench reproduce --suite baselines --only 'clip-zeroshot*' --dataset synthetic --seeds 3 --jobs 2 --force

# The whole test suite; benchmarks are excluded by marker (run them with `make bench`).
test: setup
	$(PY) -m pytest -q -m "not benchmark"

bench: setup
	$(PY) -m pytest -q -m benchmark --benchmark-only

lint: setup
	$(VENV)/bin/ruff check csa_bench plugins baselines leaderboard tests

clean-venv:
	rm -rf $(VENV)
