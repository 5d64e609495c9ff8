"""The corpus section of the report: minutes per composer x ensemble x split, notes from the labels."""

import pandas as pd

from workflow_scripts.describe_dataset import minutes_table, note_name, notes_table


def labels(path, notes, instrument):
    pd.DataFrame(
        {
            "start_time": range(len(notes)),
            "end_time": range(1, len(notes) + 1),
            "instrument": instrument,
            "note": notes,
            "start_beat": 0.0,
            "end_beat": 1.0,
            "note_value": "Quarter",
        }
    ).to_csv(path, index=False)
    return str(path)


def test_minutes_and_notes_per_split(tmp_path):
    manifest = pd.DataFrame(
        [
            {
                "id": 1,
                "split": "train",
                "group": "a",
                "composer": "Beethoven",
                "ensemble": "Solo Piano",
                "seconds": 120.0,
                "labels": labels(tmp_path / "1.csv", [60, 62, 64, 65], 1),
            },
            {
                "id": 2,
                "split": "train",
                "group": "b",
                "composer": "Beethoven",
                "ensemble": "String Quartet",
                "seconds": 60.0,
                "labels": labels(tmp_path / "2.csv", [36, 79], 43),
            },
            {
                "id": 3,
                "split": "train",
                "group": "b",
                "composer": "Beethoven",
                "ensemble": "Solo Piano",
                "seconds": 60.0,
                "labels": "",
            },
            {
                "id": 4,
                "split": "test",
                "group": "c",
                "composer": "Mozart",
                "ensemble": "Solo Piano",
                "seconds": 30.0,
                "labels": labels(tmp_path / "4.csv", [72] * 3, 1),
            },
        ]
    )
    minutes = minutes_table(manifest)
    piano_train = minutes[(minutes["split"] == "train") & (minutes["ensemble"] == "Solo Piano")].iloc[0]
    assert piano_train["minutes"] == 3.0 and piano_train["recordings"] == 2 and piano_train["movements"] == 2
    assert list(minutes["split"]) == ["train", "train", "test"]  # train, validation, test order
    assert "transcribed" not in minutes  # nothing was transcribed
    # recordings 1 and 4 labelled by transcription, scored against the corpus's labels
    heard = pd.DataFrame(
        {"id": [1, 4], "notes_heard": [5, 3], "onset_f1": [0.8, 0.6], "frame_f1": [0.7, 0.5]}
    )
    minutes = minutes_table(manifest, heard).set_index(["split", "ensemble"])
    assert minutes.loc[("train", "Solo Piano"), "transcribed"] == 1
    assert (
        minutes.loc[("train", "Solo Piano"), "onset_f1"] == 0.8
        and minutes.loc[("test", "Solo Piano"), "frame_f1"] == 0.5
    )

    notes = notes_table(manifest).set_index("split")
    # recording 3 has no labels: its minute counts toward neither notes nor seconds
    assert notes.loc["train", "notes"] == 6 and notes.loc["train", "with_labels"] == 2
    assert notes.loc["train", "notes_per_second"] == 6 / 180.0
    assert (notes.loc["train", "lowest"], notes.loc["train", "highest"]) == ("C2", "G5")
    assert notes.loc["train", "instruments"] == "1 43"
    assert notes.loc["validation", "notes"] == 0 and notes.loc["validation", "lowest"] == "n/a"
    assert notes.loc["all", "notes"] == 9
    assert note_name(69) == "A4" and note_name(21) == "A0"
