"""Judge generated pieces: their sound against held-out real audio with silence, noise and real
baselines beside it, and their notes against the held-out notes and random notes."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sonata.analysis import (
    describe,
    note_statistics,
    power_spectrum,
    random_notes_like,
    score_following,
    spectral_match,
)
from sonata.audio import read_audio
from sonata.labels import read_labels
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, SYNTHESIZED

log = logging.getLogger("sonata.metrics")


def real_segment(rows: list[dict], n: int) -> np.ndarray:
    """n samples of real audio: these recordings joined, and repeated when they are shorter.

    Repeating rather than padding with zeros keeps the ceiling free of silence that the
    recordings never had.
    """
    audio = np.concatenate([read_audio(row["wav"])[0] for row in rows])
    return np.resize(audio, n)


def compute(manifest: pd.DataFrame, pieces: list[dict], metrics_cfg: dict, seed: int) -> pd.DataFrame:
    """One row per piece and per baseline (silence, noise, real validation audio).

    kind: "generated" for what a model made, "real" for a real held-out passage (the ceiling its
    performed notes stand beside), "synthesized" for composed notes through the synthesizer (a
    reference for their performance), "baseline" for the yardsticks.
    """
    fft_size = int(metrics_cfg["fft_size"])
    test = manifest[manifest["split"] == "test"].to_dict("records")
    validation = manifest[manifest["split"] == "validation"].to_dict("records")
    reference_audio = np.concatenate([read_audio(r["wav"])[0] for r in test])
    rate = int(test[0]["sample_rate"])
    reference = power_spectrum(reference_audio, fft_size)
    reference_rms = float(np.sqrt(np.mean(reference_audio**2)))
    rng = np.random.default_rng(seed)
    real_passages = {p.get("passage"): p["file"] for p in pieces if p["model"] == REAL_PASSAGE}
    rows = []
    for piece in pieces:
        audio, piece_rate = read_audio(piece["file"])
        assert piece_rate == rate, f"{piece['file']} has {piece_rate} Hz, reference {rate} Hz"
        kind = {REAL_PASSAGE: "real", SYNTHESIZED: "synthesized"}.get(piece["model"], "generated")
        notes = read_labels(piece["notes"]) if piece.get("notes") else None
        measured = sound_measures(audio, rate, reference, metrics_cfg, notes)
        if piece["model"] == HELD_OUT and piece.get("passage") in real_passages:
            real = read_audio(real_passages[piece["passage"]])[0]
            measured["passage_distance"] = spectral_match(
                audio, real, tuple(metrics_cfg["passage_fft_sizes"])
            )
        rows.append({**piece, "kind": kind, **measured})
    for seconds in sorted({p["seconds"] for p in pieces}):
        n = int(round(seconds * rate))
        baselines = {
            "silence": np.zeros(n, np.float32),
            "noise": (rng.standard_normal(n) * reference_rms).astype(np.float32),
            "real (validation audio)": real_segment(validation, n),
        }
        for name, audio in baselines.items():
            rows.append(
                {
                    "model": name,
                    "seconds": seconds,
                    "kind": "baseline",
                    **describe(audio, rate, reference, metrics_cfg),
                }
            )
    return pd.DataFrame(rows)


def sound_measures(
    audio: np.ndarray, rate: int, reference: np.ndarray, metrics_cfg: dict, notes: pd.DataFrame | None = None
) -> dict:
    """Every per-piece measure of a sound (sonata.analysis.describe against the held-out
    reference spectrum) and, given the notes it was made from, whether it plays them."""
    measured = describe(audio, rate, reference, metrics_cfg)
    if notes is not None:
        measured["score_following"] = score_following(
            audio,
            rate,
            notes,
            int(metrics_cfg["fft_size"]),
            float(metrics_cfg["frame_seconds"]),
            float(metrics_cfg["silence_threshold"]),
        )
    return measured


def end_to_end(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Recordings' note tables laid one after another, as one long held-out performance."""
    shifted, at = [], 0.0
    for table in tables:
        shifted.append(table.assign(onset=table["onset"] + at, offset=table["offset"] + at))
        at += float(table["offset"].max()) if len(table) else 0.0
    return pd.concat(shifted, ignore_index=True)


def note_metrics(pieces: list[dict], held_out: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Note statistics of each composed piece against the held-out notes, beside two baselines:
    random notes at the held-out density and range, and held-out notes of the same length."""
    rows = []
    for piece in pieces:
        if piece["model"] != COMPOSED:
            continue
        seconds = piece["seconds"]
        candidates = {COMPOSED: read_labels(piece["notes"]), **note_yardsticks(held_out, seconds, seed)}
        for name, notes in candidates.items():
            rows.append({"model": name, "seconds": seconds, **note_statistics(notes, reference=held_out)})
    return pd.DataFrame(rows)


def note_yardsticks(held_out: pd.DataFrame, seconds: float, seed: int) -> dict[str, pd.DataFrame]:
    """What composed notes of this length are measured against: random notes at the held-out
    density and range, and the first `seconds` of the held-out notes."""
    start = float(held_out["onset"].min())
    passage = held_out[(held_out["onset"] >= start) & (held_out["onset"] < start + seconds)]
    return {"random notes": random_notes_like(held_out, seconds, seed), "held-out notes": passage}
