import numpy as np
import pandas as pd

from sonata.analysis import note_statistics, random_notes_like, score_following
from tests.support import melody, play


def test_score_following_tells_the_notes_played_from_other_notes_and_noise():
    rate, seconds = 8000, 20.0
    notes = melody(seconds, 0)
    audio = play(notes, seconds, rate)
    follow = lambda a, n: score_following(a, rate, n, 2048, 0.1, 0.001)  # noqa: E731
    own = follow(audio, notes)
    others = follow(audio, melody(seconds, 1))
    noise = follow(np.random.default_rng(0).normal(0, 0.1, len(audio)).astype(np.float32), notes)
    silence = follow(np.zeros_like(audio), notes)
    assert own > 0.85 and own > others + 0.2 and own > noise + 0.3
    assert silence == 0.0
    assert np.isnan(follow(audio, notes.iloc[:0]))


def test_note_statistics_see_density_texture_key_and_loops():
    notes = melody(30.0, 2)
    stats = note_statistics(notes, reference=notes)
    assert abs(stats["notes_per_second"] - 12) < 0.1 and abs(stats["polyphony"] - 3) < 1e-9
    assert stats["pitch_class_distance"] == 0.0
    # a loop of the first 2 s repeated 15 times shows as repetition; fresh notes do not
    bar = melody(2.0, 3)
    loop = pd.concat([bar.assign(onset=bar.onset + 2 * k, offset=bar.offset + 2 * k) for k in range(15)])
    assert note_statistics(loop)["repetition"] > 0.8 > 0.4 > stats["repetition"]
    random = random_notes_like(notes, 30.0, 0)
    random_stats = note_statistics(random, reference=notes)
    assert abs(random_stats["notes_per_second"] - 12) < 1.0
    assert random_stats["pitch_class_distance"] > 0.2  # random pitches leave C major
