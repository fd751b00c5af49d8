# insights: two commands on a fresh machine: `make report` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    := data/demo
CIDATA  := data/ci
USERS   ?= 200000
SEED    ?= 42

.PHONY: help system install report test test-fast notebooks-reference lab bench lint demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

system:  ## system packages: CJK font (Chinese reports), emoji fonts (names from data: Noto Color Emoji for the PDF, Symbola for figures), poppler (PDF checks), chromium (HTML check), Java 17 (Spark tests); Debian/Ubuntu, root or sudo
	@missing=""; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	fc-list 2>/dev/null | grep -q "Noto Color Emoji" || missing="$$missing fonts-noto-color-emoji"; \
	fc-list 2>/dev/null | grep -q "Symbola" || missing="$$missing fonts-symbola"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -z "$$missing" ]; then echo "system packages present"; \
	elif command -v apt-get >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo "installing$$missing"; \
		$$SUDO apt-get install -y -q $$missing >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q $$missing >/dev/null; } || \
		echo "could not install$$missing: Chinese output needs the Noto Sans CJK font; the PDF/HTML checks are skipped"; \
	else echo "please install:$$missing (Noto Sans CJK is needed for Chinese output)"; fi

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[duckdb]" --group dev
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

$(DEMO)/manifest.json: | $(STAMP)
	$(BIN)/insights simulate --out $(DEMO) --users $(USERS) --seed $(SEED)

demo: $(DEMO)/manifest.json  ## generate the default demo dataset (200k users) if missing

report: system $(STAMP) demo  ## set up, generate the demo data, render the 2024Q4 report (zh + en, PDF + HTML) into reports/
	$(BIN)/insights kpis $(DEMO) --quarter 2024Q4
	$(BIN)/insights calibrate $(DEMO)
	$(BIN)/insights report $(DEMO) --quarter 2024Q4 --lang zh,en --format pdf,html --out reports

test: system $(STAMP)  ## run the whole test suite (Polars, DuckDB and a local Spark session) and the docstring examples
	$(BIN)/pytest -q

test-fast: system $(STAMP)  ## the suite and the docstring examples, without the Spark engine and the slow simulations
	$(BIN)/pytest -q -m "not spark and not slow"

notebooks-reference: $(STAMP)  ## re-execute the chapters into tests/notebooks/reference (strict nbval references) after an intended change
	INSIGHTS_PROGRESS=off $(BIN)/python tests/notebooks/reference/regenerate.py

lint: $(STAMP)  ## ruff on the package, tests and benchmarks; mypy on the package
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src/insights

lab: $(STAMP) demo  ## JupyterLab on notebooks/
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) demo  ## every benchmark (1M and 10M users are simulated under /tmp on first use; hours on 2 cores): tables in benchmarks/results/
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_retention.py --tiers M L
	$(BIN)/python benchmarks/bench_value.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_stages.py
	$(BIN)/python benchmarks/bench_peers.py --tiers S XS M L
	$(BIN)/python benchmarks/bench_outofcore.py

clean:  ## remove generated data and caches (keeps .venv)
	rm -rf $(DEMO) $(CIDATA) data/nbval .pytest_cache .ruff_cache .mypy_cache
