# Stagegate: `make run` serves the web app on the demo database; `make demo` builds the demo database;
# `make test` sets up and runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= stagegate.db
PORT ?= 5000

.PHONY: setup assets demo run test bench clean

# $(call quietly,STEP,COMMAND): a set-up step with its output kept in $(SETUP_LOG), shown only if it fails.
SETUP_LOG := .setup.log
quietly = { $(2); } >$(SETUP_LOG) 2>&1 || { s=$$?; echo "make: $(1) failed (exit $$s); its output ($(SETUP_LOG)):" >&2; \
	cat $(SETUP_LOG) >&2; (exit $$s); }

$(BIN)/stagegate: pyproject.toml
	@echo "Setting up $(VENV) (first run only)..."
	@$(call quietly,creating $(VENV),$(PY) -m venv $(VENV))
	@$(call quietly,pip install,$(BIN)/pip install --upgrade pip && $(BIN)/pip install -e '.[test]')
	@touch $@

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
	  echo "Installing the front-end assets (npm ci)..."; \
	  $(call quietly,npm ci,$(NPM) ci --no-audit --no-fund) && touch $@; \
	fi

$(EDITOR_BUNDLE): $(ASSETS_STAMP) $(wildcard web/static/src/*.js)
	@if [ -x node_modules/.bin/esbuild ]; then $(call quietly,npm run build,$(NPM) run build); else echo "make assets: no esbuild, the designer's editors are not built"; fi

demo: setup
	STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate demo
	@echo "--- ready tasks (stagegate tasks) ---"
	@STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate tasks

# The web app on $(DB) (the demo database, made on first run) at http://localhost:$(PORT)/, with the
# worker, a local gate.decided webhook receiver and the mail log (README: Integrations) in-process.
# Set-up is quiet unless a step fails; the server then prints one block: URL, demo logins, how to stop.
run: setup assets
	@if [ ! -f $(DB) ]; then echo "Creating the demo database $(DB)..."; $(call quietly,stagegate demo,STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) \
	  $(BIN)/stagegate demo) || { rm -f $(DB) $(DB)-wal $(DB)-shm; exit 1; }; fi
	@exec env STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/python -m web --port $(PORT) --demo-integrations

# Two pytest-xdist workers, a test file each at a time (--dist loadfile keeps a file's fixtures together):
# the suite took 36 min in one process on the 2-core CI machine. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
PACKAGES := engine workflows web stagegate bench tests
test: setup assets
	@# Byte-compiled first: where PYTHONDONTWRITEBYTECODE is set (the CI machine sets it), every CLI,
	@# server and worker process the tests start would otherwise compile ~150 modules from source.
	@$(BIN)/python -m compileall -q $(PACKAGES)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

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
	find $(PACKAGES) -name __pycache__ -prune -exec rm -rf {} +
