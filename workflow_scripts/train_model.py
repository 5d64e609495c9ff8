"""Train one model on one dataset's shards, resumable after the job is killed."""

import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from sonata import SonataError
from sonata.audio import atomic_path
from sonata.records import ModelCard

log = logging.getLogger("sonata.train")


def configure_tensorflow(threads: int, mixed_precision: bool, gpus_requested: int = 0) -> str:
    """Pin CPU threads; use the GPU when TensorFlow sees one. Returns the device used.

    A job that asked the scheduler for GPUs fails rather than train for hours on the CPU.
    """
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already started in this process (tests, benchmarks)
        log.info("TensorFlow already initialised; keeping its thread settings")
    gpus = tf.config.list_physical_devices("GPU")
    if gpus_requested and not gpus:
        raise SonataError(
            f"training.gpus is {gpus_requested} but TensorFlow sees no GPU "
            f"(CUDA build: {tf.test.is_built_with_cuda()}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')}). "
            "Install a CUDA build (pip install 'tensorflow[and-cuda]', see envs/tensorflow.yaml) "
            "and run on a GPU node, or set training.gpus: 0 to train on the CPU."
        )
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised in this process
            log.info("GPU already initialised; keeping its memory settings")
    if mixed_precision and gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    elif mixed_precision:
        log.warning("training.mixed_precision ignored: float16 only pays on a GPU; training in float32")
    policy = keras.mixed_precision.global_policy().name
    where = f"GPU x{len(gpus)}" if gpus else f"CPU ({threads} threads)"
    return f"{where}, {policy}"


@dataclass(frozen=True)
class TrainingConfig:
    """The `training:` section: how long, how it is checked, where it runs."""

    epochs: int
    steps_per_epoch: int  # 0: one pass over the training shard
    validation_steps: int
    early_stopping_patience: int
    shuffle_buffer: int
    mixed_precision: bool = False
    threads: int = 2
    gpus: int = 0

    @classmethod
    def from_config(cls, cfg: dict) -> "TrainingConfig":
        return cls(**{f.name: cfg[f.name] for f in fields(cls) if f.name in cfg})


@dataclass(frozen=True)
class TrainingData:
    """A dataset's training and validation shards and its manifest rows (conditioning names)."""

    train: str
    validation: str
    manifest_rows: list[dict]


@dataclass(frozen=True)
class TrainingOutputs:
    """Where the finished model goes, and the checkpoint folder a killed run resumes from."""

    weights: str
    card: str
    history: str
    work_dir: str


def train(
    model_cfg: dict, training: TrainingConfig, data: TrainingData, out: TrainingOutputs, seed: int
) -> ModelCard:
    """Fit with checkpoints in out.work_dir; a rerun after a kill resumes from the last epoch."""
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.architectures import get_architecture, training_dataset
    from models.conditioning import condition_labels, condition_vocabulary
    from sonata.shards import read_header
    from sonata.windows import WindowScheme

    keras.utils.set_random_seed(seed)
    work = Path(out.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    adapter = get_architecture(model_cfg["architecture"])
    spec = adapter.spec(model_cfg)
    header = read_header(data.train)
    scheme = WindowScheme(
        header.scheme, header.input_length, header.target_offset, header.target_length, header.hop
    )
    vocabulary = condition_vocabulary(data.manifest_rows, model_cfg)
    model, trainer = adapter.build(spec, scheme, len(vocabulary))
    batch = spec.batch_size
    train_ds = training_dataset(
        adapter,
        spec,
        data.train,
        batch,
        seed,
        training.shuffle_buffer,
        condition_labels(header, model_cfg, vocabulary),
    )
    val_ds = training_dataset(
        adapter,
        spec,
        data.validation,
        batch,
        seed + 1,
        training.shuffle_buffer,
        condition_labels(read_header(data.validation), model_cfg, vocabulary),
        train=False,
    )
    val_ds = val_ds.take(training.validation_steps).cache()
    steps = training.steps_per_epoch or max(1, header.count // batch)
    history_csv = work / "history.csv"
    resumed = (work / "backup").exists()
    if not resumed:  # a fresh run must not inherit a finished run's curves
        history_csv.unlink(missing_ok=True)
        shutil.rmtree(work / "tensorboard", ignore_errors=True)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq="epoch"),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.EarlyStopping(patience=training.early_stopping_patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(str(work / "tensorboard")),
    ]
    context = adapter.context_samples(spec, scheme)
    log.info(
        "training %s on %s (%d windows), %d steps/epoch, device %s, context %d samples (%.1f ms)%s",
        adapter.name,
        data.train,
        header.count,
        steps,
        device,
        context,
        1000.0 * context / header.sample_rate,
        ", resuming" if resumed else "",
    )
    started = time.time()
    trainer.fit(
        train_ds,
        epochs=training.epochs,
        steps_per_epoch=steps,
        validation_data=val_ds,
        validation_steps=training.validation_steps,
        callbacks=callbacks,
        verbose=1 if sys.stderr.isatty() else 2,
    )
    seconds = time.time() - started
    with atomic_path(out.weights, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))
    history = _final_history(history_csv)
    with atomic_path(out.history, suffix=".csv") as tmp:
        history.to_csv(tmp, index=False)
    card = ModelCard(
        architecture=adapter.name,
        model=dict(model_cfg),
        scheme={**asdict(scheme), "window_length": scheme.length},
        sample_rate=int(header.sample_rate),
        conditions=vocabulary,
        parameters=int(model.count_params()),
        context_samples=int(context),
        context_ms=1000.0 * context / header.sample_rate,
        epochs_run=int(len(history)),
        best_val_loss=float(history["val_loss"].min()) if len(history) else None,
        train_seconds_last_session=round(seconds, 2),
        device=device,
        resumed=resumed,
    )
    with atomic_path(out.card, suffix=".json") as tmp:
        tmp.write_text(card.to_json())
    shutil.rmtree(work / "backup", ignore_errors=True)
    return card


def _final_history(path: Path):
    """One row per epoch: a resumed run may have re-logged the epoch it was killed in."""
    import pandas as pd

    if not path.exists():
        return pd.DataFrame(columns=["epoch", "loss", "val_loss"])
    history = pd.read_csv(path)
    return history.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    import pandas as pd

    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    rows = pd.read_parquet(snakemake.input.manifest).to_dict("records")
    train(
        snakemake.params.model,
        TrainingConfig.from_config(snakemake.params.training),
        TrainingData(snakemake.input.train, snakemake.input.validation, rows),
        TrainingOutputs(
            snakemake.output.weights,
            snakemake.output.info,
            snakemake.output.history,
            snakemake.params.work_dir,
        ),
        int(snakemake.params.seed),
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
