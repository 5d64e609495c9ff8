# The embedded default corpus: music21 scores rendered offline in MusicNet's layout.


rule render_piece:
    output:
        audio=f"{EMBEDDED_ROOT}/{{folder}}_data/{{id}}.mp3",
        labels=f"{EMBEDDED_ROOT}/{{folder}}_labels/{{id}}.csv",
    log:
        "logs/render_piece/{folder}_{id}.log",
    benchmark:
        "results/benchmarks/render_piece/{folder}_{id}.tsv"
    wildcard_constraints:
        folder="train|test",
    conda:
        "../envs/corpus.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        piece=lambda wc: next(
            p for p in config["corpus"]["embedded"]["pieces"] if p["id"] == int(wc.id)
        ),
        render={
            k: v
            for k, v in config["corpus"]["embedded"].items()
            if k not in ("pieces", "ensembles")
        },
        programs=lambda wc: config["corpus"]["embedded"]["ensembles"][
            EMBEDDED_RECORDINGS[int(wc.id)].ensemble
        ],
    script:
        "../workflow_scripts/build_corpus.py"


rule corpus_metadata:
    input:
        audio=[r.audio for r in EMBEDDED_RECORDINGS.values()],
        labels=[r.labels for r in EMBEDDED_RECORDINGS.values()],
    output:
        f"{EMBEDDED_ROOT}/musicnet_metadata.csv",
    log:
        "logs/corpus_metadata.log",
    conda:
        "../envs/corpus.yaml"
    params:
        pieces=config["corpus"]["embedded"]["pieces"],
    script:
        "../workflow_scripts/corpus_metadata.py"
