"""How fast basic-pitch transcribes the corpus, and how well, per recording and per ensemble.

    python -m benchmarks.transcription [RESULTS_OR_AUDIO_DIR] [--jobs 2] [--threads 1] [--limit N]

RESULTS_OR_AUDIO_DIR (default: results) is a run's results folder, whose converted recordings
are results/wav/<id>.wav (rules/audio.smk) and whose labels and metadata are under
results/corpus/, or any folder of wav files (label CSVs named like them in *_labels/ folders
beneath it are scored where found). Without wavs there, it renders a few pieces of known notes
through FluidSynth's piano and measures on those, and says so. Each job transcribes one
recording at a time on `--threads` onnxruntime threads, as a transcription rule would; the
total wall time is for the whole folder with `--jobs` recordings at once. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RENDERED_PIECES, RENDERED_SECONDS = 4, 60.0


def find_recordings(folder: Path) -> list[dict]:
    """Every wav of a results folder (its wav/) or of a plain folder, with its label CSV and
    ensemble where the folder has them."""
    audio_dir = folder / "wav" if (folder / "wav").is_dir() else folder
    wavs = sorted(audio_dir.glob("*.wav"))
    labels = {p.stem: p for p in folder.rglob("*.csv") if p.parent.name.endswith("_labels")}
    ensembles: dict[str, str] = {}
    for metadata in folder.rglob("musicnet_metadata.csv"):
        table = pd.read_csv(metadata, dtype=str)
        if {"id", "ensemble"} <= set(table.columns):
            ensembles.update(zip(table["id"], table["ensemble"]))
        break
    return [
        {
            "wav": str(w),
            "labels": str(labels[w.stem]) if w.stem in labels else None,
            "ensemble": ensembles.get(w.stem, ""),
        }
        for w in wavs
    ]


def known_notes(seconds: float, seed: int, step: float) -> pd.DataFrame:
    """A note every `step` seconds, a random walk in C major over two octaves from C4."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    degrees = np.clip(np.cumsum(rng.choice([-2, -1, 1, 2], int(seconds / step))), -7, 7) + 7
    onsets = np.arange(len(degrees)) * step
    pitches = 60 + 12 * (degrees // 7) + scale[degrees % 7]
    return pd.DataFrame({"onset": onsets, "offset": onsets + step, "pitch": pitches, "program": 1})


def render_recordings(folder: Path, pieces: int, seconds: float) -> list[dict]:
    """Pieces of known notes (known_notes) through FluidSynth's GM piano at 16 kHz."""
    from sonata.audio import write_wav
    from sonata.config import repo_config
    from sonata.labels import labels_table, write_midi
    from sonata.synth import synthesize

    embedded = repo_config()["corpus"]["embedded"]
    rows = []
    for k in range(pieces):
        notes = known_notes(seconds, seed=k, step=(0.25, 0.5)[k % 2])
        midi, wav, labels = (folder / f"rendered_{k}{suffix}" for suffix in (".mid", ".wav", ".csv"))
        write_midi(notes, str(midi))
        audio = synthesize(midi, embedded["soundfont"], 16000, float(embedded["gain"]), seconds + 1.0)
        write_wav(wav, audio, 16000)
        labels_table(notes).to_csv(labels, index=False)
        rows.append({"wav": str(wav), "labels": str(labels), "ensemble": "rendered piano"})
    return rows


def transcribe_one(recording: dict, threads: int, onset_tolerance: float) -> dict:
    """One recording's timings (wall and CPU, model and decoding apart) and scores."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    from sonata.transcription import activations, load_model, notes_from_activations, transcription_scores

    load_model(threads)
    load_wall, load_cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    from sonata.audio import read_audio

    audio, rate = read_audio(recording["wav"])
    wall, cpu = time.perf_counter(), time.process_time()
    output = activations(audio, rate, threads)
    model_wall, model_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    notes = notes_from_activations(output)
    decode_wall, decode_cpu = time.perf_counter() - wall, time.process_time() - cpu
    row = {
        "recording": Path(recording["wav"]).stem,
        "ensemble": recording["ensemble"],
        "audio_s": len(audio) / rate,
        "notes": len(notes),
        "load_wall": load_wall,
        "load_cpu": load_cpu,
        "model_wall": model_wall,
        "model_cpu": model_cpu,
        "decode_wall": decode_wall,
        "decode_cpu": decode_cpu,
        "onset_f1": np.nan,
        "frame_f1": np.nan,
    }
    if recording["labels"]:
        from sonata.labels import read_labels

        scores = transcription_scores(read_labels(recording["labels"]), notes, onset_tolerance)
        row.update(onset_f1=scores["onset_f1"], frame_f1=scores["frame_f1"])
    return row


def markdown(frame: pd.DataFrame, floats: str = "{:.2f}") -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        cells = [floats.format(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows: list[dict], total_wall: float, jobs: int, threads: int, source: str) -> str:
    table = pd.DataFrame(rows)
    minutes = table["audio_s"] / 60.0
    per_recording = pd.DataFrame(
        {
            "recording": table["recording"],
            "ensemble": table["ensemble"],
            "audio min": minutes,
            "notes": table["notes"],
            "model s": table["model_wall"],
            "decode s": table["decode_wall"],
            "CPU s / audio min": (table["model_cpu"] + table["decode_cpu"]) / minutes,
            "onset F1": table["onset_f1"],
            "frame F1": table["frame_f1"],
        }
    )
    audio_minutes = float(minutes.sum())
    totals = pd.DataFrame(
        [
            {
                "recordings": len(table),
                "audio min": audio_minutes,
                "jobs x threads": f"{jobs} x {threads}",
                "cores": os.cpu_count(),
                "wall s": total_wall,
                "wall s / audio min": total_wall / audio_minutes,
                "CPU s / audio min": float((table["model_cpu"] + table["decode_cpu"]).sum()) / audio_minutes,
                "model CPU s / audio min": float(table["model_cpu"].sum()) / audio_minutes,
                "decode CPU s / audio min": float(table["decode_cpu"].sum()) / audio_minutes,
                "import + load s (per process)": float(table["load_wall"].max()),
            }
        ]
    )
    parts = [
        f"\n### Transcription with basic-pitch (ONNX on onnxruntime): {source}\n",
        markdown(totals),
        "\n#### Per recording\n",
        markdown(per_recording),
    ]
    scored = table.dropna(subset=["onset_f1"])
    if len(scored):
        by_ensemble = scored.groupby("ensemble", sort=True).agg(
            recordings=("recording", "size"),
            onset_f1=("onset_f1", "mean"),
            onset_min=("onset_f1", "min"),
            onset_max=("onset_f1", "max"),
            frame_f1=("frame_f1", "mean"),
        )
        parts += ["\n#### Against the labels, per ensemble (means over recordings)\n"]
        parts.append(markdown(by_ensemble.reset_index()))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default="results", help="a results folder or a folder of wavs")
    parser.add_argument("--jobs", type=int, default=1, help="recordings transcribed at once (processes)")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads per job")
    parser.add_argument("--limit", type=int, default=None, help="only the first N recordings")
    parser.add_argument("--onset-tolerance", type=float, default=0.05, help="seconds (mir_eval's 50 ms)")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    recordings = find_recordings(folder) if folder.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        if recordings:
            source = f"{len(recordings)} wav files of {folder}"
        else:
            recordings = render_recordings(Path(tmp), RENDERED_PIECES, RENDERED_SECONDS)
            source = (
                f"no wav files in {folder}: {RENDERED_PIECES} pieces of {RENDERED_SECONDS:g} s of "
                "known notes rendered with FluidSynth's piano instead"
            )
        recordings = recordings[: args.limit]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(transcribe_one, r, args.threads, args.onset_tolerance) for r in recordings]
            rows = [f.result() for f in futures]
        total_wall = time.perf_counter() - start
    text = report(rows, total_wall, args.jobs, args.threads, source)
    print(text)
    return text


if __name__ == "__main__":
    main()
