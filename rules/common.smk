import os
from dataclasses import asdict

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The Snakefile and the scripts import the shared helpers (sonata/, models/) through the
# editable install (pip install -e .) that `make setup` performs.
from sonata import SonataError
from sonata.config import (
    apply_user_sections,
    config_source,
    note_model_training,
    validate_config,
)
from sonata.catalog import (
    EMBEDDED_ROOT,
    embedded_recordings,
    load_recordings,
    select_recordings,
    split_recordings,
    with_transcribed_labels,
)
from models.raw_audio import model_scheme, shard_trim, window_schemes
from models.notes.composers import COMPOSERS
from models.notes.performers import PERFORMERS
from sonata.records import COMPOSED, HELD_OUT, REAL_PASSAGE, SYNTHESIZED


configfile: "config.yaml"


apply_user_sections(config, workflow.config_settings.overwrite_config)
try:  # first our own check, whose message is one line naming the key at fault
    validate_config(
        config, " + ".join(["config.yaml", *map(str, workflow.overwrite_configfiles)])
    )
except SonataError as error:
    raise WorkflowError(f"sonata: {error}") from None
validate(config, "../schemas/config.schema.yaml")  # fills in the schema's defaults
DATASETS_SOURCE = config_source("datasets", workflow.overwrite_configfiles)

try:
    SCHEMES = window_schemes(config)
    RECORDINGS = load_recordings(config)
    # the corpus's own label CSVs (None where it has none): what a transcription is scored against
    CORPUS_LABELS = {rid: rec.labels for rid, rec in RECORDINGS.items()}
    RECORDINGS = with_transcribed_labels(
        RECORDINGS,
        config["corpus"]["on_missing_labels"],
        config["transcription"]["replace_labels"],
        config["transcription"]["program"],
    )
    EMBEDDED_RECORDINGS = embedded_recordings(config["corpus"])
    DATASETS = list(config["datasets"])
    ASSIGNMENT = {
        name: split_recordings(
            {
                rid: RECORDINGS[rid].group
                for rid in select_recordings(
                    RECORDINGS,
                    name,
                    cfg,
                    config["corpus"]["on_missing_labels"],
                    DATASETS_SOURCE,
                )
            },
            config["seed"],
            config["split"]["validation"],
            config["split"]["test"],
            name,
        )
        for name, cfg in config["datasets"].items()
    }
except SonataError as error:
    raise WorkflowError(f"sonata: {error}") from None

EMBEDDED_PIECES = {int(p["id"]): p for p in config["corpus"]["embedded"]["pieces"]}
MODELS = list(config["models"])
DURATIONS = [f"{d:g}s" for d in config["generation"]["durations"]]
# the notes route's composed pieces, (name, seconds): notes.composed_pieces of every length, the
# first of each named by its length alone (120s), the others numbered (120s_2, ...); piece i (in
# this order) takes seed + i, and the pieces of one length take the primers in turn
COMPOSED_PIECES = [
    (f"{seconds:g}s" + (f"_{number}" if number > 1 else ""), float(seconds), number)
    for number in range(1, config["notes"]["composed_pieces"] + 1)
    for seconds in config["generation"]["durations"]
]
PIECES = [name for name, _, _ in COMPOSED_PIECES]
PASSAGES = list(range(1, config["notes"]["held_out_passages"] + 1))
EMBEDDED = config["corpus"]["source"] == "embedded"
METADATA = (
    f"{EMBEDDED_ROOT}/musicnet_metadata.csv"
    if EMBEDDED
    else os.path.join(config["corpus"]["musicnet_root"], "musicnet_metadata.csv")
)
GPUS = config["training"]["gpus"]
# the raw-audio baselines run beside the critical path (train_performer) at this CPU niceness
# (sonata/scheduling.py): a resource, not a param, since sharing the cores changes no result
BACKGROUND_NICENESS = config["scheduling"]["background_niceness"]
BACKGROUND_THREADS = config["scheduling"]["background_threads"]
# the longest window the raw-audio models train on, in samples at audio.sample_rate: a shorter
# recording (a truncated file) is refused when its dataset is selected. The performer checks its
# own windows when it trains, so that changing performers re-selects no dataset (and retrains
# no composer or baseline)
MIN_SAMPLES = max(s.length for s in SCHEMES.values())


wildcard_constraints:
    id=r"\d+",
    dataset="|".join(DATASETS),
    model="|".join(MODELS),
    scheme="|".join(SCHEMES),


def get_soundfont(wildcards):
    """The soundfont as an input, so that replacing it re-renders the corpus; when it is
    missing, the render job itself says how to install it."""
    soundfont = config["corpus"]["embedded"]["soundfont"]
    return soundfont if os.path.isfile(soundfont) else []


def get_metadata_row(recording):
    """Where a piece's render job leaves its musicnet_metadata.csv row."""
    folder = os.path.basename(os.path.dirname(recording.audio)).removesuffix("_data")
    return f"{EMBEDDED_ROOT}/metadata_rows/{folder}_{recording.id}.json"


def get_dataset_labels(wildcards):
    """Label CSVs of a dataset's recordings, where the corpus has them."""
    return [
        RECORDINGS[rid].labels
        for rid in sorted(ASSIGNMENT[wildcards.dataset])
        if RECORDINGS[rid].labels
    ]


def get_corpus_labels(wildcards):
    """The corpus's own label CSV of a recording being transcribed, where it has one."""
    labels = CORPUS_LABELS.get(int(wildcards.id))
    return [labels] if labels else []


def get_transcription_quality(wildcards):
    """What the transcriber measured on each of a dataset's recordings it labelled."""
    return [
        f"results/transcribed/{rid}.json"
        for rid in sorted(ASSIGNMENT[wildcards.dataset])
        if RECORDINGS[rid].labels != CORPUS_LABELS.get(rid)
    ]


def get_dataset_wavs(wildcards):
    return [f"results/wav/{rid}.wav" for rid in sorted(ASSIGNMENT[wildcards.dataset])]


def get_all_wavs(wildcards):
    """Every dataset's converted audio (the shared performer learns from all of them)."""
    return sorted({f"results/wav/{rid}.wav" for d in DATASETS for rid in ASSIGNMENT[d]})


def get_shard(split):
    def paths(wildcards):
        scheme = model_scheme(config, wildcards.model)
        return f"results/shards/{wildcards.dataset}/{scheme}/{split}.h5"

    return paths


def get_synthesized_records():
    """Each dataset's record of its composed notes through the synthesizer (notes.synthesize)."""
    if not config["notes"]["synthesize"]:
        return []
    return expand("results/synthesized/{dataset}/generation.json", dataset=DATASETS)


def get_generated_pieces(wildcards):
    """Every piece of a dataset that the metrics judge; the notes route's name their notes."""
    dataset = wildcards.dataset
    held = float(config["notes"]["held_out_seconds"])
    performed = f"results/performed/{dataset}"
    return (
        [
            {
                "model": model,
                "seconds": float(seconds),
                "file": f"results/generated/{dataset}/{model}/{seconds:g}s.wav",
            }
            for model in MODELS
            for seconds in config["generation"]["durations"]
        ]
        + [
            {
                "model": COMPOSED,
                "seconds": seconds,
                "passage": number,
                "file": f"{performed}/{name}.wav",
                "notes": f"results/notes/{dataset}/composed/{name}.csv",
            }
            for name, seconds, number in COMPOSED_PIECES
        ]
        + [
            {
                "model": SYNTHESIZED,
                "seconds": seconds,
                "passage": number,
                "file": f"results/synthesized/{dataset}/{name}_synthesized.wav",
                "notes": f"results/notes/{dataset}/composed/{name}.csv",
            }
            for name, seconds, number in COMPOSED_PIECES
            if config["notes"]["synthesize"]
        ]
        + [
            {
                "model": role,
                "seconds": held,
                "passage": number,
                "file": f"{performed}/held_out_{number}{suffix}.wav",
                "notes": f"{performed}/held_out_{number}.csv",
            }
            for number in PASSAGES
            for role, suffix in ((HELD_OUT, ""), (REAL_PASSAGE, "_real"))
        ]
    )
