"""The benchmarks run end to end on tiny sizes (smoke mode, one epoch) and read their results."""

import importlib.util
import json
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_targets_script_runs_the_command_and_summarizes(medmnist_root, tmp_path, capsys):
    targets = _load("targets")
    summary = tmp_path / "summary.json"
    code = targets.main(
        [
            "--data",
            "breastmnist",
            "--seeds",
            "0",
            "1",
            "--out",
            str(tmp_path / "runs"),
            "--json",
            str(summary),
            "--",
            "--mode",
            "smoke",
            "--epochs",
            "1",
            "--members",
            "2",
            "--root",
            str(medmnist_root),
            "--threads",
            "1",
        ]
    )
    assert code == 0
    row = json.loads(summary.read_text())[0]
    assert row["data"] == "breastmnist" and row["seeds"] == [0, 1] and row["members"] == 2
    assert row["epochs_run"] == [1, 1] and set(row["met"]) == {"auc", "accuracy", "seconds"}
    assert "--seed S" in row["command"] and "--members 2" in row["command"]
    for seed in (0, 1):
        assert (tmp_path / "runs" / f"breastmnist_seed{seed}.json").is_file()
    printed = capsys.readouterr().out
    assert "target AUC >= 0.9" in printed and "2 model(s) per seed" in printed


def test_mean_sd_and_lists():
    targets = _load("targets")
    assert targets.mean_sd([0.5]) == "0.5000 ± 0.0000"
    assert targets.mean_sd([1.0, 3.0]) == "2.0000 ± 1.4142"
    assert targets._as_list([1, 2]) == [1, 2] and targets._as_list(3) == [3]


def test_throughput_warm_up_stays_inside_the_training_set(
    medmnist_root, tmp_path, one_torch_thread
):
    throughput = _load("throughput")
    assert throughput.warm_up_cases(128, 4708) == 512  # four batches
    assert throughput.warm_up_cases(2048, 4708) == 4708  # not 8192: the training set ends there
    out = tmp_path / "speed.json"
    # batch 2048 on 300 cases: the warm-up once indexed 8192 cases (IndexError in the Subset)
    argv = ["--cases", "300", "--batch-size", "2048", "--epochs", "1", "--width", "2"]
    code = throughput.main(
        [*argv, "--device", "cpu", "--root", str(medmnist_root), "--json", str(out)]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["images"] == 300 and result["batch_size"] == 2048
    assert result["plain_images_per_sec"] > 0 and result["radlab_images_per_sec"] > 0


def test_codesize_measures_the_package():
    codesize = _load("codesize")
    longest = dict(codesize.longest_functions(top=50))
    assert "train.fit" in longest and "study.run_study" in longest
    bodies = dict(codesize.longest_bodies(top=50))
    assert bodies["train.fit"] < longest["train.fit"]  # signature and docstring left out
