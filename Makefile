# The course's two commands (see README.md):
#   make course   set up .venv and run every notebook headless into output/
#   make test     set up .venv and run all tests (unit tests + nbval on every notebook)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= output
export TL_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: setup course slides test unit notebooks bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml jupyter-config/jupyter_server_config.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	install -D -m 644 jupyter-config/jupyter_server_config.json \
		$(VENV)/etc/jupyter/jupyter_server_config.json
	touch $@

course: setup
	$(BIN)/python -m helpers course --out $(OUT)

slides: setup
	$(BIN)/python -m helpers slides $(or $(wildcard $(OUT)/*.ipynb),$(wildcard notebooks/*.ipynb lab/*.ipynb)) --out $(OUT)/slides

test: setup
	TL_PROFILE=quick $(BIN)/python -m pytest tests notebooks lab --nbval-lax --nbval-current-env -p no:cacheprovider --durations=15

unit: setup
	$(BIN)/python -m pytest tests

notebooks: setup
	TL_PROFILE=quick $(BIN)/python -m pytest notebooks lab --nbval-lax --nbval-current-env

bench: setup
	$(BIN)/python benchmarks/backbone_throughput.py
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/optimizer_speed.py
	$(BIN)/python benchmarks/time_to_accuracy.py
	$(BIN)/python benchmarks/grade_class.py
	$(BIN)/python benchmarks/own_photos.py

clean:
	rm -rf $(OUT) .pytest_cache
