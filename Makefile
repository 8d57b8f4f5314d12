# Two commands matter: `make run` and `make test`. Both set up .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.example.toml
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck unit bench check clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

## run: set up and start the bot (the console when no platform tokens are set)
run: $(STAMP)
	$(BIN)/facilitator run --config $(CONFIG)

## check: validate the configuration
check: $(STAMP)
	$(BIN)/facilitator check --config $(CONFIG)

lint: $(STAMP)
	$(BIN)/ruff check bot adapters tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot adapters

# Browser, HTTPS and PostgreSQL tests drive Debian's chromium, openssl and PostgreSQL:
# install them when we can (root with apt), else say how.
system-deps:
	@bash .ci/system-deps

unit: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

## test: set up, lint, type-check, then run the whole suite
test: lint typecheck unit

## bench: the benchmarks (never part of `make test`)
bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/ingest_postgres.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/engagement.py
	$(BIN)/python bench/scheduling.py
	$(BIN)/python bench/discord_e2e.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/slack_events.py
	$(BIN)/python bench/pairing.py
	$(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis
