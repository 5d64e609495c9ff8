"""The report page: one Jinja2 template, values escaped, tables from pandas inserted as tables."""

import pandas as pd

from workflow_scripts.make_report import _table, render_page


def section(**overrides) -> dict:
    base = {
        "name": "piano & friends",
        "description": "<script>alert(1)</script>",
        "composers": "Beethoven, Mozart",
        "ensembles": "any",
        "corpus": None,
        "training_plot": "t.png",
        "reference": None,
        "pieces": [],
        "rms_plot": "r.png",
        "musicality_plot": "m.png",
        "metrics": _table(pd.DataFrame({"model": ["<wavenet>"], "tonal_fraction": [0.5]})),
        "evaluation": _table(pd.DataFrame({"metric": ["mse"], "value": [0.25]})),
    }
    base.update(overrides)
    return base


def test_page_escapes_values_and_keeps_tables():
    page = render_page({"datasets": [section()]})
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<h2>piano &amp; friends</h2>" in page
    assert page.count('<table class="dataframe t">') == 2  # tables are HTML, not text
    assert "&lt;wavenet&gt;" in page  # pandas escaped the cell
    assert "What the models learned from" not in page  # no corpus section without a corpus


def test_page_shows_pieces_reference_and_corpus():
    corpus = {"plot": "c.png", "minutes": _table(pd.DataFrame({"minutes": [3.0]})), "notes": "<p>n</p>"}
    piece = {
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
    real = {
        **piece,
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
    }
    page = render_page({"datasets": [section(corpus=corpus, pieces=[piece, real], reference=reference)]})
    assert page.count("<audio") == 3 and 'src="piano/wavenet/5s.wav"' in page
    assert "<h3>wavenet 5s</h3>" in page and "<h3>real (held-out passage) 10s #2</h3>" in page
    assert page.count("real-time factor") == 1  # real audio was not generated at any speed
    assert "What the models learned from" in page and 'src="plots/c.png"' in page
