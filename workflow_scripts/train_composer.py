"""Train a dataset's composer: the report's Seq2Seq on the note tokens of its training split."""

import logging
import os

import numpy as np

from models.training import TrainingConfig, configure_tensorflow, finish, fit_resumable, seeded_batches
from sonata import SonataError
from sonata.audio import atomic_path
from sonata.notes import NoteVocabulary
from sonata.records import ModelCard
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.composer")


def token_sequences(path: str, vocabulary: NoteVocabulary, length: int) -> list[np.ndarray]:
    """Each recording of a notes shard as tokens; recordings shorter than one window are left out."""
    header, tables = read_notes_shard(path)
    sequences = [vocabulary.encode(t) for t in tables]
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
    weights_out: str,
    card_out: str,
    history_out: str,
    work_dir: str,
) -> ModelCard:
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.composer import build_composer, composer_batch

    keras.utils.set_random_seed(seed)
    vocabulary = NoteVocabulary(step=frame_seconds)
    past, future = int(cfg["past"]), int(cfg["future"])
    train_set = token_sequences(train_path, vocabulary, past + future)
    validation_set = token_sequences(validation_path, vocabulary, past + future)
    model = build_composer(vocabulary.size, int(cfg["units"]), int(cfg["embedding"]), past, future)
    model.compile(
        optimizer=keras.optimizers.Adam(float(cfg["learning_rate"])),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    batch = int(cfg["batch_size"])

    def draw(sequences, transpose):
        return lambda rng: composer_batch(sequences, vocabulary, past, future, transpose, batch, rng)

    log.info(
        "composer: %d training recordings (%d tokens), %d validation, %d parameters, device %s",
        len(train_set),
        sum(len(s) for s in train_set),
        len(validation_set),
        model.count_params(),
        device,
    )
    history, seconds, resumed = fit_resumable(
        model,
        seeded_batches(draw(train_set, int(cfg["transpose"])), training.steps_per_epoch, seed),
        seeded_batches(draw(validation_set, 0), training.validation_steps, seed + 1, fixed=True),
        training.epochs,
        training.steps_per_epoch,
        training.validation_steps,
        training.early_stopping_patience,
        work_dir,
    )
    with atomic_path(weights_out, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))
    with atomic_path(history_out, suffix=".csv") as tmp:
        history.to_csv(tmp, index=False)
    card = ModelCard(
        architecture="composer",
        model=dict(cfg),
        scheme={"past": past, "future": future, "vocabulary": vocabulary.size},
        sample_rate=int(round(1 / frame_seconds)),  # token time steps per second
        conditions=[],
        parameters=int(model.count_params()),
        context_samples=past,
        context_ms=0.0,
        epochs_run=int(len(history)),
        best_val_loss=float(history["val_loss"].min()) if len(history) else None,
        train_seconds_last_session=round(seconds, 2),
        device=device,
        resumed=resumed,
    )
    with atomic_path(card_out, suffix=".json") as tmp:
        tmp.write_text(card.to_json())
    finish(work_dir)
    return card


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
        snakemake.output.weights,
        snakemake.output.info,
        snakemake.output.history,
        snakemake.params.work_dir,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
