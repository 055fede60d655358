# Two commands on a fresh machine with Python 3.11+:  make demo  ·  make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean browser-deps messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## build the synthetic city and serve it at http://127.0.0.1:8000
	$(VENV)/bin/shuzhi demo

test: $(STAMP)  ## the whole suite (PostgreSQL too when SHUZHI_TEST_PG_URL is set), one worker per core
	$(VENV)/bin/pytest -q -n auto --dist worksteal

test-fast: $(STAMP)  ## skip slow tests (browsers, subprocesses, many writers)
	$(VENV)/bin/pytest -q -n auto --dist worksteal -m "not slow"

lint: $(STAMP)  ## ruff's checks and formatting, and the import layers (CI runs this before the tests)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/classify.py
	$(PY) benchmarks/exchange.py
	$(PY) benchmarks/ledger.py
	$(PY) benchmarks/opendata_scale.py release
	$(PY) benchmarks/opendata_scale.py search
	$(PY) benchmarks/opendata_scale.py datastore
	$(PY) benchmarks/quality.py --library-rows gx=1000000

messages: $(STAMP)  ## extract the pages' strings into the catalog; then translate what is new in each .po
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k M_ --no-location --sort-output --width 100 -o src/shuzhi/locale/shuzhi.pot .
	$(VENV)/bin/pybabel -q update -i src/shuzhi/locale/shuzhi.pot -d src/shuzhi/locale -D shuzhi --no-fuzzy-matching --width 100 --ignore-obsolete

clean:
	rm -rf $(VENV) shuzhi-data .pytest_cache
