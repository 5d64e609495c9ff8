"""How the performer's playing grows with training: one long training of the performer (the
packed config's, with any `--set` changes), judged at checkpoints on the notes route's own
targets (score following and tonal fraction of the held-out passages, as compute_metrics
measures them), on whatever Keras backend and device this process has. It answers whether the
targets wait for compute or for the model.

    python -m benchmarks.performer_steps pack RESULTS PACK   # after a default run: its note shards, wavs
    python -m benchmarks.performer_steps run PACK --steps 12000 --every 2400 [--set KEY=VALUE ...]

`pack` gathers what training needs (the performer's recordings as mu-law codes at its rate, their
notes, the validation and held-out passages) into one file small enough to carry to a GPU
machine without the corpus or TensorFlow (`KERAS_BACKEND=jax`). `run` prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import time
from pathlib import Path

import numpy as np
import yaml

from sonata.config import read_config

REPO = Path(__file__).resolve().parents[1]


def with_performer(config: dict, name: str) -> dict:
    """The config with performer `name`: as it is when its `notes.performer` names it already,
    else with that performer's measured settings (its preset, or config.yaml's defaults) over
    the section."""
    from models.notes.performers import get_performer

    performer = config["notes"]["performer"]
    if performer["architecture"] == name:
        return config
    preset = get_performer(name).preset
    source = yaml.safe_load((REPO / (preset or "config.yaml")).read_text())["notes"]["performer"]
    return {
        **config,
        "notes": {**config["notes"], "performer": {**performer, **source, "architecture": name}},
    }


def with_wavenet_performer(config: dict) -> dict:
    """The config with the WaveNet as its performer: the benchmarks that train and time the
    performer step by step are the WaveNet's (the harmonic performer is measured by the default
    run itself)."""
    return with_performer(config, "wavenet")


def pack(results: str, out: str, config: dict | None = None) -> None:
    """Everything `run` needs, the config included, from the results folder of a finished run
    of that config (config.yaml's by default; its performer the WaveNet: with_wavenet_performer)."""
    from models.conditioning import condition_vocabulary, known_condition_ids
    from models.notes.performers.settings import PerformerSettings
    from models.notes.performers.training import listening_passages, performer_recordings
    from models.notes.performers.wavenet import prepare
    from sonata.passages import held_out_passages

    config = with_wavenet_performer(config or read_config())
    notes_cfg, cfg = config["notes"], config["notes"]["performer"]
    shards = {
        split: [f"{results}/shards/{d}/notes/{split}.h5" for d in config["datasets"]]
        for split in ("train", "validation", "test")
    }
    chosen = performer_recordings(shards)
    vocabulary = condition_vocabulary([{"composer": c, "ensemble": e} for *_, c, e in chosen["train"]], cfg)

    def ids(rows: list[dict]) -> list[int]:
        found = known_condition_ids(rows, cfg, vocabulary)
        return [0] * len(rows) if found is None else [int(i) for i in found]

    settings = PerformerSettings.from_config(notes_cfg)
    codes = np.uint8 if cfg["quantization_channels"] <= 256 else np.int32
    recordings = {}
    for split, rows in chosen.items():
        recordings[split] = [
            (prepare(wav, notes, settings, cfg["quantization_channels"])[0].codes.astype(codes), notes, i)
            for (wav, notes, _, _), i in zip(rows, ids([{"composer": c, "ensemble": e} for *_, c, e in rows]))
        ]
    listening = listening_passages(
        chosen["validation"], cfg["checkpoint_passages"], cfg["checkpoint_seconds"]
    )
    held_out = []
    for dataset in config["datasets"]:
        passages = held_out_passages(
            f"{results}/shards/{dataset}/notes/test.h5",
            notes_cfg["held_out_seconds"],
            notes_cfg["held_out_passages"],
        )
        for (_, notes), i in zip(passages, ids([w for w, _ in passages])):
            held_out.append((dataset, notes, i))
    data = {
        "config": config,
        "vocabulary": vocabulary,
        "recordings": recordings,
        "listening": [
            (notes, i)
            for (notes, _), i in zip(
                listening, ids([{"composer": r[2], "ensemble": r[3]} for _, r in listening])
            )
        ],
        "held_out": held_out,
    }
    with gzip.open(out, "wb") as f:
        pickle.dump(data, f)
    print(f"packed {out}: {os.path.getsize(out) / 1e6:.1f} MB")


PACKED = {"sample_rate", "quantization_channels", "condition_on"}  # fixed by `pack`


def _setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    return key, yaml.safe_load(value)


def run(
    pack_path: str,
    steps: int,
    every: int,
    overrides: list[str],
    seed: int | None = None,
    averages: tuple[float, ...] = (),
) -> None:
    """Train for `steps`, judging every `every` steps; print one table row per judgement.
    overrides: "KEY=VALUE" settings of notes.performer over the packed config's ("notes.KEY=VALUE"
    for the notes section's own, onset_frames say). averages: momenta of exponential moving
    averages of the weights, each judged beside the trained weights at every checkpoint (the
    same training, so the comparison carries no seed's chance)."""
    import keras

    from models.notes.performers import PERFORMERS
    from models.notes.performers.settings import PerformerSettings, transpositions
    from models.notes.performers.wavenet import PerformedRecording, performed
    from models.notes.rolls import piano_roll
    from models.training import SeededBatches
    from sonata import SonataError
    from sonata.analysis import score_following, tonal_fraction
    from sonata.audio import interpolate
    from sonata.batching import length_offset
    from sonata.config import validate_config
    from sonata.mulaw import mulaw_decode

    with gzip.open(pack_path, "rb") as f:
        data = pickle.load(f)
    config = data["config"]
    try:
        validate_config(config, f"the config packed in {pack_path}")
    except SonataError as error:  # a pack from before a setting was added (level_db, say)
        raise SystemExit(
            f"{error}\nPack it again from a run of this code "
            "(python -m benchmarks.performer_steps pack RESULTS PACK)"
        ) from None
    notes_cfg, metrics = config["notes"], config["metrics"]
    changes = dict(_setting(o) for o in overrides)
    fixed = sorted(set(changes) & PACKED)
    if fixed:
        raise SystemExit(
            f"{fixed} shaped the packed codes and conditions: pack again with a config that sets them"
        )
    notes_changes = {k.removeprefix("notes."): v for k, v in changes.items() if k.startswith("notes.")}
    cfg = {**notes_cfg["performer"], **{k: v for k, v in changes.items() if not k.startswith("notes.")}}
    notes_cfg = {**notes_cfg, **notes_changes, "performer": cfg}
    try:
        validate_config({**config, "notes": notes_cfg}, "--set")
    except SonataError as error:
        raise SystemExit(str(error)) from None
    seed = config["seed"] if seed is None else seed
    keras.utils.set_random_seed(seed)
    settings = PerformerSettings.from_sections(notes_cfg, cfg)
    # the packed codes are the WaveNet performer's (pack: with_wavenet_performer); its adapter
    # builds, batches and plays as the run's would
    adapter = PERFORMERS.named(cfg["architecture"])
    spec = adapter.spec(PERFORMERS.training_settings(cfg), settings)

    def recording(codes, notes, condition):
        frames = len(codes) // settings.frame_samples
        roll = piano_roll(notes, frames, settings.frame_seconds, settings.onset_frames)
        return PerformedRecording.from_codes(
            codes, roll, condition, spec.quantization_channels, settings.frame_samples
        )

    def heard_in_keys(codes, notes, condition):  # as train_performer's transpositions hear them
        shifted = transpositions(int(cfg["transpose"]))[1:]
        audio = mulaw_decode(codes, spec.quantization_channels) if shifted else None
        return [recording(codes, notes, condition)] + [
            performed(audio, notes, settings, spec.quantization_channels, condition, k) for k in shifted
        ]

    train = [version for r in data["recordings"]["train"] for version in heard_in_keys(*r)]
    validation = [recording(*r) for r in data["recordings"]["validation"]]
    conditioned = bool(data["vocabulary"])
    model = adapter.build(spec, len(data["vocabulary"]))
    trainer = adapter.trainer(model, spec, steps)

    def draw(recordings):
        return lambda rng: adapter.batch(recordings, settings, spec, rng, conditioned)

    batches, checks = SeededBatches(draw(train), seed), SeededBatches(draw(validation), seed + 1)
    out_rate = config["audio"]["sample_rate"]
    fft = int(metrics["fft_size"])
    threshold = float(metrics["silence_threshold"])

    def play(passages, seconds, seed, floor, guidance=0.0):
        ids = np.array([i for _, i in passages]) if conditioned else None
        notes = [n for n, _ in passages]
        sampling = {**PERFORMERS.sampling_settings(cfg), "probability_floor": floor, "guidance": guidance}
        return adapter.perform(model, spec, settings, notes, [seconds] * len(passages), ids, seed, sampling)

    # as the run plays them: the listening test without the floor or guidance; each dataset's held-out
    # passages together, under the seed perform_notes gives their length beside the composed pieces
    held_seconds = float(notes_cfg["held_out_seconds"])
    held_seed = seed + length_offset([*config["generation"]["durations"], held_seconds], held_seconds)
    datasets = list(dict.fromkeys(d for d, _, _ in data["held_out"]))

    def judge(audio, notes) -> tuple[float, float]:
        """(score following, tonal fraction) of a held-out passage, as compute_metrics scores it
        (from the float audio and notes, without the run's 16-bit WAV and label CSV)."""
        audio = interpolate(audio, out_rate // settings.sample_rate)
        sf = score_following(audio, out_rate, notes, fft, metrics["frame_seconds"], threshold)
        tonal = tonal_fraction(
            audio,
            out_rate,
            fft,
            threshold,
            metrics["tonal_peak_db"],
            metrics["tonal_floor_hz"],
            metrics["tonal_band_db"],
        )
        return sf, tonal

    print(
        f"performer, the packed config with {overrides or 'no changes'}: "
        f"{model.count_params():,} parameters, "
        f"{len(train)} training recordings (transposed ones included), "
        f"batch {spec.batch_size}, {steps} steps ({cfg['learning_rate_schedule']} learning rate), "
        f"Keras backend {keras.backend.backend()}"
    )
    print(
        "| steps | train s | loss | val loss "
        f"| validation SF ({cfg['checkpoint_seconds']:g} s, performer rate) "
        "| held-out SF | held-out tonal | held-out SF per dataset |"
    )
    print("|---|---|---|---|---|---|---|---|")
    weights = trainer.trainable_variables
    averaged = {m: None for m in averages}

    def judged(step: int, label: str) -> None:
        val = np.mean([trainer.test_on_batch(*checks.batch(i), return_dict=True)["loss"] for i in range(10)])
        heard = play(data["listening"], float(cfg["checkpoint_seconds"]), seed, 0.0)
        val_sf = np.nanmean(
            [
                score_following(
                    a,
                    settings.sample_rate,
                    n,
                    int(round(fft * settings.sample_rate / out_rate)),
                    metrics["frame_seconds"],
                    threshold,
                )
                for a, (n, _) in zip(heard, data["listening"])
            ]
        )
        per_dataset: dict[str, list] = {}
        floor, guidance = float(cfg["probability_floor"]), float(cfg["guidance"])
        for dataset in datasets:
            passages = [(n, i) for d, n, i in data["held_out"] if d == dataset]
            played = play(passages, held_seconds, held_seed, floor, guidance)
            for audio, (notes, _) in zip(played, passages):
                per_dataset.setdefault(dataset, []).append(judge(audio, notes))
        scores = np.array([v for rows in per_dataset.values() for v in rows])
        split = " / ".join(
            f"{d} {np.mean([s for s, _ in rows]):.3f} (tonal {np.mean([t for _, t in rows]):.3f})"
            for d, rows in per_dataset.items()
        )
        print(
            f"| {step + 1}{label} | {trained:.0f} | {'-' if label else f'{np.mean(losses[-every:]):.3f}'} | "
            f"{val:.3f} | "
            f"{val_sf:.3f} | {scores[:, 0].mean():.3f} | {scores[:, 1].mean():.3f} | {split} |",
            flush=True,
        )

    losses, trained, started = [], 0.0, time.time()
    for step in range(steps):
        began = time.time()
        losses.append(trainer.train_on_batch(*batches.batch(step), return_dict=True)["loss"])
        trained += time.time() - began  # the averages' copies are not the training's time
        now = [v.numpy() for v in weights] if averaged else []
        for momentum, average in averaged.items():
            averaged[momentum] = (
                now if average is None else [momentum * a + (1 - momentum) * w for a, w in zip(average, now)]
            )
        if (step + 1) % every and step + 1 != steps:
            continue
        judged(step, "")
        if averaged:
            trained_weights = [v.numpy() for v in weights]
            for momentum, average in averaged.items():
                for variable, value in zip(weights, average):
                    variable.assign(value)
                judged(step, f" (average {momentum:g})")
            for variable, value in zip(weights, trained_weights):
                variable.assign(value)
    print(f"wall {time.time() - started:.0f} s")


def momentum(text: str) -> float:
    """A moving average's momentum, strictly between 0 and 1."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text}: a momentum is between 0 and 1 (0.999, say)")
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("results")
    p.add_argument("out")
    p.add_argument("--config", default=str(REPO / "config.yaml"), help="the run's config file")
    r = sub.add_parser("run")
    r.add_argument("pack")
    r.add_argument("--steps", type=int, default=12000)
    r.add_argument("--every", type=int, default=2400)
    r.add_argument("--set", action="append", default=[], help="notes.performer KEY=VALUE, or notes.KEY=VALUE")
    r.add_argument("--seed", type=int, default=None, help="the packed config's seed by default")
    r.add_argument(
        "--average",
        type=momentum,
        nargs="+",
        default=[],
        help="also judge moving averages of the weights with these momenta (0.999, say)",
    )
    args = parser.parse_args(argv)
    if args.command == "pack":
        pack(args.results, args.out, read_config(args.config))
    else:
        run(args.pack, args.steps, args.every, args.set, args.seed, tuple(args.average))


if __name__ == "__main__":
    main()
