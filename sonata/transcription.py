"""Audio to notes with Spotify's basic-pitch, and notes scored against notes.

Two uses: label CSVs for recordings that have none (MusicNet's format, marked as transcribed),
and judging a performance the way the field does: transcribe what was played, score it against
the notes it was asked to play. basic-pitch's ONNX model runs on onnxruntime, without the old
TensorFlow its package declares (installed with --no-deps: requirements-transcription.txt).
Everything here works on arrays: no temporary files, nothing printed.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from sonata import SonataError
from sonata.labels import NOTE_COLUMNS, empty_notes, labels_table

log = logging.getLogger("sonata.transcribe")

TRANSCRIBED_COLUMN = "transcribed"
"""Extra label-CSV column, 1 on every row of a transcribed file; sonata's label reader ignores it."""

TRANSCRIBER_RATE = 22050  # basic-pitch's input rate (basic_pitch.constants.AUDIO_SAMPLE_RATE)
FRAME_HOP = 0.01  # seconds per frame of the piano rolls frame F1 compares
WINDOWS_PER_RUN = 8  # 2-s windows per onnxruntime call: as fast as one at a time, bounded memory
FIX = (
    "run `make setup`, or `.venv/bin/pip install -r requirements.txt` and "
    "`.venv/bin/pip install --no-deps -r requirements-transcription.txt`"
)


@dataclass(frozen=True)
class TranscriberSettings:
    """basic-pitch's note decoding (its own defaults) and the onset tolerance of the scores."""

    onset_threshold: float = 0.5  # onset activation a note must reach to start (0-1)
    frame_threshold: float = 0.3  # frame activation a note must keep to go on sounding (0-1)
    minimum_note_ms: float = 127.7  # shorter notes are dropped (milliseconds)
    minimum_frequency: float | None = None  # Hz; None: no lower limit
    maximum_frequency: float | None = None  # Hz; None: no upper limit
    onset_tolerance: float = 0.05  # seconds an onset may be off and still match (mir_eval's 50 ms)


def transcriber_settings(section: dict) -> TranscriberSettings:
    """The settings of config.yaml's `transcription` section (keys it does not name: defaults)."""
    names = {f.name for f in dataclasses.fields(TranscriberSettings)}
    return TranscriberSettings(**{k: v for k, v in section.items() if k in names})


@functools.cache
def _basic_pitch() -> tuple[ModuleType, ModuleType, ModuleType]:
    """basic-pitch's (package, inference, note_creation) modules, imported quietly.

    Its package __init__ imports TensorFlow, CoreML and TFLite where it finds them (TensorFlow
    costs ~5 s and C++ log lines on stderr, for backends the ONNX path never uses) and warns on
    the root logger, which the workflow shows on the terminal, for each one missing. The three
    are hidden while it imports (unless already loaded) and its warnings dropped.
    """
    hidden = [name for name in ("tensorflow", "coremltools", "tflite_runtime") if name not in sys.modules]
    root = logging.getLogger()
    quiet = logging.NullHandler()  # with a handler present, logging.warning() adds no basicConfig

    def drop(record: logging.LogRecord) -> bool:
        return False

    root.addHandler(quiet)
    root.addFilter(drop)
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        importlib.import_module("onnxruntime")  # first: basic-pitch without it dies of a NameError
        import basic_pitch
        import basic_pitch.inference
        import basic_pitch.note_creation
    except ImportError as error:
        raise SonataError(
            f"the transcriber (basic-pitch with onnxruntime) cannot be imported: {error}; {FIX}"
        ) from None
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
        root.removeFilter(drop)
        root.removeHandler(quiet)
    return basic_pitch, basic_pitch.inference, basic_pitch.note_creation


def model_path() -> Path:
    """basic-pitch's ICASSP 2022 model in ONNX form, shipped inside its wheel."""
    package, _, _ = _basic_pitch()
    return Path(package.build_icassp_2022_model_path(package.FilenameSuffix.onnx))


@functools.cache
def load_model(threads: int = 1) -> Any:
    """An onnxruntime session of basic-pitch's model on `threads` CPU threads (cached).

    One thread by default: the workflow runs one job per core (batched windows on one thread
    take 0.22 s of CPU per 10 s of audio; a second thread added CPU time, not speed, on 2 cores).
    """
    _basic_pitch()
    import onnxruntime

    path = model_path()
    if not path.is_file():
        raise SonataError(f"basic-pitch's ONNX model {path} is missing; reinstall it: {FIX}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: nothing on stderr from a healthy session
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own (non-Python-standard) error types
        raise SonataError(f"basic-pitch's ONNX model {path} does not load ({error}); {FIX}") from None


def activations(audio: np.ndarray, sample_rate: int, threads: int = 1) -> dict[str, np.ndarray]:
    """basic-pitch's frame ("note"), onset and contour activations, (frames, bins) each.

    Exactly basic_pitch.inference.run_inference on an array: audio at 22050 Hz (soxr's HQ
    resampler, which librosa.load uses), 2-s windows overlapping by 30 frames.
    """
    import soxr

    _, inference, _ = _basic_pitch()
    from basic_pitch.constants import AUDIO_N_SAMPLES, FFT_HOP

    mono = np.asarray(audio, dtype=np.float32)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if sample_rate != TRANSCRIBER_RATE:
        mono = soxr.resample(mono, sample_rate, TRANSCRIBER_RATE, quality="HQ").astype(np.float32)
    overlap_frames = 30
    overlap = overlap_frames * FFT_HOP
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), mono])
    windows = np.stack([w for w, _ in inference.window_audio_file(padded, AUDIO_N_SAMPLES - overlap)])
    session = load_model(threads)
    names = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2"}
    names["contour"] = "StatefulPartitionedCall:0"
    parts: dict[str, list[np.ndarray]] = {key: [] for key in names}
    for start in range(0, len(windows), WINDOWS_PER_RUN):
        outputs = session.run(
            list(names.values()), {"serving_default_input_2:0": windows[start : start + WINDOWS_PER_RUN]}
        )
        for key, value in zip(names, outputs):
            parts[key].append(value)
    return {
        key: inference.unwrap_output(np.concatenate(value), len(mono), overlap_frames)
        for key, value in parts.items()
    }


def transcribe(
    audio: np.ndarray,
    sample_rate: int,
    settings: TranscriberSettings | None = None,
    program: int = 1,
    threads: int = 1,
) -> pd.DataFrame:
    """The notes basic-pitch hears in `audio` as a note table (onset, offset, pitch, program):
    every note gets `program` (GM, 1-based: basic-pitch does not tell instruments apart) and no
    beats (a transcription has no score)."""
    if len(audio) == 0:
        return empty_notes()
    return notes_from_activations(activations(audio, sample_rate, threads), settings, program)


def notes_from_activations(
    output: dict[str, np.ndarray], settings: TranscriberSettings | None = None, program: int = 1
) -> pd.DataFrame:
    """basic-pitch's activations decoded to a note table as basic_pitch.inference.predict does
    (onsets inferred from frames, the melodia step), without its pitch bends and MIDI."""
    settings = settings or TranscriberSettings()
    _, _, creation = _basic_pitch()
    from basic_pitch.constants import FFT_HOP

    frames_per_second = TRANSCRIBER_RATE / FFT_HOP
    with np.errstate(divide="ignore", invalid="ignore"):  # silence: 0/0 in its onset inference
        events = creation.output_to_notes_polyphonic(
            output["note"].copy(),  # copies: it zeroes frequencies outside the limits in place
            output["onset"].copy(),
            onset_thresh=settings.onset_threshold,
            frame_thresh=settings.frame_threshold,
            min_note_len=int(np.round(settings.minimum_note_ms / 1000 * frames_per_second)),
            infer_onsets=True,
            max_freq=settings.maximum_frequency,
            min_freq=settings.minimum_frequency,
            melodia_trick=True,
        )
    if not events:
        return empty_notes()
    times = creation.model_frames_to_time(output["contour"].shape[0])
    start, end, pitch = (np.array([event[k] for event in events]) for k in range(3))
    notes = pd.DataFrame(
        {
            "onset": times[start].astype(float),
            "offset": times[end].astype(float),
            "pitch": pitch.astype(int),
            "program": int(program),
        },
        columns=NOTE_COLUMNS,
    )
    notes = notes[notes["offset"] > notes["onset"]]
    return notes.sort_values(["onset", "pitch"], kind="stable").reset_index(drop=True)


def transcribed_labels(notes: pd.DataFrame) -> pd.DataFrame:
    """MusicNet label rows for transcribed notes: no beats (blank, as the label reader reads a
    table without a score) and TRANSCRIBED_COLUMN = 1 on every row."""
    table = labels_table(notes)
    table["start_beat"] = ""
    table["end_beat"] = ""
    table = table[table["end_time"] > table["start_time"]]  # 44.1-kHz rounding never empties a note
    table[TRANSCRIBED_COLUMN] = 1
    return table.reset_index(drop=True)


def write_transcribed_labels(notes: pd.DataFrame, path: str | Path) -> None:
    """A transcribed recording's label CSV, written whole or not at all."""
    from sonata.audio import atomic_path

    with atomic_path(path, suffix=".csv") as tmp:
        transcribed_labels(notes).to_csv(tmp, index=False)


def is_transcribed(path: str | Path) -> bool:
    """Whether a label CSV was written by the transcriber (its TRANSCRIBED_COLUMN is 1)."""
    header = pd.read_csv(path, nrows=0).columns
    if TRANSCRIBED_COLUMN not in header:
        return False
    marks = pd.to_numeric(
        pd.read_csv(path, usecols=[TRANSCRIBED_COLUMN])[TRANSCRIBED_COLUMN], errors="coerce"
    )
    return bool(len(marks) == 0 or (marks == 1).all())


def transcribe_recording(
    audio_path: str | Path,
    settings: TranscriberSettings | None = None,
    program: int = 1,
    threads: int = 1,
) -> pd.DataFrame:
    """The notes of a sound file; an unreadable or empty file is an error naming it."""
    from sonata.audio import read_audio

    try:
        audio, rate = read_audio(audio_path)
    except Exception as error:  # soundfile's LibsndfileError, or the file is gone
        raise SonataError(f"recording {audio_path} cannot be read ({error}); convert or remove it") from None
    if len(audio) == 0:
        raise SonataError(f"recording {audio_path} holds no audio; re-export or remove it")
    return transcribe(audio, rate, settings, program, threads)


def piano_roll(notes: pd.DataFrame, frames: int, hop: float = FRAME_HOP) -> np.ndarray:
    """(frames, 128) booleans: which MIDI pitches sound at each `hop`-second frame (frame k at
    k * hop, a note sounding on [onset, offset)); instruments are not told apart."""
    roll = np.zeros((frames, 128), dtype=bool)
    first = np.ceil(notes["onset"].to_numpy(dtype=float) / hop - 1e-9).astype(np.int64)
    last = np.ceil(notes["offset"].to_numpy(dtype=float) / hop - 1e-9).astype(np.int64)
    pitches = notes["pitch"].to_numpy().astype(np.int64)
    for a, b, p in zip(np.clip(first, 0, frames), np.clip(last, 0, frames), pitches):
        if 0 <= p < 128:
            roll[a:b, p] = True
    return roll


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def transcription_scores(
    reference: pd.DataFrame, estimate: pd.DataFrame, onset_tolerance: float = 0.05
) -> dict[str, float]:
    """How well `estimate` (a transcription) matches `reference` (the notes played).

    onset_*: mir_eval's note precision / recall / F1, a note matching by pitch (within 50 cents)
    and onset (within `onset_tolerance` s), its offset ignored. frame_*: over (10-ms frame,
    MIDI pitch) pairs of the two piano rolls, for sounds whose onsets come late (bowed strings).
    One empty table scores 0; both empty, NaN (nothing to judge).
    """
    keys = [f"{kind}_{what}" for kind in ("onset", "frame") for what in ("precision", "recall", "f1")]
    if len(reference) == 0 and len(estimate) == 0:
        return dict.fromkeys(keys, float("nan"))
    if len(reference) == 0 or len(estimate) == 0:
        return dict.fromkeys(keys, 0.0)
    import mir_eval

    def intervals(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        times = notes[["onset", "offset"]].to_numpy(dtype=float)
        return times, 440.0 * 2.0 ** ((notes["pitch"].to_numpy(dtype=float) - 69.0) / 12.0)

    ref_times, ref_hz = intervals(reference)
    est_times, est_hz = intervals(estimate)
    precision, recall, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_times, ref_hz, est_times, est_hz, onset_tolerance=onset_tolerance, offset_ratio=None
    )
    frames = int(np.ceil(max(ref_times[:, 1].max(), est_times[:, 1].max()) / FRAME_HOP)) + 1
    ref_roll, est_roll = piano_roll(reference, frames), piano_roll(estimate, frames)
    hits = float(np.count_nonzero(ref_roll & est_roll))
    frame_precision = hits / max(1, int(np.count_nonzero(est_roll)))
    frame_recall = hits / max(1, int(np.count_nonzero(ref_roll)))
    return {
        "onset_precision": float(precision),
        "onset_recall": float(recall),
        "onset_f1": float(f1),
        "frame_precision": frame_precision,
        "frame_recall": frame_recall,
        "frame_f1": _f1(frame_precision, frame_recall),
    }


def transcribe_labels(
    audio_path: str,
    labels_out: str,
    settings: TranscriberSettings,
    program: int,
    true_labels: str | None = None,
    threads: int = 1,
    on_no_notes: str = "error",
) -> dict:
    """A recording's label CSV from what the transcriber hears in it, marked as transcribed, and
    what was measured: notes, seconds, CPU seconds, and, where the corpus has labels of its own
    (`true_labels`), onset and frame F1 against them. A recording in which nothing is heard is
    an error naming it (a model must not learn silence as music), or with `on_no_notes` "skip"
    gets a label CSV without notes, which the note shards leave out with a warning."""
    import time

    from sonata.labels import read_labels

    started = time.process_time()
    notes = transcribe_recording(audio_path, settings, program, threads)
    cpu = time.process_time() - started
    if notes.empty and on_no_notes == "skip":
        log.warning(
            "the transcriber hears no notes in recording %s: the notes route leaves it out", audio_path
        )
    elif notes.empty:
        raise SonataError(
            f"the transcriber hears no notes in recording {audio_path}: silent, noise, or too quiet? "
            "Remove it from the corpus (or from the dataset: datasets.<name>), give it a label CSV, "
            "or set transcription.on_no_notes: skip to leave it out of the notes route"
        )
    write_transcribed_labels(notes, labels_out)
    seconds = float(notes["offset"].max()) if len(notes) else 0.0
    measured = {"notes": len(notes), "seconds": seconds, "cpu_seconds": cpu}
    if true_labels:
        scores = transcription_scores(read_labels(true_labels), notes, settings.onset_tolerance)
        measured |= {"onset_f1": scores["onset_f1"], "frame_f1": scores["frame_f1"]}
    return measured
