"""Train a dataset's composer: the report's Seq2Seq on the note tokens of its training split."""

import logging
import os

import numpy as np

from models.training import (
    SeededBatches,
    TrainingConfig,
    TrainingOutputs,
    configure_tensorflow,
    fit_resumable,
    save_trained,
)
from sonata import SonataError
from sonata.logs import PROGRESS
from sonata.notes import NoteVocabulary, transposed
from sonata.records import ModelCard
from sonata.shards import read_notes_shard

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
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.composer import compiled_composer, composer_batch

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
        architecture="composer",
        model=dict(cfg),
        scheme={"past": past, "future": future, "vocabulary": vocabulary.size},
        sample_rate=int(round(1 / frame_seconds)),  # token time steps per second
        conditions=[],
        context_samples=past,  # tokens
        context_ms=0.0,
    )


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    train_composer(
        snakemake.params.composer,
        float(snakemake.params.frame_seconds),
        TrainingConfig.from_config(snakemake.params.training),
        snakemake.input.train,
        snakemake.input.validation,
        int(snakemake.params.seed),
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.info,
            snakemake.output.history,
            snakemake.params.work_dir,
        ),
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
