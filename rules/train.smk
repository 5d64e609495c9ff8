# Training and held-out evaluation of every model on every dataset.


rule train_model:
    input:
        manifest="results/datasets/{dataset}/manifest.parquet",
        train=get_shard("train"),
        validation=get_shard("validation"),
    output:
        weights="results/models/{dataset}/{model}/model.weights.h5",
        info="results/models/{dataset}/{model}/model.json",
        history="results/models/{dataset}/{model}/history.csv",
    log:
        "logs/train_model/{dataset}_{model}.log",
    benchmark:
        "results/benchmarks/train_model/{dataset}_{model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: BACKGROUND_THREADS
    resources:
        nice=BACKGROUND_NICENESS,
        mem_mb=8000,
        runtime=240,
        gpu=GPUS,
    params:
        model=lambda wc: config["models"][wc.model],
        training={**config["training"], "threads": BACKGROUND_THREADS},
        seed=config["seed"],
        # checkpoints live outside the outputs, so a killed job resumes instead of restarting
        work_dir="results/checkpoints/{dataset}/{model}",
    script:
        "../workflow_scripts/train_model.py"


rule evaluate_model:
    input:
        weights="results/models/{dataset}/{model}/model.weights.h5",
        info="results/models/{dataset}/{model}/model.json",
        test=get_shard("test"),
    output:
        "results/evaluation/{dataset}/{model}.csv",
    log:
        "logs/evaluate_model/{dataset}_{model}.log",
    benchmark:
        "results/benchmarks/evaluate_model/{dataset}_{model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: BACKGROUND_THREADS
    resources:
        nice=BACKGROUND_NICENESS,
        mem_mb=4000,
        runtime=30,
    params:
        max_windows=config["evaluation"]["max_windows"],
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate_model.py"
