# Soloist: `make demo` sets up and serves the demo workspace; `make test` sets up and runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_WORKSPACE ?= demo-workspace
DEMO_PORT ?= 8000
# The demo's owner login (a local demo only; override with make demo DEMO_PASSWORD=…).
DEMO_PASSWORD ?= soloist-demo-password
ARTIFACTS := test-artifacts

.PHONY: demo test lint types pytest clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Soloist needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_WORKSPACE)
	SOLOIST_DEMO_PASSWORD='$(DEMO_PASSWORD)' $(BIN)/soloist demo --workspace $(DEMO_WORKSPACE)
	$(BIN)/soloist analyze --workspace $(DEMO_WORKSPACE)
	@echo "Open http://127.0.0.1:$(DEMO_PORT)/ and sign in as owner@example.com / $(DEMO_PASSWORD)"
	$(BIN)/soloist serve --workspace $(DEMO_WORKSPACE) --host 127.0.0.1 --port $(DEMO_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

# pytest exit status 5 means no tests were collected: that is a failure, never a pass.
pytest: $(STAMP)
	mkdir -p $(ARTIFACTS)
	$(BIN)/python -m pytest -n 2 --dist worksteal --junitxml=$(ARTIFACTS)/junit.xml; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: lint types pytest

clean:
	rm -rf $(VENV) $(ARTIFACTS) $(DEMO_WORKSPACE)
