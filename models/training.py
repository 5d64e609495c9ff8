"""Training shared by every model: TensorFlow set-up, the training config, and a fit that
checkpoints every epoch so that a killed job resumes where it stopped."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from sonata import SonataError
from sonata.logs import PROGRESS

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
    where = f"GPU x{len(gpus)}" if gpus else f"CPU ({threads} thread{'s' * (threads != 1)})"
    return f"{where}, {policy}"


def learning_rate(rate: float, schedule: str, total_steps: int):
    """Adam's learning rate: constant, or with schedule "cosine" decaying to zero along a cosine
    over total_steps (the optimizer's step count is checkpointed, so a resumed run goes on
    along the same curve)."""
    import keras

    if schedule == "cosine" and total_steps > 0:
        return keras.optimizers.schedules.CosineDecay(rate, total_steps)
    return rate


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
    train_data: SeededBatches,
    validation_data: SeededBatches,
    training: TrainingConfig,
    work_dir: str,
    steps: int | None = None,
    judge: Callable[[], float] | None = None,
):
    """Fit for `training`'s epochs with a checkpoint per epoch in work_dir; a rerun after a kill
    resumes from the last one, weights, optimizer state and data stream alike. steps: per epoch,
    when not training.steps_per_epoch. judge: a score of the current weights, higher is better
    (say, how well a performer plays validation notes), asked after every epoch and written to
    the history as val_score. The result is the best epoch's weights (lowest validation loss, or
    best-judged), and early stopping waits `patience` epochs for a better one. Returns (history:
    one row per epoch, seconds this session, resumed)."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    with checkpoint_lock(work):
        return _fit(
            trainer,
            train_data,
            validation_data,
            training.epochs,
            steps or training.steps_per_epoch,
            training.validation_steps,
            training.early_stopping_patience,
            work,
            judge,
        )


def _fit(trainer, train_data, validation_data, epochs, steps, validation_steps, patience, work: Path, judge):
    """One train_on_batch per step (feeding numpy batches through a Python generator into
    Model.fit cost the performer half its time in the kernel); Keras' EarlyStopping semantics:
    stop after `patience` epochs without a better validation loss (or judged score), back to
    the best weights."""
    import numpy as np

    backup = work / "backup"
    state_path, latest, best_path = (
        backup / "state.json",
        backup / "latest.weights.h5",
        backup / "best.weights.h5",
    )
    history_csv = work / "history.csv"
    trainer.optimizer.build(trainer.trainable_variables)  # so that a checkpoint restores its moments
    resumed = state_path.exists()
    state = {"epoch": 0, "best_score": None, "wait": 0}
    if resumed:
        log.info("resuming from the checkpoint in %s", backup, extra=PROGRESS)
        state = json.loads(state_path.read_text())
        trainer.load_weights(str(latest))
    else:  # a fresh run must not inherit a finished run's curves
        history_csv.unlink(missing_ok=True)
    started = time.time()
    for epoch in range(state["epoch"], epochs):
        began = time.time()
        losses = [
            trainer.train_on_batch(*train_data.batch(epoch * steps + i), return_dict=True)["loss"]
            for i in range(steps)
        ]
        val = [
            trainer.test_on_batch(*validation_data.batch(i), return_dict=True)["loss"]
            for i in range(validation_steps)
        ]
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "val_loss": float(np.mean(val))}
        if judge is not None:
            row["val_score"] = float(judge())
        with history_csv.open("a") as f:
            f.write(
                ("" if f.tell() else ",".join(row) + "\n") + ",".join(repr(v) for v in row.values()) + "\n"
            )
        log.info(
            "epoch %d/%d - %.0fs - %s",
            epoch + 1,
            epochs,
            time.time() - began,
            " - ".join(f"{k}: {v:.4f}" for k, v in row.items() if k != "epoch"),
            extra=PROGRESS,
        )
        backup.mkdir(exist_ok=True)
        better = -row["val_loss"] if judge is None else row["val_score"]  # higher is better
        if state.get("best_score") is None or better > state["best_score"]:
            state.update(best_score=better, best_epoch=epoch + 1, wait=0)
            _save(trainer, best_path)
        else:
            state["wait"] += 1
        state["epoch"] = epoch + 1
        _save(trainer, latest)
        state_path.write_text(json.dumps(state))  # last: a kill before it repeats this epoch
        if state["wait"] >= patience:
            log.info("no better validation result for %d epochs: stopping", patience, extra=PROGRESS)
            break
    if best_path.exists():  # the result is the best epoch, however training ended
        if judge is None:
            log.info(
                "keeping epoch %s, the lowest val_loss (%.4f)",
                state.get("best_epoch", "?"),  # checkpoints before 2026-12-06 did not record it
                -state["best_score"],
                extra=PROGRESS,
            )
        else:
            log.info(
                "keeping epoch %s, the best-judged (val_score %.4f)",
                state.get("best_epoch", "?"),
                state["best_score"],
                extra=PROGRESS,
            )
        trainer.load_weights(str(best_path))
    return final_history(history_csv), time.time() - started, resumed


def _save(trainer, path: Path) -> None:
    tmp = path.with_name(".tmp." + path.name)
    trainer.save_weights(str(tmp))
    os.replace(tmp, path)


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


class SeededBatches:
    """Batch k of a training is draw(Generator([seed, k])): every run sees the same batches,
    and a run resumed at epoch e continues the stream at k = e * steps. Validation uses the
    same k = 0 .. validation_steps - 1 every epoch."""

    def __init__(self, draw, seed: int):
        self.draw, self.seed = draw, seed

    def batch(self, k: int):
        import numpy as np

        return self.draw(np.random.default_rng([self.seed, k]))
