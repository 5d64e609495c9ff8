"""The report page: one Jinja2 template, values escaped, tables from pandas inserted as tables;
the composed music first, the study's raw-audio baselines after it, and a summary that names
the models of this run."""

import re

import numpy as np
import pandas as pd
import soundfile as sf
from markupsafe import escape

from models.notes.composers import COMPOSERS
from models.notes.performers import PERFORMERS
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, SYNTHESIZED, ModelCard
from workflow_scripts.make_report import _table, build_report, describe_model, describe_route, render_page


def card(architecture: str, parameters: int = 1234, epochs: int = 3) -> ModelCard:
    return ModelCard(
        architecture=architecture,
        model={},
        scheme={},
        sample_rate=16000,
        conditions=[],
        parameters=parameters,
        context_samples=1,
        context_ms=0.0,
        epochs_run=epochs,
        best_val_loss=1.0,
        train_seconds_last_session=1.0,
        device="cpu",
        resumed=False,
    )


def summary(**overrides) -> dict:
    base = {
        "composer": "a composer",
        "composer_cards": "",
        "performer": "a performer",
        "performer_card": "",
        "synthesizer": "",
        "baselines": "",
    }
    base.update(overrides)
    return base


def section(**overrides) -> dict:
    base = {
        "name": "piano & friends",
        "description": "<script>alert(1)</script>",
        "composers": "Beethoven, Mozart",
        "ensembles": "any",
        "corpus": None,
        "training_plot": "t.png",
        "reference": None,
        "composed": [],
        "held_out": [],
        "baselines": [],
        "notes_rms_plot": None,
        "notes_musicality_plot": None,
        "notes_metrics": None,
        "baselines_rms_plot": "r.png",
        "baselines_musicality_plot": "m.png",
        "baselines_metrics": _table(pd.DataFrame({"model": ["<wavenet>"], "tonal_fraction": [0.5]})),
        "evaluation": _table(pd.DataFrame({"metric": ["mse"], "value": [0.25]})),
        "note_metrics": None,
        "composition_plot": None,
    }
    base.update(overrides)
    return base


WAVENET = {
    "model": "wavenet",
    "seconds": "5",
    "prime_samples": 8000,
    "prime_id": 9009,
    "composer": "Mozart",
    "ensemble": "Solo Piano",
    "real_time_factor": "0.5",
    "file": "piano/wavenet/5s.wav",
    "plot": "p.png",
    "label": "wavenet 5s",
}


def test_page_escapes_values_and_keeps_tables():
    page = render_page({"summary": summary(), "datasets": [section(baselines=[WAVENET])]})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<h2>piano &amp; friends</h2>" in page
    assert page.count('<table class="dataframe t">') == 2  # tables are HTML, not text
    assert "&lt;wavenet&gt;" in page  # pandas escaped the cell
    assert 'src="plots/' not in page.split("What the models learned from")[1].split("Training")[0]
    assert "Recordings are split by movement" not in page  # no corpus figures without a corpus


def test_page_shows_pieces_reference_and_corpus():
    corpus = {"plot": "c.png", "minutes": _table(pd.DataFrame({"minutes": [3.0]})), "notes": "<p>n</p>"}
    real = {
        **WAVENET,
        "model": "real (held-out passage)",
        "label": "real (held-out passage) 10s #2",
        "notes": "piano/notes/held_out_2.csv",
        "real_time_factor": "",
        "file": "piano/notes/held_out_2_real.wav",
    }
    reference = {
        "file": "piano/held_out_reference.wav",
        "id": 9009,
        "start": 10,
        "seconds": "10",
        "plot": "h.png",
        "with_baselines": True,
    }
    context = section(corpus=corpus, baselines=[WAVENET], held_out=[real], reference=reference)
    page = render_page({"summary": summary(), "datasets": [context]})
    assert page.count("<audio") == 3 and 'src="piano/wavenet/5s.wav"' in page
    assert "<h4>wavenet 5s</h4>" in page and "<h4>real (held-out passage) 10s #2</h4>" in page
    assert page.count("real-time factor") == 1  # real audio was not generated at any speed
    assert "Recordings are split by movement" in page and 'src="plots/c.png"' in page
    # the real audio the baselines' primers come from sits with the baselines
    baselines = page.split("The study's raw-audio baselines</h3>")[1]
    assert 'src="piano/held_out_reference.wav"' in baselines


def test_composed_music_comes_before_the_baselines():
    composed = {
        **WAVENET,
        "model": COMPOSED,
        "label": f"{COMPOSED} 5s",
        "notes": "piano/notes/5s.csv",
        "real_time_factor": "2",
        "file": "piano/notes/5s.wav",
    }
    page = render_page(
        {
            "summary": summary(baselines="wavenet"),
            "datasets": [section(composed=[composed], baselines=[WAVENET]), section(name="beethoven")],
        }
    )
    headings = re.findall(r"<h[1-4][^>]*>([^<]+)</h[1-4]>", page)
    first = headings[: headings.index("beethoven")]  # the first dataset's headings, in order
    assert first.index("Composed pieces") < first.index(f"{COMPOSED} 5s")
    assert first.index(f"{COMPOSED} 5s") < first.index("Held-out comparisons")
    assert first.index("Held-out comparisons") < first.index("The study's raw-audio baselines")
    assert first.index("The study's raw-audio baselines") < first.index("wavenet 5s")
    assert first.index("wavenet 5s") < first.index("What the models learned from")
    players = re.findall(r'<audio[^>]* src="([^"]+)"', page)
    assert players[:2] == ["piano/notes/5s.wav", "piano/wavenet/5s.wav"]
    # the summary opens the page, before any dataset
    assert page.index('id="summary"') < page.index("<h2>")


def test_summary_names_the_performer_and_composer_of_the_run():
    def page_summary(route: dict) -> str:
        page = render_page({"summary": route, "datasets": [section()]})
        return re.search(r'<p id="summary">(.*?)</p>', page, re.S).group(1)

    pieces = [
        {"model": "wavenet", "architecture": "wavenet"},
        {"model": "seq2seq", "architecture": "seq2seq"},
        {"model": COMPOSED, "architecture": "composer + performer"},
        {"model": SYNTHESIZED, "architecture": "FluidSynth"},
        {"model": HELD_OUT, "architecture": "composer + performer"},
        {"model": REAL_PASSAGE, "architecture": "composer + performer"},
    ]
    harmonic_card, wavenet_card = PERFORMERS["harmonic"].card_name, PERFORMERS["wavenet"].card_name
    harmonic_words = describe_model(card(harmonic_card), PERFORMERS)
    wavenet_words = describe_model(card(wavenet_card), PERFORMERS)
    assert "harmonic-plus-noise" in harmonic_words and "WaveNet" in wavenet_words
    composers = {"piano": card(COMPOSERS["seq2seq"].card_name, 4321, 6)}
    harmonic = page_summary(describe_route(pieces, card(harmonic_card, 98765), composers))
    assert escape(harmonic_words) in harmonic and "98,765 parameters" in harmonic
    assert escape(wavenet_words) not in harmonic and "WaveNet" not in harmonic  # it did not play
    composer_words = describe_model(composers["piano"], COMPOSERS)
    assert "seq2seq" in composer_words and escape(composer_words) in harmonic
    assert "piano: model card" in harmonic and "4,321 parameters" in harmonic
    assert "FluidSynth" in harmonic and "wavenet, seq2seq" in harmonic
    wavenet = page_summary(describe_route(pieces, card(wavenet_card), composers))
    assert escape(wavenet_words) in wavenet and "harmonic" not in wavenet
    # a performer no adapter speaks for is named as its card names it, not as another
    other = page_summary(describe_route(pieces, card("theremin player"), composers))
    assert "theremin player" in other and "WaveNet" not in other and "harmonic" not in other
    # no card: the summary says so rather than guess; no synthesizer, no baselines: not mentioned
    bare = page_summary(describe_route(pieces[2:3] + pieces[4:], None, {}))
    assert "no model card found" in bare and "FluidSynth" not in bare and "raw-audio baselines" not in bare


def test_build_report_orders_the_parts_and_draws_the_plots(tmp_path):
    rate = 8000
    rng = np.random.default_rng(0)
    # a MusicNet label CSV (times in samples at 44.1 kHz): middle C on a piano, 0.1 to 0.6 s
    notes = pd.DataFrame(
        {
            "start_time": [4410],
            "end_time": [26460],
            "instrument": [1],
            "note": [60],
            "start_beat": [0.0],
            "end_beat": [1.0],
            "note_value": ["Quarter"],
        }
    )
    (tmp_path / "piano" / "notes").mkdir(parents=True)
    (tmp_path / "piano" / "wavenet").mkdir(parents=True)
    notes.to_csv(tmp_path / "piano" / "notes" / "1s.csv", index=False)
    notes.to_csv(tmp_path / "piano" / "notes" / "held_out_1.csv", index=False)
    common = {
        "dataset": "piano",
        "seconds": 1.0,
        "prime_id": 9009,
        "prime_start_sample": 0,
        "prime_samples": 800,
        "composer": "Mozart",
        "ensemble": "Solo Piano",
        "passage": 0,
        "real_time_factor": 1.5,
    }
    pieces = [  # in the order collect() lists them: the baselines' records first
        {**common, "model": "wavenet", "architecture": "wavenet", "file": "piano/wavenet/1s.wav"},
        {**common, "model": COMPOSED, "architecture": "composer + performer", "file": "piano/notes/1s.wav"},
        {
            **common,
            "model": HELD_OUT,
            "architecture": "composer + performer",
            "file": "piano/notes/held_out_1.wav",
            "passage": 1,
        },
        {
            **common,
            "model": REAL_PASSAGE,
            "architecture": "composer + performer",
            "file": "piano/notes/held_out_1_real.wav",
            "passage": 1,
            "real_time_factor": None,
        },
        {
            **common,
            "model": SYNTHESIZED,
            "architecture": "FluidSynth",
            "file": "piano/notes/1s_synthesized.wav",
            "real_time_factor": None,
        },
    ]
    for piece in pieces:
        sf.write(tmp_path / piece["file"], 0.1 * rng.standard_normal(rate).astype(np.float32), rate)
        if piece["model"] != "wavenet":
            piece["notes"] = "piano/notes/held_out_1.csv" if piece["passage"] else "piano/notes/1s.csv"
    measures = {"silent_fraction": 0.1, "tonal_fraction": 0.5, "chroma_change": 0.2}
    kinds = {REAL_PASSAGE: "real", SYNTHESIZED: "synthesized"}
    metrics = pd.DataFrame(
        [
            {
                "dataset": "piano",
                "model": p["model"],
                "seconds": 1.0,
                "kind": kinds.get(p["model"], "generated"),
            }
            | measures
            | ({"score_following": 0.9} if "notes" in p else {})
            for p in pieces
        ]
        + [{"dataset": "piano", "model": "noise", "seconds": 1.0, "kind": "baseline"} | measures]
    )
    evaluation = pd.DataFrame({"dataset": ["piano"], "model": ["wavenet"], "metric": ["mse"], "value": [0.1]})
    history = pd.DataFrame({"epoch": [0, 1], "loss": [2.0, 1.0], "val_loss": [2.1, 1.2]})
    datasets = {"piano": {"composers": ["Mozart"], "ensembles": []}}
    page = build_report(
        tmp_path,
        pieces,
        metrics,
        evaluation,
        {"piano": {"wavenet": history, "performer (shared)": history}},
        datasets,
        0.05,
        performer=card(PERFORMERS["harmonic"].card_name),
        composers={"piano": card(COMPOSERS["seq2seq"].card_name)},
    ).read_text()
    players = re.findall(r'<audio[^>]* src="([^"]+)"', page)
    assert players == [
        "piano/notes/1s.wav",  # composed, performed
        "piano/notes/1s_synthesized.wav",  # and as written
        "piano/notes/held_out_1.wav",  # a held-out passage performed, then its real audio
        "piano/notes/held_out_1_real.wav",
        "piano/wavenet/1s.wav",  # the study's baseline last
    ]
    for src in re.findall(r'src="(plots/[^"]+)"', page):
        assert (tmp_path / src).is_file(), src
    baselines = page.split("The study's raw-audio baselines</h3>")[1]
    notes_part = page.split("Held-out comparisons</h3>")[1].split("The study's raw-audio")[0]
    assert "score_following" in notes_part and "score_following" not in baselines  # no empty columns
    assert "mse" in baselines and "mse" not in notes_part  # the raw-audio models' evaluation
    assert "harmonic-plus-noise" in page.split("<h2>")[0]
    assert "composed from a primer of held-out notes of recording 9009" in page


def test_the_composition_table_puts_the_composers_bits_beside_its_pieces_only():
    from workflow_scripts.make_report import composition_summary

    rows = [
        {"model": "composer + performer", "seconds": 120.0, "consonance": c, "composer_bits_per_note": 7.5}
        for c in (0.6, 0.8)
    ] + [{"model": "held-out notes", "seconds": 120.0, "consonance": 0.7}]
    table = composition_summary(pd.DataFrame(rows)).set_index("model")
    assert table.loc["composer + performer", "pieces"] == 2
    assert table.loc["composer + performer", "consonance"] == 0.7
    assert table.loc["composer + performer", "composer_bits_per_note"] == 7.5
    assert np.isnan(table.loc["held-out notes", "composer_bits_per_note"])
