import pandas as pd
import pytest

from sonata import SonataError
from sonata.catalog import (
    embedded_recordings,
    load_recordings,
    musicnet_recordings,
    select_recordings,
    split_recordings,
)
from tests.conftest import repo_config


def musicnet_tree(root, rows, audio_ids, labels=None):
    """A small copy of MusicNet's layout: metadata, {train,test}_data, {train,test}_labels."""
    (root / "train_data").mkdir(parents=True)
    (root / "train_labels").mkdir()
    (root / "test_data").mkdir()
    table = pd.DataFrame(rows)
    for col in ("composition", "movement", "source", "transcriber", "catalog_name"):
        table[col] = "x, with a comma"
    table["seconds"] = 10
    table.to_csv(root / "musicnet_metadata.csv", index=False)
    for rid in audio_ids:
        folder = "test_data" if rid % 2 else "train_data"
        (root / folder / f"{rid}.wav").write_bytes(b"")
    for rid, instruments in (labels or {}).items():
        pd.DataFrame(
            {
                "start_time": [0] * len(instruments),
                "end_time": [10] * len(instruments),
                "instrument": instruments,
                "note": [60] * len(instruments),
                "start_beat": 0.0,
                "end_beat": 1.0,
                "note_value": "Quarter",
            }
        ).to_csv(root / "train_labels" / f"{rid}.csv", index=False)


ROWS = [
    {"id": 10, "composer": "Beethoven", "ensemble": "Solo Piano"},
    {"id": 12, "composer": "Beethoven", "ensemble": "String Quartet"},
    {"id": 14, "composer": "Mozart", "ensemble": "Solo Piano"},
    {"id": 16, "composer": "Mozart", "ensemble": "Accompanied Violin"},
    {"id": 18, "composer": "Bach", "ensemble": "Solo Cello"},
]


def corpus_cfg(root, **overrides):
    cfg = {
        "source": "musicnet",
        "musicnet_root": str(root),
        "on_missing_audio": "error",
        "on_orphan_audio": "error",
        "embedded": repo_config()["corpus"]["embedded"],
    }
    cfg.update(overrides)
    return cfg


def test_default_embedded_corpus_meets_the_issue_floor():
    cfg = repo_config()
    recs = embedded_recordings(cfg["corpus"])
    assert len({r.composer for r in recs.values()}) >= 4
    assert len({r.ensemble for r in recs.values()}) >= 3
    assert len(recs) * cfg["corpus"]["embedded"]["max_seconds"] >= 600
    for name, dataset in cfg["datasets"].items():
        assert len(select_recordings(recs, name, dataset)) >= 3


def test_selection_by_composer_ensemble_and_label_instruments(tmp_path):
    musicnet_tree(
        tmp_path,
        ROWS,
        [10, 12, 14, 16, 18],
        labels={10: [1], 12: [41, 42, 43], 14: [1], 16: [41, 1], 18: [43]},
    )
    recs = musicnet_recordings(corpus_cfg(tmp_path), need_instruments=True)
    assert select_recordings(
        recs, "p", {"composers": ["Beethoven", "Mozart"], "ensembles": ["Solo Piano"]}
    ) == [10, 14]
    assert select_recordings(recs, "b", {"composers": ["Beethoven"], "ensembles": []}) == [10, 12]
    assert select_recordings(
        recs, "i", {"composers": [], "ensembles": [], "instruments": [1], "instrument_match": "only"}
    ) == [10, 14]
    assert select_recordings(
        recs, "i", {"composers": [], "ensembles": [], "instruments": [1], "instrument_match": "any"}
    ) == [10, 14, 16]


def test_unknown_composer_or_ensemble_names_what_exists(tmp_path):
    musicnet_tree(tmp_path, ROWS, [10, 12, 14, 16, 18])
    recs = musicnet_recordings(corpus_cfg(tmp_path), need_instruments=False)
    with pytest.raises(SonataError) as error:
        select_recordings(recs, "p", {"composers": ["Betoven"], "ensembles": []})
    assert (
        "Betoven" in str(error.value) and "'Beethoven'" in str(error.value) and "'Bach'" in str(error.value)
    )
    with pytest.raises(SonataError) as error:
        select_recordings(recs, "p", {"composers": [], "ensembles": ["Piano Solo"]})
    assert "Piano Solo" in str(error.value) and "'Solo Piano'" in str(error.value)


def test_metadata_row_without_audio_and_audio_without_row(tmp_path):
    musicnet_tree(tmp_path / "a", ROWS, [10, 12, 14, 16])
    with pytest.raises(SonataError, match=r"have no audio.*\[18\].*on_missing_audio: skip"):
        musicnet_recordings(corpus_cfg(tmp_path / "a"), False)
    assert sorted(musicnet_recordings(corpus_cfg(tmp_path / "a", on_missing_audio="skip"), False)) == [
        10,
        12,
        14,
        16,
    ]
    musicnet_tree(tmp_path / "b", ROWS, [10, 12, 14, 16, 18, 99])
    with pytest.raises(SonataError, match=r"99\.wav.*on_orphan_audio: skip"):
        musicnet_recordings(corpus_cfg(tmp_path / "b"), False)
    assert 99 not in musicnet_recordings(corpus_cfg(tmp_path / "b", on_orphan_audio="skip"), False)


def test_missing_metadata_file_says_how_to_fix(tmp_path):
    cfg = repo_config()
    cfg["corpus"].update(source="musicnet", musicnet_root=str(tmp_path / "nowhere"))
    with pytest.raises(SonataError, match="musicnet_root"):
        load_recordings(cfg)


def test_split_is_by_recording_deterministic_and_complete():
    ids = list(range(100, 120))
    a = split_recordings(ids, 7, 0.2, 0.2, "d")
    assert a == split_recordings(list(reversed(ids)), 7, 0.2, 0.2, "d")
    assert a != split_recordings(ids, 8, 0.2, 0.2, "d")
    assert sorted(a) == ids
    counts = pd.Series(a).value_counts()
    assert counts["test"] == 4 and counts["validation"] == 4 and counts["train"] == 12
    small = split_recordings([1, 2, 3], 0, 0.2, 0.2, "d")
    assert sorted(small.values()) == ["test", "train", "validation"]
    with pytest.raises(SonataError, match="at least 3"):
        split_recordings([1, 2], 0, 0.2, 0.2, "d")
