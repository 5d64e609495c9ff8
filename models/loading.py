"""Rebuild a trained model from its model.json facts and weights file."""

from __future__ import annotations

import json

import keras


def load_trained(info_path: str, weights_path: str) -> tuple[keras.Model, dict]:
    with open(info_path) as f:
        facts = json.load(f)
    cfg = facts["model"]
    if facts["architecture"] == "seq2seq":
        from models.seq2seq import build_seq2seq

        model = build_seq2seq(
            facts["scheme"]["input_length"], facts["scheme"]["target_length"], int(cfg["units"])
        )
    else:
        from models.wavenet import build_wavenet

        model = build_wavenet(cfg, len(facts["conditions"]))
    model.load_weights(weights_path)
    return model, facts
