"""The seq2seq composer: the report's encoder-decoder on note tokens (its network and sampler:
models.nets.note_seq2seq), the baseline composer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from models.notes.tokens import NoteVocabulary
from sonata import SonataError
from sonata.labels import transposed
from sonata.logs import PROGRESS
from sonata.shards import read_notes_shard

if TYPE_CHECKING:
    from models.nets.note_seq2seq import ComposerSampler
    from models.training import TrainingConfig, TrainingOutputs
    from sonata.records import ModelCard

log = logging.getLogger("sonata.composer")


def token_sequences(
    path: str, vocabulary: NoteVocabulary, length: int, speeds: tuple[float, ...] = (1.0,)
) -> list[np.ndarray]:
    """Each recording of a notes shard as tokens, once at each tempo in `speeds` (1.25: a
    quarter faster, every onset and duration over 1.25); recordings shorter than one window
    are left out. A rendered score keeps one tempo, so its time steps take a few values; heard
    at one tempo, each recording's rhythm is a grid the composer learns by heart and meets
    nowhere else (docs/notes-route.md)."""
    header, tables = read_notes_shard(path)
    # transposed by no semitones: only the times move, over the speed
    sequences = [vocabulary.encode(transposed(t, 0, speed)) for t in tables for speed in speeds]
    kept = [s for s in sequences if len(s) >= length]
    if not kept:
        raise SonataError(
            f"{path}: no recording of dataset {header.dataset!r} ({header.split}) has the "
            f"{length} note tokens one composer window needs; lower notes.composer.past/future"
        )
    return kept


def train_composer(
    cfg: dict,
    frame_seconds: float,
    training: TrainingConfig,
    train_path: str,
    validation_path: str,
    seed: int,
    out: TrainingOutputs,
) -> ModelCard:
    from models.training import SeededBatches, configure_tensorflow, fit_resumable, save_trained

    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.nets.note_seq2seq import compiled_composer, composer_batch

    keras.utils.set_random_seed(seed)
    vocabulary = NoteVocabulary(step=frame_seconds)
    past, future = int(cfg["past"]), int(cfg["future"])
    speeds = tuple(float(s) for s in cfg["tempo_speeds"])
    train_set = token_sequences(train_path, vocabulary, past + future, speeds)
    validation_set = token_sequences(validation_path, vocabulary, past + future)  # as recorded
    model = compiled_composer(vocabulary.size, cfg)
    batch = int(cfg["batch_size"])

    def draw(sequences, transpose):
        return lambda rng: composer_batch(sequences, vocabulary, past, future, transpose, batch, rng)

    log.info(
        "composer: %d training sequences (%d tokens; the recordings at tempos %s), %d validation, "
        "%d parameters, device %s",
        len(train_set),
        sum(len(s) for s in train_set),
        list(speeds),
        len(validation_set),
        model.count_params(),
        device,
        extra=PROGRESS,
    )
    history, seconds, resumed = fit_resumable(
        model,
        SeededBatches(draw(train_set, int(cfg["transpose"])), seed),
        SeededBatches(draw(validation_set, 0), seed + 1),
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
        architecture=Seq2SeqComposer.card_name,
        model=dict(cfg),
        scheme={"past": past, "future": future, "vocabulary": vocabulary.size},
        sample_rate=int(round(1 / frame_seconds)),  # token time steps per second
        conditions=[],
        context_samples=past,  # tokens
        context_ms=0.0,
    )


class Seq2SeqComposer:
    """The report's encoder-decoder composing note tokens."""

    name = "seq2seq"
    card_name = "composer"  # cards written before the registry say this
    # notes.composer's top-level keys are this composer's: no other composer's training reads them
    own_keys = (
        "past",
        "future",
        "units",
        "embedding",
        "learning_rate",
        "batch_size",
        "transpose",
        "tempo_speeds",
        "epochs",
        "steps_per_epoch",
        "validation_steps",
    )
    sampling_keys = ("temperature", "top_p", "keep_ensemble")
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
        return train_composer(cfg, frame_seconds, training, train_path, validation_path, seed, out)

    def heldout_bits(self, card: ModelCard, weights_path: str, frame_seconds: float, shard_path: str) -> dict:
        """The bits it spends on a notes shard's recordings as it composes them: every block of
        `future` tokens after the first `past`, from the `past` tokens before it, and the notes
        in those blocks: {"bits", "notes", "bits_per_note"}."""
        from models.nets.note_seq2seq import load_composer, teacher_forcing

        vocabulary = NoteVocabulary(step=frame_seconds)
        past, future = int(card.scheme["past"]), int(card.scheme["future"])
        model = load_composer(card, weights_path)
        _, tables = read_notes_shard(shard_path)
        bits, notes = 0.0, 0
        for table in tables:
            tokens = vocabulary.encode(table)
            starts = range(past, len(tokens) - future + 1, future)
            if not starts:
                continue
            windows = np.stack([tokens[s - past : s + future] for s in starts]).astype(np.int32)
            (x, decoder), y = teacher_forcing(windows, past, vocabulary.start)
            logits = np.asarray(
                model.predict_on_batch({"past": x, "decoder_input": decoder}), dtype=np.float64
            )
            logits -= logits.max(axis=-1, keepdims=True)
            log_norm = np.log(np.exp(logits).sum(axis=-1))
            chosen = np.take_along_axis(logits, y[..., None].astype(np.int64), axis=-1)[..., 0]
            bits += float((log_norm - chosen).sum() / np.log(2.0))
            notes += int(np.sum(vocabulary.kinds()[y] == 2))
        return {"bits": bits, "notes": notes, "bits_per_note": bits / max(notes, 1)}

    def step_example(self, cfg: dict, frame_seconds: float, rng) -> tuple:
        """(compiled model, inputs, targets, tokens predicted) for one training step at the
        section's size, on random tokens: what the step benchmarks time (benchmarks.paper_training)."""
        from models.nets.note_seq2seq import compiled_composer, composer_batch

        vocabulary = NoteVocabulary(step=frame_seconds)
        past, future = int(cfg["past"]), int(cfg["future"])
        tokens = rng.integers(vocabulary.shift0, vocabulary.size, 4 * (past + future)).astype(np.int32)
        x, y = composer_batch([tokens], vocabulary, past, future, 0, int(cfg["batch_size"]), rng)
        return compiled_composer(vocabulary.size, cfg), x, y, y.size

    def sampler(
        self, card: ModelCard, weights_path: str, frame_seconds: float, sampling: dict
    ) -> ComposerSampler:
        """Its sampler over a trained composer's weights (see ComposerSampler.compose); what it
        samples at comes with each compose call, so `sampling` adds nothing."""
        from models.nets.note_seq2seq import ComposerSampler, load_composer

        return ComposerSampler(load_composer(card, weights_path), NoteVocabulary(step=frame_seconds))
