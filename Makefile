# Two commands do all the set-up from a fresh clone: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check bench bench-fanout bench-latency bench-scale bench-nodes bench-ingest clean services

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wirepub needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

## demo: publish the example stories (examples/stories) into ./public on the built-in defaults
demo: $(STAMP)
	$(BIN)/wirepub push --source examples/stories

## services: what the tests run besides Python packages (OpenSSH's sshd for SFTP; Debian's chromium and
## chromedriver for the status page in a real browser), installed if missing.
## PostgreSQL tests use the server on 127.0.0.1:5432 where there is one, and skip (saying so) where not.
services:
	@bash scripts/test-services.sh

## test: the whole test suite, then the linters
test: $(STAMP) services
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory check

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

## bench: render and validate the corpus in every format, against feedgen (needs ../shared/corpus)
bench: $(STAMP)
	$(BIN)/python bench/render_bench.py

## bench-fanout: 1,000 stories to 10 partners (S3 on moto, HTTPS) against bare boto3 and httpx
bench-fanout: $(STAMP)
	$(BIN)/python bench/fanout_bench.py

## bench-latency: the daemon's approval-to-delivery p50/p99, and delay after an embargo's second
bench-latency: $(STAMP)
	$(BIN)/python bench/latency_bench.py

## bench-scale: a 5,000-story push against its own parts, one new story into sites of 1,000 and 100,000
## published stories, claims at both sizes, the idle daemon, the store's growth (issue 13, items 1-5)
bench-scale: $(STAMP)
	$(BIN)/python bench/scale_bench.py

## bench-nodes: 1, 2 and 3 daemons on one PostgreSQL (127.0.0.1:5432) delivering to HTTPS partners that take
## 200 ms, the same run; nothing delivered twice
bench-nodes: $(STAMP)
	$(BIN)/python bench/nodes_bench.py

## bench-ingest: the ingest API's stories/s (16 clients) and 201-to-delivery p50/p99 at 50/s; WordPress's lag
bench-ingest: $(STAMP) services
	$(BIN)/python bench/ingest_bench.py

clean:
	rm -rf $(VENV) public .wirepub
