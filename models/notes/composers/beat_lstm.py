"""The beat_lstm composer: an LSTM language model over beat-grid note events whose pitches are
coded relative to the previous note, the running register, the recent key and the notes
sounding now (its tokens: models.notes.beats; its network and sampler: models.nets.beat_lstm).
It carries its state through the primer and the whole piece, as Performance RNN does.

Its settings are the `notes.composer.beat_lstm` section (its own key); it shares the composing
keys `temperature`, `top_p` and `keep_ensemble` with every composer. Of its own, `past` and the
plan above the notes (`phrase_beats`, `reprise`, `variation`: models.nets.beat_lstm._compose)
only shape composing, so changing them composes again without retraining.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from models.notes.beats import BeatVocabulary
from sonata import SonataError
from sonata.logs import PROGRESS
from sonata.shards import read_notes_shard

if TYPE_CHECKING:
    from models.nets.beat_lstm import BeatComposerSampler
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.records import ModelCard

log = logging.getLogger("sonata.composer")

SECTION = "beat_lstm"


def vocabulary_of(own: dict) -> BeatVocabulary:
    return BeatVocabulary(grid=int(own["grid"]), tempo_every=int(own["tempo_every"]))


def vocabulary_settings(vocabulary: BeatVocabulary) -> dict:
    return {f.name: getattr(vocabulary, f.name) for f in dataclasses.fields(vocabulary)}


def scanned_sequences(
    path: str, vocabulary: BeatVocabulary, length: int, transpose: int = 0
) -> tuple[list[dict], int]:
    """Each recording of a notes shard as scanned token sequences (models.nets.beat_lstm.
    sequence_inputs), once at each transposition in -transpose..transpose semitones, and the
    shard's note count; recordings shorter than `length` tokens are left out of the list."""
    from models.nets.beat_lstm import sequence_inputs

    header, tables = read_notes_shard(path)
    sequences = [
        sequence_inputs(vocabulary.encode(t), vocabulary, shift)
        for t in tables
        for shift in range(-transpose, transpose + 1)
    ]
    kept = [s for s in sequences if len(s["token"]) >= length]
    if not kept:
        raise SonataError(
            f"{path}: no recording of dataset {header.dataset!r} ({header.split}) has the "
            f"{length} note tokens one composer window needs; lower notes.composer.beat_lstm.window"
        )
    return kept, sum(len(t) for t in tables)


def train_composer(
    cfg: dict,
    training: TrainingConfig,
    train_path: str,
    validation_path: str,
    seed: int,
    out: TrainingOutputs,
) -> ModelCard:
    from models.training import SeededBatches, configure_tensorflow, fit_resumable, save_trained

    own = cfg[SECTION]
    training = dataclasses.replace(
        training,
        epochs=int(own["epochs"]),
        steps_per_epoch=int(own["steps_per_epoch"]),
        validation_steps=int(own["validation_steps"]),
        early_stopping_patience=int(own["epochs"]),
    )
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.nets.beat_lstm import compiled_composer, window_batch

    keras.utils.set_random_seed(seed)
    vocabulary = vocabulary_of(own)
    window, batch = int(own["window"]), int(own["batch_size"])
    train_set, notes = scanned_sequences(train_path, vocabulary, window, int(own["transpose"]))
    validation_set, _ = scanned_sequences(validation_path, vocabulary, window)
    model = compiled_composer(
        vocabulary,
        int(own["units"]),
        int(own["embedding"]),
        float(own["learning_rate"]),
        float(own["dropout"]),
    )

    def draw(sequences):
        return lambda rng: window_batch(sequences, window, batch, rng)

    log.info(
        "composer: %d training sequences (%d notes; %d tokens at %d transpositions), %d validation, "
        "%d parameters, device %s",
        len(train_set),
        notes,
        sum(len(s["token"]) for s in train_set),
        2 * int(own["transpose"]) + 1,
        len(validation_set),
        model.count_params(),
        device,
        extra=PROGRESS,
    )
    history, seconds, resumed = fit_resumable(
        model,
        SeededBatches(draw(train_set), seed),
        SeededBatches(draw(validation_set), seed + 1),
        training,
        out.work_dir,
    )
    return save_trained(
        model,
        history,
        seconds,
        resumed,
        device,
        out,
        architecture=BeatLSTMComposer.card_name,
        model=dict(own),
        scheme={"vocabulary": vocabulary_settings(vocabulary)},
        sample_rate=int(vocabulary.grid),  # grid steps per beat
        conditions=[],
        context_samples=window,  # tokens one training window reads
        context_ms=0.0,
    )


class BeatLSTMComposer:
    """An LSTM language model over beat-grid note events, pitches relative to the previous note,
    anchored by the register, the key and the notes sounding now."""

    name = "beat_lstm"
    card_name = "beat_lstm_composer"
    own_keys: tuple[str, ...] = (SECTION,)
    schedule_section = SECTION  # its epochs and steps are in its own section
    sampling_keys = (
        "temperature",
        "top_p",
        "keep_ensemble",
        *(f"{SECTION}.{key}" for key in ("past", "phrase_beats", "reprise", "variation", "home_weight")),
    )
    retrain_keys: tuple[str, ...] = ()

    def train(
        self,
        cfg: dict,
        frame_seconds: float,
        training: TrainingConfig,
        train_path: str,
        validation_path: str,
        seed: int,
        out: TrainingOutputs,
    ) -> ModelCard:
        """Train on the beat grid (frame_seconds, the 10-ms grid of the seq2seq composer's
        tokens, is not read)."""
        return train_composer(cfg, training, train_path, validation_path, seed, out)

    def heldout_bits(self, card: ModelCard, weights_path: str, frame_seconds: float, shard_path: str) -> dict:
        """The bits it spends on a notes shard's recordings, each read whole from its start (its
        state carried through, as through a primer and the piece it composes), and their notes:
        {"bits", "notes", "bits_per_note"}."""
        import numpy as np

        from models.nets.beat_lstm import load_composer, sequence_bits, sequence_inputs

        vocabulary = BeatVocabulary(**card.scheme["vocabulary"])
        _, tables = read_notes_shard(shard_path)
        sequences = [sequence_inputs(vocabulary.encode(t), vocabulary, 0) for t in tables if len(t)]
        bits = sequence_bits(load_composer(card, weights_path), sequences)
        notes = int(sum(np.sum(vocabulary.kinds()[s["target"]] == 2) for s in sequences))
        return {"bits": bits, "notes": notes, "bits_per_note": bits / max(notes, 1)}

    def step_example(self, cfg: dict, frame_seconds: float, rng) -> tuple:
        """(compiled model, inputs, targets, tokens predicted) for one training step at the
        section's size, on random notes: what the step benchmarks time (benchmarks.paper_training)."""
        import numpy as np
        import pandas as pd

        from models.nets.beat_lstm import compiled_composer, sequence_inputs, window_batch

        own = cfg[SECTION]
        vocabulary = vocabulary_of(own)
        window = int(own["window"])
        beats = np.cumsum(rng.integers(1, 4, 2 * window)) / 2.0
        notes = pd.DataFrame(
            {
                "onset": beats / 2,
                "offset": beats / 2 + 0.25,
                "pitch": rng.integers(40, 90, len(beats)),
                "program": 1,
                "start_beat": beats,
                "end_beat": 0.5,
            }
        )
        sequences = [sequence_inputs(vocabulary.encode(notes), vocabulary, 0)]
        model = compiled_composer(
            vocabulary,
            int(own["units"]),
            int(own["embedding"]),
            float(own["learning_rate"]),
            float(own["dropout"]),
        )
        x, y = window_batch(sequences, window, int(own["batch_size"]), rng)
        return model, x, y, int(np.size(y))

    def sampler(
        self, card: ModelCard, weights_path: str, frame_seconds: float, sampling: dict
    ) -> BeatComposerSampler:
        """Its sampler over a trained composer's weights, with the primer length and the plan
        that `sampling` (its sampling keys) sets (see BeatComposerSampler.compose)."""
        from models.nets.beat_lstm import BeatComposerSampler, load_composer

        vocabulary = BeatVocabulary(**card.scheme["vocabulary"])
        return BeatComposerSampler(
            load_composer(card, weights_path),
            vocabulary,
            int(sampling["past"]),
            int(sampling.get("phrase_beats", 0)),
            float(sampling.get("reprise", 0.0)),
            float(sampling.get("variation", 0.0)),
            float(sampling.get("home_weight", 0.0)),
        )
