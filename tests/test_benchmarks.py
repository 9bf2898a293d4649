"""The accuracy-target benchmark runs end to end (smoke mode: tiny subsets, one epoch) and reads ensembles."""

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
