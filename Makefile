# Stagegate: `make demo` sets up and runs the demo; `make test` sets up and runs the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= stagegate.db

.PHONY: setup demo test bench clean

$(BIN)/stagegate: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/stagegate

demo: setup
	STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate demo
	@echo "--- ready tasks (stagegate tasks) ---"
	@STAGEGATE_DATABASE_URL=sqlite:///$(abspath $(DB)) $(BIN)/stagegate tasks

test: setup
	$(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) *.egg-info $(DB) $(DB)-wal $(DB)-shm
