# The course's two commands (see README.md):
#   make course   set up .venv and run every notebook headless into output/
#   make test     set up .venv and run all tests (unit tests + nbval on every notebook,
#                 on TensorFlow, and notebooks 01, 03, 04 and the lab on PyTorch and JAX)
# BACKEND=torch or BACKEND=jax runs the course on another Keras backend (installed first).
PYTHON ?= python3
BACKEND ?= $(or $(KERAS_BACKEND),tensorflow)
TORCH_INDEX ?=
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= output
export TL_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: setup backends course slides test unit notebooks other-backends bench clean

setup: $(VENV)/.installed $(if $(filter torch jax,$(BACKEND)),$(VENV)/.installed-$(BACKEND))

backends: $(VENV)/.installed-torch $(VENV)/.installed-jax

$(VENV)/.installed-torch: requirements-torch.txt $(VENV)/.installed
	$(BIN)/python -m pip install -q -r requirements-torch.txt \
		$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	touch $@

$(VENV)/.installed-jax: requirements-jax.txt $(VENV)/.installed
	$(BIN)/python -m pip install -q -r requirements-jax.txt
	touch $@

$(VENV)/.installed: requirements.txt pyproject.toml jupyter-config/jupyter_server_config.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	install -D -m 644 jupyter-config/jupyter_server_config.json \
		$(VENV)/etc/jupyter/jupyter_server_config.json
	touch $@

course: setup
	$(BIN)/python -m helpers course --out $(OUT) --backend $(BACKEND)

slides: setup
	$(BIN)/python -m helpers slides $(or $(wildcard $(OUT)/*.ipynb),$(wildcard notebooks/*.ipynb lab/*.ipynb)) --out $(OUT)/slides

# The full suite on TensorFlow, then the backend runs (a missing backend fails them).
test: setup backends
	TL_PROFILE=quick KERAS_BACKEND=tensorflow $(BIN)/python -m pytest tests notebooks lab --nbval-lax --nbval-current-env -p no:cacheprovider --durations=15
	$(MAKE) other-backends

OTHER_NOTEBOOKS = notebooks/01_feature_extraction.ipynb notebooks/03_ideal_cat.ipynb \
	notebooks/04_adversarial_dog.ipynb lab/solution.ipynb
# One after the other: run at the same time on two cores, their threads fight (PyTorch
# 03 took minutes per cell beside JAX; README: "Running the course and the tests").
other-backends: backends
	for b in torch jax; do \
		TL_PROFILE=quick TL_BACKBONE_TABLE=efficientnet_lite0 KERAS_BACKEND=$$b \
		$(BIN)/python -m pytest $(OTHER_NOTEBOOKS) \
			--nbval-lax --nbval-current-env -p no:cacheprovider --durations=5 || exit 1; \
	done

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
