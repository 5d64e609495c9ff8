"""Measures of composition: what makes a note table music, before anyone plays it.

Every measure takes a note table (one row per note: `onset` and `offset` in seconds, `pitch` as a
MIDI number, `program` as a 1-based GM program) and nothing else, so that a composed piece, the
dataset's held-out notes and the baselines made from them (`shuffled_pitches`, `random_notes`,
`looped_passage`) are measured the same way. Score beats (`start_beat` in MusicNet labels) are not
used: composed labels carry beats counted at a nominal tempo, not a meter, so the rhythm measure
finds its grid in the onset times themselves. A measure that is undefined for a table (too few
notes, or too few windows) is NaN, never an error.

The measures (shares in [0, 1], key correlations in [-1, 1]; higher = more of the property):

- `consonance`: of the pairs of pitches sounding together when a note starts (the new note against
  every other new or held note; onsets within 30 ms count as together), the share whose interval
  is consonant: unison/octave, minor and major third and sixth, perfect fifth (interval classes 0,
  3, 4, 7, 8, 9: music21's `Interval.isConsonant`). The perfect fourth counts as dissonant, as in
  music21 and two-voice counterpoint; random pitch pairs score 6/12 = 0.5 by chance.
- `top_voice_steps`: the top voice is the highest note starting at each onset unless a higher note
  is still held (the skyline); the share of its moves that are steps (<= 2 semitones, repeated notes
  included) rather than leaps.
- `key_clarity`: Krumhansl-Schmuckler key finding (Krumhansl & Kessler 1982 profiles, as in
  music21's `analysis.discrete.KrumhanslSchmuckler`): the pitch-class durations of each 10 s window
  (hop 5 s) are correlated with the 24 major/minor key profiles; the mean over windows of the best
  correlation.
- `key_steadiness`: how well the key of 30 s holds in each 10 s of it: the mean over 10 s windows
  (hop 5 s) of the window's correlation with the best key of the 30 s centred on it (clipped to the
  piece). At most `key_clarity` (the window's own best key); the gap is how far the local key
  strays from the 30 s one.
- `beat_regularity`: how much the onsets of each 10 s window sit on one regular grid: the largest
  vector strength |mean exp(2 pi i t / T)| of the distinct onset times over grid periods T from
  0.05 s to 1 s (a tatum, down to the common grid of 16ths and triplets at fast tempi, up to slow
  beats), averaged over windows with >= 8 onsets. Notes on a steady grid score ~1; random onsets
  score about sqrt(ln(K)/N) for N onsets and K effectively independent periods (0.25-0.4 here). A
  performance with rubato scores lower than its score; a composer's 10 ms time steps do not matter.
- `repetition`: the top voice as 5-note motifs (4 intervals in semitones, transposition-invariant,
  and 4 inter-onset intervals in quarter-octave bins); the share of motif positions whose motif
  occurs again at a non-overlapping position. Themes and figures that return score high, a loop
  ~1; random or shuffled pitches near 0.
- `looping`: the share of top-voice notes heard for the third time or more: inside exact copies
  (same pitches and inter-onset intervals) of at least two earlier stretches of >= 32 notes. It
  tells a loop from returning motifs: a movement repeats a section once (repeat signs, a da capo;
  counting second hearings, held-out movements here scored up to 0.51), a looped passage over and
  over (0.93-0.95 in a 5-7 minute movement; (n - 2) / n for n loops).
  Music wants `repetition` well above the random baselines and `looping` well below a loop's.

What each catches (tests/sonata/test_composition.py, docs/composition-measures.md): consonance and
top-voice steps catch shuffled and random pitches; key clarity and steadiness catch random pitches
but not a pitch shuffle, which keeps a passage's pitch-class durations and so its key (they differ
only where a long piece modulates and the shuffle blends its keys); beat regularity catches random
onsets (a shuffle and a loop keep the rhythm); repetition catches random and shuffled pitches, and
with looping the loop. Known blind spot: a top voice that is an arpeggio (Bach's BWV 846) leaps by
this measure although its peaks move by step.

Libraries: muspy 0.5.0 (pip-installable, last release 2022, pulls pypianoroll, miditoolkit and
pretty_midi) has no consonance, melodic motion, windowed key or repetition measure; its
`scale_consistency` is a cruder key measure and its rhythm measures need a metrical resolution
that composed notes lack. mir_eval scores estimates against references (transcription, key
labels), it does not analyse one piece. music21 has the key profiles and the consonance rule, but
its key analysis of a Stream takes seconds per movement; the same published profiles and rule are
applied here on numpy arrays (the tests check them against music21's).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOGETHER = 0.03  # onsets closer than this (seconds) sound together
CONSONANT_CLASSES = (0, 3, 4, 7, 8, 9)  # P1/P8, m3, M3, P5, m6, M6 (music21's isConsonant)
STEP = 2  # semitones: a top-voice move this size or smaller is a step
# Krumhansl & Kessler (1982) probe-tone profiles from C, the weights of music21's KrumhanslSchmuckler
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
KEY_WINDOW, KEY_HOP, KEY_CONTEXT = 10.0, 5.0, 30.0  # seconds
BEAT_WINDOW, BEAT_PERIODS, BEAT_MIN_ONSETS = 10.0, (0.05, 1.0), 8
MOTIF = 5  # notes in a motif
LOOP_NOTES = 32  # an exact copy this long (top-voice notes) counts
LOOP_COPIES = 2  # notes copying this many earlier stretches are looping (a third hearing)
MEASURES = (
    "consonance",
    "top_voice_steps",
    "key_clarity",
    "key_steadiness",
    "beat_regularity",
    "repetition",
    "looping",
)


def _table(notes: pd.DataFrame) -> pd.DataFrame:
    """The note columns, sorted by onset then pitch, without rows missing a value."""
    table = notes[["onset", "offset", "pitch", "program"]].dropna()
    table = table.astype({"onset": float, "offset": float, "pitch": int, "program": int})
    return table.sort_values(["onset", "pitch"], kind="stable").reset_index(drop=True)


def _onset_groups(onsets: np.ndarray, together: float = TOGETHER) -> np.ndarray:
    """Group number of each (sorted) onset: a new group where the gap to the previous exceeds `together`."""
    if len(onsets) == 0:
        return np.zeros(0, dtype=int)
    return np.concatenate([[0], np.cumsum(np.diff(onsets) > together)])


def consonance(notes: pd.DataFrame, together: float = TOGETHER) -> float:
    """Share of consonant intervals between each starting note and the notes sounding with it.

    Why: harmony is what sounds together; shuffled or random pitches pair at random (~0.5).
    """
    table = _table(notes)
    onsets, offsets, pitches = (table[c].to_numpy() for c in ("onset", "offset", "pitch"))
    group = _onset_groups(onsets, together)
    longest = float((offsets - onsets).max()) if len(table) else 0.0
    consonant = np.zeros(12, dtype=bool)
    consonant[list(CONSONANT_CLASSES)] = True
    good = total = 0
    for i in range(len(table)):
        lo = np.searchsorted(onsets, onsets[i] - longest - together, side="left")
        others = np.arange(lo, np.searchsorted(group, group[i], side="right"))
        others = others[others != i]
        same = group[others] == group[i]
        # a new note of the same onset pairs once (with the later index); an earlier note if still held
        held = (group[others] < group[i]) & (offsets[others] > onsets[i] + together)
        partners = others[(same & (others > i)) | held]
        classes = np.abs(pitches[partners] - pitches[i]) % 12
        good += int(consonant[classes].sum())
        total += len(classes)
    return good / total if total else float("nan")


def top_voice(notes: pd.DataFrame, together: float = TOGETHER) -> pd.DataFrame:
    """The skyline: at each onset the highest new note, unless a higher note is still held.

    Why: melody is heard in the top voice, across instruments; inner voices would hide its motion.
    """
    table = _table(notes)
    if table.empty:
        return table
    onsets, offsets, pitches = (table[c].to_numpy() for c in ("onset", "offset", "pitch"))
    group = _onset_groups(onsets, together)
    tops = table.assign(group=group).groupby("group")["pitch"].idxmax().to_numpy()
    longest = float((offsets - onsets).max())
    keep = np.ones(len(tops), dtype=bool)
    for k, i in enumerate(tops):
        lo = np.searchsorted(onsets, onsets[i] - longest - together, side="left")
        held = slice(lo, i)
        above = (
            (group[held] < group[i]) & (offsets[held] > onsets[i] + together) & (pitches[held] > pitches[i])
        )
        keep[k] = not above.any()
    return table.iloc[tops[keep]].reset_index(drop=True)


def top_voice_steps(notes: pd.DataFrame) -> float:
    """Share of top-voice moves of at most 2 semitones (steps and repeats against leaps).

    Why: melodies move mostly by step; pitches drawn at random from a range leap.
    """
    pitches = top_voice(notes)["pitch"].to_numpy()
    if len(pitches) < 2:
        return float("nan")
    return float(np.mean(np.abs(np.diff(pitches)) <= STEP))


def _key_profiles() -> np.ndarray:
    """The 24 key profiles (12 major from C, then 12 minor), each z-scored."""
    rows = [
        np.roll(np.asarray(profile, float), tonic)
        for profile in (MAJOR_PROFILE, MINOR_PROFILE)
        for tonic in range(12)
    ]
    profiles = np.array(rows)
    return (profiles - profiles.mean(1, keepdims=True)) / profiles.std(1, keepdims=True)


def _pitch_class_durations(table: pd.DataFrame, starts: np.ndarray, width: float) -> np.ndarray:
    """Seconds each pitch class sounds inside each window [start, start + width): (windows, 12)."""
    onsets, offsets = table["onset"].to_numpy(), table["offset"].to_numpy()
    classes = table["pitch"].to_numpy() % 12
    out = np.zeros((len(starts), 12))
    for w, start in enumerate(starts):
        overlap = np.clip(np.minimum(offsets, start + width) - np.maximum(onsets, start), 0, None)
        out[w] = np.bincount(classes, weights=overlap, minlength=12)
    return out


def _keys(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best key (0-11 major, 12-23 minor) and its correlation for each row of pitch-class durations.

    Rows with no sound, or one pitch class only (no correlation), get key -1 and strength NaN.
    """
    spread = durations.std(1, keepdims=True)
    valid = (durations.sum(1) > 0) & (spread[:, 0] > 0)
    z = (durations - durations.mean(1, keepdims=True)) / np.where(spread > 0, spread, 1)
    correlation = z @ _key_profiles().T / 12
    key = np.where(valid, correlation.argmax(1), -1)
    strength = np.where(valid, correlation.max(1), np.nan)
    return key, strength


def _span(table: pd.DataFrame) -> tuple[float, float]:
    return float(table["onset"].min()), float(table["offset"].max())


def _window_starts(first: float, last: float, width: float, hop: float) -> np.ndarray:
    """Window starts covering [first, last): at least one window, the last one ending past `last`."""
    count = max(1, int(np.ceil((last - first - width) / hop - 1e-9)) + 1)
    return first + hop * np.arange(count)


def key_clarity(notes: pd.DataFrame, window: float = KEY_WINDOW, hop: float = KEY_HOP) -> float:
    """Mean over windows of the best Krumhansl-Schmuckler key correlation.

    Why: tonal music makes a key clear within a few bars; random pitch classes correlate weakly.
    """
    table = _table(notes)
    if table.empty:
        return float("nan")
    starts = _window_starts(*_span(table), window, hop)
    _, strength = _keys(_pitch_class_durations(table, starts, window))
    return float(np.nanmean(strength)) if np.isfinite(strength).any() else float("nan")


def key_steadiness(
    notes: pd.DataFrame, window: float = KEY_WINDOW, hop: float = KEY_HOP, context: float = KEY_CONTEXT
) -> float:
    """Mean over windows of their correlation with the best key of the `context` seconds around them.

    Why: a piece stays in a key for a while and modulates on purpose, so the key of 30 s holds in
    each 10 s of it; in random notes each window goes its own way.
    """
    table = _table(notes)
    if table.empty:
        return float("nan")
    first, last = _span(table)
    starts = _window_starts(first, last, window, hop)
    local = _pitch_class_durations(table, starts, window)
    centres = starts + window / 2
    around = np.zeros_like(local)
    for w, centre in enumerate(centres):
        start, end = max(first, centre - context / 2), min(last, centre + context / 2)
        around[w] = _pitch_class_durations(table, np.array([start]), end - start)[0]
    key, _ = _keys(around)
    spread = local.std(1)
    valid = (key >= 0) & (spread > 0)
    if not valid.any():
        return float("nan")
    z = (local[valid] - local[valid].mean(1, keepdims=True)) / spread[valid, None]
    return float(np.mean(np.sum(z * _key_profiles()[key[valid]], axis=1) / 12))


def _vector_strength(times: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """|mean exp(2 pi i t / T)| for each period T: 1 when every time is on a grid of period T."""
    phases = np.exp(2j * np.pi * times[None, :] / periods[:, None])
    return np.abs(phases.mean(1))


def beat_regularity(
    notes: pd.DataFrame, window: float = BEAT_WINDOW, periods: tuple[float, float] = BEAT_PERIODS
) -> float:
    """Mean over 10 s windows of the best vector strength of the onsets on a regular grid.

    Why: composed and score notes have no shared meter, but both sit on a pulse or not; random
    onsets do not.
    """
    table = _table(notes)
    if table.empty:
        return float("nan")
    onsets = table["onset"].to_numpy()
    times = onsets[np.concatenate([[True], np.diff(onsets) > TOGETHER])]  # distinct onsets
    low, high = periods
    # steps of 0.2 %: a grid of 100 periods drifts by under a fifth of a period
    candidates = low * np.exp(np.arange(0, np.log(high / low), 0.002))
    scores = []
    for start in _window_starts(times[0], times[-1] + 1e-6, window, window):
        inside = times[(times >= start) & (times < start + window)]
        if len(inside) >= BEAT_MIN_ONSETS:
            scores.append(_vector_strength(inside - start, candidates).max())
    return float(np.mean(scores)) if scores else float("nan")


def _ioi_bins(onsets: np.ndarray) -> np.ndarray:
    """Inter-onset intervals in quarter-octave bins (a tolerance of about +-9 %)."""
    return np.round(4 * np.log2(np.maximum(np.diff(onsets), 1e-3))).astype(int)


def repetition(notes: pd.DataFrame, length: int = MOTIF) -> float:
    """Share of top-voice motif positions whose motif (intervals and rhythm) occurs again elsewhere.

    Why: music is made of returning motifs; random and shuffled pitches almost never repeat one.
    """
    voice = top_voice(notes)
    pitches, onsets = voice["pitch"].to_numpy(), voice["onset"].to_numpy()
    count = len(pitches) - length + 1
    if count < 2:
        return float("nan")
    features = np.column_stack([np.diff(pitches), _ioi_bins(onsets)])  # move k: note k -> k + 1
    motifs = np.stack([features[k : k + count] for k in range(length - 1)], axis=1).reshape(count, -1)
    _, code = np.unique(motifs, axis=0, return_inverse=True)
    code = code.ravel()
    order = np.argsort(code, kind="stable")
    returns = np.zeros(count, dtype=bool)
    sorted_code = code[order]
    bounds = np.flatnonzero(np.diff(sorted_code)) + 1
    for members in np.split(order, bounds):
        if len(members) > 1 and members.max() - members.min() >= length:  # some pair does not overlap
            returns[members] = True
    return float(returns.mean())


def looping(notes: pd.DataFrame, min_notes: int = LOOP_NOTES, copies: int = LOOP_COPIES) -> float:
    """Share of top-voice notes that repeat exactly `copies` or more earlier stretches of >= `min_notes`.

    Why: `repetition` cannot tell a theme's return from a stuck loop. A movement repeats a section
    once (repeat signs, a da capo), a loop over and over: counting from the third hearing on
    (`copies` = 2) leaves real returns out and a loop in.
    """
    voice = top_voice(notes)
    if len(voice) < 2:
        return float("nan")
    pitches = voice["pitch"].to_numpy()[1:]
    tokens = pitches * 1000 + _ioi_bins(voice["onset"].to_numpy())  # note k+1 with its IOI
    heard = np.zeros(len(tokens), dtype=int)  # earlier stretches each note copies
    for shift in range(1, len(tokens) - min_notes + 1):
        equal = tokens[shift:] == tokens[:-shift]
        if equal.sum() < min_notes:
            continue
        edges = np.diff(np.concatenate([[0], equal.astype(np.int8), [0]]))
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            if end - start >= min_notes:
                heard[shift + start : shift + end] += 1
    return float(np.mean(heard >= copies))


def composition_measures(notes: pd.DataFrame) -> dict[str, float]:
    """Every measure of this module for one note table, keyed by the names in MEASURES."""
    return {name: float(globals()[name](notes)) for name in MEASURES}


# Baselines made from real notes: each keeps some of the music and destroys the rest.


def shuffled_pitches(notes: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The same notes with their pitches permuted: rhythm, texture and pitch use kept, harmony and
    melody destroyed."""
    table = _table(notes)
    rng = np.random.default_rng(seed)
    return table.assign(pitch=table["pitch"].to_numpy()[rng.permutation(len(table))])


def random_notes(notes: pd.DataFrame, seconds: float | None = None, seed: int = 0) -> pd.DataFrame:
    """Random notes at the reference's density (notes per second) and pitch range: onsets uniform in
    [0, seconds), pitches uniform in [lowest, highest], durations and programs drawn from the
    reference's. `seconds` defaults to the reference's span."""
    table = _table(notes)
    if table.empty:
        return table
    first, last = _span(table)
    span = max(last - first, 1e-9)
    seconds = span if seconds is None else float(seconds)
    rng = np.random.default_rng(seed)
    count = int(round(len(table) / span * seconds))
    onsets = np.sort(rng.uniform(0, seconds, count))
    durations = rng.choice((table["offset"] - table["onset"]).to_numpy(), count)
    pitches = rng.integers(table["pitch"].min(), table["pitch"].max() + 1, count)
    programs = rng.choice(table["program"].to_numpy(), count)
    return _table(
        pd.DataFrame({"onset": onsets, "offset": onsets + durations, "pitch": pitches, "program": programs})
    )


def looped_passage(
    notes: pd.DataFrame, seconds: float | None = None, loop_seconds: float = 10.0, start: float | None = None
) -> pd.DataFrame:
    """A real `loop_seconds` passage repeated back to back for `seconds` (default: the reference's span).

    The passage is the notes starting in [start, start + loop_seconds), offsets cut at its end;
    `start` defaults to the middle of the piece (its intro is often thinner). Real notes locally,
    a stuck composer globally.
    """
    table = _table(notes)
    if table.empty:
        return table
    first, last = _span(table)
    seconds = last - first if seconds is None else float(seconds)
    if start is None:
        start = first + max(0.0, (last - first - loop_seconds) / 2)
    passage = table[(table["onset"] >= start) & (table["onset"] < start + loop_seconds)]
    passage = passage.assign(
        onset=passage["onset"] - start, offset=np.minimum(passage["offset"] - start, loop_seconds)
    )
    copies = [
        passage.assign(onset=passage["onset"] + k * loop_seconds, offset=passage["offset"] + k * loop_seconds)
        for k in range(int(np.ceil(seconds / loop_seconds)))
    ]
    looped = pd.concat(copies, ignore_index=True) if copies else passage
    return _table(looped[looped["onset"] < seconds])
