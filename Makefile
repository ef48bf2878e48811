# Everything runs from a fresh clone with only Python 3.11, make and git.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-million bench-fetch bytecode clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

# Compiled bytecode for the package, written even where PYTHONDONTWRITEBYTECODE is set (as
# on the development machines): without it every run compiles 12,000 lines first.
bytecode:
	@$(BIN)/python -m compileall -q harborguard

# The main job on the embedded example: the Toolforge incident of February 2024. A
# toolforge-deploy checkout is built (.demo/) whose history moves builds-api to 0.0.131,
# and the cluster (examples/cluster-kubectl.json) still runs 0.0.130.
# Exit 1 means "findings at or above --fail-on"; the demo shows them rather than failing.
demo: $(STAMP)
	@sh examples/build-deploy-repo.sh .demo/toolforge-deploy
	@echo
	@echo "Toolforge, February 2024: builds-api 0.0.131 is merged to toolforge-deploy but not"
	@echo "deployed; the cluster still runs 0.0.130. Harbor's policy keeps the 10 most recently"
	@echo "pushed artifacts, and a migration re-pushed old versions last. What will it delete?"
	@echo
	$(BIN)/harborguard check --snapshot examples/toolforge-snapshot.json \
		--manifests .demo/toolforge-deploy --environment tools \
		--image-tag-template '{version}_image' \
		--kubectl-json examples/cluster-kubectl.json --format table --dedup \
		|| [ $$? -eq 1 ]
	@echo
	@echo "And the question nobody asked in time: what is merged but not deployed?"
	@echo
	$(BIN)/harborguard drift --manifests .demo/toolforge-deploy --environment tools \
		--image-tag-template '{version}_image' \
		--kubectl-json examples/cluster-kubectl.json --format table \
		|| [ $$? -eq 1 ]

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check harborguard tests benchmarks examples
	$(BIN)/mypy --strict harborguard

bench: $(STAMP) bytecode
	$(BIN)/python benchmarks/bench_simulate.py
	$(BIN)/python benchmarks/bench_check.py
	$(BIN)/python benchmarks/bench_commands.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_dedup.py

# simulate at 1,000,000 artifacts (1,000 repositories of 1,000; then 10,000 of 100), the
# whole process beside json.load of the same file (366 MB; its report is 3.6 GB): about
# 15 minutes and 5 GB of disk (BENCH_DIR, default the temporary directory).
bench-million: $(STAMP) bytecode
	BENCH_REPOS=1000 BENCH_PER_REPO=1000 BENCH_PROCESS_ONLY=1 BENCH_ALSO_REPOS=10000 \
		$(BIN)/python benchmarks/bench_simulate.py

# Fetching a 500-project, 5,000-repository instance from the fake Harbor (20 ms per request).
bench-fetch: $(STAMP)
	$(BIN)/python benchmarks/bench_fetch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
