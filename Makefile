# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AWS_VENV := .venv-aws
AWS_STAMP := $(AWS_VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PORT ?= 8000

.PHONY: install run demo test lint fuzz bench package deploy clean

install: $(STAMP) $(AWS_STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The embedded AWS (ministack) pins its own botocore: it gets a virtual environment of its own.
$(AWS_STAMP): requirements-aws.txt
	@test -x $(AWS_VENV)/bin/python || $(PYTHON) -m venv $(AWS_VENV)
	$(AWS_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-aws.txt
	@touch $(AWS_STAMP)

# checkov, for make test's check of the packaged template: a virtual environment of its own.
$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

run: install
	$(BIN)/leadflow run --port $(PORT) $(if $(FRESH),--fresh) $(if $(DEMO),--demo)

# The stack with 60 days of leads, emails and deals played first (docs/reports.md).
demo: install
	$(BIN)/leadflow run --port $(PORT) $(if $(FRESH),--fresh) --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# The three virtual environments are independent: a fresh machine installs them side by side.
test:
	@$(MAKE) --no-print-directory -j3 $(STAMP) $(AWS_STAMP) $(CHECKOV_STAMP)
	@$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -n $(or $(JOBS),2) --dist loadfile

# The API against chalicelib/api/openapi.yaml with more examples than make test's quick run.
fuzz: install
	LEADFLOW_FUZZ_EXAMPLES=$(or $(EXAMPLES),100) $(BIN)/python -m pytest tests/e2e/test_api_contract.py -q

# Every bench but the half-hour soak (bench/soak.py), then one table of every target and
# bench/results.json (bench/all.py); exits 1 when any target is missed. `make bench ONLY=cost`.
# Node's mjml, pinned, for bench/render.py's compile-per-send comparison (skipped without npm).
bench/node_modules/.installed: bench/package.json bench/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix bench --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: bench/render.py skips the MJML comparison"; fi

bench: install bench/node_modules/.installed
	$(BIN)/python bench/all.py $(ONLY)

# `make package STAGE=prod`; infra/deploy.sh uploads and deploys the result.
package: install
	$(BIN)/python -m infra.package build/package --stage $(or $(STAGE),dev)

# `make deploy STAGE=prod BUCKET=my-artifacts`: package, upload and deploy (docs/deployment.md).
deploy: install
	@test -n "$(BUCKET)" || { echo "make deploy needs BUCKET=<an S3 bucket for the code zip>"; exit 2; }
	infra/deploy.sh $(or $(STAGE),dev) $(BUCKET)

clean:
	rm -rf $(VENV) $(AWS_VENV) $(CHECKOV_VENV) build .leadflow .pytest_cache .ruff_cache
