"""The real snakemake on a tiny config: the main target, reruns, parse-time errors, lint."""

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from sonata.analysis import note_statistics, silent_runs
from sonata.audio import read_audio
from sonata.labels import read_labels
from tests.support import FORBID_CONFIG, REPO, snakemake, tiny_config, write_config


def planned_jobs(result) -> dict[str, int]:
    """Jobs per rule in a dry run's job table."""
    table = result.stdout.split("Job stats:")[-1]
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}
    counts.pop("total", None)
    return counts


def planned_rules(result) -> set[str]:
    """Rule names in a dry run's job table."""
    return set(planned_jobs(result))


@pytest.mark.slow
def test_main_target_builds_listenable_results_then_rebuilds_only_what_changed(tmp_path):
    cfg = tiny_config()
    write_config(tmp_path, cfg)
    # every rule script runs with snakemake.config forbidden: each reads only what its rule hands it
    run = snakemake(tmp_path, "--cores", "2", "results/samples", env=FORBID_CONFIG)
    # TensorFlow's C++ start-up lines (absl format, "I0000 00:00:...") stay in the rule logs
    assert not re.search(r"^[IWEF]\d{4} \d\d:\d\d:\d\d", run.stdout + run.stderr, re.MULTILINE)
    # and so do sonata's details (tables, per-file facts): the terminal gets each job's progress
    said = run.stdout + run.stderr
    infos = re.findall(r"^\d\d:\d\d:\d\d \[([^\]]+)\] INFO: (.*)$", said, re.MULTILINE)
    progress = re.compile(r"(training |performer: |composer: |epoch \d|keeping epoch |report: )")
    assert infos and all(progress.match(message) for _, message in infos), infos
    assert ("train_performer", "epoch 1/") in {(job, message[:8]) for job, message in infos}
    assert not re.search(r"INFO sonata|windows of|notes per split|converted ", said)

    samples = tmp_path / "results" / "samples"
    index = pd.read_csv(samples / "index.csv")
    durations = len(cfg["generation"]["durations"])
    # raw-audio models and the notes route's composed pieces at every duration, performed and
    # synthesized, plus each held-out passage's notes performed and the real passage they come
    # from, one row per file
    passages, pieces = cfg["notes"]["held_out_passages"], cfg["notes"]["composed_pieces"]
    assert passages > 1 and pieces > 1 and cfg["notes"]["synthesize"]
    assert len(index) == len(cfg["datasets"]) * ((len(cfg["models"]) + 2 * pieces) * durations + 2 * passages)
    composed = index[index["model"] == "composer + performer"]  # numbered within their length
    assert sorted(composed["passage"]) == sorted(
        list(range(1, pieces + 1)) * durations * len(cfg["datasets"])
    )
    held_out = index[index["model"] == "performer (held-out notes)"]
    assert sorted(held_out["passage"]) == sorted(list(range(1, passages + 1)) * len(cfg["datasets"]))
    assert held_out["score_following"].nunique() == len(held_out)  # each passage scored on its own
    assert (held_out["passage_distance"] > 0).all()  # each beside the real audio of its place
    real = index[index["model"] == "real (held-out passage)"]
    assert sorted(zip(held_out["prime_id"], held_out["prime_start_sample"])) == sorted(
        zip(real["prime_id"], real["prime_start_sample"])
    )  # each performed passage sits beside the real audio of the same place
    composed = index[index["model"] == "composer + performer"]
    assert (composed["prime_start_sample"] > 0).all() and (composed["prime_samples"] > 0).all()
    for row in index.itertuples():
        info = sf.info(str(samples / row.file))
        assert info.samplerate == cfg["audio"]["sample_rate"] and info.channels == 1
        assert abs(info.duration - row.seconds) < 0.01
        assert row.prime_id in {p["id"] for p in cfg["corpus"]["embedded"]["pieces"]}
    metrics = pd.read_csv(samples / "metrics.csv")
    assert {"silence", "noise", "real (validation audio)"} <= set(metrics["model"])
    assert metrics.loc[metrics["model"] == "silence", "silent_fraction"].eq(1.0).all()
    assert set(metrics.loc[metrics["model"] == "real (held-out passage)", "kind"]) == {"real"}
    # the rendered corpus holds notes: its real audio is tonal where noise is not
    assert (metrics.loc[metrics["model"] == "real (validation audio)", "tonal_fraction"] > 0.6).all()
    assert (metrics.loc[metrics["model"] == "noise", "tonal_fraction"] < 0.1).all()
    # the notes route: every piece names its notes, composed ones come as MIDI too, and score
    # following says how well the sound plays them
    notes_route = index[index["notes"].notna()]
    assert set(notes_route["model"]) == {
        "composer + performer",
        "synthesizer (composed notes)",
        "performer (held-out notes)",
        "real (held-out passage)",
    }
    for row in notes_route.itertuples():  # a piece without notes (the tiny composer writes some) has none
        written = read_labels(str(samples / row.notes))
        assert np.isfinite(row.score_following) == (len(written) > 0), row
    # the composed notes through the corpus's synthesizer: the same notes, played as written
    synthesized = notes_route[notes_route["model"] == "synthesizer (composed notes)"]
    played = notes_route[notes_route["model"] == "composer + performer"]
    same = ["dataset", "seconds", "notes", "prime_id", "prime_start_sample"]
    assert sorted(synthesized[same].itertuples(index=False)) == sorted(played[same].itertuples(index=False))
    sounding = synthesized[synthesized["score_following"].notna()]
    # (the tiny composer, 3 steps trained, writes a lone note or 12-note clusters at times: the
    # synthesizer's playing is judged over its pieces, where noise reads about 0.4)
    assert len(sounding) >= 2 and (sounding[["score_following", "tonal_fraction"]].median() > 0.6).all()
    assert set(metrics.loc[metrics["model"] == "synthesizer (composed notes)", "kind"]) == {"synthesized"}
    composed = notes_route[notes_route["model"] == "composer + performer"]
    assert composed["midi"].map(lambda path: (samples / path).is_file()).all()
    note_metrics = pd.read_csv(samples / "note_metrics.csv")
    assert {
        "composer + performer",
        "held-out notes",
        "pitches shuffled",
        "random notes",
        "looped passage",
    } == set(note_metrics["model"])
    # every composed piece of every length measured, each beside its length's yardsticks
    composed_rows = note_metrics[note_metrics["model"] == "composer + performer"]
    assert len(composed_rows) == len(cfg["datasets"]) * durations * cfg["notes"]["composed_pieces"]
    assert {"consonance", "top_voice_steps", "key_steadiness", "looping"} <= set(note_metrics.columns)
    evaluation = pd.read_csv(samples / "evaluation.csv")
    assert {"mse", "nll_bits_per_sample"} <= set(evaluation["metric"])
    page = (samples / "report.html").read_text()
    assert "http://" not in page and "https://" not in page  # loads offline
    for src in re.findall(r'(?:src)="([^"]+)"', page):
        assert (samples / src).is_file(), src
    assert page.count("<audio") == len(index) + len(cfg["datasets"])  # + a real reference each
    players = re.findall(r'<audio[^>]* src="([^"]+)"', page)
    for number in range(1, passages + 1):  # each passage's real audio right after its performance
        performed = players.index(f"piano/notes/held_out_{number}.wav")
        assert players[performed + 1] == f"piano/notes/held_out_{number}_real.wav"
    # the embedded corpus is in MusicNet's layout
    corpus = tmp_path / "results" / "corpus"
    meta = pd.read_csv(corpus / "musicnet_metadata.csv")
    assert list(meta.columns) == [
        "id",
        "composer",
        "composition",
        "movement",
        "ensemble",
        "source",
        "transcriber",
        "catalog_name",
        "seconds",
    ]
    assert (corpus / "train_data" / "9001.mp3").is_file() and (corpus / "train_labels" / "9001.csv").is_file()
    for rule in ("render_piece", "convert_audio", "make_shards", "train_model", "generate_samples"):
        assert any((tmp_path / "logs" / rule).iterdir()), f"no log for {rule}"

    # held out means unheard: a movement and its piano arrangement share one split
    manifest = pd.read_parquet(tmp_path / "results" / "datasets" / "beethoven" / "manifest.parquet")
    assert (manifest.groupby("group")["split"].nunique() == 1).all()
    splits = manifest.set_index("id")["split"]
    assert splits[9001] == splits[9005] and splits[9003] == splits[9006]
    # the report shows what each dataset holds
    minutes = pd.read_csv(tmp_path / "results" / "datasets" / "piano" / "minutes.csv")
    assert set(minutes["split"]) == {"train", "validation", "test"} and set(minutes["composer"]) == {
        "Beethoven",
        "Mozart",
    }
    notes = pd.read_csv(
        tmp_path / "results" / "datasets" / "piano" / "notes.csv", dtype={"instruments": str}
    ).set_index("split")
    assert notes.loc["all", "notes"] > 0 and notes.loc["all", "instruments"] == "1"
    assert "What the models learned from" in page and "piano_corpus.png" in page

    # the composer-sampling benchmark reads this run: at the config's setting its piece 1 is the
    # run's composition number 1 (of the durations, counted from 0), and each row of its table
    # measures the sound and notes it keeps under that row's name
    from benchmarks.composer_sampling import compose_pieces
    from benchmarks.composer_sampling import main as sampling_benchmark

    results, second = str(tmp_path / "results"), cfg["generation"]["durations"][1]
    setting = (cfg["notes"]["composer"]["temperature"], cfg["notes"]["composer"]["top_p"])
    [first] = compose_pieces(results, "piano", cfg, [setting], 1, float(second))
    ran = read_labels(str(tmp_path / "results" / "notes" / "piano" / "composed" / f"{second:g}s.csv"))
    assert len(first["notes"]) == len(ran) > 0
    ours = first["notes"].sort_values(["onset", "pitch"])  # labels are kept in that order
    theirs = ran.sort_values(["onset", "pitch"])
    np.testing.assert_array_equal(ours[["pitch", "program"]], theirs[["pitch", "program"]])
    np.testing.assert_allclose(ours[["onset", "offset"]], theirs[["onset", "offset"]], atol=1e-4)
    table, kept = tmp_path / "sampling.csv", tmp_path / "sampling"
    argv = [results, "--config", str(tmp_path / "config.yaml"), "--csv", str(table), "--audio", str(kept)]
    sampling_benchmark([*argv, "--pieces", "2", "--temperature", "0.5", "1.0", "--seconds", "1"])
    pieces = pd.read_csv(table)
    assert len(pieces) == len(cfg["datasets"]) * 2 * 2 and set(pieces["temperature"]) == {0.5, 1.0}
    assert pieces["score_following"].dropna().between(0, 1).all() and pieces["score_following"].notna().any()
    threshold = cfg["metrics"]["silence_threshold"]
    for row in pieces.itertuples():
        stem = f"{kept}/{row.dataset}_t{row.temperature:g}_p{row.top_p:g}_{row.piece}"
        audio, rate = read_audio(f"{stem}.wav")
        assert len(audio) == rate  # one second at the output rate
        assert row.silent_fraction == pytest.approx(silent_runs(audio - audio.mean(), threshold)[0])
        notes = read_labels(f"{stem}.csv")
        assert row.notes == len(notes) and row.pitch_range == pytest.approx(
            note_statistics(notes)["pitch_range"],
            nan_ok=True,  # NaN: a piece without notes
        )

    # the composer-training benchmark retrains each dataset's seq2seq composer (its subject; the
    # run's composer is beat_lstm) on this run's shards, in a process of its own as the workflow's:
    # as the config has it and as each variant asks, all scored per token kind on the same
    # validation targets (where futures differ, on the tokens every composer predicts)
    trained = tmp_path / "training.csv"
    benchmark = [sys.executable, "-m", "benchmarks.composer_training", results, "--config"]
    argv = [*benchmark, str(tmp_path / "config.yaml"), "--csv", str(trained), "--pieces", "1"]
    variants = ["--variant", "past=12", "--variant", "future=12"]
    subprocess.run([*argv, *variants, "--seconds", str(second)], cwd=REPO, check=True, capture_output=True)
    rows = pd.read_csv(trained)
    assert sorted(rows["variant"]) == sorted(["config", "past=12", "future=12"] * len(cfg["datasets"]))
    again_by_config = rows[(rows["variant"] == "config") & (rows["dataset"] == "piano")]
    assert len(again_by_config) == 1 and (again_by_config["train_seconds"] > 0).all()
    for name in ("loss", "loss_shift", "loss_note", "loss_duration"):
        assert rows[name].between(0, 20).all(), rows[name]
    by_variant = rows.pivot(index="dataset", columns="variant", values="loss")
    assert (by_variant["past=12"] != by_variant["config"]).all()
    assert (by_variant["future=12"] != by_variant["config"]).all()
    refused = subprocess.run([*argv, "--variant", "past=0"], cwd=REPO, capture_output=True, text=True)
    assert refused.returncode != 0 and "notes.composer past=0 is invalid" in refused.stderr
    assert "Traceback" not in refused.stderr

    again = snakemake(tmp_path, "--cores", "2", "results/samples")
    assert "Nothing to be done" in again.stdout + again.stderr

    # one piece's entry changes: that piece, and no other, renders again
    chorale = next(p for p in cfg["corpus"]["embedded"]["pieces"] if p["id"] == 9012)
    chorale["qpm"] += 10
    write_config(tmp_path, cfg)
    plan = snakemake(tmp_path, "-n", "results/samples")
    assert planned_jobs(plan)["render_piece"] == 1 and "train_labels/9012.csv" in plan.stdout
    chorale["qpm"] -= 10

    # a training setting reaches exactly the training jobs and what depends on them, because
    # the scripts read it from their params (never from snakemake.config on the side)
    cfg["training"]["epochs"] += 1
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == {
        "train_model",
        "evaluate_model",
        "generate_samples",
        "compute_metrics",
        "samples",
    }
    # (snakemake 9.27's --list-changes params lists 41 files even with an unchanged config,
    # so the dry run's plan is the evidence)
    cfg["training"]["epochs"] -= 1

    # the WaveNet performer's sampling settings are not the harmonic performer's, which samples
    # nothing: neither trained nor played again (the WaveNet's own: test_performers)
    for key in ("temperature", "probability_floor", "guidance"):
        setting = cfg["notes"]["performer"][key]
        cfg["notes"]["performer"][key] = setting + 0.001
        write_config(tmp_path, cfg)
        assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == set(), key
        cfg["notes"]["performer"][key] = setting
    # the performer's windows are its own: no dataset is selected again, no composer retrained
    cfg["notes"]["performer"]["window_frames"] += 1
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == {
        "train_performer",
        "perform_notes",
        "transcribe_performances",
        "compute_metrics",
        "samples",
    }
    cfg["notes"]["performer"]["window_frames"] -= 1
    # the WaveNet performer's own network is not the harmonic performer's: nothing reruns
    cfg["notes"]["performer"]["residual_channels"] += 1
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == set()
    cfg["notes"]["performer"]["residual_channels"] -= 1
    # likewise the composer's sampling settings and its plan: the notes are composed again, not
    # learned again
    sampling = {k: cfg["notes"]["composer"][k] for k in ("temperature", "top_p", "keep_ensemble")}
    cfg["notes"]["composer"].update(
        {k: (not v) if isinstance(v, bool) else v - 0.05 for k, v in sampling.items()}
    )
    cfg["notes"]["composer"]["beat_lstm"]["reprise"] -= 0.1
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == {
        "compose_notes",
        "perform_notes",
        "synthesize_notes",
        "transcribe_performances",
        "compute_metrics",
        "samples",
    }
    cfg["notes"]["composer"].update(sampling)
    cfg["notes"]["composer"]["beat_lstm"]["reprise"] += 0.1
    # without the synthesized notes the metrics and report leave them out; nothing else reruns
    cfg["notes"]["synthesize"] = False
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == {
        "transcribe_performances",
        "compute_metrics",
        "samples",
    }
    cfg["notes"]["synthesize"] = True
    # thread counts change no result: they rerun nothing
    cfg["generation"]["threads"] += 1
    write_config(tmp_path, cfg)
    assert planned_rules(snakemake(tmp_path, "-n", "results/samples")) == set()
    cfg["generation"]["threads"] -= 1

    cfg["datasets"]["beethoven"]["composers"] = ["Beethoven", "Mozart"]
    write_config(tmp_path, cfg)
    plan = planned_rules(snakemake(tmp_path, "-n", "results/samples"))
    assert {"select_dataset", "make_shards", "train_model"} <= plan
    assert "convert_audio" not in plan and "render_piece" not in plan


def test_config_that_fails_the_schema_is_refused_naming_the_key(tmp_path):
    cfg = tiny_config()
    cfg["audio"]["sample_rate"] = "fast"
    write_config(tmp_path, cfg)
    result = snakemake(tmp_path, "-n", "results/samples", check=False)
    assert result.returncode != 0
    assert "sample_rate" in result.stdout + result.stderr and "fast" in result.stdout + result.stderr


def test_a_mistyped_key_is_named_with_the_keys_allowed_in_a_few_lines(tmp_path):
    cfg = tiny_config()
    cfg["training"]["epocs"] = 3
    write_config(tmp_path, cfg)
    result = snakemake(tmp_path, "-n", "results/samples", check=False)
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "unknown key(s) ['epocs']" in said and "'epochs'" in said
    assert len(said.splitlines()) < 25, said  # not the whole schema and config


def test_unknown_composer_is_refused_with_the_composers_that_exist(tmp_path):
    cfg = tiny_config()
    cfg["datasets"]["piano"]["composers"] = ["Motzart"]
    write_config(tmp_path, cfg)
    result = snakemake(tmp_path, "-n", "results/samples", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Motzart" in out and "'Mozart'" in out and "datasets.piano" in out


def test_a_rule_script_reading_config_fails_under_the_stand_in(tmp_path):
    """The guard the main-target test runs under: reading snakemake.config raises in the script,
    while params, input and output read as usual."""
    (tmp_path / "reads_config.py").write_text(
        "open(snakemake.output[0], 'w').write(str(snakemake.params.n) + str(snakemake.config))\n"
    )
    (tmp_path / "Snakefile").write_text(
        'configfile: "c.yaml"\n\nrule peek:\n    output: "out.txt"\n    params: n=config["n"]\n'
        '    script: "reads_config.py"\n'
    )
    (tmp_path / "c.yaml").write_text("n: 3\n")
    plain = snakemake(tmp_path, "--cores", "1", snakefile=tmp_path / "Snakefile")
    assert (tmp_path / "out.txt").read_text() == "3{'n': 3}", plain.stderr
    (tmp_path / "out.txt").unlink()
    guarded = snakemake(
        tmp_path, "--cores", "1", snakefile=tmp_path / "Snakefile", env=FORBID_CONFIG, check=False
    )
    assert guarded.returncode != 0 and "rule 'peek' read snakemake.config" in guarded.stderr + guarded.stdout


def test_rule_scripts_read_only_what_their_rule_hands_them():
    """No snakemake.config under workflow_scripts/: a value read on the side never reruns a job."""
    import ast

    offenders = []
    for script in sorted((REPO / "workflow_scripts").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "config":
                if isinstance(node.value, ast.Name) and node.value.id == "snakemake":
                    offenders.append(f"{script.name}:{node.lineno}")
    assert not offenders, offenders


def test_workflow_passes_snakemake_lint_snakefmt_and_ruff(tmp_path):
    write_config(tmp_path, tiny_config())
    lint = snakemake(tmp_path, "--lint", check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for command in (
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        [sys.executable, "-m", "ruff", "check", "."],
    ):
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def musicnet_copy(root, corrupt: int | None = None, truncated: int | None = None):
    """A MusicNet-layout folder with real (synthetic) audio: 44.1 kHz wav, stereo, and mp3."""
    from pydub import AudioSegment

    from tests.support import tone

    rows = []
    for i, (composer, ensemble) in enumerate(
        [
            ("Beethoven", "Solo Piano"),
            ("Beethoven", "Solo Piano"),
            ("Mozart", "Solo Piano"),
            ("Mozart", "String Quartet"),
            ("Beethoven", "String Quartet"),
            ("Bach", "Solo Cello"),
        ]
    ):
        rid = 2000 + i
        folder = "test" if i == 5 else "train"
        (root / f"{folder}_data").mkdir(parents=True, exist_ok=True)
        (root / f"{folder}_labels").mkdir(parents=True, exist_ok=True)
        wav = root / f"{folder}_data" / f"{rid}.wav"
        sf.write(
            str(wav), tone(3.0, 44100, 220 * (i + 1), channels=2 if i == 1 else 1), 44100, subtype="PCM_16"
        )
        if i == 2:
            AudioSegment.from_wav(str(wav)).export(str(wav.with_suffix(".mp3")), format="mp3")
            wav.unlink()
        if rid == truncated:  # a copy cut short: its first 1,000 bytes
            wav.write_bytes(wav.read_bytes()[:1000])
        if rid == corrupt:
            wav.with_suffix(".wav").unlink(missing_ok=True)
            (root / f"{folder}_data" / f"{rid}.mp3").write_bytes(b"\xff\xfb not really an mp3" * 10)
        pd.DataFrame(
            {
                "start_time": [0],
                "end_time": [44100],
                "instrument": [1 if "Piano" in ensemble else 41],
                "note": [60],
                "start_beat": [0.0],
                "end_beat": [1.0],
                "note_value": ["Quarter"],
            }
        ).to_csv(root / f"{folder}_labels" / f"{rid}.csv", index=False)
        rows.append(
            {
                "id": rid,
                "composer": composer,
                "composition": "Sonata, in C",
                "movement": "1. Allegro",
                "ensemble": ensemble,
                "source": "test",
                "transcriber": "test",
                "catalog_name": f"OP{i}",
                "seconds": 3,
            }
        )
    pd.DataFrame(rows).to_csv(root / "musicnet_metadata.csv", index=False)


def musicnet_config(root):
    cfg = tiny_config()
    cfg["corpus"].update(source="musicnet", musicnet_root=str(root))
    cfg["datasets"] = {
        "piano": {"composers": ["Beethoven", "Mozart"], "ensembles": ["Solo Piano"]},
        "beethoven": {"composers": ["Beethoven"], "ensembles": []},
    }
    return cfg


@pytest.mark.slow
def test_a_musicnet_copy_is_used_without_code_change_and_left_untouched(tmp_path):
    root = tmp_path / "musicnet"
    musicnet_copy(root)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    work = tmp_path / "work"
    write_config(work, musicnet_config(root))
    snakemake(work, "--cores", "2", "shards")
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    manifest = pd.read_parquet(work / "results" / "datasets" / "piano" / "manifest.parquet")
    assert sorted(manifest["id"]) == [2000, 2001, 2002]
    assert (manifest["sample_rate"] == 16000).all() and (manifest["samples"] == 48000).all()
    assert not (work / "results" / "wav" / "2005.wav").exists()  # Bach is in no dataset


@pytest.mark.slow
def test_a_corrupt_mp3_fails_its_job_by_name_and_keeps_the_rest(tmp_path):
    root = tmp_path / "musicnet"
    musicnet_copy(root, corrupt=2002)
    work = tmp_path / "work"
    write_config(work, musicnet_config(root))
    result = snakemake(work, "--cores", "2", "--keep-going", "shards", check=False)
    assert result.returncode != 0
    log = (work / "logs" / "convert_audio" / "2002.log").read_text()
    assert "2002.mp3" in log and "cannot be decoded" in log
    assert not (work / "results" / "wav" / "2002.wav").exists()
    assert (work / "results" / "wav" / "2000.wav").exists()
    # the Beethoven dataset never needed the broken Mozart file
    assert (work / "results" / "shards" / "beethoven" / "a" / "train.h5").exists()
    assert not (work / "results" / "shards" / "piano").exists()


def test_a_truncated_recording_is_refused_when_its_dataset_is_selected(tmp_path):
    root = tmp_path / "musicnet"
    musicnet_copy(root, truncated=2000)
    work = tmp_path / "work"
    write_config(work, musicnet_config(root))
    result = snakemake(work, "--cores", "2", "results/datasets/beethoven/manifest.parquet", check=False)
    assert result.returncode != 0
    log = (work / "logs" / "select_dataset" / "beethoven.log").read_text()
    assert "recording(s) 2000 (0.011 s, 174 samples) are shorter than" in log
    assert not (work / "results" / "datasets" / "beethoven" / "manifest.parquet").exists()


@pytest.mark.slow
def test_the_advice_for_an_empty_audio_file_works_when_followed(tmp_path):
    root = tmp_path / "musicnet"
    musicnet_copy(root)
    empty = root / "train_data" / "2006.wav"
    empty.write_bytes(b"")
    metadata = pd.read_csv(root / "musicnet_metadata.csv")
    extra = dict(metadata.iloc[0], id=2006, catalog_name="OP6")
    pd.concat([metadata, pd.DataFrame([extra])]).to_csv(root / "musicnet_metadata.csv", index=False)
    work = tmp_path / "work"
    cfg = musicnet_config(root)
    write_config(work, cfg)
    result = snakemake(work, "--cores", "2", "--keep-going", "shards", check=False)
    assert result.returncode != 0
    log = (work / "logs" / "convert_audio" / "2006.log").read_text()
    assert "2006.wav is empty (0 bytes)" in log and "corpus.on_missing_audio: skip" in log
    # follow the advice: the file leaves the corpus, the setting leaves the recording out
    empty.rename(tmp_path / "2006.wav")
    cfg["corpus"]["on_missing_audio"] = "skip"
    write_config(work, cfg)
    snakemake(work, "--cores", "2", "shards")
    manifest = pd.read_parquet(work / "results" / "datasets" / "piano" / "manifest.parquet")
    assert sorted(manifest["id"]) == [2000, 2001, 2002]


def test_a_users_own_datasets_and_models_replace_the_shipped_ones(tmp_path):
    """--configfile merges into config.yaml key by key; a user's datasets: and models: must not."""
    cfg = tiny_config()
    write_config(tmp_path, cfg)
    mine = tmp_path / "my.yaml"
    user = {
        "datasets": {"piano": {"composers": ["Beethoven"], "ensembles": []}},  # no instrument filter
        "models": {"small": cfg["models"]["seq2seq"]},
    }
    mine.write_text(yaml.safe_dump(user))
    plan = snakemake(tmp_path, "-n", "results/samples", "--configfile", str(mine))
    assert "results/models/piano/small/" in plan.stdout
    assert "results/models/piano/seq2seq/" not in plan.stdout and "beethoven/" not in plan.stdout
    # the shipped piano's instruments: [1] did not leak in: the quartets are selected too
    beethoven = [p for p in cfg["corpus"]["embedded"]["pieces"] if p["composer"] == "Beethoven"]
    assert planned_jobs(plan)["convert_audio"] == len(beethoven)
    # an error names the file the value came from
    user["datasets"]["piano"]["composers"] = ["Nobody"]
    mine.write_text(yaml.safe_dump(user))
    failed = snakemake(tmp_path, "-n", "results/samples", "--configfile", str(mine), check=False)
    assert failed.returncode != 0
    assert f"Fix datasets.piano.composers in {mine}" in failed.stdout + failed.stderr


@pytest.mark.slow
def test_a_recording_without_labels_is_labelled_by_transcription_and_a_silent_one_is_named(tmp_path):
    """corpus.on_missing_labels: transcribe. The notes route learns from what the transcriber
    hears in a recording with no label CSV (marked as transcribed in its CSV); a recording in
    which it hears nothing fails its own job, by name, instead of teaching silence, or with
    transcription.on_no_notes: skip is left out of the notes with a warning."""
    from sonata.shards import read_notes_shard
    from sonata.transcription import is_transcribed

    root = tmp_path / "musicnet"
    musicnet_copy(root)
    (root / "train_labels" / "2001.csv").unlink()  # Beethoven, Solo Piano: a 440 Hz tone
    work = tmp_path / "work"
    cfg = musicnet_config(root)
    cfg["corpus"]["on_missing_labels"] = "transcribe"
    write_config(work, cfg)
    shards = [f"results/shards/piano/notes/{split}.h5" for split in ("train", "validation", "test")]
    snakemake(work, "--cores", "2", *shards)
    transcribed = work / "results" / "transcribed" / "2001.csv"
    assert is_transcribed(transcribed) and not (work / "results" / "transcribed" / "2000.csv").exists()
    notes = read_labels(transcribed)
    assert 69 in set(notes["pitch"]) and (notes["program"] == 1).all()  # A4, at transcription.program
    manifest = pd.read_parquet(work / "results" / "datasets" / "piano" / "manifest.parquet").set_index("id")
    assert manifest.loc[2001, "labels"] == "results/transcribed/2001.csv"
    assert manifest.loc[2000, "labels"].endswith("train_labels/2000.csv")

    sf.write(str(root / "train_data" / "2001.wav"), np.zeros(3 * 44100), 44100, subtype="PCM_16")
    result = snakemake(work, "--cores", "2", *shards, check=False)
    assert result.returncode != 0
    log = (work / "logs" / "transcribe_labels" / "2001.log").read_text()
    assert "hears no notes in recording results/wav/2001.wav" in log
    # follow the advice: transcription.on_no_notes: skip leaves it out of the notes, with a warning
    cfg["transcription"]["on_no_notes"] = "skip"
    write_config(work, cfg)
    snakemake(work, "--cores", "2", *shards)
    assert (
        "recording(s) [2001] have no notes" in (work / "logs" / "make_note_shards" / "piano.log").read_text()
    )
    kept = [read_notes_shard(str(work / shard))[0].source_ids for shard in shards]
    assert 2001 not in sum(kept, ()) and 2000 in sum(kept, ())


@pytest.mark.slow
def test_a_plain_folder_of_recordings_with_a_metadata_csv_learns_by_transcription(tmp_path):
    """corpus.source: musicnet pointing at a folder holding musicnet_metadata.csv and <id>.wav /
    <id>.mp3 files side by side, no label CSVs: with corpus.on_missing_labels: transcribe every
    recording is labelled by the transcriber and the notes shards are made."""
    root = tmp_path / "musicnet"
    musicnet_copy(root)
    plain = tmp_path / "plain"
    plain.mkdir()
    (root / "musicnet_metadata.csv").rename(plain / "musicnet_metadata.csv")
    for audio in [*root.glob("*_data/*.wav"), *root.glob("*_data/*.mp3")]:
        audio.rename(plain / audio.name)
    work = tmp_path / "work"
    cfg = musicnet_config(plain)
    cfg["corpus"]["on_missing_labels"] = "transcribe"
    write_config(work, cfg)
    snakemake(work, "--cores", "2", "results/shards/piano/notes/train.h5")
    manifest = pd.read_parquet(work / "results" / "datasets" / "piano" / "manifest.parquet")
    assert sorted(manifest["id"]) == [2000, 2001, 2002]
    assert (manifest["labels"] == [f"results/transcribed/{i}.csv" for i in manifest["id"]]).all()
