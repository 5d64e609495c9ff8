"""Judge generated pieces: their sound against held-out real audio with silence, noise and real
baselines beside it, and their notes against the held-out notes and random notes."""

from __future__ import annotations

import logging
from collections.abc import Callable

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
from sonata.composition import composition_measures, looped_passage, shuffled_pitches
from sonata.labels import read_labels
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, SYNTHESIZED
from sonata.transcription import TranscriberSettings, transcribe, transcription_scores

log = logging.getLogger("sonata.metrics")


def real_segment(rows: list[dict], n: int) -> np.ndarray:
    """n samples of real audio: these recordings joined, and repeated when they are shorter.

    Repeating rather than padding with zeros keeps the ceiling free of silence that the
    recordings never had.
    """
    audio = np.concatenate([read_audio(row["wav"])[0] for row in rows])
    return np.resize(audio, n)


def compute(
    manifest: pd.DataFrame,
    pieces: list[dict],
    metrics_cfg: dict,
    seed: int,
    heard: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per piece and per baseline (silence, noise, real validation audio); `heard`
    (transcription_table: what a transcriber heard of each piece's notes) joins by file.

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
    table = pd.DataFrame(rows)
    return table.merge(heard, on="file", how="left") if heard is not None and len(heard) else table


TRANSCRIPTION_COLUMNS = ("transcription_onset_f1", "transcription_frame_f1")


def heard_notes(audio: np.ndarray, rate: int, notes: pd.DataFrame, transcriber: TranscriberSettings) -> dict:
    """How well an independent transcriber (basic-pitch) hears a sound's notes: the onset and
    frame F1 of its transcription against them, as the field judges a synthesizer. Unlike score
    following, which a performer that sounds exactly the notes' pitch classes meets by
    construction, it needs every note heard as that note, at its time."""
    scores = transcription_scores(notes, transcribe(audio, rate, transcriber), transcriber.onset_tolerance)
    return dict(zip(TRANSCRIPTION_COLUMNS, (scores["onset_f1"], scores["frame_f1"])))


def transcription_table(pieces: list[dict], transcriber: TranscriberSettings) -> pd.DataFrame:
    """Per piece with notes (performed, synthesized, the real held-out passages): its file and
    heard_notes."""
    rows = []
    for piece in pieces:
        if piece.get("notes"):
            audio, rate = read_audio(piece["file"])
            rows.append(
                {"file": piece["file"], **heard_notes(audio, rate, read_labels(piece["notes"]), transcriber)}
            )
    return pd.DataFrame(rows, columns=["file", *TRANSCRIPTION_COLUMNS])


def sound_measures(
    audio: np.ndarray,
    rate: int,
    reference: np.ndarray,
    metrics_cfg: dict,
    notes: pd.DataFrame | None = None,
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


def note_metrics(
    pieces: list[dict], held_out: pd.DataFrame, seed: int, composer_bits: float | None = None
) -> pd.DataFrame:
    """Each composed piece's notes as a musician reads a score (sonata.composition: what sounds
    together, how the top voice moves, the key, the beat, motifs that return) and by note
    statistics, beside the held-out notes of the same length and the baselines made from them
    (note_yardsticks), measured alike; `passage` numbers the pieces of one length. Composed rows
    carry `composer_bits_per_note`, the composer's negative log-likelihood of the held-out notes
    (Composer.heldout_bits), where it is given."""
    rows = []
    for piece in pieces:
        if piece["model"] != COMPOSED:
            continue
        notes = read_labels(piece["notes"])
        row = _note_row(COMPOSED, piece["seconds"], piece.get("passage", 0), notes, held_out)
        rows.append(row | ({"composer_bits_per_note": composer_bits} if composer_bits is not None else {}))
    for seconds in sorted({row["seconds"] for row in rows}):
        stretches = held_out_stretches(held_out, seconds)
        for name, make in note_yardsticks(seconds, seed).items():
            measured = [_note_row(name, seconds, 0, make(s, k), held_out) for k, s in enumerate(stretches)]
            rows.append(pd.DataFrame(measured).mean(numeric_only=True).to_dict() | {"model": name})
    return pd.DataFrame(rows)


def _note_row(model: str, seconds: float, number: int, notes: pd.DataFrame, held_out: pd.DataFrame) -> dict:
    statistics = note_statistics(notes, reference=held_out)
    statistics.pop("repetition")  # sonata.composition's repetition (and looping) measure it better
    return {
        "model": model,
        "seconds": seconds,
        "passage": number,
        **statistics,
        **composition_measures(notes),
    }


def held_out_stretches(held_out: pd.DataFrame, seconds: float, most: int = 6) -> list[pd.DataFrame]:
    """Up to `most` consecutive stretches of `seconds` of the held-out notes (the test recordings
    end to end), each from 0: what a composed piece of that length is measured beside."""
    start, end = float(held_out["onset"].min()), float(held_out["onset"].max())
    stretches = []
    while len(stretches) < most and (not stretches or start + seconds <= end):
        inside = held_out[(held_out["onset"] >= start) & (held_out["onset"] < start + seconds)]
        stretch = inside.assign(
            onset=inside["onset"] - start, offset=(inside["offset"] - start).clip(upper=seconds)
        )
        stretches.append(stretch.reset_index(drop=True))
        start += seconds
    return stretches


def note_yardsticks(seconds: float, seed: int) -> dict[str, Callable[[pd.DataFrame, int], pd.DataFrame]]:
    """What composed notes of this length are measured against, each made from a held-out
    stretch of that length (and its number k, for a seed of its own): the real notes; their
    pitches shuffled within their own rhythm (harmony and melody gone); random notes at their
    density and range (everything gone); a real passage of it looped, 10 s long (half the
    length in shorter pieces): music that never moves on."""
    return {
        "held-out notes": lambda stretch, k: stretch,
        "pitches shuffled": lambda stretch, k: shuffled_pitches(stretch, seed + k),
        "random notes": lambda stretch, k: random_notes_like(stretch, seconds, seed + k),
        "looped passage": lambda stretch, k: looped_passage(stretch, seconds, min(10.0, seconds / 2)),
    }
