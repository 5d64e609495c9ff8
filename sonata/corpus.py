"""Rendering the embedded corpus: a score through FluidSynth to an mp3, its MusicNet labels and
its metadata row, in MusicNet's layout."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

from sonata.audio import atomic_path
from sonata.catalog import embedded_metadata_row
from sonata.scores import event_labels, quantize, score_notes, tempo_map, write_midi
from sonata.synth import render_midi

log = logging.getLogger("sonata.render_piece")


def to_mp3(wav_path: Path, mp3_path: str, rate: int, bitrate: str) -> float:
    """Mono mp3 at `rate`, peak-normalised to -1 dBFS; returns its duration in seconds."""
    from pydub import AudioSegment, effects

    sound = AudioSegment.from_wav(str(wav_path)).set_channels(1).set_frame_rate(rate)
    sound = effects.normalize(sound, headroom=1.0)
    with atomic_path(mp3_path, suffix=".mp3") as tmp:
        # LAME's fastest setting: a whole movement encodes in about a second
        sound.export(str(tmp), format="mp3", bitrate=bitrate, parameters=["-compression_level", "9"])
    return len(sound) / 1000.0


def build_piece(
    piece: dict,
    programs: list[int],
    render_cfg: dict,
    mp3_path: str,
    labels_path: str,
    midi_out: str | None = None,
) -> float:
    """Render `piece` with its ensemble's `programs`; returns the audio's length in seconds."""
    events, marks = score_notes(piece["score"], programs, render_cfg)
    tempo = tempo_map(marks, float(piece["qpm"]))
    events = quantize(events, tempo, render_cfg.get("max_seconds"))
    rate = int(render_cfg["render_rate"])
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = Path(tmp) / "piece.mid"
        wav_path = Path(tmp) / "piece.wav"
        write_midi(events, tempo, midi_path)
        if midi_out:
            shutil.copyfile(midi_path, midi_out)
        render_midi(midi_path, render_cfg["soundfont"], rate, render_cfg["gain"], wav_path)
        seconds = to_mp3(wav_path, mp3_path, rate, render_cfg["mp3_bitrate"])
    with atomic_path(labels_path, suffix=".csv") as tmp:
        event_labels(events, tempo).to_csv(tmp, index=False)
    velocities = [e.velocity for e in events]
    log.info(
        "piece %s (%s): %d notes, velocities %d-%d, %d tempo change(s), %.1f s -> %s",
        piece["id"],
        piece["score"],
        len(events),
        min(velocities),
        max(velocities),
        len(tempo.offsets) - 1,
        seconds,
        mp3_path,
    )
    return seconds


def write_metadata_row(piece: dict, seconds: float, path: str) -> None:
    """The piece's musicnet_metadata.csv row, assembled by corpus_metadata."""
    row = embedded_metadata_row(piece)
    row["seconds"] = round(seconds)
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(row, indent=1))
