"""How the composer's sampling settings shape the pieces the performer plays: after a run, every
dataset's composer writes pieces under each temperature and nucleus (top_p) asked for, several
seeds and primers each, the run's performer plays them, and each setting gets the notes route's
own measures (score following against the piece's notes, tonal fraction, chroma change, silence,
and the note statistics against the held-out notes). One composed piece per dataset, which is
what a run's metrics hold, is too few to choose a setting by.

    python -m benchmarks.composer_sampling RESULTS --temperature 0.8 0.95 --top-p 0.95 \\
        --pieces 3 --seconds 120 [--csv pieces.csv] [--audio DIR]

Every temperature is tried with every top_p. Piece k (1..pieces) of a setting takes the primer
a run's k-th piece of each length takes (models.notes.composing.choose_primer, in turn over the
test recordings) and the seed of a run's composition number k (counted from 0 over
generation.durations): with the default durations [5, 120], piece 1 at the config's setting is
the run's first 2-minute piece, and pieces 2, 3, ... take the next primers and seeds. Prints Markdown
tables: means over the pieces, with their range.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MEASURES = [
    "score_following",
    "tonal_fraction",
    "chroma_change",
    "silent_fraction",
    "rms_mean",
    "spectral_distance_db",
]
NOTE_MEASURES = ["pitch_class_distance", "notes_per_second", "polyphony", "pitch_range", "repetition"]


def compose_pieces(
    results: str,
    dataset: str,
    config: dict,
    settings: list[tuple[float, float]],
    pieces: int,
    seconds: float,
    folder: str | None = None,
) -> list[dict]:
    """Every (temperature, top_p) setting's `pieces` compositions for one dataset: their notes
    and the primer recording's composer and ensemble (what the performer is told). The composer
    is the run's, or the one saved in `folder` (model.json, model.weights.h5)."""
    from models.notes.composers import COMPOSERS, load_sampler
    from models.notes.composing import compose_piece
    from sonata.shards import read_notes_shard

    folder = folder or f"{results}/notes/{dataset}/composer"
    frame_seconds = float(config["notes"]["frame_seconds"])
    section = config["notes"]["composer"]
    sampling = {  # every composer's sampling keys: the saved one may not be the config's
        key: value
        for name in COMPOSERS
        for key, value in COMPOSERS.sampling_settings({**section, "architecture": name}).items()
    }
    sampler = load_sampler(f"{folder}/model.json", f"{folder}/model.weights.h5", frame_seconds, sampling)
    header, tables = read_notes_shard(f"{results}/shards/{dataset}/notes/test.h5")
    made = []
    for temperature, top_p in settings:
        for number in range(1, pieces + 1):
            keep_ensemble = config["notes"]["composer"]["keep_ensemble"]
            seed = int(config["seed"]) + number
            k, notes, *_ = compose_piece(
                sampler, tables, number - 1, seconds, temperature, top_p, keep_ensemble, seed
            )
            made.append(
                {
                    "dataset": dataset,
                    "temperature": temperature,
                    "top_p": top_p,
                    "piece": number,
                    "notes": notes,
                    "composer": header.composers[k],
                    "ensemble": header.ensembles[k],
                }
            )
    return made


def held_out_of(
    results: str, datasets: list[str], fft_size: int
) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Per dataset, what its pieces are measured against: the held-out notes end to end, as a
    run's note metrics take them, and the power spectrum of the held-out audio."""
    from sonata.analysis import power_spectrum
    from sonata.audio import read_audio
    from sonata.metrics import end_to_end
    from sonata.shards import read_notes_shard

    held_out = {}
    for dataset in datasets:
        header, tables = read_notes_shard(f"{results}/shards/{dataset}/notes/test.h5")
        wavs = [read_audio(in_results(results, w))[0] for w in header.wavs]
        held_out[dataset] = (end_to_end(tables), power_spectrum(np.concatenate(wavs), fft_size))
    return held_out


def play_and_measure(
    results: str,
    config: dict,
    made: list[dict],
    seconds: float,
    held_out: dict[str, tuple[pd.DataFrame, np.ndarray]],
    audio_dir: str | None = None,
) -> pd.DataFrame:
    """The run's performer plays every piece (one batch); one row of measures per piece, against
    its dataset's held_out (held_out_of). With audio_dir, each piece's wav and label CSV are
    kept there (<dataset>_t<T>_p<P>_<k>.wav/.csv)."""
    from models.conditioning import known_condition_ids
    from models.notes.performers import load_performer
    from models.notes.performers.settings import PerformerSettings
    from sonata.audio import interpolate, read_audio, write_wav
    from sonata.labels import labels_table

    folder = f"{results}/notes/performer"
    model, spec, card, adapter = load_performer(f"{folder}/model.json", f"{folder}/model.weights.h5")
    settings = PerformerSettings.from_card(card, float(config["notes"]["frame_seconds"]))
    ids = known_condition_ids(made, card.model, card.conditions)
    cfg = config["notes"]["performer"]
    total = len(made) * int(round(seconds * settings.sample_rate))
    bar = tqdm(total=total, unit="sample", unit_scale=True, desc="performing", mininterval=5)
    sounds = adapter.perform(
        model,
        spec,
        settings,
        [m["notes"] for m in made],
        [seconds] * len(made),
        ids,
        int(config["seed"]),
        {k: cfg[k] for k in ("temperature", "probability_floor", "guidance")},
        bar.update,
    )
    bar.close()
    rate = int(config["audio"]["sample_rate"])
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for piece, sound in zip(made, sounds):
            # measured from a 16-bit wav at the output rate, as a run's metrics measure its pieces
            # (the quantisation's floor fills the bands a performer below 16 kHz leaves empty)
            name = f"{piece['dataset']}_t{piece['temperature']:g}_p{piece['top_p']:g}_{piece['piece']}.wav"
            path = Path(audio_dir or scratch) / name
            write_wav(path, interpolate(sound, rate // settings.sample_rate), rate)
            if audio_dir:  # its notes beside it, as a label CSV the workflow reads
                labels_table(piece["notes"]).to_csv(path.with_suffix(".csv"), index=False)
            audio, _ = read_audio(path)
            notes, reference = held_out[piece["dataset"]]
            rows.append(measure(audio, rate, piece, reference, notes, config["metrics"]))
    return pd.DataFrame(rows)


def in_results(results: str, path: str) -> Path:
    """A path a run's shards name (\"results/wav/9005.wav\", from the run's directory) in the
    results folder given, wherever and however named it is."""
    named = Path(path)
    if named.is_absolute() or not named.parts or named.parts[0] != "results":
        return named
    return Path(results) / named.relative_to("results")


def measure(
    audio: np.ndarray, rate: int, piece: dict, reference: np.ndarray, held_out: pd.DataFrame, metrics: dict
) -> dict:
    """One performed piece's row: its setting, the measures of its sound (as compute_metrics
    measures a run's pieces), its notes' statistics."""
    from sonata.analysis import note_statistics
    from sonata.metrics import sound_measures

    measured = sound_measures(audio, rate, reference, metrics, piece["notes"])
    return {
        **{k: piece[k] for k in ("dataset", "temperature", "top_p", "piece")},
        **{k: measured[k] for k in MEASURES},
        **note_statistics(piece["notes"], reference=held_out),
    }


def baselines(
    held_out: dict[str, tuple[pd.DataFrame, np.ndarray]], seconds: float, seed: int
) -> pd.DataFrame:
    """The note statistics' yardsticks per dataset (held_out_of), as a run's note metrics hold them."""
    from sonata.analysis import note_statistics
    from sonata.metrics import held_out_stretches, note_yardsticks

    rows = []
    for dataset, (notes_held_out, _) in held_out.items():
        stretch = held_out_stretches(notes_held_out, seconds, most=1)[0]
        for name, make in note_yardsticks(seconds, seed).items():
            notes = make(stretch, 0)
            rows.append(
                {"dataset": dataset, "yardstick": name, **note_statistics(notes, reference=notes_held_out)}
            )
    return pd.DataFrame(rows)


def summary(
    rows: pd.DataFrame,
    by: tuple[str, ...] = ("dataset", "temperature", "top_p"),
    measures: list[str] = MEASURES + NOTE_MEASURES,
    count: str = "pieces",
) -> str:
    """Markdown: one line per group of rows (`by`), each measure's mean over them and its range."""
    lines = [
        "| " + " | ".join([*by, count, *measures]) + " |",
        "|" + "---|" * (len(by) + 1 + len(measures)),
    ]
    for keys, group in rows.groupby(list(by), sort=True):
        cells = []
        for measure in measures:
            values = group[measure].to_numpy(dtype=float)
            values = values[np.isfinite(values)]  # NaN: no note sounds, too few notes for a shape
            cells.append(
                f"{values.mean():.3f} ({values.min():.3f}-{values.max():.3f})" if len(values) else "-"
            )
        named = [f"{k:g}" if isinstance(k, float) else str(k) for k in keys]
        lines.append("| " + " | ".join([*named, str(len(group)), *cells]) + " |")
    return "\n".join(lines)


def run_parser(doc: str) -> argparse.ArgumentParser:
    """A command line for a benchmark that reads a finished run: its results folder and config
    (read with benchmarks.performer_steps.read_config); `doc`'s first paragraph describes it."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default="results", help="a finished run's results folder")
    parser.add_argument(
        "--config", default=str(REPO / "config.yaml"), help="the config that run used (default: config.yaml)"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    from sonata.config import read_config

    parser = run_parser(__doc__)
    parser.add_argument(
        "--temperature",
        type=float,
        nargs="+",
        help="composer temperatures, each tried with every --top-p (default: notes.composer.temperature)",
    )
    parser.add_argument(
        "--top-p", type=float, nargs="+", help="nucleus sizes (default: notes.composer.top_p)"
    )
    parser.add_argument("--pieces", type=int, default=3, help="pieces per setting and dataset (default: 3)")
    parser.add_argument("--seconds", type=float, help="each piece's length (default: the longest duration)")
    parser.add_argument("--csv", help="also write one row per piece here")
    parser.add_argument(
        "--audio", help="keep every piece here: a 16-bit wav at the output rate and its label CSV"
    )
    args = parser.parse_args(argv)
    config = read_config(args.config)
    composer = config["notes"]["composer"]
    settings = [
        (t, p)
        for t in args.temperature or [float(composer["temperature"])]
        for p in args.top_p or [float(composer["top_p"])]
    ]
    seconds = args.seconds or float(max(config["generation"]["durations"]))
    made = [
        piece
        for dataset in config["datasets"]
        for piece in compose_pieces(args.results, dataset, config, settings, args.pieces, seconds)
    ]
    if args.audio:
        os.makedirs(args.audio, exist_ok=True)
    held_out = held_out_of(args.results, list(config["datasets"]), int(config["metrics"]["fft_size"]))
    rows = play_and_measure(args.results, config, made, seconds, held_out, args.audio)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    print(f"\n### Composer sampling: {args.pieces} pieces of {seconds:g} s per setting and dataset\n")
    print(summary(rows))
    yardsticks = baselines(held_out, seconds, int(config["seed"]))
    print("\nNote statistics' yardsticks:\n")
    print("| dataset | yardstick | " + " | ".join(NOTE_MEASURES) + " |")
    print("|" + "---|" * (2 + len(NOTE_MEASURES)))
    for row in yardsticks.itertuples(index=False):
        values = " | ".join(f"{getattr(row, m):.3f}" for m in NOTE_MEASURES)
        print(f"| {row.dataset} | {row.yardstick} | {values} |")


if __name__ == "__main__":
    main()
