"""Score interpretation for the embedded corpus: a music21 score as the notes a performer would
play (parts to GM programs, dynamics and hairpins to velocities, tempo marks to a tempo map),
quantized, as MIDI and as MusicNet labels (through sonata.labels)."""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from sonata import SonataError
from sonata.instruments import fit_to_range
from sonata.labels import LABEL_COLUMNS, LABEL_RATE

TICKS_PER_QUARTER = 480


log = logging.getLogger("sonata.render_piece")
ACCENTS = {"sf", "sfz", "sffz", "fz", "rf", "rfz", "sfp", "fp", "sfzp"}


@dataclass(frozen=True)
class NoteEvent:
    start_quarters: float
    end_quarters: float
    part: int
    program: int  # 1-based GM program, as MusicNet labels use
    pitch: int
    velocity: int
    note_value: str


@dataclass(frozen=True)
class TempoMark:
    offset: float  # quarter notes from the start
    qpm: float  # quarter notes per minute
    explicit: bool  # a metronome number in the score, not a tempo word


@dataclass(frozen=True)
class DynamicMark:
    offset: float
    value: str  # "p", "mf", "sfz", ...


@dataclass(frozen=True)
class Hairpin:
    start: float
    end: float
    crescendo: bool


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-constant tempo: quarter-note offsets to seconds and back."""

    offsets: tuple[float, ...]  # where each tempo starts; the first is 0
    qpm: tuple[float, ...]

    def __post_init__(self) -> None:
        starts, elapsed = [0.0], 0.0
        for i in range(1, len(self.offsets)):
            elapsed += (self.offsets[i] - self.offsets[i - 1]) * 60.0 / self.qpm[i - 1]
            starts.append(elapsed)
        object.__setattr__(self, "_starts", tuple(starts))

    def seconds(self, quarters: float) -> float:
        i = bisect.bisect_right(self.offsets, quarters) - 1
        return self._starts[i] + (quarters - self.offsets[i]) * 60.0 / self.qpm[i]

    def quarters(self, seconds: float) -> float:
        i = bisect.bisect_right(self._starts, seconds) - 1
        return self.offsets[i] + (seconds - self._starts[i]) * self.qpm[i] / 60.0


def tempo_map(marks: list[TempoMark], configured_qpm: float) -> TempoMap:
    """The score's tempo where it gives one, else the configured tempo.

    Metronome numbers are taken as written. Tempo words alone (music21 guesses a number for
    "Adagio") scale the configured tempo by their ratio to the piece's first word, so a slow
    introduction stays slower than the Allegro it leads to while `qpm` still sets the pace.
    """
    implicit = [m.qpm for m in marks if not m.explicit]
    reference = implicit[0] if implicit else configured_qpm
    offsets, tempi = [0.0], [float(configured_qpm)]
    for mark in sorted(marks, key=lambda m: m.offset):
        qpm = mark.qpm if mark.explicit else configured_qpm * mark.qpm / reference
        if mark.offset <= offsets[-1] + 1e-9:
            tempi[-1] = qpm  # a later mark at the same offset wins
        elif abs(qpm - tempi[-1]) > 1e-9:
            offsets.append(float(mark.offset))
            tempi.append(qpm)
    return TempoMap(tuple(offsets), tuple(tempi))


def velocity_curve(
    marks: list[DynamicMark],
    hairpins: list[Hairpin],
    levels: dict[str, int],
    default: int,
    accent: int,
    hairpin_step: int,
) -> Callable[[float], int]:
    """Note-on velocity at a quarter-note offset: dynamic marks as steps, hairpins as ramps.

    A hairpin ramps from the level at its start to the next mark just after its end when
    that mark goes its way, else one `hairpin_step` up or down, and the music stays there.
    Accents (sf, sfz, fp, ...) lift only the notes that start on them; fp/sfp fall to p.
    """
    steps: list[tuple[float, int]] = []  # (offset, level), kept sorted
    accents: dict[float, int] = {}
    for mark in sorted(marks, key=lambda m: m.offset):
        value = mark.value.strip().lower()
        if value in levels:
            steps.append((mark.offset, levels[value]))
        elif value in ACCENTS:
            accents[round(mark.offset, 6)] = accent
            if value.endswith("p") and "p" in levels:
                steps.append((mark.offset + 1e-6, levels["p"]))
    steps.sort()

    def level_at(offset: float) -> int:
        i = bisect.bisect_right(steps, (offset, 128)) - 1
        return steps[i][1] if i >= 0 else default

    ramps = []
    for pin in sorted(hairpins, key=lambda h: h.start):
        if pin.end <= pin.start:
            continue
        start_level = level_at(pin.start)
        following = [v for o, v in steps if pin.start < o <= pin.end + 4.0]
        if following and following[0] != start_level and (following[0] > start_level) == pin.crescendo:
            target = following[0]
        else:
            step = hairpin_step if pin.crescendo else -hairpin_step
            target = min(127, max(1, start_level + step))
            bisect.insort(steps, (pin.end, target))  # the music stays there until the next mark
        ramps.append((pin.start, pin.end, start_level, target))

    def velocity(offset: float) -> int:
        value = float(level_at(offset))
        for start, end, v0, v1 in ramps:
            if start <= offset < end:
                value = v0 + (v1 - v0) * (offset - start) / (end - start)
        value += accents.get(round(offset, 6), 0)
        return int(min(127, max(1, round(value))))

    return velocity


def part_programs(n_parts: int, programs: list[int]) -> list[int]:
    """Programs for each part; the ensemble's last program repeats for extra parts."""
    return [programs[min(i, len(programs) - 1)] for i in range(n_parts)]


def load_score(score: str):
    """A music21 score from a file path, else from a path inside the music21 corpus."""
    from music21 import converter, corpus

    if Path(score).is_file():
        return converter.parse(score)
    try:
        return corpus.parse(score)
    except Exception as error:  # music21 raises several kinds for an unknown path
        raise SonataError(
            f"score {score!r} is neither a file nor a path inside the music21 corpus ({error}); "
            "fix the piece's `score` in corpus.embedded.pieces"
        ) from None


def prepare_score(score, source: str):
    """Sounding pitch (only where a part transposes) and repeats expanded where the score allows."""
    from music21 import instrument

    if any(i.transposition for i in score.recurse().getElementsByClass(instrument.Instrument)):
        score = score.toSoundingPitch()
    try:
        score = score.expandRepeats()
    except Exception as error:  # malformed repeat marks
        # a user's own score may want a fix; the music21 corpus's (Mozart K458 I-II) cannot have one
        level = logging.WARNING if Path(source).is_file() else logging.INFO
        log.log(level, "%s: repeats left unexpanded, the score rendered as written (%s)", source, error)
    return score


def score_tempo_marks(flats: list) -> list[TempoMark]:
    """Metronome marks of the first flattened part that has any."""
    from music21 import tempo

    marks = {}
    for flat in flats:
        for mark in flat.getElementsByClass(tempo.MetronomeMark):
            if mark.number is None:
                continue
            offset = float(flat.elementOffset(mark))
            marks.setdefault(offset, TempoMark(offset, float(mark.getQuarterBPM()), not mark.numberImplicit))
        if marks:
            break  # the first part that carries tempo speaks for the score
    return list(marks.values())


def score_dynamics(score, flats: list) -> tuple[list[list[DynamicMark]], list[list[Hairpin]]]:
    """Dynamic marks and hairpins per flattened part; a part without marks follows the others'."""
    from music21 import dynamics

    marks = [
        [
            DynamicMark(float(flat.elementOffset(d)), str(d.value))
            for d in flat.getElementsByClass(dynamics.Dynamic)
        ]
        for flat in flats
    ]
    # Repeat expansion copies notes but leaves hairpins pointing at the originals: index every
    # note under itself and the notes it was copied from, so each repeat gets its hairpins.
    located: dict[int, list[tuple[int, float, float]]] = {}
    for index, flat in enumerate(flats):
        for element in flat.notesAndRests:
            where = (index, float(flat.elementOffset(element)), float(element.quarterLength))
            source, hops = element, 0
            while source is not None and hops < 8:
                located.setdefault(id(source), []).append(where)
                source, hops = source.derivation.origin, hops + 1
    hairpins: list[list[Hairpin]] = [[] for _ in flats]
    for wedge in score.spannerBundle.getByClass(dynamics.DynamicWedge):
        crescendo = isinstance(wedge, dynamics.Crescendo)
        ends = located.get(id(wedge.getLast()), [])
        for part, start, _ in located.get(id(wedge.getFirst()), []):
            after = [offset + length for p, offset, length in ends if p == part and offset >= start]
            if after:
                hairpins[part].append(Hairpin(start, min(after), crescendo))
    everyone = sorted({m for part in marks for m in part}, key=lambda m: m.offset)
    return [own or everyone for own in marks], hairpins


def part_notes(flat, part: int, program: int, velocity: Callable[[float], int]) -> list[NoteEvent]:
    """Notes of one flattened part with ties joined (linear, unlike music21's stripTies)."""
    events: list[NoteEvent] = []
    open_ties: dict[int, list] = {}

    def close(pitch: int) -> None:
        start, end, note_value = open_ties.pop(pitch)
        events.append(NoteEvent(start, end, part, program, pitch, velocity(start), note_value))

    for element in flat.notes:
        length = float(element.quarterLength)
        if length <= 0:
            continue  # grace notes carry no duration
        start = float(flat.elementOffset(element))
        members = element.notes if element.isChord else [element]
        for member in members:
            pitch = int(member.pitch.midi)
            tie = member.tie or element.tie
            kind = tie.type if tie is not None else None
            if pitch in open_ties and kind in ("stop", "continue"):
                open_ties[pitch][1] = max(open_ties[pitch][1], start + length)
                if kind == "stop":
                    close(pitch)
                continue
            if pitch in open_ties:
                close(pitch)  # a tie that never stopped ends where the next note starts
            open_ties[pitch] = [start, start + length, element.duration.fullName]
            if kind != "start":
                close(pitch)
    for pitch in list(open_ties):
        close(pitch)
    return events


def score_notes(
    score_path: str, programs: list[int], render_cfg: dict
) -> tuple[list[NoteEvent], list[TempoMark]]:
    """Sounding notes of a score with velocities from its dynamics, in its instruments' ranges."""
    score = prepare_score(load_score(score_path), score_path)
    flats = [part.flatten() for part in score.parts]
    if not flats:
        raise SonataError(f"score {score_path} has no parts to render")
    marks, hairpins = score_dynamics(score, flats)
    events: list[NoteEvent] = []
    for index, (flat, program) in enumerate(zip(flats, part_programs(len(flats), programs))):
        curve = velocity_curve(
            marks[index],
            hairpins[index],
            render_cfg["dynamics"],
            render_cfg["dynamics"][render_cfg["default_dynamic"]],
            render_cfg["accent_boost"],
            render_cfg["hairpin_step"],
        )
        for note in part_notes(flat, index, program, curve):
            events.append(replace(note, pitch=fit_to_range(note.pitch, program)))
    if not events:
        raise SonataError(f"score {score_path} has no notes")
    events.sort(key=lambda e: (e.start_quarters, e.part, e.pitch))
    return events, score_tempo_marks(flats)


def quantize(events: list[NoteEvent], tempo: TempoMap, max_seconds: float | None) -> list[NoteEvent]:
    """Snap to MIDI ticks (so labels and audio agree to the sample) and cut at max_seconds."""
    limit_tick = round(tempo.quarters(max_seconds) * TICKS_PER_QUARTER) if max_seconds else None
    snapped = []
    for e in events:
        on = round(e.start_quarters * TICKS_PER_QUARTER)
        off = max(on + 1, round(e.end_quarters * TICKS_PER_QUARTER))
        if limit_tick is not None:
            if on >= limit_tick:
                continue
            off = min(off, limit_tick)
        snapped.append(
            replace(e, start_quarters=on / TICKS_PER_QUARTER, end_quarters=off / TICKS_PER_QUARTER)
        )
    return snapped


def event_labels(events: list[NoteEvent], tempo: TempoMap) -> pd.DataFrame:
    """MusicNet label rows: times in samples at 44.1 kHz (MusicNet's label rate, whatever the
    audio's rate), beats in quarter notes."""
    rows = [
        {
            "start_time": round(tempo.seconds(e.start_quarters) * LABEL_RATE),
            "end_time": round(tempo.seconds(e.end_quarters) * LABEL_RATE),
            "instrument": e.program,
            "note": e.pitch,
            "start_beat": e.start_quarters,
            "end_beat": e.end_quarters - e.start_quarters,
            "note_value": e.note_value,
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def write_midi(events: list[NoteEvent], tempo: TempoMap, path: Path) -> None:
    """A tempo track, then one track per part, its GM program on its own channel (not drum channel 10)."""
    from sonata.labels import write_tracks

    tempos = [(round(offset * TICKS_PER_QUARTER), qpm) for offset, qpm in zip(tempo.offsets, tempo.qpm)]
    parts = []
    for part in sorted({e.part for e in events}):
        notes = [e for e in events if e.part == part]
        played = [
            (
                round(e.start_quarters * TICKS_PER_QUARTER),
                round(e.end_quarters * TICKS_PER_QUARTER),
                e.pitch,
                e.velocity,
            )
            for e in notes
        ]
        parts.append((notes[0].program, part if part < 9 else part + 1, played))
    write_tracks(path, TICKS_PER_QUARTER, tempos, parts)
