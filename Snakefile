# sonata: learn classical music from raw audio and compose new pieces.
# Main job: snakemake --cores 8 results/samples


include: "rules/common.smk"
include: "rules/corpus.smk"
include: "rules/audio.smk"
include: "rules/transcribe.smk"
include: "rules/datasets.smk"
include: "rules/train.smk"
include: "rules/notes.smk"
include: "rules/generate.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/samples",
