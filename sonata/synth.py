"""FluidSynth: MIDI to sound. It renders the embedded corpus, and the composed notes as written
(the notes alone, with no performer between them and the ear)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from sonata import SonataError

PEAK = 10 ** (-1 / 20)  # -1 dBFS: the corpus's recordings are normalised to it


def render_midi(midi_path: str | Path, soundfont: str, rate: int, gain: float, wav_path: str | Path) -> None:
    """Render a MIDI file to a WAV file at `rate` with FluidSynth's master `gain`."""
    if not Path(soundfont).is_file():
        raise SonataError(
            f"soundfont {soundfont} not found: install it (apt-get install -y fluid-soundfont-gm) "
            "or point corpus.embedded.soundfont at a GM .sf2 file"
        )
    if shutil.which("fluidsynth") is None:
        raise SonataError("fluidsynth is not installed: apt-get install -y fluidsynth")
    command = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(rate), "-F", str(wav_path)]
    result = subprocess.run([*command, soundfont, str(midi_path)], capture_output=True, text=True)
    if result.returncode != 0 or not Path(wav_path).is_file():
        raise SonataError(f"fluidsynth failed on {midi_path}: {result.stderr.strip()}")


def synthesize(midi_path: str | Path, soundfont: str, rate: int, gain: float, seconds: float) -> np.ndarray:
    """Mono float32 audio of exactly `seconds` at `rate` (FluidSynth's release tail cut, or
    silence added), its peak at -1 dBFS as the corpus's recordings have it. A file without
    notes is silence (FluidSynth's output floor, scaled to the peak, would be a loud click)."""
    import mido

    from sonata.audio import read_audio

    length = int(round(seconds * rate))
    if not any(m.type == "note_on" and m.velocity > 0 for m in mido.MidiFile(str(midi_path))):
        return np.zeros(length, np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "synthesized.wav"
        render_midi(midi_path, soundfont, rate, gain, wav)
        audio, _ = read_audio(wav)
    audio = np.pad(audio[:length], (0, max(0, length - len(audio))))
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    return (audio * (PEAK / peak) if peak > 0 else audio).astype(np.float32)
