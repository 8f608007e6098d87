# The two commands of the README: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit brokers rabbitmq bench clean

# The brokers' scripts live beside the checkout (../shared/brokers); they are idempotent.
BROKERS ?= $(firstword $(wildcard ../shared/brokers /work/shared/brokers))

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

rabbitmq:
	@test -n "$(BROKERS)" || { echo "no broker scripts found (set BROKERS=path/to/shared/brokers)"; exit 1; }
	bash $(BROKERS)/rabbitmq

brokers: rabbitmq
	bash $(BROKERS)/activemq

# The embedded broker by default; `make demo URL=stomp://guest:guest@127.0.0.1:61613/` (or
# $$STOMP_URL) points it at a real broker.
demo: $(STAMP)
	$(PY) examples/demo.py $(URL)

typecheck: $(STAMP)
	$(PY) -m mypy

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

unit: $(STAMP)
	$(PY) -m pytest -m "not brokers and not slow"

test: typecheck lint brokers
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/codec.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
