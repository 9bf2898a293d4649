"""radlab.study: recipes, splits, train_and_score for the three tasks, and the training command."""

import inspect
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_train import FAST, TinySegmenter, tiny_net, toy_masks, toy_task

from radlab import data as rd
from radlab import metrics, models, study, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUICK = dict(batch_size=32, lr=1e-2, device="cpu", progress=False)  # FAST without its seed


# ----------------------------------------------------------------------------- recipes and splits


def test_every_recipe_names_a_known_model_and_augmentation():
    for name, recipe in {**study.RECIPES, "default": study.DEFAULT_RECIPE}.items():
        assert recipe["model"] in study.MODELS, name
        assert recipe["augment"] in study.AUGMENTATIONS, name
        assert recipe.get("threshold", "youden") == "youden" or 0 < recipe["threshold"] < 1
    assert set(study.PHANTOMS) <= set(study.RECIPES)


@pytest.mark.parametrize("name", study.AUGMENTATIONS)
def test_each_augmentation_name_builds_and_keeps_the_shape(name):
    augment = study.augmentation(name)
    if name == "none":
        assert augment is None
        return
    x = torch.rand(4, 3 if name == "ct" else 1, 16, 16)
    assert augment(x).shape == x.shape


def test_recipe_smoke_mode_and_options_given_on_top():
    assert study._recipe("breastmnist", "cpu")["epochs"] == 60
    smoke = study._recipe("breastmnist", "smoke")
    assert smoke["epochs"] == 1 and smoke["members"] == 1 and smoke["threshold"] == 0.5
    given = study._recipe("pneumoniamnist", "smoke", epochs=3, members=2, threshold=None)
    assert given["epochs"] == 3 and given["members"] == 2 and given["threshold"] == "youden"
    looks = dict(cases=97_477, size=28, val_rarest=None)  # OCTMNIST: no recipe of its own
    assert study._recipe("octmnist", "cpu", looks) == {
        "members": 1,
        "threshold": "youden",
        **study.default_recipe(**looks),
    }
    own_off = study._recipe("breastmnist", "cpu", dict(cases=546, val_rarest=21), own=False)
    assert own_off["epochs"] == 20 and own_off["members"] == 4 and own_off["threshold"] == 0.5
    with pytest.raises(ValueError, match="no recipe of its own"):
        study._recipe("octmnist", "cpu")


def test_default_recipe_spends_the_pneumonia_budget_by_the_number_of_cases():
    pneumonia = study.RECIPES["pneumoniamnist"]
    budget = pneumonia["members"] * pneumonia["epochs"] * 4708  # images through the network
    assert abs(study.IMAGE_BUDGET - budget) / budget < 0.01
    low, high = study.DEFAULT_EPOCHS
    for cases in (10, 546, 1_000, 4_708, 9_500, 34_561, 165_466):
        r = study.default_recipe(cases=cases)
        assert low <= r["epochs"] <= high and 1 <= r["members"] <= study.DEFAULT_MAX_MEMBERS
        seen = r["epochs"] * r["members"] * cases
        # within the budget, except that a set too large for 5 passes still gets 5
        assert seen <= study.IMAGE_BUDGET or r["epochs"] == low and r["members"] == 1
        assert seen > study.IMAGE_BUDGET / 2 or r["members"] == study.DEFAULT_MAX_MEMBERS
    assert study.default_recipe(cases=34_561)["members"] == 1  # a large set: one network
    assert study.default_recipe(cases=546, augment="geometric")["augment"] == "geometric"
    assert study.default_recipe(cases=546)["members"] == 4  # a small one: an ensemble
    # a 56 px image costs 4 times as much: a quarter of the passes
    assert study.default_recipe(cases=4_708, size=56)["members"] == 1
    # the threshold: Youden with enough validation cases of the rarer class, 0.5 with few
    assert study.default_recipe(cases=546, val_rarest=21)["threshold"] == 0.5
    assert study.default_recipe(cases=4_708, val_rarest=135)["threshold"] == "youden"
    assert study.default_recipe(cases=34_561)["threshold"] == "youden"  # several classes
    with pytest.raises(ValueError, match="at least one case"):
        study.default_recipe(cases=0)


def test_default_recipe_trains_an_rgb_set_unchanged(tmp_path):
    """An RGB MedMNIST set (BloodMNIST, 8 classes) runs through the command unchanged.

    No RGB file is in the test data, so a small file with the official layout stands in; it is
    marked as checked, as a real download would be after its MD5 check."""
    card = rd.card("bloodmnist")
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in zip(rd.SPLITS, (160, 48, 48)):
        labels = np.arange(n) % 8
        images = rng.integers(0, 60, size=(n, 28, 28, 3), dtype=np.uint8)
        for i, label in enumerate(labels):  # the class shows in one colour channel
            images[i, :, :, label % 3] += np.uint8(20 * label)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels[:, None]
    path = tmp_path / "medmnist" / card.file(28).filename
    path.parent.mkdir()
    np.savez(path, **arrays)
    rd.mark_verified(path, card.file(28).md5)
    report = study.run_study(
        data="bloodmnist", root=tmp_path, mode="smoke", seed=0, width=4, progress=False
    )
    assert report["recipe"] == "default" and report["epochs"] == 1  # smoke mode: 1 epoch
    assert report["cases"] == {"train": 160, "val": 48, "test": 48}
    assert len(report["test"]["sensitivity_per_class"]) == 8 and 0 <= report["test"]["auc"] <= 1
    assert report["val_log_loss"] > 0


def test_phantom_splits_are_windowed_and_sized_by_mode():
    splits = study.load_splits("fibrosis", size=32, mode="smoke")
    # the one loader decides the sizes: radlab.data.load, with its patients per split and mode
    assert [len(y) for _, y in splits.values()] == list(rd.PHANTOM_PATIENTS["smoke"])
    x, y = splits["train"]
    assert x.shape[1:] == (1, 32, 32) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert y.dtype == torch.long and not torch.equal(splits["val"][0], splits["test"][0])


def test_medmnist_splits_in_smoke_mode_are_stratified_subsets(medmnist_root):
    splits = study.load_splits("breastmnist", root=medmnist_root, mode="smoke")
    assert {s: len(y) for s, (_, y) in splits.items()} == {"train": 256, "val": 78, "test": 128}
    full = rd.medmnist("breastmnist", "train", root=medmnist_root)[1].float().mean()
    assert abs(splits["train"][1].float().mean() - full) < 1 / 256  # class shares kept


# ----------------------------------------------------------------------------- train_and_score


def test_train_and_score_two_classes_youden_on_validation():
    data = toy_task()
    scored = study.train_and_score(
        lambda: models.small_cnn(width=4), data, data, toy_task(seed=1), seed=0, epochs=2, **QUICK
    )
    assert isinstance(scored.history, train.History) and scored.history.epoch == [1, 2]
    y_val, p_val = data[1].numpy(), scored.outputs["val"][:, 1]
    assert scored.threshold == metrics.operating_point(y_val, p_val)["threshold"]
    assert scored.test["threshold"] == scored.threshold and scored.task == "classification"
    assert {"auc", "accuracy", "sensitivity", "specificity"} <= scored.test.keys()
    y_test = toy_task(seed=1)[1].numpy()
    assert scored.test["auc"] == metrics.auc(y_test, scored.outputs["test"][:, 1])
    json.dumps([scored.val, scored.test])  # plain numbers


def test_train_and_score_repeats_with_the_same_seed_and_a_fixed_threshold():
    data = toy_task()
    runs = [
        study.train_and_score(
            lambda: models.small_cnn(width=4), data, test=data, threshold=0.3, seed=5, **QUICK
        )
        for _ in range(2)
    ]
    assert runs[0].val is None and runs[0].threshold == 0.3 == runs[0].test["threshold"]
    np.testing.assert_array_equal(runs[0].outputs["test"], runs[1].outputs["test"])
    assert runs[0].seeds == [5]


def test_train_and_score_several_classes_is_macro_auc_without_threshold():
    x, _ = toy_task(n=90)
    y = torch.arange(90) % 3
    x[y == 2, :, 6:10, 6:10] += 0.5
    net = tiny_net(num_classes=3)  # a built model is trained as given
    scored = study.train_and_score(net, (x, y), (x, y), (x, y), epochs=2, **FAST)
    assert scored.model is net and scored.threshold is None
    assert scored.outputs["test"].shape == (90, 3)
    assert scored.test["auc"] == pytest.approx(metrics.auc(y, scored.outputs["test"]))
    assert len(scored.test["sensitivity_per_class"]) == 3


def test_train_and_score_regression_gives_mae_rmse_and_pearson_r():
    x, _ = toy_task()
    target = x.mean(dim=(1, 2, 3)) * 10
    scored = study.train_and_score(
        lambda: models.small_cnn(width=4, num_classes=1),
        (x, target),
        (x, target),
        (x, target),
        task="regression",
        metric="mae",
        epochs=2,
        **FAST,
    )
    pred, true = scored.outputs["test"], target.numpy()
    assert pred.shape == (96,) and scored.threshold is None
    assert scored.test["mae"] == pytest.approx(float(np.abs(pred - true).mean()))
    assert scored.test["rmse"] == pytest.approx(float(np.sqrt(((pred - true) ** 2).mean())))
    assert scored.test["pearson_r"] == pytest.approx(float(np.corrcoef(pred, true)[0, 1]))
    assert scored.history.metric == "mae"


def test_train_and_score_segmentation_gives_dice_per_structure():
    x, masks = toy_masks()
    scored = study.train_and_score(
        TinySegmenter, (x, masks), (x, masks), (x, masks), task="segmentation", epochs=2, **FAST
    )
    probs = scored.outputs["test"]
    assert probs.shape == (32, 3, 12, 12) and scored.history.metric == "dice"
    pred = probs.argmax(1)
    per = [float(metrics.dice(masks.numpy() == k, pred == k).mean()) for k in (1, 2)]
    assert scored.test["dice_per_structure"] == pytest.approx(per)
    assert scored.test["dice"] == pytest.approx(np.mean(per))
    assert scored.val["dice"] == pytest.approx(scored.history.best_score)


def test_train_and_score_ensemble_averages_members_with_their_own_seeds(tmp_path):
    data = toy_task()
    scored = study.train_and_score(
        lambda: models.small_cnn(width=4),
        data,
        data,
        data,
        seed=3,
        members=2,
        checkpoint=tmp_path / "run.pt",
        epochs=1,
        **QUICK,
    )
    assert isinstance(scored.model, models.Ensemble) and len(scored.history) == 2
    assert scored.seeds == [3, 1003]
    assert sorted(p.name for p in tmp_path.glob("run.member?.pt")) == [
        "run.member1.pt",
        "run.member2.pt",
    ]
    alone = study.train_and_score(
        lambda: models.small_cnn(width=4), data, data, data, seed=1003, epochs=1, **QUICK
    )
    member = train.predict(scored.model.members[1], data[0]).numpy()
    np.testing.assert_array_equal(member, alone.outputs["test"])  # member 2 = a run with seed 1003


def test_train_and_score_plain_errors():
    data = toy_task()
    with pytest.raises(ValueError, match="task='regression' needs float targets"):
        study.train_and_score(tiny_net(), data, task="regression", epochs=1, **FAST)
    with pytest.raises(ValueError, match="task='segment' is not known"):
        study.train_and_score(tiny_net(), data, task="segment", epochs=1, **FAST)
    with pytest.raises(ValueError, match="threshold='youden' is chosen on validation"):
        study.train_and_score(tiny_net(), data, test=data, threshold="youden", epochs=1, **FAST)
    with pytest.raises(ValueError, match="needs a function that builds each network"):
        study.train_and_score(tiny_net(), data, members=2, epochs=1, **FAST)


# ----------------------------------------------------------------------------- run_study


def test_run_study_takes_keyword_arguments_and_runs_a_phantom_task():
    params = inspect.signature(study.run_study).parameters
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "data")
    report = study.run_study(
        data="fibrosis", size=32, mode="smoke", epochs=1, seed=0, width=4, progress=False
    )
    assert report["data"] == "fibrosis" and report["cases"] == dict(
        zip(rd.SPLITS, rd.PHANTOM_PATIENTS["smoke"])
    )
    assert report["threshold"] is None and report["threshold_rule"] == "most probable class"
    assert report["model"] == "small_cnn" and len(report["test"]["sensitivity_per_class"]) == 5
    json.dumps(report, default=float)


def test_run_study_usage_errors():
    with pytest.raises(study.UsageError, match="did you mean 'breastmnist'"):
        study.run_study(data="breastmnst", mode="smoke")
    with pytest.raises(study.UsageError, match="sizes 28, 64, 128, 224"):
        study.run_study(data="breastmnist", size=50, mode="smoke")
    with pytest.raises(study.UsageError, match="multi-label"):
        study.run_study(data="chestmnist", mode="smoke")
    with pytest.raises(study.UsageError, match="'fast' is not a run mode"):
        study.run_study(data="breastmnist", mode="fast")


# ----------------------------------------------------------------------------- the command


def one_paragraph(text: str) -> bool:
    return bool(text.strip()) and "\n\n" not in text.strip() and "Traceback" not in text


def test_command_unknown_data_set_lists_every_name_and_suggests_one(capsys):
    assert study.main(["--data", "pneumonia"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_paragraph(captured.err)
    assert "did you mean 'pneumoniamnist'?" in captured.err
    for name in ("pathmnist", "breastmnist", "organsmnist", "liver-lesions", "fibrosis"):
        assert name in captured.err
    assert "usage:" not in captured.err


def test_command_bad_run_mode_in_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("RADLAB_MODE", "fast")
    assert study.main(["--data", "breastmnist"]) == 2
    err = capsys.readouterr().err
    assert one_paragraph(err) and "RADLAB_MODE='fast' is not a run mode" in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--epoch", "3"], "unrecognized arguments: --epoch 3 (did you mean --epochs?)"),
        (["--epochs", "three"], "argument --epochs: 'three': give a whole number"),
        (["--lr", "-1"], "argument --lr: -1: must be above 0"),
        (["--model", "vgg"], "argument --model: invalid choice: 'vgg'"),
        (["--device", "gpu"], "argument --device: 'gpu': use cpu, cuda or cuda:1"),
    ],
)
def test_command_bad_options_are_one_paragraph_and_exit_2(argv, expected, capsys):
    assert study.main(argv) == 2
    err = capsys.readouterr().err
    assert one_paragraph(err) and expected in err and "--help" in err


def test_python_m_radlab_train_exits_2_without_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "radlab.train", "--data", "pneumonia"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == "" and one_paragraph(done.stderr)
    assert "pneumoniamnist" in done.stderr


def test_missing_files_say_how_to_fetch_them_and_exit_1(tmp_path, capsys):
    assert study.main(["--data", "breastmnist", "--mode", "smoke", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "python -m data_download medmnist breastmnist" in err


def run_command(options: str, root, out) -> int:
    """``python -m radlab.train OPTIONS`` in smoke mode on the real files, the report to ``out``."""
    argv = f"{options} --mode smoke --root {root} --json {out} --quiet".split()
    return study.main(argv)


def test_command_writes_the_json_report(medmnist_root, tmp_path, capsys):
    out = tmp_path / "out.json"
    options = "--data breastmnist --epochs 1 --seed 0 --threshold youden"
    assert run_command(options, medmnist_root, out) == 0
    report = json.loads(out.read_text())
    assert report["threshold_rule"] == "youden on validation" and report["cases"]["train"] == 256
    expected = "data model seed mode device epochs_run best_epoch threshold train_seconds"
    expected += " images_per_sec val test history command"
    assert set(expected.split()) <= report.keys()
    for split in ("val", "test"):
        assert {"auc", "accuracy", "sensitivity", "specificity"} <= report[split].keys()
    printed = capsys.readouterr().out
    assert "test" in printed and "threshold" in printed and "images/s" in printed


def test_command_ensemble_averages_members_and_checkpoints_each(medmnist_root, tmp_path):
    out, ckpt = tmp_path / "out.json", tmp_path / "run.pt"
    options = "--data breastmnist --epochs 1 --seed 3 --members 2 --augment ultrasound_strong "
    options += f"--checkpoint {ckpt}"
    assert run_command(options, medmnist_root, out) == 0
    report = json.loads(out.read_text())
    assert report["members"] == 2 and report["member_seeds"] == [3, 1003]
    assert len(report["best_epoch"]) == len(report["history"]) == 2
    assert (tmp_path / "run.member1.pt").is_file() and (tmp_path / "run.member2.pt").is_file()
    # the ensemble's probabilities are the mean of its members' (rebuilt from their checkpoints)
    splits = study.load_splits("breastmnist", root=medmnist_root, mode="smoke")
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
    names = ["run.member1.last.pt", "run.member1.pt", "run.member2.last.pt", "run.member2.pt"]
    assert [p.name for p in files] == names
    written = {p: p.stat().st_mtime_ns for p in files}
    again = tmp_path / "again.json"
    assert run_command(options, medmnist_root, again) == 0
    rerun = json.loads(again.read_text())
    assert rerun["train_seconds"] == report["train_seconds"]
    rerun.pop("command"), report.pop("command")
    assert rerun == report
    assert {p: p.stat().st_mtime_ns for p in files} == written


def test_command_rejects_zero_members(capsys):
    assert study.main(["--members", "0"]) == 2
    assert "--members" in (err := capsys.readouterr().err) and "0: at least 1" in err


def test_command_fixed_threshold_and_its_check(medmnist_root, tmp_path, capsys):
    out = tmp_path / "out.json"
    options = "--data pneumoniamnist --epochs 1 --threshold 0.3 --augment none"
    assert run_command(options, medmnist_root, out) == 0
    report = json.loads(out.read_text())
    assert report["threshold"] == 0.3 == report["test"]["threshold"]
    assert report["augmentation"] is None and report["threshold_rule"] == "fixed"
    capsys.readouterr()
    assert study.main(["--threshold", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "--threshold" in err and "probability between 0 and 1" in err


def test_cli_interrupt_says_how_to_resume(monkeypatch, capsys):
    def interrupted(**options):
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "run_study", interrupted)
    assert study.main(["--data", "breastmnist", "--checkpoint", "run.pt"]) == 130
    assert "Run the same command" in capsys.readouterr().err


def test_command_default_recipe_on_a_set_with_its_own(medmnist_root, tmp_path):
    out = tmp_path / "out.json"
    assert run_command("--data breastmnist --recipe default --seed 0", medmnist_root, out) == 0
    report = json.loads(out.read_text())
    # the default recipe reads the set: 21 malignant validation cases are too few for Youden
    assert report["recipe"] == "default" and report["threshold_rule"] == "fixed"
    assert report["augmentation"] is None
    assert run_command("--data breastmnist --seed 0", medmnist_root, out) == 0
    assert json.loads(out.read_text())["recipe"] == "breastmnist"
