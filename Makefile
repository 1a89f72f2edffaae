# smallfedi: `make run` starts a development instance, `make test` runs the tests.
# Both create the virtual environment in .venv when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := var/dev
DEV_URL ?= http://127.0.0.1:8080

.PHONY: run test bench venv clean-dev

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "smallfedi needs Python 3.11 or newer; set PYTHON=python3.x")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# A development instance under var/dev (ignored by git): created once, reused afterwards.
run: $(STAMP)
	@if [ ! -f $(DEV)/smallfedi.toml ]; then \
		$(BIN)/smallfedi init --config $(DEV)/smallfedi.toml --url $(DEV_URL) --username admin < /dev/null; \
	else \
		echo "reusing the instance in $(DEV) (sign in as admin; forgot the password? $(BIN)/smallfedi passwd --config $(DEV)/smallfedi.toml)"; \
	fi
	$(BIN)/smallfedi serve --config $(DEV)/smallfedi.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Every performance scenario against the stack's floor, written to docs/benchmarks.md (~10 min).
# Needs wrk (Debian's package), installed here when running as root on Debian or Ubuntu.
bench: $(STAMP)
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get install -y -q wrk >/dev/null; \
		else echo "make bench needs wrk: sudo apt-get install wrk"; exit 1; fi; }
	$(BIN)/python bench/run.py

clean-dev:
	rm -rf $(DEV)
