"""radlab.checkpoints: atomic files, damaged or foreign checkpoints, and resuming a run of fit."""

import os

import pytest
import torch
from test_train import FAST, comparable, same_state, tiny_net, toy_task

from radlab import checkpoints, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- atomic files


def test_atomic_write_text_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "note.json"
    checkpoints.atomic_write_text(path, "first")
    checkpoints.atomic_write_text(path, "second, ünïcode")
    assert path.read_text(encoding="utf-8") == "second, ünïcode"
    assert [p.name for p in path.parent.iterdir()] == ["note.json"]


@pytest.mark.parametrize("write", ["text", "torch"])
def test_a_crash_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch, write):
    path = tmp_path / "file"
    path.write_bytes(b"old")

    def crash(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        if write == "text":
            checkpoints.atomic_write_text(path, "new")
        else:
            checkpoints.save_atomic({"w": torch.ones(1)}, path)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["file"]


def test_load_checkpoint_round_trip_and_damaged_file(tmp_path):
    path = tmp_path / "w.pt"
    checkpoints.save_atomic({"w": torch.arange(3)}, path)
    assert torch.equal(checkpoints.load_checkpoint(path)["w"], torch.arange(3))
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(checkpoints.CheckpointError, match="w.pt is damaged.*Delete this file"):
        checkpoints.load_checkpoint(path)


def test_run_checkpoint_paths():
    assert checkpoints.RunCheckpoint.beside(None, {}) is None
    saver = checkpoints.RunCheckpoint.beside("runs/a.pt", {"epochs": 2})
    assert (saver.best.name, saver.last.name) == ("a.pt", "a.last.pt")
    assert checkpoints.RunCheckpoint.beside("runs/a", {}).last.name == "a.last.pt"


# ----------------------------------------------------------------------------- runs of fit


def test_checkpoint_files_load_with_weights_only(tmp_path):
    data = toy_task()
    net = tiny_net()
    history = train.fit(net, data, data, epochs=2, checkpoint=tmp_path / "run.pt", **FAST)
    best = torch.load(tmp_path / "run.pt", weights_only=True)
    assert same_state(best, net.state_dict())  # the best weights were restored and saved
    last = torch.load(tmp_path / "run.last.pt", weights_only=True)
    assert last["finished"] and last["history"]["best_epoch"] == history.best_epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run.last.pt",
        "run.pt",
    ]  # no temp files left


@pytest.mark.parametrize("broken", ["os.replace", "torch.save"])
def test_crash_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, broken):
    data = toy_task()
    path = tmp_path / "run.pt"
    train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(obj, f, *args, **kwargs):
        if hasattr(f, "write"):
            f.write(b"half a checkpoint")  # some bytes reach the temp file, then the crash
        raise OSError("disk full (simulated)")

    if broken == "torch.save":
        monkeypatch.setattr(torch, "save", crash)
    else:
        monkeypatch.setattr(os, "replace", lambda src, dst: crash(None, None))
    with pytest.raises(OSError, match="simulated"):
        train.fit(tiny_net(seed=1), data, data, epochs=1, checkpoint=path, resume=False, **FAST)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # untouched, no temp file
    assert torch.load(path, weights_only=True).keys() == tiny_net().state_dict().keys()
    assert torch.load(tmp_path / "run.last.pt", weights_only=True)["history"]["epoch"] == [1]


class Interrupt:
    """An augmentation that adds noise (drawing random numbers) and presses Ctrl-C at one step."""

    def __init__(self, at_step=None):
        self.at_step, self.steps = at_step, 0

    def __call__(self, xb):
        self.steps += 1
        if self.steps == self.at_step:
            raise KeyboardInterrupt
        return xb + 0.05 * torch.randn_like(xb)


@pytest.mark.parametrize(
    "stop_at_step", [7, 9]
)  # in epoch 3 (3 steps per epoch); 9 = its last step
def test_resume_after_interrupt_equals_an_uninterrupted_run(tmp_path, stop_at_step):
    data = toy_task()
    settings = dict(epochs=4, schedule="onecycle", optimizer="adamw", **FAST)

    whole = tiny_net(dropout=0.3)
    expected = train.fit(
        whole, data, data, augment=Interrupt(), checkpoint=tmp_path / "a.pt", **settings
    )

    path = tmp_path / "b.pt"
    with pytest.raises(KeyboardInterrupt):
        train.fit(
            tiny_net(dropout=0.3),
            data,
            data,
            augment=Interrupt(stop_at_step),
            checkpoint=path,
            **settings,
        )
    assert torch.load(tmp_path / "b.last.pt", weights_only=True)["history"]["epoch"] == [1, 2]
    resumed_net = tiny_net(
        seed=123, dropout=0.3
    )  # a fresh kernel: other starting weights, other RNG state
    resumed = train.fit(resumed_net, data, data, augment=Interrupt(), checkpoint=path, **settings)

    assert comparable(resumed) == comparable(expected)
    assert same_state(resumed_net.state_dict(), whole.state_dict())
    assert (tmp_path / "b.pt").read_bytes() != b"" and same_state(
        torch.load(tmp_path / "b.pt", weights_only=True),
        torch.load(tmp_path / "a.pt", weights_only=True),
    )


def test_a_finished_run_is_loaded_not_trained_again(tmp_path):
    data = toy_task()
    path = tmp_path / "run.pt"
    net = tiny_net()
    first = train.fit(net, data, data, epochs=2, checkpoint=path, **FAST)

    def must_not_train(xb):
        raise AssertionError("training ran again")

    again_net = tiny_net(seed=5)
    again = train.fit(
        again_net, data, data, epochs=2, checkpoint=path, augment=must_not_train, **FAST
    )
    assert again.as_dict() == first.as_dict()
    assert same_state(again_net.state_dict(), net.state_dict())


def test_damaged_checkpoint_gives_a_clear_error_and_keeps_the_best_weights(tmp_path):
    data = toy_task()
    path = tmp_path / "run.pt"
    train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    best = path.read_bytes()
    last = tmp_path / "run.last.pt"
    last.write_bytes(last.read_bytes()[:100])  # truncated, as after a crash of a non-atomic writer
    with pytest.raises(
        checkpoints.CheckpointError, match="run.last.pt is damaged.*Delete this file"
    ):
        train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    assert path.read_bytes() == best
    assert isinstance(checkpoints.CheckpointError("x"), ValueError)


def test_checkpoint_from_other_settings_is_not_mixed_in(tmp_path):
    data = toy_task()
    path = tmp_path / "run.pt"
    train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    with pytest.raises(checkpoints.CheckpointError, match="other settings.*epochs"):
        train.fit(tiny_net(), data, data, epochs=3, checkpoint=path, **FAST)
    history = train.fit(tiny_net(), data, data, epochs=3, checkpoint=path, resume=False, **FAST)
    assert history.epoch == [1, 2, 3]
