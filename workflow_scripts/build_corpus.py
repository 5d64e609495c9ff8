"""Render one embedded-corpus piece: music21 score -> MIDI -> FluidSynth -> mp3 + MusicNet labels."""

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import pandas as pd

from sonata import SonataError
from sonata.audio import atomic_path
from sonata.catalog import LABEL_COLUMNS

TICKS_PER_QUARTER = 480
log = logging.getLogger("sonata.build_corpus")


@dataclass(frozen=True)
class NoteEvent:
    start_quarters: float
    end_quarters: float
    part: int
    program: int  # 1-based GM program, as MusicNet labels use
    pitch: int
    note_value: str


def part_programs(n_parts: int, programs: list[int]) -> list[int]:
    """Programs for each part; the ensemble's last program repeats for extra parts."""
    return [programs[min(i, len(programs) - 1)] for i in range(n_parts)]


def score_notes(score_path: str, programs: list[int], max_quarters: float) -> list[NoteEvent]:
    """Sounding-pitch notes of a music21 score, repeats expanded where the score allows."""
    from music21 import corpus, repeat

    score = corpus.parse(score_path)
    score = score.toSoundingPitch()
    try:
        score = score.expandRepeats()
    except (repeat.ExpanderException, Exception) as error:  # malformed repeat marks
        log.warning("%s: repeats left unexpanded (%s)", score_path, error)
    score = score.stripTies()
    parts = list(score.parts)
    if not parts:
        raise SonataError(f"score {score_path} has no parts to render")
    events = []
    for index, (part, program) in enumerate(zip(parts, part_programs(len(parts), programs))):
        for element in part.flatten().notes:
            length = float(element.quarterLength)
            start = float(element.offset)
            if length <= 0 or start >= max_quarters:
                continue  # grace notes carry no duration; the rest is past the cut
            end = min(start + length, max_quarters)
            for pitch in element.pitches:
                events.append(
                    NoteEvent(start, end, index, program, int(pitch.midi), element.duration.fullName)
                )
    if not events:
        raise SonataError(f"score {score_path} has no notes")
    events.sort(key=lambda e: (e.start_quarters, e.part, e.pitch))
    return events


def write_midi(events: list[NoteEvent], qpm: float, path: Path) -> None:
    """One track per part, its GM program on its own channel (skipping drum channel 10)."""
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_QUARTER)
    tempo = mido.MidiTrack()
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm), time=0))
    midi.tracks.append(tempo)
    for part in sorted({e.part for e in events}):
        channel = part if part < 9 else part + 1
        notes = [e for e in events if e.part == part]
        timeline = []
        for e in notes:
            on = round(e.start_quarters * TICKS_PER_QUARTER)
            off = max(on + 1, round(e.end_quarters * TICKS_PER_QUARTER))
            timeline.append((off, 0, e.pitch))
            timeline.append((on, 1, e.pitch))
        timeline.sort()
        track = mido.MidiTrack()
        track.append(mido.Message("program_change", program=notes[0].program - 1, channel=channel))
        now = 0
        for tick, is_on, pitch in timeline:
            kind = "note_on" if is_on else "note_off"
            track.append(
                mido.Message(kind, note=pitch, velocity=80 if is_on else 0, channel=channel, time=tick - now)
            )
            now = tick
        midi.tracks.append(track)
    midi.save(str(path))


def labels_table(events: list[NoteEvent], qpm: float, rate: int) -> pd.DataFrame:
    """MusicNet label rows: times in samples at `rate`, beats in quarter notes."""
    seconds_per_quarter = 60.0 / qpm
    rows = [
        {
            "start_time": round(e.start_quarters * seconds_per_quarter * rate),
            "end_time": round(e.end_quarters * seconds_per_quarter * rate),
            "instrument": e.program,
            "note": e.pitch,
            "start_beat": e.start_quarters,
            "end_beat": e.end_quarters - e.start_quarters,
            "note_value": e.note_value,
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def render(midi_path: Path, soundfont: str, rate: int, gain: float, wav_path: Path) -> None:
    if not Path(soundfont).is_file():
        raise SonataError(
            f"soundfont {soundfont} not found: install it (apt-get install -y fluid-soundfont-gm) "
            "or point corpus.embedded.soundfont at a GM .sf2 file"
        )
    if shutil.which("fluidsynth") is None:
        raise SonataError("fluidsynth is not installed: apt-get install -y fluidsynth")
    command = [
        "fluidsynth",
        "-ni",
        "-q",
        "-g",
        str(gain),
        "-r",
        str(rate),
        "-F",
        str(wav_path),
        soundfont,
        str(midi_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not wav_path.is_file():
        raise SonataError(f"fluidsynth failed on {midi_path}: {result.stderr.strip()}")


def to_mp3(wav_path: Path, mp3_path: str, rate: int, bitrate: str) -> float:
    """Mono mp3 at `rate`, peak-normalised to -1 dBFS; returns its duration in seconds."""
    from pydub import AudioSegment, effects

    sound = AudioSegment.from_wav(str(wav_path)).set_channels(1).set_frame_rate(rate)
    sound = effects.normalize(sound, headroom=1.0)
    with atomic_path(mp3_path, suffix=".mp3") as tmp:
        sound.export(str(tmp), format="mp3", bitrate=bitrate)
    return len(sound) / 1000.0


def build_piece(piece: dict, corpus_cfg: dict, mp3_path: str, labels_path: str) -> float:
    embedded = corpus_cfg["embedded"]
    programs = embedded["ensembles"][piece["ensemble"]]
    qpm = float(piece["qpm"])
    max_quarters = embedded["max_seconds"] * qpm / 60.0
    rate = int(embedded["render_rate"])
    events = score_notes(piece["score"], programs, max_quarters)
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = Path(tmp) / "piece.mid"
        wav_path = Path(tmp) / "piece.wav"
        write_midi(events, qpm, midi_path)
        render(midi_path, embedded["soundfont"], rate, embedded["gain"], wav_path)
        seconds = to_mp3(wav_path, mp3_path, rate, embedded["mp3_bitrate"])
    with atomic_path(labels_path, suffix=".csv") as tmp:
        labels_table(events, qpm, rate).to_csv(tmp, index=False)
    log.info("piece %s: %d notes, %.1f s -> %s", piece["id"], len(events), seconds, mp3_path)
    return seconds


def main(snakemake) -> None:  # pragma: no cover - thin Snakemake entry point
    from sonata.logs import setup_logging

    setup_logging(snakemake.log[0])
    corpus_cfg = snakemake.config["corpus"]
    piece_id = int(snakemake.wildcards.id)
    piece = next(p for p in corpus_cfg["embedded"]["pieces"] if int(p["id"]) == piece_id)
    build_piece(piece, corpus_cfg, snakemake.output.audio, snakemake.output.labels)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
