"""Training on 2 processes (torchrun, gloo on the CPU) and images read from disk (memory-mapped).

Every test with 2 processes starts real ones: ``python -m torch.distributed.run
--nproc_per_node=2`` on a free port of 127.0.0.1, one torch thread each.

Tolerances, and why:

- A network without batch normalization, trained on 2 processes, must match one
  process to float rounding (relative 1e-4 on the losses and AUC, absolute 1e-4 on
  the weights; measured ~1e-7): the two halves of each minibatch are averaged
  with weights for their sizes, which is the mean over the whole minibatch, only
  summed in another order.
- The training command's network has batch normalization, whose mean and variance
  each process computes on its own half of the minibatch, so its numbers are close,
  not equal: validation AUC within 0.03 of one process in every epoch (measured:
  0.005 to 0.012 at most over the 6 epochs of the smoke-mode BreastMNIST run).
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from radlab import distributed, memmap, models, study, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "benchmarks" / "distributed.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(args: list[str], **popen) -> subprocess.Popen:
    """Start ``torchrun --nproc_per_node=2 ARGS`` on the CPU (a new session, so it can be killed
    with its workers)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RADLAB_MODE": "smoke"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["--master_addr=127.0.0.1", f"--master_port={free_port()}", *args]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **popen,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def toy_npz(path: Path, n: int = 50, n_val: int = 24, size: int = 128) -> Path:
    """A small MedMNIST-like ``.npz`` (128 px unless told): 28 px noise with (label 1) or without
    a bright square, enlarged, as uint8 ``(N, H, W)`` with labels ``(N, 1)``."""
    gen = torch.Generator().manual_seed(0)
    arrays = {}
    for split, count in (("train", n), ("val", n_val)):
        x = torch.rand(count, 1, 28, 28, generator=gen) * 0.5
        y = torch.arange(count) % 2
        x[y == 1, :, 8:18, 8:18] += 0.5
        big = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear")
        arrays[f"{split}_images"] = (big[:, 0] * 255).round().clamp(0, 255).byte().numpy()
        arrays[f"{split}_labels"] = y.numpy()[:, None].astype(np.uint8)
    np.savez_compressed(path, **arrays)
    return path


# ----------------------------------------------------------------------------- in one process


def test_a_single_process_is_a_world_of_one():
    assert "WORLD_SIZE" not in os.environ
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert distributed.setup("cpu") == "cpu" and not distributed.active()  # no process group
    assert distributed.broadcast_value((1.0, 2.0)) == (1.0, 2.0)
    assert distributed.all_mean(torch.tensor(6.0), 3) == 2.0


def test_shards_cover_each_minibatch_once_in_nearly_equal_parts():
    batch = torch.tensor([7, 3, 9, 1, 4])
    parts = [distributed.shard(batch, rank=r, world=2) for r in range(2)]
    assert [p.tolist() for p in parts] == [[7, 3, 9], [1, 4]]
    assert distributed.shard(batch, rank=0, world=1).tolist() == batch.tolist()
    with pytest.raises(ValueError, match="batch size of at least 8"):
        distributed.shard(batch, rank=0, world=8)


def test_npz_is_unpacked_once_atomically_and_a_cut_file_is_redone(tmp_path):
    npz = toy_npz(tmp_path / "toy_128.npz", n=6, n_val=4)
    path = memmap.unpack_npz(npz, "train_images")
    assert path == tmp_path / "toy_128.train_images.npy"
    stamp = path.stat().st_mtime_ns
    assert memmap.unpack_npz(npz, "train_images").stat().st_mtime_ns == stamp  # reused
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # as a copy cut short
    assert memmap.unpack_npz(npz, "train_images").read_bytes() == whole
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    with pytest.raises(KeyError, match="holds no array 'test_images'.*train_images"):
        memmap.unpack_npz(npz, "test_images")


def test_memmap_images_read_rows_as_float_tensors(tmp_path):
    npz = toy_npz(tmp_path / "toy_128.npz", n=6, n_val=4)
    x, y = memmap.load_split(npz, "train")
    with np.load(npz) as archive:
        raw = archive["train_images"]
    assert len(x) == 6 and x.shape == (6, 1, 128, 128) and x.nbytes == raw.nbytes
    assert y.tolist() == [0, 1, 0, 1, 0, 1]
    rows = x[torch.tensor([4, 0, 4])]  # any order, repeats allowed
    assert rows.dtype == torch.float32 and rows.shape == (3, 1, 128, 128)
    expected = torch.from_numpy(raw[[4, 0, 4]]).float().div(255).unsqueeze(1)
    assert torch.equal(rows, expected)
    assert torch.equal(x[1:3], x[np.array([1, 2])]) and x[5].shape == (1, 1, 128, 128)
    rgb = tmp_path / "rgb.npz"
    np.savez(rgb, train_images=np.zeros((2, 8, 8, 3), np.uint8), train_labels=np.eye(2))
    xr, yr = memmap.load_split(rgb, "train")
    assert xr.shape == (2, 3, 8, 8) and yr.dtype == torch.float32  # several findings: floats


def test_fit_on_memmap_images_equals_fit_on_tensors(tmp_path):
    npz = toy_npz(tmp_path / "toy_128.npz", n=20, n_val=8)
    x, y = memmap.load_split(npz, "train")
    xv, yv = memmap.load_split(npz, "val")
    options = dict(epochs=2, batch_size=8, lr=1e-2, device="cpu", progress=False, seed=0)
    torch.manual_seed(0)
    on_disk = models.small_cnn(width=4)
    torch.manual_seed(0)
    in_memory = models.small_cnn(width=4)
    a = train.fit(on_disk, (x, y), (xv, yv), **options)
    b = train.fit(in_memory, (x[:], y), (xv[:], yv), **options)
    assert a.train_loss == b.train_loss and a.val_metric == b.val_metric
    assert torch.equal(train.predict(on_disk, xv), train.predict(in_memory, xv[:]))


# ----------------------------------------------------------------------------- on 2 processes

TWO_PROCESS_SCRIPT = """
import json, sys, torch
from radlab import distributed, memmap, models, train

npz, out = sys.argv[1], sys.argv[2]
distributed.setup("cpu")
rank = distributed.rank()

class Recorded(memmap.MemmapImages):
    rows = []
    def __getitem__(self, index):
        if isinstance(index, torch.Tensor):
            self.rows.append(index.tolist())
        return super().__getitem__(index)

x = Recorded(memmap.unpack_npz(npz, "train_images"))
_, y = memmap.load_split(npz, "train")
val = memmap.load_split(npz, "val")
torch.manual_seed(0)
net = models.small_cnn(width=4, batchnorm=False)
history = train.fit(net, (x, y), val, epochs=2, batch_size=20, lr=1e-2, device="cpu",
                    progress=False, seed=0)
json.dump({"rows": x.rows, "history": history.as_dict(), "world": distributed.world_size()},
          open(f"{out}.rank{rank}.json", "w"))
if distributed.is_main():
    torch.save(net.state_dict(), f"{out}.pt")
distributed.teardown()
"""


def test_two_processes_without_batch_norm_match_one_and_read_only_their_rows(tmp_path):
    npz = toy_npz(tmp_path / "toy_64.npz", size=64)  # 50 cases; minibatches 17, 17, 16: uneven
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    finish(torchrun([str(script), str(npz), str(tmp_path / "out")]))
    ranks = [json.loads((tmp_path / f"out.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]

    # each process read its own part of every minibatch; together: every case once per epoch
    for epoch in range(2):
        steps = [r["rows"][3 * epoch : 3 * epoch + 3] for r in ranks]
        assert [len(a) for a in steps[0]] == [9, 9, 8] and [len(b) for b in steps[1]] == [8, 8, 8]
        seen = [i for part in steps for batch in part for i in batch]
        assert sorted(seen) == list(range(50))

    x, y = memmap.load_split(npz, "train")
    xv, yv = memmap.load_split(npz, "val")
    torch.manual_seed(0)
    net = models.small_cnn(width=4, batchnorm=False)
    one = train.fit(
        net,
        (x[:], y),
        (xv[:], yv),
        epochs=2,
        batch_size=20,
        lr=1e-2,
        device="cpu",
        progress=False,
        seed=0,
    )
    gap = max(
        abs(a - b) / abs(b)
        for r in ranks
        for key in ("train_loss", "val_loss", "val_metric")
        for a, b in zip(r["history"][key], getattr(one, key))
    )
    print(f"largest relative gap, 2 processes vs 1, no batch norm: {gap:.1e}")
    for two in (r["history"] for r in ranks):  # both processes hold the same numbers
        assert two["train_loss"] == pytest.approx(one.train_loss, rel=1e-4)
        assert two["val_loss"] == pytest.approx(one.val_loss, rel=1e-4)
        assert two["val_metric"] == pytest.approx(one.val_metric, rel=1e-4)
    saved = torch.load(tmp_path / "out.pt", weights_only=True)
    assert saved.keys() == net.state_dict().keys()  # the plain model's names, no "module."
    for k, v in net.state_dict().items():
        torch.testing.assert_close(saved[k], v, atol=1e-4, rtol=0)


COMMAND = "-m radlab.train --data breastmnist --model small_cnn --width 4 --epochs 6 "
COMMAND += "--batch-size 32 --seed 0 --threads 1 --device cpu --quiet"


def command(root, *more) -> list[str]:
    return [*COMMAND.split(), "--root", str(root), *map(str, more)]


def workers_of(agent: int) -> list[int]:
    """The process ids whose parent is ``agent`` (torchrun's workers, one per rank)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == agent:
            children.append(int(stat.parent.name))
    return children


def kill_after_first_epoch(proc: subprocess.Popen, last: Path, timeout: float = 90) -> dict:
    """SIGKILL both workers as soon as a checkpoint is written, as a crash would (torchrun starts
    each worker in a session of its own, so they are found by their parent); torchrun then
    gives up (it restarts no one by default)."""
    deadline = time.monotonic() + timeout
    while not last.exists():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out[-3000:]
    return torch.load(last, weights_only=True)


def test_command_on_two_processes_matches_one_and_an_interrupted_run_resumes_on_2_or_1(
    medmnist_root, tmp_path, monkeypatch, capsys
):
    """The interruption is real: the 2-process run is killed (SIGKILL to torchrun and both
    workers) as soon as its first checkpoint exists; the same command then resumes it on 2
    processes, and a copy of the killed run's files resumes on 1 process."""
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    ckpt = tmp_path / "two" / "run.pt"
    ckpt.parent.mkdir()
    killed = kill_after_first_epoch(
        torchrun(command(medmnist_root, "--checkpoint", ckpt)), ckpt.with_name("run.last.pt")
    )
    done = killed["history"]["epoch"]
    assert 1 <= len(done) < 6 and not killed["finished"]  # stopped part way
    copy = tmp_path / "one"
    copy.mkdir()
    for name in ("run.pt", "run.last.pt"):
        (copy / name).write_bytes((ckpt.parent / name).read_bytes())

    # resume on 2 processes: only the first prints and writes the report
    out = finish(
        torchrun(command(medmnist_root, "--checkpoint", ckpt, "--json", tmp_path / "2.json"))
    )
    assert out.count("val  AUC") == 1 and "2 processes" in out
    two = json.loads((tmp_path / "2.json").read_text())
    assert two["world_size"] == 2 and two["command"].startswith("torchrun --nproc_per_node=2")

    # resume the same files on 1 process
    assert (
        study.main(
            command(medmnist_root, "--checkpoint", copy / "run.pt", "--json", tmp_path / "1r.json")[
                2:
            ]
        )
        == 0
    )
    one_resumed = json.loads((tmp_path / "1r.json").read_text())
    assert one_resumed["world_size"] == 1

    # an uninterrupted run on 1 process, the reference
    assert study.main(command(medmnist_root, "--json", tmp_path / "1.json")[2:]) == 0
    one = json.loads((tmp_path / "1.json").read_text())
    capsys.readouterr()

    for resumed in (two, one_resumed):
        history = resumed["history"]
        assert history["epoch"] == list(range(1, 7))
        # the epochs before the kill were loaded from the checkpoint, not trained again
        assert history["seconds"][: len(done)] == killed["history"]["seconds"]
        assert history["val_metric"][: len(done)] == killed["history"]["val_metric"]
    gaps = np.abs(np.subtract(two["history"]["val_metric"], one["history"]["val_metric"]))
    print(f"largest |val AUC, 2 processes - 1 process| over 6 epochs: {gaps.max():.4f}")
    assert gaps.max() <= 0.03
    assert abs(two["val"]["auc"] - one["val"]["auc"]) <= 0.03


def test_benchmark_worker_measures_both_loaders_in_one_process(tmp_path):
    """benchmarks/distributed.py's measurement, run here in this process (a world of one)."""
    spec = importlib.util.spec_from_file_location("bench_distributed", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    file, note = bench.disk_file(tmp_path, 16, tmp_path)  # no real 128 px file in tmp_path
    assert "16 synthetic 128 px images" in note and file.is_file()
    for loader in bench.LOADERS:
        args = bench.parser().parse_args(
            ["--worker", "--loader", loader, "--file", str(file), "--out", str(tmp_path / "r")]
            + ["--cases", "16", "--epochs", "1", "--batch-size", "8", "--width", "2"]
            + ["--device", "cpu", "--root", str(tmp_path)]
        )
        row = bench.worker(args)
        assert row["loader"] == loader and row["processes"] == 1 and row["cases"] == 16
        assert row["images_per_sec"] > 0
    assert "cores" in bench.machine()
