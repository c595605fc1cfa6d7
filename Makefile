# ncl_landscape: `make figures` regenerates the paper's figures, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JAX_EXTRA ?=
# PROFILE: quick on a CPU, paper where JAX sees a GPU or TPU, unless set. Each experiment's
# seconds go to $(OUT)/timings.tsv, which the progress line's ETA reads (experiments/eta.py).
# FORCE=1 replaces complete results of another configuration (else they are kept).
OUT ?= results
FORCE ?=
# The experiments, from their declarations (experiments/registry.py), read when a recipe runs.
EXPERIMENTS ?= $(shell $(PY) -m experiments.registry)
EXPERIMENTS_PAPER ?= $(shell $(PY) -m experiments.registry --paper)

.PHONY: install test figures reference reports bench sensitivity clean clean-cache

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev$(if $(JAX_EXTRA),$(comma)$(JAX_EXTRA))]'

comma := ,

# JAX_EXTRA=cuda12 installs the extra into an existing .venv too.
install: $(PY)
	$(if $(JAX_EXTRA),$(PY) -m pip install --quiet -e '.[dev$(comma)$(JAX_EXTRA)]')
	@$(PY) -c "import jax; print('jax', jax.__version__, 'backend', jax.default_backend())"

test: install
	$(PY) -m pytest -n auto --dist loadfile tests

figures: install
	@profile=$${PROFILE:-$$($(PY) -c "import jax; print('quick' if jax.default_backend() == 'cpu' else 'paper')")}; \
	echo "profile: $$profile"; \
	exps="$(strip $(EXPERIMENTS))"; n=$$(echo $$exps | wc -w); start=$$(date +%s); mkdir -p $(OUT); \
	for e in $$exps; do \
	  $(PY) -m experiments.eta --profile=$$profile --experiments=$$(echo $$exps | tr ' ' ',') \
	    --next=$$e --elapsed=$$(( $$(date +%s) - start )) --out_dir=$(OUT); \
	  began=$$(date +%s); \
	  $(PY) -m experiments.$$e --profile=$$profile --out_dir=$(OUT) $(if $(FORCE),--force) || exit 1; \
	  echo "$$profile $$e $$(( $$(date +%s) - began ))" >> $(OUT)/timings.tsv; \
	done; \
	echo "all $$n experiments in $$(( $$(date +%s) - start )) s"; \
	$(PY) -m experiments.report --out_dir=$(OUT)

# The shipped references, reference/$(REFERENCE_PROFILE): paper (the paper's experiments),
# long (the atlas and the rescue map, 2000 epochs) or quick (the same two as `make figures`
# trains them on a CPU: what the long profile is read against). Resumable (rerun to
# continue), then its own REPORT.md. A finished experiment's chunks/ are not shipped.
REFERENCE_PROFILE ?= paper
reference: install
	for e in $(if $(filter paper,$(REFERENCE_PROFILE)),$(EXPERIMENTS_PAPER),atlas rescue); do \
	  $(PY) -m experiments.$$e --profile=$(REFERENCE_PROFILE) \
	    --out_dir=reference/$(REFERENCE_PROFILE) || exit 1; \
	  if [ -f reference/$(REFERENCE_PROFILE)/$$e/config.json ]; then \
	    rm -rf reference/$(REFERENCE_PROFILE)/$$e/chunks; fi; \
	done; \
	$(PY) -m experiments.report --shipped
	$(PY) -m experiments.sensitivity --stage=report

# Every shipped reference/*/REPORT.md and README's results table, made from reference/.
reports: install
	$(PY) -m experiments.report --shipped
	$(PY) -m experiments.sensitivity --stage=report

# "What it takes" (reference/sensitivity): each claim the paper profile misses, one choice at a
# time: a 2000-epoch screen, then at paper scale those that moved toward the claim. Resumable:
# rerun to continue.
sensitivity: install
	$(PY) -m experiments.sensitivity --stage=screen
	$(PY) -m experiments.sensitivity --stage=confirm

bench: install
	$(PY) -m experiments.bench --out_dir=$(OUT)

# The binaries' compilation cache (one folder per checkout; --nocompilation_cache bypasses it).
clean-cache:
	rm -rf .cache/jax

clean: clean-cache
	rm -rf $(OUT) figures .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
