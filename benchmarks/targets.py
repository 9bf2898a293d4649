"""Accuracy targets: 5 seeds of ``python -m radlab.train`` on PneumoniaMNIST and BreastMNIST, 28 px.

Each run trains on the train split, picks the epoch and the decision
threshold on the validation split only, and scores the test split once. This
script runs the same command as a user would (one process per seed) and
prints mean +/- SD over the seeds next to the targets:

=================  ==========  ===========  ====================
data               test AUC    test acc.    training per seed
=================  ==========  ===========  ====================
pneumoniamnist     >= 0.975    >= 0.90      <= 60 s (2-core CPU)
breastmnist        >= 0.90     >= 0.86      <= 30 s (2-core CPU)
=================  ==========  ===========  ====================

For comparison, MedMNIST v2 (Yang et al. 2023) reports ResNet-18 (28) at
AUC 0.944 / ACC 0.854 (pneumonia) and 0.901 / 0.863 (breast).

    RADLAB_DATA=/path/to/data python benchmarks/targets.py --out runs/targets
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGETS = {
    "pneumoniamnist": {"auc": 0.975, "accuracy": 0.90, "seconds": 60},
    "breastmnist": {"auc": 0.90, "accuracy": 0.86, "seconds": 30},
}


def run_seed(data: str, seed: int, out: Path, extra: list[str]) -> dict:
    """One ``python -m radlab.train`` run in its own process; returns its JSON report."""
    path = out / f"{data}_seed{seed}.json"
    cmd = [
        sys.executable,
        "-m",
        "radlab.train",
        "--data",
        data,
        "--seed",
        str(seed),
        "--quiet",
        "--json",
        str(path),
        *extra,
    ]
    subprocess.run(cmd, check=True, env=os.environ.copy())
    return json.loads(path.read_text())


def mean_sd(values: list[float]) -> str:
    """'mean +/- sd' with 4 decimals (sd 0 for one value)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def _as_list(value) -> list:
    """One model reports a number, an ensemble a list (one per member)."""
    return value if isinstance(value, list) else [value]


def summarize(data: str, reports: list[dict]) -> dict:
    """Means over the seeds of what the targets are about."""

    def pick(split: str, key: str) -> list:
        return [r[split][key] for r in reports]

    target = TARGETS.get(data, {})
    auc, acc = statistics.mean(pick("test", "auc")), statistics.mean(pick("test", "accuracy"))
    seconds = statistics.mean(r["train_seconds"] for r in reports)
    return {
        "data": data,
        "seeds": [r["seed"] for r in reports],
        "test_auc": mean_sd(pick("test", "auc")),
        "test_accuracy": mean_sd(pick("test", "accuracy")),
        "val_auc": mean_sd(pick("val", "auc")),
        "val_accuracy": mean_sd(pick("val", "accuracy")),
        "threshold": mean_sd([r["threshold"] for r in reports]),
        "members": reports[0].get("members", 1),
        "epochs_run": [statistics.mean(_as_list(r["epochs_run"])) for r in reports],
        "best_epoch": [r["best_epoch"] for r in reports],
        "train_seconds": seconds,
        "images_per_sec": statistics.mean(r["images_per_sec"] for r in reports),
        "device": reports[0]["device"],
        "threads": reports[0]["threads"],
        "met": {
            "auc": auc >= target["auc"],
            "accuracy": acc >= target["accuracy"],
            "seconds": seconds <= target["seconds"],
        }
        if target
        else None,
        "command": reports[0]["command"]
        .replace(f"--seed {reports[0]['seed']}", "--seed S")
        .replace(f"seed{reports[0]['seed']}.json", "seedS.json"),
    }


def print_table(rows: list[dict]) -> None:
    """One line per data set, then the targets and the command."""
    print(
        f"\n{'data':<16}{'test AUC':>18}{'test acc.':>18}{'val AUC':>18}"
        f"{'s/seed':>8}{'epochs':>8}{'img/s':>8}"
    )
    for r in rows:
        print(
            f"{r['data']:<16}{r['test_auc']:>18}{r['test_accuracy']:>18}{r['val_auc']:>18}"
            f"{r['train_seconds']:>8.1f}{statistics.mean(r['epochs_run']):>8.1f}"
            f"{r['images_per_sec']:>8.0f}"
        )
    for r in rows:
        t = TARGETS.get(r["data"])
        if t:
            verdict = ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in r["met"].items())
            print(
                f"  {r['data']}: target AUC >= {t['auc']}, accuracy >= {t['accuracy']}, "
                f"<= {t['seconds']} s/seed: {verdict}"
            )
        print(
            f"  seeds {r['seeds']} on {r['device']} ({r['threads']} threads), "
            f"{r['members']} model(s) per seed, "
            f"best epochs {r['best_epoch']}, thresholds {r['threshold']}"
        )
        print(f"  command: {r['command']}")


def main(argv=None) -> int:
    """Run every seed of every data set and print the table."""
    p = argparse.ArgumentParser(
        description="5-seed test results of python -m radlab.train against the targets."
    )
    p.add_argument("--data", nargs="+", default=list(TARGETS), help="data sets (default: both)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument(
        "--out", default=None, help="folder for the per-seed JSON reports (default: a temp folder)"
    )
    p.add_argument("--json", default=None, help="write the summary table to this file")
    p.add_argument(
        "extra",
        nargs=argparse.REMAINDER,
        help="after --, options passed to radlab.train (e.g. -- --mode cpu --threads 2)",
    )
    args = p.parse_args(argv)
    extra = [a for a in args.extra if a != "--"]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="radlab-targets-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in args.data:
        reports = []
        for seed in args.seeds:
            reports.append(run_seed(data, seed, out, extra))
            r = reports[-1]
            print(
                f"{data} seed {seed}: test AUC {r['test']['auc']:.4f} "
                f"acc {r['test']['accuracy']:.4f} (val AUC {r['val']['auc']:.4f}), "
                f"{r['train_seconds']:.1f} s, {r['epochs_run']} epochs "
                f"({r.get('members', 1)} model(s))",
                flush=True,
            )
        rows.append(summarize(data, reports))
    print_table(rows)
    rerun = f"python benchmarks/targets.py {shlex.join(argv or sys.argv[1:])}"
    print(f"per-seed reports: {out}   (rerun: {rerun})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
