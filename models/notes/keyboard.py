"""The 88 keys of a piano: the pitch range of composer tokens and performer rolls."""

LOWEST, HIGHEST = 21, 108  # the 88 keys of a piano: the pitch range of tokens and rolls


KEYS = HIGHEST - LOWEST + 1


def fold_pitch(pitch: int) -> int:
    """Move a pitch by octaves into the 88 keys."""
    while pitch < LOWEST:
        pitch += 12
    while pitch > HIGHEST:
        pitch -= 12
    return pitch
