# New pieces from every trained model, primed from held-out audio.


rule generate_samples:
    input:
        weights="results/models/{dataset}/{model}/model.weights.h5",
        info="results/models/{dataset}/{model}/model.json",
        manifest="results/datasets/{dataset}/manifest.parquet",
    output:
        pieces=expand(
            "results/generated/{{dataset}}/{{model}}/{duration}.wav",
            duration=DURATIONS,
        ),
        info="results/generated/{dataset}/{model}/generation.json",
    log:
        "logs/generate_samples/{dataset}_{model}.log",
    benchmark:
        "results/benchmarks/generate_samples/{dataset}_{model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: BACKGROUND_THREADS
    resources:
        nice=BACKGROUND_NICENESS,
        mem_mb=4000,
        runtime=120,
    params:
        # its threads are the rule's (and change no result): they must not rerun it
        generation={k: v for k, v in config["generation"].items() if k != "threads"},
        seed=config["seed"],
    script:
        "../workflow_scripts/generate_samples.py"
