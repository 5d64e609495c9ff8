#!/usr/bin/env bash
# Snakemake runs this once after creating envs/tensorflow.yaml: basic-pitch without the old
# tensorflow its package declares (its ONNX model runs on onnxruntime; see requirements-transcription.txt).
set -euo pipefail
python -m pip install --no-deps basic-pitch==0.4.0
