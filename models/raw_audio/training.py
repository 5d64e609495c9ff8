"""Train one raw-audio model on one dataset's shards through its adapter, resumable after the
job is killed."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from models.training import TrainingConfig, TrainingOutputs, configure_tensorflow, fit_resumable, save_trained
from sonata.logs import PROGRESS
from sonata.records import ModelCard

log = logging.getLogger("sonata.train")


@dataclass(frozen=True)
class TrainingData:
    """A dataset's training and validation shards and its manifest rows (conditioning names)."""

    train: str
    validation: str
    manifest_rows: list[dict]


def train(spec, training: TrainingConfig, data: TrainingData, out: TrainingOutputs, seed: int) -> ModelCard:
    """Fit the model a spec describes (Seq2SeqSpec, WaveNetSpec, ...: models.raw_audio) with
    checkpoints in out.work_dir; a rerun after a kill resumes from the last epoch."""
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.conditioning import condition_labels, condition_vocabulary
    from models.raw_audio import get_architecture, training_dataset
    from sonata.shards import read_header
    from sonata.windows import WindowScheme

    keras.utils.set_random_seed(seed)
    adapter = get_architecture(spec.architecture)
    model_cfg = spec.to_config()
    header = read_header(data.train)
    scheme = WindowScheme(
        header.scheme, header.input_length, header.target_offset, header.target_length, header.hop
    )
    vocabulary = condition_vocabulary(data.manifest_rows, model_cfg)
    model, trainer = adapter.build(spec, scheme, len(vocabulary))
    batch = spec.batch_size
    steps = training.steps_per_epoch or max(1, header.count // batch)
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
    )
    context = adapter.context_samples(spec, scheme)
    log.info(
        "training %s on %s (%d windows), %d steps/epoch, device %s, context %d samples (%.1f ms)",
        adapter.name,
        data.train,
        header.count,
        steps,
        device,
        context,
        1000.0 * context / header.sample_rate,
        extra=PROGRESS,
    )
    history, seconds, resumed = fit_resumable(
        trainer,
        train_ds,
        val_ds,
        training,
        out.work_dir,
        steps,
    )
    return save_trained(
        model,
        history,
        seconds,
        resumed,
        device,
        out,
        architecture=adapter.name,
        model=model_cfg,
        scheme={**asdict(scheme), "window_length": scheme.length},
        sample_rate=int(header.sample_rate),
        conditions=vocabulary,
        context_samples=int(context),
        context_ms=1000.0 * context / header.sample_rate,
    )
