# Two entry points: `make run` (set up, then the main job on the embedded corpus) and
# `make test` (set up, then the test suite). Both are safe to repeat.
VENV ?= .venv
PYTHON ?= python3
CORES ?= 8
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := ffmpeg fluidsynth fluid-soundfont-gm
APT_LOG := logs/setup/apt-get.log
TF_VERSION := $(shell sed -n 's/^tensorflow-cpu==//p' requirements.txt)

.PHONY: setup system gpu run slurm test lint benchmarks clean

setup: system $(VENV)/.installed

system:
	@if ! command -v ffmpeg >/dev/null || ! command -v fluidsynth >/dev/null \
	   || [ ! -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then \
	  echo "installing $(SYSTEM_PACKAGES) with apt-get (its output: $(APT_LOG))"; \
	  mkdir -p $(dir $(APT_LOG)); \
	  { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES); \
	  } > $(APT_LOG) 2>&1 || { tail -n 20 $(APT_LOG); echo "apt-get failed: $(APT_LOG) has its output"; exit 1; }; \
	fi

$(VENV)/.installed: requirements.txt requirements-transcription.txt requirements-slurm.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -r requirements.txt
	# basic-pitch without its declared dependencies (an old tensorflow); what it needs is above
	$(BIN)/python -m pip install -qq --no-deps -r requirements-transcription.txt
	$(BIN)/python -m pip install -qq --no-deps -e .
	# the SLURM plugin stays off the default path: loaded only with PYTHONPATH=$(VENV)/slurm-plugin
	$(BIN)/python -m pip install -qq --no-deps --target $(VENV)/slurm-plugin -r requirements-slurm.txt
	touch $@

# On a CUDA machine: the same environment with TensorFlow's GPU build (both ship the `tensorflow`
# module, so the CPU build goes first).
gpu: setup
	$(BIN)/python -m pip uninstall -q -y tensorflow-cpu
	$(BIN)/python -m pip install -qq "tensorflow[and-cuda]==$(TF_VERSION)"
	$(BIN)/python -c "import tensorflow as tf; print('GPUs:', tf.config.list_physical_devices('GPU'))"

run: setup
	$(BIN)/snakemake --cores $(CORES) results/samples

slurm: setup
	PYTHONPATH=$(VENV)/slurm-plugin $(BIN)/snakemake --profile profiles/slurm results/samples

test: setup
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

benchmarks: setup
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m benchmarks

clean:
	rm -rf results logs .snakemake
