"""The shard format round-trips: what the writer puts in, the reader gives back."""

import numpy as np

from sonata.shards import SCALE, ShardHeader, new_shard, read_blocks, read_header


def test_shard_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    recordings = [rng.integers(-32768, 32767, (n, 6)).astype(np.int16) for n in (5, 0, 7)]
    header = ShardHeader(
        dataset="piano",
        split="test",
        scheme="a",
        sample_rate=16000,
        window_length=6,
        input_length=3,
        target_offset=3,
        target_length=3,
        hop=3,
        scale=SCALE,
        trim_silence_below=-1.0,
        source_ids=(9001, 9002, 9003),
        composers=("Beethoven", "Dvořák", "Mozart"),
        ensembles=("Solo Piano", "String Quartet", "Solo Piano"),
        recording_windows=(5, 0, 7),
    )
    path = str(tmp_path / "s.h5")
    with new_shard(path, 6, chunk_rows=4) as shard:
        for windows in recordings:
            shard.append(windows, np.arange(len(windows)) * 3)
        shard.finish(header)
    assert shard.per_recording == [5, 0, 7] and shard.total == 12

    back = read_header(path)
    assert back == ShardHeader(**{**header.__dict__, "count": 12, "chunk_rows": 4})
    blocks = list(read_blocks(path, seed=None, labels=np.array([10, 20, 30])))
    windows = np.concatenate([w for w, _ in blocks])
    labels = np.concatenate([c for _, c in blocks])
    np.testing.assert_array_equal(windows, np.concatenate(recordings))
    assert list(labels) == [10] * 5 + [30] * 7  # each window knows its recording
    assert back.audio(windows[:1]).dtype == np.float32
    assert np.abs(back.audio(windows)).max() <= 1.0
    # shuffled block order still returns every window once
    shuffled = np.concatenate([w for w, _ in read_blocks(path, seed=3)])
    assert sorted(map(bytes, shuffled)) == sorted(map(bytes, windows))


def test_notes_shards_keep_the_labels_score_positions_where_every_note_has_one(tmp_path):
    """MusicNet labels carry start_beat and end_beat (a note's duration in beats): read_labels
    keeps them and the notes shard carries them, so a composer can learn the meter; a recording
    whose labels lack them reads back without them, not with invented beats."""
    import pandas as pd

    from sonata.labels import read_labels
    from sonata.shards import NotesHeader, read_notes_shard, write_notes_shard

    path = tmp_path / "1.csv"
    pd.DataFrame(
        {
            "start_time": [0, 22050],
            "end_time": [22050, 44100],
            "instrument": [1, 1],
            "note": [60, 64],
            "start_beat": [0.0, 1.0],
            "end_beat": [1.0, 1.0],
            "note_value": ["Quarter", "Quarter"],
        }
    ).to_csv(path, index=False)
    with_beats = read_labels(str(path))
    assert with_beats["start_beat"].tolist() == [0.0, 1.0] and with_beats["end_beat"].tolist() == [1.0, 1.0]
    without = with_beats.drop(columns=["start_beat", "end_beat"])
    header = NotesHeader("d", "train", (1, 2), ("C", "C"), ("Solo Piano",) * 2, ("a", "b"), ("m1", "m2"))
    write_notes_shard(str(tmp_path / "n.h5"), header, [with_beats, without])
    _, (first, second) = read_notes_shard(str(tmp_path / "n.h5"))
    pd.testing.assert_frame_equal(first, with_beats)
    assert "start_beat" not in second and second[["onset", "pitch"]].equals(without[["onset", "pitch"]])
