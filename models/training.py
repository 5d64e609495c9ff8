"""Training shared by every model: TensorFlow set-up, the training config, and a fit that
checkpoints every epoch so that a killed job resumes where it stopped."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

from sonata import SonataError

log = logging.getLogger("sonata.train")


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of unmapping it.

    By default every tensor over a few MB is mmap'ed when allocated and unmapped when freed, so
    each training step maps, zeroes and unmaps the same memory again: on the 2-core machine the
    performer spent half its time in the kernel (1.03 s a step; 0.52 s with this). Returns
    whether the settings took (False off glibc)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap_threshold, trim_threshold = -3, -1  # mallopt parameters (malloc.h)
    return bool(libc.mallopt(mmap_threshold, 32 * 1024 * 1024) and libc.mallopt(trim_threshold, 2**31 - 1))


def configure_tensorflow(threads: int, mixed_precision: bool, gpus_requested: int = 0) -> str:
    """Pin CPU threads; use the GPU when TensorFlow sees one. Returns the device used.

    A job that asked the scheduler for GPUs fails rather than train for hours on the CPU.
    """
    keep_freed_memory()
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
    def from_config(cls, cfg: dict) -> TrainingConfig:
        return cls(**{f.name: cfg[f.name] for f in fields(cls) if f.name in cfg})


@contextlib.contextmanager
def checkpoint_lock(work_dir: Path):
    """Hold work_dir for this process: a second trainer (say, after `snakemake --unlock` while the
    first still runs) would write into the same checkpoint. A lock left by a dead process is
    taken over."""
    lock = work_dir / "trainer.pid"
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise SonataError(
                    f"{work_dir} is in use by a training process still running (PID {pid}); wait "
                    f"for it or stop it (kill {pid}), then rerun"
                ) from None
            log.warning("taking over %s from process %s, which is gone", work_dir, pid or "unknown")
            lock.unlink(missing_ok=True)
    with os.fdopen(fd, "w") as f:
        f.write(str(os.getpid()))
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def fit_resumable(
    trainer,
    train_data,
    validation_data,
    epochs: int,
    steps: int,
    validation_steps: int,
    patience: int,
    work_dir: str,
):
    """Fit with a checkpoint per epoch in work_dir; a rerun after a kill resumes from the last
    one. Returns (history: one row per epoch, seconds this session, resumed)."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    with checkpoint_lock(work):
        return _fit(trainer, train_data, validation_data, epochs, steps, validation_steps, patience, work)


def _fit(trainer, train_data, validation_data, epochs, steps, validation_steps, patience, work: Path):
    import keras

    history_csv = work / "history.csv"
    resumed = (work / "backup").exists()
    if resumed:
        log.info("resuming from the checkpoint in %s", work / "backup")
        metadata = work / "backup" / "training_metadata.json"
        if hasattr(train_data, "drawn") and metadata.exists():  # continue a seeded batch stream
            train_data.drawn = int(json.loads(metadata.read_text())["epoch"]) * steps
    else:  # a fresh run must not inherit a finished run's curves
        history_csv.unlink(missing_ok=True)
        shutil.rmtree(work / "tensorboard", ignore_errors=True)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq="epoch"),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        keras.callbacks.TensorBoard(str(work / "tensorboard")),
    ]
    started = time.time()
    trainer.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=steps,
        validation_data=validation_data,
        validation_steps=validation_steps,
        callbacks=callbacks,
        verbose=1 if sys.stderr.isatty() else 2,
    )
    return final_history(history_csv), time.time() - started, resumed


@dataclass(frozen=True)
class TrainingOutputs:
    """Where a finished model goes, and the checkpoint folder a killed run resumes from."""

    weights: str
    card: str
    history: str
    work_dir: str


def save_trained(network, history, seconds: float, resumed: bool, device: str, out: TrainingOutputs, **card):
    """Write the weights, the per-epoch history and the model card (the rest of its fields in
    `card`), then drop the checkpoint: a rerun starts afresh. Returns the card."""
    from sonata.audio import atomic_path
    from sonata.records import ModelCard

    with atomic_path(out.weights, suffix=".weights.h5") as tmp:
        network.save_weights(str(tmp))
    with atomic_path(out.history, suffix=".csv") as tmp:
        history.to_csv(tmp, index=False)
    written = ModelCard(
        **card,
        parameters=int(network.count_params()),
        epochs_run=int(len(history)),
        best_val_loss=float(history["val_loss"].min()) if len(history) else None,
        train_seconds_last_session=round(seconds, 2),
        device=device,
        resumed=resumed,
    )
    with atomic_path(out.card, suffix=".json") as tmp:
        tmp.write_text(written.to_json())
    shutil.rmtree(Path(out.work_dir) / "backup", ignore_errors=True)
    return written


def final_history(path: Path):
    """One row per epoch: a resumed run may have re-logged the epoch it was killed in."""
    import pandas as pd

    if not path.exists():
        return pd.DataFrame(columns=["epoch", "loss", "val_loss"])
    history = pd.read_csv(path)
    return history.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)


def seeded_batches(draw, steps: int, seed: int, fixed: bool = False):
    """A Keras dataset of `steps` batches an epoch; the k-th batch drawn in a training is
    draw(Generator([seed, k])), so every run sees the same batches and a resumed run continues
    the stream where the checkpoint left it (fit_resumable sets `drawn`). fixed: batch i of every
    epoch is draw(Generator([seed, i])) (validation)."""
    import keras
    import numpy as np

    class SeededBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.drawn = 0

        def __len__(self) -> int:
            return steps

        def __getitem__(self, index: int):
            if fixed:
                return draw(np.random.default_rng([seed, index]))
            self.drawn += 1
            return draw(np.random.default_rng([seed, self.drawn - 1]))

    return SeededBatches()
