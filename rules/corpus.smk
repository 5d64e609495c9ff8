# The embedded default corpus: scores rendered offline in MusicNet's layout, one job per piece.


rule render_piece:
    input:
        soundfont=get_soundfont,
    output:
        audio=f"{EMBEDDED_ROOT}/{{folder}}_data/{{id}}.mp3",
        labels=f"{EMBEDDED_ROOT}/{{folder}}_labels/{{id}}.csv",
        metadata=f"{EMBEDDED_ROOT}/metadata_rows/{{folder}}_{{id}}.json",
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
        piece=lambda wc: EMBEDDED_PIECES[int(wc.id)],
        programs=lambda wc: config["corpus"]["embedded"]["ensembles"][
            EMBEDDED_PIECES[int(wc.id)]["ensemble"]
        ],
        render={
            k: v
            for k, v in config["corpus"]["embedded"].items()
            if k not in ("pieces", "ensembles")
        },
    script:
        "../workflow_scripts/render_piece.py"


rule corpus_metadata:
    input:
        # each row is written by the render job that also writes the piece's audio and labels
        rows=[get_metadata_row(r) for r in EMBEDDED_RECORDINGS.values()],
    output:
        f"{EMBEDDED_ROOT}/musicnet_metadata.csv",
    log:
        "logs/corpus_metadata.log",
    benchmark:
        "results/benchmarks/corpus_metadata.tsv"
    conda:
        "../envs/corpus.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/corpus_metadata.py"
