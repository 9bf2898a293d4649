"""How the default recipe was chosen: candidates scored on validation over three sets, 3 seeds.

``python -m radlab.train --data NAME`` gives a set without its own recipe
:func:`radlab.study.default_recipe`, worked out from what the data look like.
Its augmentation was chosen here on the validation splits only: the
candidate with the lowest validation log-loss, averaged over the sets (each
set's mean over the seeds), wins. Log-loss rather than AUC, because the
validation AUC of OrganAMNIST and PneumoniaMNIST is 0.997-0.9998 for every
candidate. (The caps of 20 epochs and 4 networks were set beforehand; a
candidate ``augment:max_epochs:max_members`` can vary them too.) The test split
of each run is scored once and printed too, for the record; it chose nothing.
PneumoniaMNIST and BreastMNIST run with their own recipes switched off
(``--recipe default``).

    RADLAB_DATA=/path/to/data python benchmarks/default_recipe.py --out runs/default
    python benchmarks/default_recipe.py --candidates geometric:20:4 --seeds 0 1 2   # one candidate

Each run is one ``python -m radlab.train`` process, as a user would run it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

SETS = ("organamnist", "pneumoniamnist", "breastmnist")
CANDIDATES = ("none:20:4", "geometric:20:4")
# MedMNIST v2 (Yang et al. 2023), ResNet-18 (28): test AUC / accuracy
RESNET18_28 = {
    "organamnist": (0.997, 0.935),
    "pneumoniamnist": (0.944, 0.854),
    "breastmnist": (0.901, 0.863),
}


def plan(data: str, candidate: str) -> dict:
    """The recipe this candidate gives this data set (what the command will run)."""
    from radlab import study

    augment, max_epochs, max_members = candidate.split(":")
    looks = study._looks(study.load_splits(data, mode="cpu"), 28)
    return study.default_recipe(
        **looks, augment=augment, max_epochs=int(max_epochs), max_members=int(max_members)
    )


def run(data: str, candidate: str, seed: int, out: Path) -> dict:
    """One run of the command with the candidate's recipe; its JSON report."""
    r = plan(data, candidate)  # two candidates that give a set the same recipe share its runs
    path = out / f"{data}_{r['augment']}-{r['epochs']}-{r['members']}_seed{seed}.json"
    if not path.exists():
        cmd = [sys.executable, "-m", "radlab.train", "--data", data, "--recipe", "default"]
        cmd += ["--augment", r["augment"], "--epochs", str(r["epochs"])]
        cmd += ["--members", str(r["members"]), "--threshold", str(r["threshold"])]
        cmd += ["--seed", str(seed), "--quiet", "--json", str(path)]
        subprocess.run(cmd, check=True, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    return json.loads(path.read_text())


def mean(values) -> float:
    return statistics.mean(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/default_recipe", help="folder for the JSON reports")
    p.add_argument("--sets", nargs="+", default=SETS)
    p.add_argument("--candidates", nargs="+", default=CANDIDATES, help="augment:epochs:members")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, by_candidate = [], {}
    for candidate in args.candidates:
        losses = []
        for data in args.sets:
            reports = [run(data, candidate, seed, out) for seed in args.seeds]
            r0 = reports[0]
            row = dict(
                candidate=candidate,
                data=data,
                recipe=f"{r0['epochs']} ep x {r0['members']}",
                val_loss=mean(r["val_log_loss"] for r in reports),
                val_auc=mean(r["val"]["auc"] for r in reports),
                val_acc=mean(r["val"]["accuracy"] for r in reports),
                test_auc=mean(r["test"]["auc"] for r in reports),
                test_acc=mean(r["test"]["accuracy"] for r in reports),
                seconds=mean(r["train_seconds"] for r in reports),
                per_seed=[(r["test"]["auc"], r["test"]["accuracy"]) for r in reports],
            )
            rows.append(row)
            losses.append(row["val_loss"])
            print(
                f"{candidate:<16} {data:<15} {row['recipe']:<10} val loss {row['val_loss']:.4f} "
                f"AUC {row['val_auc']:.4f} acc {row['val_acc']:.4f} | test AUC "
                f"{row['test_auc']:.4f} acc {row['test_acc']:.4f} | {row['seconds']:.1f} s/seed",
                flush=True,
            )
        by_candidate[candidate] = mean(losses)
    chosen = min(by_candidate, key=by_candidate.get)
    print("\nmean validation log-loss over the sets (lower is better):")
    for candidate, loss in by_candidate.items():
        print(f"  {candidate:<16} {loss:.4f}" + ("   <- chosen" if candidate == chosen else ""))
    print(f"\nchosen on validation: {chosen}; its test results, 3-seed means, vs ResNet-18 (28):")
    for row in rows:
        if row["candidate"] == chosen:
            auc, acc = RESNET18_28.get(row["data"], (float("nan"),) * 2)
            met = row["test_auc"] >= auc and row["test_acc"] >= acc
            print(
                f"  {row['data']:<15} AUC {row['test_auc']:.4f} (>= {auc}) accuracy "
                f"{row['test_acc']:.4f} (>= {acc}) {'met' if met else 'NOT met'}, "
                f"{row['seconds']:.1f} s/seed"
            )
    (out / "summary.json").write_text(json.dumps(dict(rows=rows, chosen=chosen), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
