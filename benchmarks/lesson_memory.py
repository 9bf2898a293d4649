"""Peak memory of each lesson run from top to bottom: what one learner needs in a workshop room.

Each lesson runs alone through the course runner (``python -m radlab.course run
--only NN``) in a process of its own; the operating system's account of that
process and everything it waited for (the runner and the lesson's kernel) gives
the peak resident memory (``ru_maxrss``: the largest single process, which is
the kernel). The runner itself takes about 0.2 GiB of it; the learner's Jupyter
server (about 0.16 GiB) is not included.

    python benchmarks/lesson_memory.py                      # every lesson, cpu mode
    python benchmarks/lesson_memory.py --only 01 07 --mode smoke --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(lesson: str, mode: str, out: Path) -> dict:
    """Run one lesson in a child process; its seconds, peak memory and exit status."""
    command = [sys.executable, "-m", "radlab.course", "run", "--mode", mode, "--only", lesson]
    command += ["--out", str(out)]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    rows = [ln for ln in output.splitlines() if ln.startswith(lesson)]
    return dict(
        lesson=rows[0].split()[0] if rows else lesson,
        mode=mode,
        seconds=round(time.perf_counter() - start, 1),
        peak_gib=round(usage.ru_maxrss / 2**20, 2),  # ru_maxrss is in KiB on Linux
        exit=child.returncode,
        row=rows[0] if rows else output.strip().splitlines()[-1:],
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", default="cpu", choices=["smoke", "cpu", "gpu"])
    p.add_argument("--only", nargs="+", default=None, help="lesson numbers (default: all)")
    p.add_argument("--json", default=None, help="also write the rows to this file")
    args = p.parse_args(argv)
    from radlab import course

    lessons = [path.stem[:2] for path in course.lessons(course.find_notebooks(None), args.only)]
    print(f"{platform.machine()}, {os.cpu_count()} cores; mode {args.mode}")
    print("| lesson | seconds | peak memory (GiB) | exit |")
    print("|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory(prefix="radlab-memory-") as tmp:
        for lesson in lessons:
            row = run_one(lesson, args.mode, Path(tmp))
            rows.append(row)
            print(f"| {row['lesson']} | {row['seconds']} | {row['peak_gib']} | {row['exit']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["exit"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
