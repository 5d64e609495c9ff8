"""Convert a recording (mp3 or wav, any rate, any channels) to mono PCM wav at the workflow rate."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from sonata import SonataError
from sonata.audio import atomic_path

log = logging.getLogger("sonata.convert")


def convert(source: str, target: str, sample_rate: int) -> dict:
    """Decode with ffmpeg (through pydub), downmix, resample, write 16-bit wav atomically.

    Returns what the conversion did, for the log.
    """
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    path = Path(source)
    if not path.is_file():
        raise SonataError(f"audio file {source} does not exist")
    if path.stat().st_size == 0:
        raise SonataError(
            f"audio file {source} is empty (0 bytes): replace it with a good copy, or move it out "
            "of the corpus and set corpus.on_missing_audio: skip to leave that recording out"
        )
    try:
        sound = AudioSegment.from_file(str(path))
    except (CouldntDecodeError, IndexError, OSError) as error:
        output = [line for line in str(error).strip().splitlines() if line.strip()]
        print("\n".join(output), file=sys.stderr)  # ffmpeg's whole report: the rule's log
        raise SonataError(
            f"audio file {source} cannot be decoded by ffmpeg ({output[-1].strip() if output else error}): "
            "it is corrupt or not audio; replace it with a good copy (ffmpeg's report is in the job's log)"
        ) from None
    if len(sound) == 0:
        raise SonataError(f"audio file {source} decodes to no samples: replace it")
    facts = {
        "source_rate": sound.frame_rate,
        "source_channels": sound.channels,
        "seconds": len(sound) / 1000.0,
    }
    if sound.frame_rate < sample_rate:
        raise SonataError(
            f"audio file {source} has {sound.frame_rate} Hz, below the workflow's "
            f"audio.sample_rate {sample_rate} Hz: upsampling would invent no music. Lower "
            "audio.sample_rate or supply a higher-rate copy."
        )
    if sound.channels > 1:
        log.info("%s: %d channels mixed down to mono", source, sound.channels)
    if sound.frame_rate != sample_rate:
        log.info("%s: resampled %d Hz -> %d Hz", source, sound.frame_rate, sample_rate)
    sound = sound.set_channels(1).set_frame_rate(sample_rate).set_sample_width(2)
    with atomic_path(target, suffix=".wav") as tmp:
        sound.export(str(tmp), format="wav")
    return facts
