"""radlab.train, the loop: learning, early stopping, determinism, optimizers, schedules, tasks."""

import json
import math

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


def noise(xb):
    """An augmentation that draws from the seeded global RNG."""
    return xb + 0.05 * torch.randn_like(xb)


def comparable(history: train.History) -> dict:
    """The history without the timings (they differ from run to run)."""
    d = history.as_dict()
    for key in ("seconds", "images_per_sec"):
        d.pop(key)
    return d


FAST = dict(batch_size=32, lr=1e-2, device="cpu", progress=False, seed=0)
SETTINGS = dict(  # every field of train.RunSettings, as fit's defaults with FAST on top
    epochs=10,
    batch_size=32,
    optimizer="adamw",
    lr=1e-2,
    weight_decay=0.0,
    schedule=None,
    early_stopping=None,
    restore_best=True,
    device="cpu",
    amp=None,
    channels_last=None,
    seed=0,
    progress=False,
)


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
    settings = train.RunSettings.resolve(**{**SETTINGS, "optimizer": optimizer, "lr": 1e-2})
    built = train._make_optimizer(net, settings)
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


def test_without_validation_the_last_weights_are_kept():
    saved = {}
    net = tiny_net()
    history = train.fit(
        net, toy_task(), epochs=3, callback=lambda e, h: saved.update({e: snapshot(net)}), **FAST
    )
    assert history.metric == "loss" and math.isnan(history.val_loss[-1])
    assert history.best_epoch == 3 and same_state(net.state_dict(), saved[3])


def test_seed_none_is_the_course_seed(monkeypatch):
    monkeypatch.setenv("RADLAB_SEED", "7")
    data = toy_task()
    settings = {**FAST, "seed": None}
    course = train.fit(tiny_net(dropout=0.3), data, data, epochs=2, augment=noise, **settings)
    seven = train.fit(
        tiny_net(dropout=0.3), data, data, epochs=2, augment=noise, **FAST | {"seed": 7}
    )
    assert comparable(course) == comparable(seven)


# ----------------------------------------------------------------------------- the loop's state


def test_loop_state_keeps_the_best_and_counts_patience():
    net = tiny_net()
    settings = train.RunSettings.resolve(**{**SETTINGS, "epochs": 5, "early_stopping": 2})
    state = train.LoopState(train.History(metric="auc"))
    assert state.keep_if_best(net, 1, 0.7, higher_is_better=True)
    assert state.best_epoch == 1 and state.best_score == 0.7 and state.since_best == 0
    assert same_state(state.best_weights, net.state_dict())
    assert not state.keep_if_best(net, 2, 0.6, higher_is_better=True)
    assert not state.end_epoch(2, settings) and state.since_best == 1
    assert not state.keep_if_best(net, 3, 0.7, higher_is_better=True)  # a tie is no improvement
    assert state.end_epoch(3, settings) and state.history.stopped_early  # patience 2 used up
    again = train.LoopState.from_checkpoint(state.as_checkpoint())
    assert again.history == state.history and again.since_best == 2 and again.finished
    assert same_state(again.best_weights, state.best_weights)
    lower = train.LoopState(train.History(metric="loss"))
    lower.keep_if_best(net, 1, 0.5, higher_is_better=False)
    assert lower.keep_if_best(net, 2, 0.4, higher_is_better=False) and lower.best_epoch == 2


# ----------------------------------------------------------------------------- segmentation


class TinySegmenter(torch.nn.Module):
    """Two convolutions keeping the image size: (N, 1, H, W) -> (N, K, H, W) logits."""

    def __init__(self, classes=3):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, classes, 1)
        )

    def forward(self, x):
        return self.body(x)


def toy_masks(n=32, size=12, seed=0):
    """Images with two bright squares; masks: 0 background, 1 the first square, 2 the second."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=gen) * 0.3
    masks = torch.zeros(n, size, size, dtype=torch.long)
    masks[:, 2:6, 2:6] = 1
    masks[1::2, 7:11, 6:10] = 2  # every other image has the second structure
    x[:, 0][masks == 1] += 0.5
    x[:, 0][masks == 2] += 0.9
    return x, masks


def test_segmentation_trains_with_per_pixel_cross_entropy_and_dice():
    x, masks = toy_masks()
    torch.manual_seed(0)
    net = TinySegmenter()
    history = train.fit(net, (x, masks), (x, masks), epochs=2, **FAST)
    assert history.metric == "dice" and len(history.val_metric) == 2
    assert history.train_loss[-1] < history.train_loss[0]
    prob = train.predict(net, x)
    assert prob.shape == (32, 3, 12, 12)
    pred = prob.argmax(1)
    expected = [float(metrics.dice(masks == k, pred == k).mean()) for k in (1, 2)]
    assert history.best_score == pytest.approx(sum(expected) / 2, abs=1e-9)
    assert 0 <= history.best_score <= 1


def test_segmentation_metrics_and_a_plain_error_for_auc():
    x, masks = toy_masks()
    history = train.fit(
        TinySegmenter(), (x, masks), (x, masks), epochs=1, metric="accuracy", **FAST
    )
    assert history.metric == "accuracy" and 0 <= history.val_metric[0] <= 1  # of the pixels
    with pytest.raises(ValueError, match="metric='auc' does not fit a segmentation.*dice"):
        train.fit(TinySegmenter(), (x, masks), (x, masks), epochs=1, metric="auc", **FAST)


# ----------------------------------------------------------------------------- regression


def test_regression_mae_metric_is_lower_is_better():
    x, _ = toy_task()
    target = x.mean(dim=(1, 2, 3)) * 10  # float targets: a regression
    net = tiny_net(num_classes=1)
    history = train.fit(net, (x, target), (x, target), epochs=3, metric="mae", **FAST)
    assert history.metric == "mae" and history.best_score == min(history.val_metric)
    mae = (train.predict(net, x, softmax=False)[:, 0] - target).abs().mean()
    assert history.best_score == pytest.approx(float(mae), rel=1e-5)  # the best epoch's weights
    with pytest.raises(ValueError, match="metric='auc' does not fit a regression"):
        train.fit(tiny_net(num_classes=1), (x, target), (x, target), epochs=1, metric="auc", **FAST)
    with pytest.raises(ValueError, match="metric='f1' is not known"):
        train.fit(tiny_net(), toy_task(), toy_task(), epochs=1, metric="f1", **FAST)
