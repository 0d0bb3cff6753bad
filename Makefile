# Main commands: `make demo` and `make test` (README: Demo, Reproducibility); both set up .venv when needed
# (idempotent: a stamp file records the installed requirements, so a second run takes seconds).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export CSA_DATA_ROOT ?= data
# 2-core machines: one intra-op thread per process keeps the test workers from thrashing.
export OMP_NUM_THREADS ?= 2

# Where `make demo` and `make demo-baselines` write (results, work dirs, LEADERBOARD.md, figures); ignored by git.
DEMO_OUT ?= demo_out
# Extra flags for `make leaderboard` (e.g. LEADERBOARD_FLAGS=--force to re-run rows whose results are current).
LEADERBOARD_FLAGS ?=
SYNTH := $(PY) -m csa_bench data synth --size small
REPRODUCE := $(PY) -m csa_bench reproduce --dataset synthetic --seeds 3 --jobs 2

.PHONY: setup synthetic-data synthetic-lpr4m demo demo-movingfashion demo-baselines leaderboard verify test bench lint clean-venv

setup: $(STAMP)

# The last install is the worked external plugin (docs/plugin_authoring.md), installed as a user would.
$(STAMP): requirements.txt pyproject.toml examples/csa_bench_maxpool/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e examples/csa_bench_maxpool
	touch $(STAMP)

# The synthetic benchmark under $(CSA_DATA_ROOT) (reused when present and current); both formats at once.
synthetic-data: setup
	$(SYNTH) --format lpr4m --out $(CSA_DATA_ROOT)/synthetic-lpr4m & lpr=$$!; \
	$(SYNTH) --format movingfashion --out $(CSA_DATA_ROOT)/synthetic-movingfashion & mf=$$!; \
	wait $$lpr; a=$$?; wait $$mf; b=$$?; test $$a -eq 0 && test $$b -eq 0

synthetic-lpr4m: setup
	$(SYNTH) --format lpr4m --out $(CSA_DATA_ROOT)/synthetic-lpr4m

# The CSA ablation (ICL, +PMD, +PFR) and its untrained reference (the same encoder, zero-shot) on the
# synthetic LPR4M benchmark, 3 seeds each, in one job pool, into $(DEMO_OUT)/ only: the checkout stays
# clean. One dataset keeps it within 15 minutes on 2 cores; demo-movingfashion adds the other.
demo: synthetic-lpr4m
	$(REPRODUCE) --suite all --only 'rice-*_synthetic-lpr4m' 'clip-zeroshot*_synthetic-lpr4m' --force \
		--results $(DEMO_OUT)/results --work-dir $(DEMO_OUT)/work_dirs --leaderboard-out $(DEMO_OUT)/LEADERBOARD.md

# The same ablation and reference on the synthetic MovingFashion benchmark, added to the demo's folder.
demo-movingfashion: synthetic-data
	$(REPRODUCE) --suite all --only 'rice-*_synthetic-movingfashion' 'clip-zeroshot*_synthetic-movingfashion' \
		--force --results $(DEMO_OUT)/results --work-dir $(DEMO_OUT)/work_dirs \
		--leaderboard-out $(DEMO_OUT)/LEADERBOARD.md

# Every baseline, 3 seeds, added to the demo's folder and leaderboard (about 25 more minutes on 2 cores).
demo-baselines: synthetic-data
	$(REPRODUCE) --suite baselines --force --results $(DEMO_OUT)/results --work-dir $(DEMO_OUT)/work_dirs \
		--leaderboard-out $(DEMO_OUT)/LEADERBOARD.md

# Maintainers: (re)run every synthetic row (3 seeds) into leaderboard/results (runs whose result is current
# are skipped) and regenerate leaderboard/LEADERBOARD.md, its figures and the README block.
leaderboard: synthetic-data
	$(REPRODUCE) --suite csa-ablation $(LEADERBOARD_FLAGS) --results leaderboard/results \
		--work-dir work_dirs/reproduce --leaderboard-out leaderboard/LEADERBOARD.md --no-leaderboard
	$(REPRODUCE) --suite baselines $(LEADERBOARD_FLAGS) --results leaderboard/results \
		--work-dir work_dirs/reproduce --leaderboard-out leaderboard/LEADERBOARD.md

# Re-run the committed synthetic rows into $(DEMO_OUT)/verify and check each against its committed interval.
verify: synthetic-data
	$(PY) -m csa_bench reproduce --suite all --dataset synthetic --jobs 2 --results leaderboard/results \
		--verify --verify-out $(DEMO_OUT)/verify

# The whole test suite; benchmarks are excluded by marker (run them with `make bench`). One pytest worker
# per core (pytest-xdist), one torch thread each, so the workers never oversubscribe the cores.
TEST_WORKERS ?= 2
test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not benchmark" -n $(TEST_WORKERS)

bench: setup
	$(PY) -m pytest -q -m benchmark --benchmark-only

lint: setup
	$(VENV)/bin/ruff check csa_bench plugins baselines leaderboard tests

clean-venv:
	rm -rf $(VENV)
