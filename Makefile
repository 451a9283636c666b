# Stagegate: `make run` serves the web app on the demo database; `make demo` builds the demo database;
# `make test` sets up and runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= stagegate.db
PORT ?= 5000

.PHONY: setup assets demo run test bench clean

$(BIN)/stagegate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/stagegate

# Front-end assets: the prebuilt bpmn-js viewer the web app serves from node_modules/, and the
# designer's editors bundled by esbuild (npm run build) from web/static/src/ into web/static/build/.
NPM ?= npm
ASSETS_STAMP := node_modules/.package-lock.json
EDITOR_BUNDLE := web/static/build/bpmn-editor.js

assets: $(ASSETS_STAMP) $(EDITOR_BUNDLE)

$(ASSETS_STAMP): $(wildcard package.json package-lock.json)
	@if [ ! -f package.json ]; then \
	  echo "make assets: no package.json, nothing to install"; \
	elif ! command -v $(NPM) >/dev/null 2>&1; then \
	  echo "make assets: npm not found, skipping the front-end install (diagrams will not render;" \
	       "install Node.js and npm, e.g. apt-get install npm, then run make assets)"; \
	else \
	  $(NPM) ci --no-audit --no-fund && touch $@; \
	fi

$(EDITOR_BUNDLE): $(ASSETS_STAMP) $(wildcard web/static/src/*.js)
	@if [ -x node_modules/.bin/esbuild ]; then $(NPM) run build; else echo "make assets: no esbuild, the designer's editors are not built"; fi

demo: setup
	STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate demo
	@echo "--- ready tasks (stagegate tasks) ---"
	@STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate tasks

# The web app on $(DB) (the demo database, made on first run) at http://localhost:$(PORT)/, with the
# worker, a local gate.decided webhook receiver and the mail log (README: Integrations) in-process.
run: setup assets
	@if [ ! -f $(DB) ]; then STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate demo; fi
	STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/python -m web --port $(PORT) --demo-integrations

test: setup assets
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.http
	$(BIN)/python -m bench.faults
	$(BIN)/python -m bench.metrics
	$(BIN)/python -m bench.sandbox
	$(BIN)/python -m bench.validation
	$(BIN)/python -m bench.board

clean:
	rm -rf $(VENV) *.egg-info $(DB) $(DB)-wal $(DB)-shm node_modules test-artifacts
