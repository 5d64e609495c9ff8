"""Train the one performer every dataset shares: a WaveNet that plays the notes it is given."""

import logging
import os

from models.training import (
    SeededBatches,
    TrainingConfig,
    TrainingOutputs,
    configure_tensorflow,
    fit_resumable,
    save_trained,
)
from sonata import SonataError
from sonata.records import ModelCard
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.performer")


def performer_recordings(shards: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """(wav, notes, composer, ensemble) per split for the shared performer, from every dataset's
    notes shards. A movement that any dataset holds out is never trained on, and one that any
    dataset tests on is never validated on, so every dataset's held-out notes stay unheard."""
    found: dict[str, dict[int, tuple]] = {"train": {}, "validation": {}, "test": {}}
    for split, paths in shards.items():
        for path in paths:
            header, tables = read_notes_shard(path)
            for rid, wav, composer, ensemble, notes in zip(
                header.source_ids, header.wavs, header.composers, header.ensembles, tables
            ):
                found[split][rid] = (wav, notes, composer, ensemble)
    held = set(found["validation"]) | set(found["test"])
    chosen = {
        "train": [r for rid, r in sorted(found["train"].items()) if rid not in held],
        "validation": [r for rid, r in sorted(found["validation"].items()) if rid not in found["test"]],
    }
    for split, rows in chosen.items():
        if not rows:
            raise SonataError(
                f"the performer has no {split} recordings left once every dataset's held-out "
                "recordings are set aside; select more recordings in datasets:"
            )
    return chosen


def train_performer(
    cfg: dict,
    notes_cfg: dict,
    training: TrainingConfig,
    shards: dict[str, list[str]],
    seed: int,
    out: TrainingOutputs,
) -> ModelCard:
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.conditioning import condition_vocabulary
    from models.performer import PerformerSettings, performer_spec, prepare, window_batch
    from models.wavenet import build_wavenet, wavenet_trainer

    keras.utils.set_random_seed(seed)
    settings = PerformerSettings(
        int(cfg["sample_rate"]),
        float(notes_cfg["frame_seconds"]),
        int(notes_cfg["onset_frames"]),
        int(cfg["window_frames"]),
    )
    spec = performer_spec(cfg, settings)
    chosen = performer_recordings(shards)
    records = [{"composer": c, "ensemble": e} for _, _, c, e in chosen["train"]]
    vocabulary = condition_vocabulary(records, cfg)
    keys = cfg.get("condition_on") or []

    def load(rows):
        out = []
        for wav, notes, composer, ensemble in rows:
            name = " / ".join(str({"composer": composer, "ensemble": ensemble}[k]) for k in keys)
            out.append(
                prepare(
                    wav,
                    notes,
                    settings,
                    spec.quantization_channels,
                    vocabulary.index(name) if name in vocabulary else 0,
                )
            )
        return out

    train_set, validation_set = load(chosen["train"]), load(chosen["validation"])
    model = build_wavenet(spec, len(vocabulary))
    trainer = wavenet_trainer(model, spec)
    crop = spec.receptive_field - 1
    conditioned = bool(vocabulary)

    def draw(recordings):
        return lambda rng: window_batch(recordings, settings, spec.batch_size, rng, crop, conditioned)

    log.info(
        "performer: %d training recordings (%.1f min), %d validation, %s, receptive field %d samples, "
        "%d parameters, device %s",
        len(train_set),
        sum(len(r.codes) for r in train_set) / settings.sample_rate / 60,
        len(validation_set),
        f"conditioned on {vocabulary}" if conditioned else "no global conditioning",
        spec.receptive_field,
        model.count_params(),
        device,
    )
    history, seconds, resumed = fit_resumable(
        trainer,
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
        architecture="performer",
        model=spec.to_config(),
        scheme={
            "window_samples": settings.window_frames * settings.frame_samples,
            "frame_samples": settings.frame_samples,
            "onset_frames": settings.onset_frames,
        },
        sample_rate=settings.sample_rate,
        conditions=vocabulary,
        context_samples=spec.receptive_field,
        context_ms=1000.0 * spec.receptive_field / settings.sample_rate,
    )


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    setup_logging(snakemake.log[0])
    train_performer(
        snakemake.params.performer,
        snakemake.params.notes,
        TrainingConfig.from_config(snakemake.params.training),
        {
            "train": list(snakemake.input.train),
            "validation": list(snakemake.input.validation),
            "test": list(snakemake.input.test),
        },
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
