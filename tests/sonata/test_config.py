import pytest
import yaml

from models.raw_audio import window_schemes
from sonata import SonataError
from sonata.config import merged_config, validate_config
from tests.support import REPO, repo_config


def test_default_config_is_valid():
    validate_config(repo_config())


def test_paper_preset_is_valid_and_holds_both_report_schemes():
    cfg = merged_config(repo_config(), yaml.safe_load((REPO / "presets" / "paper.yaml").read_text()))
    validate_config(cfg)
    schemes = window_schemes(cfg)
    assert {cfg["models"][m]["windows"] for m in ("seq2seq", "seq2seq_b")} == {"a", "b"}
    assert schemes["wavenet"].target_offset == 1 + 1 + 3 * 1023  # receptive field of 30 layers


@pytest.mark.parametrize(
    "path, value, where",
    [
        (("audio", "sample_rate"), "fast", "audio/sample_rate"),
        (("corpus", "source"), "youtube", "corpus/source"),
        (("split", "test"), 0.9, "split/test"),
        (("models", "wavenet", "kernel_size"), 1, "models/wavenet"),
        (("training", "epochs"), 0, "training/epochs"),
    ],
)
def test_schema_rejects_bad_values_naming_where(path, value, where):
    cfg = repo_config()
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(SonataError, match=where):
        validate_config(cfg)


@pytest.mark.parametrize("section", ["models", "windows"])
def test_a_model_or_scheme_named_notes_is_refused_before_it_overwrites_the_notes_route(section):
    cfg = repo_config()
    cfg[section]["notes"] = cfg[section].pop(next(iter(cfg[section])))
    with pytest.raises(SonataError, match=f"{section}/notes: 'notes' names the notes route's folders"):
        validate_config(cfg)


def test_unknown_key_is_rejected():
    cfg = repo_config()
    cfg["training"]["epocs"] = 3
    with pytest.raises(SonataError, match="epocs"):
        validate_config(cfg)


def test_seq2seq_must_name_a_defined_window_scheme():
    cfg = repo_config()
    cfg["models"]["seq2seq"]["windows"] = "c"
    with pytest.raises(SonataError, match="windows 'c'.*defines \\['a', 'b'\\]"):
        window_schemes(validate_config(cfg))
