"""General MIDI instruments as MusicNet labels them: 1-based programs and sounding ranges."""

from __future__ import annotations

# Sounding ranges (MIDI notes, inclusive) of the instruments MusicNet and the embedded corpus use;
# the usual orchestration-manual compass, so that a rendered part never leaves its instrument.
SOUNDING_RANGES: dict[int, tuple[int, int]] = {
    1: (21, 108),  # acoustic grand piano, A0-C8
    7: (29, 89),  # harpsichord, F1-F6
    41: (55, 103),  # violin, G3-G7
    42: (48, 91),  # viola, C3-G6
    43: (36, 81),  # cello, C2-A5
    44: (28, 67),  # contrabass, E1-G4
    61: (34, 77),  # French horn, B-flat1-F5
    69: (58, 91),  # oboe, B-flat3-G6
    71: (34, 75),  # bassoon, B-flat1-E-flat5
    72: (50, 94),  # clarinet, D3-B-flat6
    74: (60, 96),  # flute, C4-C7
}
FULL_RANGE = (0, 127)


def sounding_range(program: int) -> tuple[int, int]:
    """The instrument's compass; unknown programs get the whole MIDI range."""
    return SOUNDING_RANGES.get(program, FULL_RANGE)


def fit_to_range(pitch: int, program: int) -> int:
    """Move a pitch by whole octaves into the program's sounding range (pitch class kept)."""
    low, high = sounding_range(program)
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch
