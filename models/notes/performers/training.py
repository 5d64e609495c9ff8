"""The training every performer shares (its adapter supplies the spec, recordings, network,
batches and playing): the recordings it may learn from, the listening test that picks the kept
epoch, and the loop with its model card."""

from __future__ import annotations

import logging

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
from sonata.passages import excerpt, spread_passages
from sonata.records import ModelCard
from sonata.shards import read_notes_shard

log = logging.getLogger("sonata.performer")


def performer_recordings(shards: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """(wav, notes, composer, ensemble) per split for the shared performer, from every dataset's
    notes shards. A movement that any dataset holds out is never trained on, and one that any
    dataset tests on is never validated on, in any of its versions (a quartet and its piano
    arrangement are one movement), so every dataset's held-out notes stay unheard."""
    found: dict[str, dict[int, tuple]] = {"train": {}, "validation": {}, "test": {}}
    movement: dict[int, str] = {}
    for split, paths in shards.items():
        for path in paths:
            header, tables = read_notes_shard(path)
            for rid, wav, composer, ensemble, played, notes in zip(
                header.source_ids, header.wavs, header.composers, header.ensembles, header.movements, tables
            ):
                found[split][rid] = (wav, notes, composer, ensemble)
                movement[rid] = played
    held = {movement[rid] for split in ("validation", "test") for rid in found[split]}
    tested = {movement[rid] for rid in found["test"]}
    chosen = {
        "train": [r for rid, r in sorted(found["train"].items()) if movement[rid] not in held],
        "validation": [r for rid, r in sorted(found["validation"].items()) if movement[rid] not in tested],
    }
    for split, rows in chosen.items():
        if not rows:
            raise SonataError(
                f"the performer has no {split} recordings left once every dataset's held-out "
                "recordings are set aside; select more recordings in datasets:"
            )
    return chosen


def listening_passages(rows: list[tuple], count: int, seconds: float) -> list[tuple]:
    """`count` (notes, row) excerpts of `seconds` from the validation recordings, taken in turn,
    each recording's excerpts spread evenly through it."""
    places = spread_passages([row[1] for row in rows], count, seconds)
    return [(excerpt(rows[k][1], start, seconds), rows[k]) for k, start in places]


def listening_test(
    adapter, model, spec, settings, passages, condition_ids, seconds, sampling, seed, listening
):
    """A judge for fit_resumable: the performer plays the validation passages from silence and
    scores their mean score following (silent frames score 0), as the metrics do at the
    performer's rate."""
    import numpy as np

    from sonata.analysis import score_following

    fft_size = int(round(listening["fft_seconds"] * settings.sample_rate))

    def judge() -> float:
        audio = adapter.perform(
            model,
            spec,
            settings,
            [n for n, _ in passages],
            [seconds] * len(passages),
            condition_ids,
            seed,
            sampling,
        )
        scores = [
            score_following(
                a,
                settings.sample_rate,
                n,
                fft_size,
                listening["frame_seconds"],
                listening["silence_threshold"],
            )
            for a, (n, _) in zip(audio, passages)
        ]
        return float(np.nanmean(scores))

    return judge


def refuse_short(chosen: dict[str, list[tuple]], recordings: dict[str, list], settings) -> None:
    """A recording shorter than one training window (a truncated file) stops training, named."""
    short = [
        row[0]
        for split, rows in chosen.items()
        for row, recording in zip(rows, recordings[split])
        if recording.frames <= settings.window_frames + 1
    ]
    if short:
        raise SonataError(
            f"recording(s) {short} are shorter than the performer's training window "
            f"({settings.window_frames} frames of {settings.frame_seconds:g} s): replace the truncated "
            "files, or lower notes.performer.window_frames"
        )


def train_performer(
    cfg: dict,
    notes_cfg: dict,
    training: TrainingConfig,
    shards: dict[str, list[str]],
    seed: int,
    out: TrainingOutputs,
    listening: dict,
) -> ModelCard:
    """Train the shared performer. With cfg's checkpoint_passages > 0 every epoch plays that
    many validation passages, scored as the metrics would (listening: their frame_seconds,
    fft_seconds and silence_threshold), and the epoch that plays them best is kept."""
    device = configure_tensorflow(training.threads, training.mixed_precision, training.gpus)
    import keras

    from models.conditioning import condition_vocabulary, known_condition_ids
    from models.notes.performers import get_performer
    from models.notes.performers.settings import PerformerSettings, transpositions

    keras.utils.set_random_seed(seed)
    adapter = get_performer(cfg["architecture"])
    settings = PerformerSettings.from_sections(notes_cfg, cfg)
    spec = adapter.spec(cfg, settings)
    chosen = performer_recordings(shards)
    records = [{"composer": c, "ensemble": e} for _, _, c, e in chosen["train"]]
    vocabulary = condition_vocabulary(records, cfg)

    def condition_ids(rows) -> list[int]:  # 0 for every row without global conditioning
        ids = known_condition_ids([{"composer": c, "ensemble": e} for _, _, c, e in rows], cfg, vocabulary)
        return [0] * len(rows) if ids is None else [int(i) for i in ids]

    def load(rows, shifts=(0,)):
        return [
            version
            for r, i in zip(rows, condition_ids(rows))
            for version in adapter.prepare(r[0], r[1], settings, spec, i, shifts)
        ]

    shifts = transpositions(int(cfg["transpose"]))
    train_set, validation_set = load(chosen["train"], shifts), load(chosen["validation"])
    refuse_short(chosen, {"train": train_set[:: len(shifts)], "validation": validation_set}, settings)
    model = adapter.build(spec, len(vocabulary))
    trainer = adapter.trainer(model, spec, training.epochs * training.steps_per_epoch)
    conditioned = bool(vocabulary)
    judge = None
    passages = listening_passages(
        chosen["validation"], int(cfg["checkpoint_passages"]), float(cfg["checkpoint_seconds"])
    )
    if passages:
        import numpy as np

        judge = listening_test(
            adapter,
            model,
            spec,
            settings,
            passages,
            np.array(condition_ids([row for _, row in passages])) if conditioned else None,
            float(cfg["checkpoint_seconds"]),
            # the sampling keys its training reads (the rest only shape performing)
            {key: cfg[key] for key in adapter.retrain_keys if key in cfg},
            seed,
            listening,
        )

    def draw(recordings):
        return lambda rng: adapter.batch(recordings, settings, spec, rng, conditioned)

    card = adapter.card(spec, settings)
    log.info(
        "performer: %s, %d training recordings (%.1f min), heard at %s semitones, %d validation, %s, "
        "context %d samples, %d parameters, device %s",
        adapter.name,
        len(chosen["train"]),
        sum(r.frames for r in train_set[:: len(shifts)]) * settings.frame_seconds / 60,
        list(shifts),
        len(validation_set),
        f"conditioned on {vocabulary}" if conditioned else "no global conditioning",
        card["context_samples"],
        model.count_params(),
        device,
        extra=PROGRESS,
    )
    history, seconds, resumed = fit_resumable(
        trainer,
        SeededBatches(draw(train_set), seed),
        SeededBatches(draw(validation_set), seed + 1),
        training,
        out.work_dir,
        judge=judge,
    )
    return save_trained(
        model,
        history,
        seconds,
        resumed,
        device,
        out,
        architecture=adapter.card_name,
        scheme={
            "window_samples": settings.window_frames * settings.frame_samples,
            "frame_samples": settings.frame_samples,
            "onset_frames": settings.onset_frames,
            "level_db": settings.level_db,
            "level_frames": settings.level_frames,
            "transpositions": list(shifts),
        },
        sample_rate=settings.sample_rate,
        conditions=vocabulary,
        **card,
    )
