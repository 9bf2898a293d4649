"""Tests for radlab.train: learning, early stopping, determinism, atomic checkpoints, resume, the CLI."""

import json
import math
import os

import pytest
import torch

from radlab import metrics, models, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_task(n=96, size=12, seed=0):
    """Images with (label 1) or without (label 0) a bright square: easy to learn in a few steps."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=gen) * 0.5
    y = torch.arange(n) % 2
    x[y == 1, :, 3:8, 3:8] += 0.5
    return x, y


def tiny_net(seed=0, **kwargs):
    torch.manual_seed(seed)
    return models.small_cnn(width=4, **kwargs)


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def snapshot(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def comparable(history: train.History) -> dict:
    """The history without the timings (they differ from run to run)."""
    d = history.as_dict()
    for key in ("seconds", "images_per_sec"):
        d.pop(key)
    return d


FAST = dict(batch_size=32, lr=1e-2, device="cpu", progress=False, seed=0)


def test_loss_decreases_and_history_is_plain_json():
    data = toy_task()
    history = train.fit(tiny_net(), data, data, epochs=3, **FAST)
    assert history.epoch == [1, 2, 3]
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.metric == "auc" and history.val_metric[-1] > 0.8
    assert (
        len(history.seconds) == len(history.images_per_sec) == 3 and min(history.images_per_sec) > 0
    )
    json.dumps(history.as_dict())  # plain numbers and lists only


def test_val_auc_matches_metrics_on_predictions():
    data = toy_task()
    net = tiny_net()
    history = train.fit(net, data, data, epochs=1, restore_best=False, **FAST)
    prob = train.predict(net, data[0])
    assert history.val_metric[-1] == pytest.approx(
        metrics.auc(data[1].numpy(), prob[:, 1].numpy()), abs=1e-6
    )


def test_early_stopping_restores_the_best_epochs_weights():
    data = toy_task()
    scores = iter([0.5, 0.9, 0.7, 0.6, 0.8, 0.95])  # best at epoch 2, then two worse epochs

    def scripted_metric(y_true, prob):
        return next(scores)

    saved = {}
    net = tiny_net()
    history = train.fit(
        net,
        data,
        data,
        epochs=6,
        metric=scripted_metric,
        early_stopping=2,
        callback=lambda epoch, h: saved.update({epoch: snapshot(net)}),
        **FAST,
    )
    assert history.epoch == [1, 2, 3, 4] and history.stopped_early
    assert history.best_epoch == 2 and history.best_score == 0.9
    assert same_state(net.state_dict(), saved[2])
    assert not same_state(net.state_dict(), saved[4])


def test_loss_metric_keeps_the_lowest_validation_loss():
    x, y = toy_task()
    saved = {}
    net = tiny_net()
    # validated on the opposite labels: the better the net learns, the higher the validation loss,
    # so the lowest loss is that of epoch 1 and keeping the last epoch's weights would be wrong
    history = train.fit(
        net,
        (x, y),
        (x, 1 - y),
        epochs=3,
        metric="loss",
        callback=lambda epoch, h: saved.update({epoch: snapshot(net)}),
        **FAST,
    )
    assert history.val_loss[0] < history.val_loss[1] < history.val_loss[2]
    assert history.best_epoch == 1 and history.best_score == history.val_loss[0] == min(
        history.val_loss
    )
    assert same_state(net.state_dict(), saved[1])
    assert not same_state(net.state_dict(), saved[3])


def test_same_seed_same_history_and_weights():
    data = toy_task()
    runs = []
    for _ in range(2):
        net = tiny_net(dropout=0.3)
        noise = lambda xb: xb + 0.05 * torch.randn_like(xb)  # draws from the seeded global RNG
        history = train.fit(net, data, data, epochs=2, augment=noise, **FAST)
        runs.append((comparable(history), snapshot(net)))
    assert runs[0][0] == runs[1][0]
    assert same_state(runs[0][1], runs[1][1])


def test_batches_split_evenly_no_tiny_last_batch():
    x, y = toy_task(n=130)
    sizes = []

    def record(xb):
        sizes.append(len(xb))
        return xb

    train.fit(
        tiny_net(), (x, y), epochs=1, batch_size=128, augment=record, device="cpu", progress=False
    )
    assert sizes == [65, 65]


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        ("sgd", torch.optim.SGD),
        ("adagrad", torch.optim.Adagrad),
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
    ],
)
def test_each_optimizer_name_trains(optimizer, expected):
    net = tiny_net()
    built = train._make_optimizer(optimizer, net, 1e-2, 0)
    assert type(built) is expected and built.param_groups[0]["lr"] == 1e-2
    assert built.param_groups[0]["params"] == list(net.parameters())
    data = toy_task()
    history = train.fit(tiny_net(), data, epochs=2, optimizer=optimizer, **FAST)
    assert all(math.isfinite(v) for v in history.train_loss)
    assert history.train_loss[-1] < history.train_loss[0]


def test_optimizer_object_or_function_and_unknown_name():
    data = toy_task()
    net = tiny_net()
    given = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    assert not given.state
    train.fit(net, data, epochs=1, optimizer=given, **FAST)
    assert given.state and all(
        "momentum_buffer" in given.state[p] for p in net.parameters()
    )  # it did the steps

    built = []

    def make(params):
        built.append(
            torch.optim.RMSprop(params, lr=1e-3)
        )  # not FAST's lr: the function's optimizer is used
        return built[-1]

    net = tiny_net()
    history = train.fit(net, data, epochs=2, optimizer=make, **FAST)
    assert len(built) == 1 and built[0].param_groups[0]["params"] == list(net.parameters())
    assert built[0].state and history.lr == [1e-3, 1e-3]
    with pytest.raises(ValueError, match="optimizer='lbfgs' is not known"):
        train.fit(tiny_net(), data, epochs=1, optimizer="lbfgs", **FAST)


@pytest.mark.parametrize(
    "schedule", ["onecycle", "cosine", lambda opt, steps: torch.optim.lr_scheduler.StepLR(opt, 3)]
)
def test_schedules_change_the_learning_rate(schedule):
    history = train.fit(tiny_net(), toy_task(), epochs=2, schedule=schedule, **FAST)
    assert history.lr[-1] < FAST["lr"]


def test_regression_uses_mse_and_the_loss_metric():
    x, _ = toy_task()
    target = x.mean(dim=(1, 2, 3))  # float labels: a regression
    net = tiny_net(num_classes=1)
    history = train.fit(net, (x, target), (x, target), epochs=3, **FAST)
    assert history.metric == "loss" and history.train_loss[-1] < history.train_loss[0]
    mse = torch.nn.functional.mse_loss(train.predict(net, x, softmax=False)[:, 0], target)
    assert history.best_score == pytest.approx(
        float(mse), rel=1e-5
    )  # the best epoch's weights are back
    assert train.predict(net, x, softmax=False).shape == (96, 1)


def test_predict_gives_probabilities_on_the_cpu_and_keeps_the_mode():
    x, _ = toy_task(n=10)
    net = tiny_net().train()
    prob = train.predict(net, x, batch_size=3)
    assert prob.shape == (10, 2) and prob.device.type == "cpu"
    torch.testing.assert_close(prob.sum(dim=1), torch.ones(10))
    assert net.training  # left as it was


def test_clear_errors_for_raw_pixels_and_missing_validation():
    x, y = toy_task()
    with pytest.raises(ValueError, match="x.float\\(\\) / 255"):
        train.fit(tiny_net(), ((x * 255).to(torch.uint8), y), epochs=1, **FAST)
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        train.fit(tiny_net(), (x, y), epochs=1, early_stopping=2, **FAST)
    with pytest.raises(ValueError, match="one label per image"):
        train.fit(tiny_net(), (x, y[:5]), epochs=1, **FAST)


# ----------------------------------------------------------------------------- checkpoints


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
    with pytest.raises(train.CheckpointError, match="run.last.pt is damaged.*Delete this file"):
        train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    assert path.read_bytes() == best
    assert isinstance(train.CheckpointError("x"), ValueError)


def test_checkpoint_from_other_settings_is_not_mixed_in(tmp_path):
    data = toy_task()
    path = tmp_path / "run.pt"
    train.fit(tiny_net(), data, data, epochs=1, checkpoint=path, **FAST)
    with pytest.raises(train.CheckpointError, match="other settings.*epochs"):
        train.fit(tiny_net(), data, data, epochs=3, checkpoint=path, **FAST)
    history = train.fit(tiny_net(), data, data, epochs=3, checkpoint=path, resume=False, **FAST)
    assert history.epoch == [1, 2, 3]


# ----------------------------------------------------------------------------- the command


def test_command_writes_the_json_report(medmnist_root, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = train.main(
        [
            "--data",
            "breastmnist",
            "--epochs",
            "1",
            "--mode",
            "smoke",
            "--seed",
            "0",
            "--threshold",
            "youden",
            "--root",
            str(medmnist_root),
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["threshold_rule"] == "youden on validation" and report["cases"]["train"] == 256
    for key in (
        "data",
        "model",
        "seed",
        "mode",
        "device",
        "epochs_run",
        "best_epoch",
        "threshold",
        "train_seconds",
        "images_per_sec",
        "val",
        "test",
        "history",
        "command",
    ):
        assert key in report, key
    for split in ("val", "test"):
        assert {"auc", "accuracy", "sensitivity", "specificity"} <= report[split].keys()
    printed = capsys.readouterr().out
    assert "test" in printed and "threshold" in printed and "images/s" in printed


def test_command_ensemble_averages_members_and_checkpoints_each(medmnist_root, tmp_path):
    out, ckpt = tmp_path / "out.json", tmp_path / "run.pt"
    argv = [
        "--data",
        "breastmnist",
        "--epochs",
        "1",
        "--mode",
        "smoke",
        "--seed",
        "3",
        "--members",
        "2",
        "--augment",
        "ultrasound_strong",
        "--root",
        str(medmnist_root),
        "--checkpoint",
        str(ckpt),
        "--json",
        str(out),
        "--quiet",
    ]
    assert train.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["members"] == 2 and report["member_seeds"] == [3, 1003]
    assert len(report["best_epoch"]) == len(report["history"]) == 2
    assert (tmp_path / "run.member1.pt").is_file() and (tmp_path / "run.member2.pt").is_file()
    # the ensemble's probabilities are the mean of its members' (rebuilt from their checkpoints)
    splits = train.load_splits("breastmnist", root=medmnist_root, mode="smoke")
    xt = splits["test"][0]
    members = []
    for m in (1, 2):
        net = models.resnet_small(in_channels=1, num_classes=2, width=16)
        net.load_state_dict(torch.load(tmp_path / f"run.member{m}.pt", weights_only=True))
        members.append(train.predict(net, xt)[:, 1].numpy())
    mean = (members[0] + members[1]) / 2
    assert report["test"]["auc"] == pytest.approx(
        metrics.auc(splits["test"][1].numpy(), mean), abs=1e-9
    )
    # a rerun with the same checkpoint loads both finished members and reports the same: the
    # histories (per-epoch seconds included) come from the files, which are not written again
    files = sorted(tmp_path.glob("run.member*.pt"))
    assert [p.name for p in files] == [
        "run.member1.last.pt",
        "run.member1.pt",
        "run.member2.last.pt",
        "run.member2.pt",
    ]
    written = {p: p.stat().st_mtime_ns for p in files}
    again = tmp_path / "again.json"
    assert train.main(argv[:-3] + ["--json", str(again), "--quiet"]) == 0
    rerun = json.loads(again.read_text())
    assert (
        rerun["history"] == report["history"] and rerun["train_seconds"] == report["train_seconds"]
    )
    assert {k: v for k, v in rerun.items() if k != "command"} == {
        k: v for k, v in report.items() if k != "command"
    }
    assert {p: p.stat().st_mtime_ns for p in files} == written


def test_command_rejects_zero_members(capsys):
    with pytest.raises(SystemExit) as exit_:
        train.main(["--members", "0"])
    assert exit_.value.code == 2
    assert "--members" in (err := capsys.readouterr().err) and "0: at least 1" in err


def test_without_validation_the_last_weights_are_kept():
    saved = {}
    net = tiny_net()
    history = train.fit(
        net, toy_task(), epochs=3, callback=lambda e, h: saved.update({e: snapshot(net)}), **FAST
    )
    assert history.metric == "loss" and math.isnan(history.val_loss[-1])
    assert history.best_epoch == 3 and same_state(net.state_dict(), saved[3])


def test_command_fixed_threshold_and_its_check(medmnist_root, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = train.main(
        [
            "--data",
            "pneumoniamnist",
            "--epochs",
            "1",
            "--mode",
            "smoke",
            "--threshold",
            "0.3",
            "--augment",
            "none",
            "--root",
            str(medmnist_root),
            "--json",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert (
        report["threshold"] == 0.3
        and report["test"]["threshold"] == 0.3
        and report["augmentation"] is None
    )
    assert report["threshold_rule"] == "fixed"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        train.main(["--threshold", "1.5"])
    assert exit_.value.code == 2
    assert (
        "--threshold" in (err := capsys.readouterr().err) and "probability between 0 and 1" in err
    )


def test_cli_interrupt_says_how_to_resume(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "run_study", interrupted)
    assert train.main(["--data", "breastmnist", "--checkpoint", "run.pt"]) == 130
    assert "Run the same command" in capsys.readouterr().err
