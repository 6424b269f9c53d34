# The course's two commands (see README.md):
#   make course   set up .venv and run every notebook headless into output/
#   make test     set up .venv and run all tests (unit tests + nbval on every notebook,
#                 on TensorFlow, and notebooks 01, 03, 04 and the lab on PyTorch and JAX)
# and, while working on the course (CONTRIBUTING.md):
#   make check    the fast lane: every test but notebooks, browsers, other backends and
#                 the slow end-to-end ones, in about 3 minutes on 2 cores
# BACKEND=torch or BACKEND=jax runs the course on another Keras backend (installed first).
# COURSE_LANG=ru|uk|zh-TW|sl runs (and `make slides` builds) the translated notebooks,
# translations/<lang>/, into output/<lang>/ (not LANG: that is the locale).
SHELL := /bin/bash
PYTHON ?= python3
BACKEND ?= $(or $(KERAS_BACKEND),tensorflow)
TORCH_INDEX ?=  # another index for torch (requirements-torch.txt names PyTorch's CPU index)
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= output
COURSE_LANG ?=
COURSE_OUT = $(if $(COURSE_LANG),$(OUT)/$(COURSE_LANG),$(OUT))
COURSE_DIR = $(if $(COURSE_LANG),translations/$(COURSE_LANG)/,)
export TL_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: setup backends course slides check test unit notebooks other-backends backend-job bench clean

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
	$(BIN)/python -m helpers course --out $(COURSE_OUT) --backend $(BACKEND) \
		$(if $(COURSE_LANG),--lang $(COURSE_LANG))

slides: setup
	$(BIN)/python -m helpers slides $(or $(wildcard $(COURSE_OUT)/*.ipynb),$(wildcard \
		$(COURSE_DIR)notebooks/*.ipynb $(COURSE_DIR)lab/*.ipynb)) --out $(COURSE_OUT)/slides

# On two cores, two processes with one thread each finish sooner than one with two:
# most of the course is batches of one (a drawing, an attack), where a second thread
# does not help, and threads of two libraries in one process fight (CONTRIBUTING.md,
# "Threads"). TEST_WORKERS=1 runs the suite in one process.
TEST_WORKERS ?= 2
ONE_THREAD = OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 \
	TF_NUM_INTEROP_THREADS=1
ONE_XLA_THREAD = XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

# The tests never write into ~ (conftest.py gives each run a private home). The course
# cache that make test's notebooks and the tests running a notebook share is kept in
# the build tree from run to run (TEST_CACHE; delete it for a cold run). make check
# keeps nothing: its cache lives and dies with the run.
TEST_CACHE ?= build/test-cache
TEST_ENV = $(ONE_THREAD) TL_PROFILE=quick TL_TEST_CACHE_DIR=$(abspath $(TEST_CACHE))
XDIST = $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

# The fast lane: the markers (pyproject.toml) leave out the notebooks, the browser,
# PyTorch and JAX, and the end-to-end tests that take minutes.
FAST ?= not slow and not notebook and not browser and not backends and not colab
check: setup
	$(ONE_THREAD) TL_PROFILE=quick KERAS_BACKEND=tensorflow $(BIN)/python -m pytest $(XDIST) \
		tests -m "$(FAST)" -p no:cacheprovider --durations=10

unit: check

# The full suite on TensorFlow (a test file or notebook at a time on each worker), then
# the backend runs (a missing backend fails them).
test: setup backends
	$(TEST_ENV) KERAS_BACKEND=tensorflow $(BIN)/python -m pytest $(XDIST) \
		tests notebooks lab -m "not colab" --nbval-lax --nbval-current-env -p no:cacheprovider \
		--durations=15
	$(MAKE) other-backends

# PyTorch and JAX: each job a backend and a notebook, the longest first (PyTorch's 01
# and 03 take 8-12 minutes, 04 two), run two at a time, one thread each, so that the
# two cores stay busy until the end; each line of output is marked with its job, and
# any job failing fails the target.
OTHER_JOBS = torch:notebooks/01_feature_extraction.ipynb torch:notebooks/03_ideal_cat.ipynb \
	jax:notebooks/03_ideal_cat.ipynb jax:notebooks/01_feature_extraction.ipynb \
	torch:lab/solution.ipynb jax:lab/solution.ipynb \
	colab:tests/test_colab_runtime.py \
	jax:notebooks/04_adversarial_dog.ipynb torch:notebooks/04_adversarial_dog.ipynb
# colab: Colab's runtime on Python 3.13 (tests/test_colab_runtime.py), built once into
# build/colab-runtime, the course installed into it as the setup cell does.
other-backends: backends
	@printf '%s\n' $(OTHER_JOBS) | xargs -P $(TEST_WORKERS) -I{} \
		$(MAKE) --no-print-directory backend-job JOB={}

JOB_BACKEND = $(word 1,$(subst :, ,$(JOB)))
JOB_NOTEBOOK = $(word 2,$(subst :, ,$(JOB)))
backend-job:
	@set -o pipefail; $(TEST_ENV) $(ONE_XLA_THREAD) \
		TL_BACKBONE_TABLE=efficientnet_lite0 \
		KERAS_BACKEND=$(if $(filter colab,$(JOB_BACKEND)),tensorflow,$(JOB_BACKEND)) \
		$(BIN)/python -m pytest $(JOB_NOTEBOOK) $(if $(filter colab,$(JOB_BACKEND)),-m colab) \
		--nbval-lax --nbval-current-env -p no:cacheprovider 2>&1 | sed -u "s/^/[$(JOB_BACKEND) $(notdir $(JOB_NOTEBOOK))] /"

notebooks: setup
	TL_PROFILE=quick TL_TEST_CACHE_DIR=$(abspath $(TEST_CACHE)) $(BIN)/python -m pytest \
		notebooks lab --nbval-lax --nbval-current-env

bench: setup
	$(BIN)/python benchmarks/backbone_throughput.py
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/optimizer_speed.py
	$(BIN)/python benchmarks/time_to_accuracy.py
	$(BIN)/python benchmarks/grade_class.py
	$(BIN)/python benchmarks/own_photos.py

clean:
	rm -rf $(OUT) .pytest_cache
