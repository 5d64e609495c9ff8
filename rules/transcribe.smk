# Labels by transcription: a recording without a label CSV (corpus.on_missing_labels: transcribe),
# or every recording (transcription.replace_labels), gets one from the transcriber.


rule transcribe_labels:
    input:
        wav="results/wav/{id}.wav",
        labels=get_corpus_labels,
    output:
        labels="results/transcribed/{id}.csv",
        quality="results/transcribed/{id}.json",
    log:
        "logs/transcribe_labels/{id}.log",
    benchmark:
        "results/benchmarks/transcribe_labels/{id}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        transcription=config["transcription"],
    script:
        "../workflow_scripts/transcribe_labels.py"
