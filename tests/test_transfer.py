"""radlab.transfer: weights from torch's cache (never downloaded), grey first layer, freezing."""

import pytest
import torch
from torch import nn

from radlab import transfer
from radlab.models import count_parameters, small_cnn


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub folder of our own (torch.hub.get_dir() reads it; restored after)."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub"


def _save_random_resnet18(path):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    state = resnet18(weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return state


def test_the_weights_file_is_named_after_the_url_in_the_hub_checkpoints_folder(hub):
    from torchvision.models import ResNet18_Weights

    path = transfer.weights_file()
    assert path.parent == hub / "checkpoints"
    assert path.name == ResNet18_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    assert transfer.weights_file("imagenet") == transfer.weights_file("DEFAULT")


def test_unknown_weights_name_is_a_clear_error():
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        transfer.weights_file("COCO")


def test_missing_weights_give_a_clear_message_and_no_download(hub, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("radlab tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    with pytest.raises(transfer.WeightsNotFound) as info:
        transfer.imagenet_weights()
    message = str(info.value)
    path = transfer.weights_file()
    assert isinstance(info.value, FileNotFoundError)
    assert path.name in message and str(path.parent) in message
    assert "torchvision.models.resnet18(weights='IMAGENET1K_V1')" in message
    with pytest.raises(transfer.WeightsNotFound):
        transfer.imagenet_resnet18()


def test_weights_are_read_from_the_cache(hub):
    saved = _save_random_resnet18(transfer.weights_file())
    loaded = transfer.imagenet_weights()
    assert loaded.keys() == saved.keys()
    for key in saved:
        assert torch.equal(loaded[key], saved[key])


def test_imagenet_resnet18_has_the_cached_weights_a_grey_first_layer_and_a_new_head(hub):
    saved = _save_random_resnet18(transfer.weights_file())
    net = transfer.imagenet_resnet18(num_classes=2)
    assert torch.equal(net.layer1[0].conv1.weight, saved["layer1.0.conv1.weight"])
    assert torch.allclose(net.conv1.weight, saved["conv1.weight"].sum(dim=1, keepdim=True))
    assert net.fc.out_features == 2
    assert net.eval()(torch.rand(2, 1, 32, 32)).shape == (2, 2)
    rgb = transfer.imagenet_resnet18(num_classes=5, in_channels=3)
    assert torch.equal(rgb.conv1.weight, saved["conv1.weight"])


@pytest.mark.parametrize("bias", [False, True])
def test_summed_filters_on_grey_equal_rgb_filters_on_the_grey_copied_three_times(bias):
    torch.manual_seed(1)
    rgb = nn.Conv2d(3, 8, kernel_size=5, stride=2, padding=2, bias=bias)
    g = torch.rand(4, 1, 20, 20)
    copied = g.repeat(1, 3, 1, 1)  # (4, 3, 20, 20): the grey image in R, G and B
    summed = transfer.grayscale_conv(rgb, how="sum")
    assert summed.weight.shape == (8, 1, 5, 5)
    assert summed.stride == rgb.stride and summed.padding == rgb.padding
    assert torch.allclose(summed(g), rgb(copied), atol=1e-5)


def test_averaged_filters_on_grey_equal_rgb_filters_on_the_grey_copied_and_divided_by_3():
    torch.manual_seed(2)
    rgb = nn.Conv2d(3, 6, kernel_size=3, bias=False)
    g = torch.rand(2, 1, 12, 12)
    averaged = transfer.grayscale_conv(rgb, how="mean")
    assert torch.allclose(averaged(g), rgb(g.repeat(1, 3, 1, 1) / 3), atol=1e-5)
    assert torch.allclose(averaged(g) * 3, transfer.grayscale_conv(rgb)(g), atol=1e-5)


def test_grayscale_conv_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="expected 3"):
        transfer.grayscale_conv(nn.Conv2d(1, 4, 3))
    with pytest.raises(ValueError, match="sum"):
        transfer.grayscale_conv(nn.Conv2d(3, 4, 3), how="max")


def test_replace_head_keeps_the_body_and_changes_the_outputs():
    net = small_cnn(num_classes=11, width=4)
    body = net.block1.conv.weight.clone()
    transfer.replace_head(net, 3)
    assert net.fc.out_features == 3 and net.fc.in_features == 16
    assert torch.equal(net.block1.conv.weight, body)
    assert [name for name, _ in net.named_children()][-1] == "fc"  # still last
    assert net(torch.rand(2, 1, 28, 28)).shape == (2, 3)
    with pytest.raises(ValueError, match="fc"):
        transfer.replace_head(nn.Sequential(nn.Conv2d(1, 2, 3)), 2)


def test_freeze_trains_only_the_named_layers_and_counts_them():
    net = small_cnn(num_classes=2, width=4)
    total = count_parameters(net)
    assert transfer.freeze(net, train_only=["fc"]) == 16 * 2 + 2 == count_parameters(net)
    assert not net.block1.conv.weight.requires_grad and net.fc.weight.requires_grad
    both = transfer.freeze(net, train_only=["block3", "fc"])
    assert both == count_parameters(net) > 34
    assert transfer.freeze(net, train_only=None) == total == count_parameters(net)
    with pytest.raises(ValueError, match="block1"):
        transfer.freeze(net, train_only=["head"])


def test_a_frozen_layer_does_not_change_in_training():
    from radlab.train import fit

    torch.manual_seed(0)
    net = small_cnn(num_classes=2, width=4)
    transfer.freeze(net, train_only=["fc"])
    before_conv = net.block1.conv.weight.detach().clone()
    before_fc = net.fc.weight.detach().clone()
    x = torch.rand(32, 1, 16, 16)
    y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    fit(net, (x, y), epochs=2, lr=1e-2, progress=False, device="cpu")
    assert torch.equal(net.block1.conv.weight.detach().cpu(), before_conv)
    assert not torch.equal(net.fc.weight.detach().cpu(), before_fc)
