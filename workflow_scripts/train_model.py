"""Train one model on one dataset's shards, resumable after the job is killed."""

import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from sonata import SonataError
from sonata.audio import atomic_path

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


def build_model(model_cfg: dict, scheme: dict, n_conditions: int):
    """The model to save and the model to fit (WaveNet's loss sees only full-context outputs)."""
    import keras

    if model_cfg["architecture"] == "seq2seq":
        from models.seq2seq import build_seq2seq

        model = build_seq2seq(scheme["input_length"], scheme["target_length"], int(model_cfg["units"]))
        model.compile(optimizer=keras.optimizers.Adam(model_cfg["learning_rate"]), loss="mse")
        return model, model
    from models.wavenet import build_wavenet, receptive_field

    model = build_wavenet(model_cfg, n_conditions)
    rf = receptive_field(model_cfg)
    # float32 like the logits: under mixed_float16 a float16 crop would undo their float32 softmax
    cropped = keras.layers.Cropping1D((rf - 1, 0), name="full_context", dtype="float32")(model.output)
    trainer = keras.Model(model.inputs, cropped, name="wavenet_trainer")
    trainer.compile(
        optimizer=keras.optimizers.Adam(model_cfg["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model, trainer


def train(
    train_path: str,
    validation_path: str,
    manifest_rows: list[dict],
    model_cfg: dict,
    training_cfg: dict,
    seed: int,
    weights_out: str,
    info_out: str,
    history_out: str,
    work_dir: str,
) -> dict:
    """Fit with checkpoints in work_dir; a rerun after a kill resumes from the last epoch."""
    device = configure_tensorflow(
        int(training_cfg["threads"]), bool(training_cfg["mixed_precision"]), int(training_cfg["gpus"])
    )
    import keras

    from models.conditioning import condition_labels, condition_vocabulary
    from models.data import training_dataset
    from sonata.shards import read_header

    keras.utils.set_random_seed(seed)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    info = read_header(train_path)
    scheme = {
        k: int(getattr(info, k))
        for k in ("input_length", "target_offset", "target_length", "hop", "window_length")
    }
    vocabulary = condition_vocabulary(manifest_rows, model_cfg)
    model, trainer = build_model(model_cfg, scheme, len(vocabulary))
    architecture = model_cfg["architecture"]
    batch = int(model_cfg["batch_size"])
    buffer = int(training_cfg["shuffle_buffer"])
    train_ds = training_dataset(
        train_path,
        architecture,
        model_cfg,
        batch,
        seed,
        buffer,
        condition_labels(info, model_cfg, vocabulary),
    )
    val_info = read_header(validation_path)
    val_ds = training_dataset(
        validation_path,
        architecture,
        model_cfg,
        batch,
        seed + 1,
        buffer,
        condition_labels(val_info, model_cfg, vocabulary),
        train=False,
    )
    val_ds = val_ds.take(int(training_cfg["validation_steps"])).cache()
    steps = int(training_cfg["steps_per_epoch"]) or max(1, info.count // batch)
    history_csv = work / "history.csv"
    resumed = (work / "backup").exists()
    if not resumed:  # a fresh run must not inherit a finished run's curves
        history_csv.unlink(missing_ok=True)
        shutil.rmtree(work / "tensorboard", ignore_errors=True)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(work / "backup"), save_freq="epoch"),
        keras.callbacks.CSVLogger(str(history_csv), append=True),
        keras.callbacks.EarlyStopping(
            patience=int(training_cfg["early_stopping_patience"]), restore_best_weights=True
        ),
        keras.callbacks.TensorBoard(str(work / "tensorboard")),
    ]
    log.info(
        "training %s on %s (%d windows), %d steps/epoch, device %s%s",
        architecture,
        train_path,
        info.count,
        steps,
        device,
        ", resuming" if resumed else "",
    )
    started = time.time()
    trainer.fit(
        train_ds,
        epochs=int(training_cfg["epochs"]),
        steps_per_epoch=steps,
        validation_data=val_ds,
        validation_steps=int(training_cfg["validation_steps"]),
        callbacks=callbacks,
        verbose=1 if sys.stderr.isatty() else 2,
    )
    seconds = time.time() - started
    with atomic_path(weights_out, suffix=".weights.h5") as tmp:
        model.save_weights(str(tmp))
    history = _final_history(history_csv)
    with atomic_path(history_out, suffix=".csv") as tmp:
        history.to_csv(tmp, index=False)
    facts = {
        "architecture": architecture,
        "model": model_cfg,
        "scheme": scheme,
        "sample_rate": int(info.sample_rate),
        "conditions": vocabulary,
        "parameters": int(model.count_params()),
        "epochs_run": int(len(history)),
        "best_val_loss": float(history["val_loss"].min()) if len(history) else None,
        "train_seconds_last_session": round(seconds, 2),
        "device": device,
        "resumed": resumed,
    }
    if architecture == "wavenet":
        from models.wavenet import receptive_field

        facts["receptive_field"] = receptive_field(model_cfg)
        facts["receptive_field_ms"] = 1000.0 * facts["receptive_field"] / facts["sample_rate"]
        log.info(
            "receptive field: %d samples (%.1f ms)", facts["receptive_field"], facts["receptive_field_ms"]
        )
    with atomic_path(info_out, suffix=".json") as tmp:
        tmp.write_text(json.dumps(facts, indent=2))
    shutil.rmtree(work / "backup", ignore_errors=True)
    return facts


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
        snakemake.input.train,
        snakemake.input.validation,
        rows,
        snakemake.params.model,
        snakemake.params.training,
        int(snakemake.params.seed),
        snakemake.output.weights,
        snakemake.output.info,
        snakemake.output.history,
        snakemake.params.work_dir,
    )


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
