"""radlab.models: shapes of every builder and block, parameter counts, one convolution by hand.

The docstring examples run in test_doctests.py.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from radlab import models

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 64)])
@pytest.mark.parametrize("batchnorm", [True, False])
def test_small_cnn_output_shape(in_channels, size, batchnorm):
    net = models.small_cnn(
        in_channels=in_channels, num_classes=5, width=8, dropout=0.5, batchnorm=batchnorm
    )
    assert net(torch.randn(3, in_channels, size, size)).shape == (3, 5)


def test_small_cnn_blocks_shapes_one_by_one():
    net = models.small_cnn(in_channels=1, num_classes=2, width=8)
    x = torch.randn(2, 1, 28, 28)
    shapes = {}
    for name, layer in net.named_children():
        x = layer(x)
        shapes[name] = tuple(x.shape)
    assert shapes["block1"] == (2, 8, 14, 14)
    assert shapes["block2"] == (2, 16, 7, 7)
    assert shapes["block3"] == (2, 32, 3, 3)
    assert shapes["gap"] == (2, 32, 1, 1)
    assert shapes["fc"] == (2, 2)


def test_small_cnn_options_change_the_layers():
    plain = models.small_cnn(batchnorm=False, width=4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert plain.block1.conv.bias is not None  # without BN the convolution needs its own bias
    with_bn = models.small_cnn(width=4, dropout=0.3)
    assert with_bn.block1.conv.bias is None and isinstance(with_bn.block1.bn, nn.BatchNorm2d)
    assert with_bn.dropout.p == 0.3


def test_conv_block_shape_and_pool_option():
    x = torch.randn(2, 3, 32, 32)
    assert models.conv_block(3, 16)(x).shape == (2, 16, 16, 16)
    assert models.conv_block(3, 16, pool=False)(x).shape == (2, 16, 32, 32)


@pytest.mark.parametrize("stride, out", [(1, 8), (1, 16), (2, 16)])
def test_residual_block_shape(stride, out):
    block = models.ResidualBlock(8, out, stride=stride)
    assert block(torch.randn(2, 8, 14, 14)).shape == (2, out, 14 // stride, 14 // stride)
    assert isinstance(block.skip, nn.Identity) == (stride == 1 and out == 8)


def test_residual_block_adds_its_input():
    block = models.ResidualBlock(4, 4).eval()
    for conv in (block.conv1, block.conv2):
        nn.init.zeros_(conv.weight)  # the processed path then gives exactly 0 after BN's zero shift
    x = torch.rand(1, 4, 6, 6)  # non-negative, so ReLU(x + 0) == x
    torch.testing.assert_close(block(x), x)


@pytest.mark.parametrize("size", [28, 64])
def test_resnet_small_output_shape(size):
    net = models.resnet_small(in_channels=3, num_classes=4, width=8, dropout=0.2)
    assert net(torch.randn(2, 3, size, size)).shape == (2, 4)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_resnet18_output_shape_and_first_conv(in_channels):
    net = models.resnet18(in_channels=in_channels, num_classes=3)
    assert net.conv1.in_channels == in_channels
    assert net(torch.randn(2, in_channels, 32, 32)).shape == (2, 3)


def test_resnet18_missing_weights_say_how_to_get_them(monkeypatch, tmp_path):
    # an empty cache: nothing offline
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match="(?s)not on this machine.*weights=None"):
        models.resnet18(weights="imagenet")
    with pytest.raises(ValueError, match="Unknown weights"):
        models.resnet18(weights="radimagenet")


def test_resnet18_pretrained_weights_from_the_cache(monkeypatch, tmp_path):
    from torchvision.models import ResNet18_Weights
    from torchvision.models import resnet18 as tv_resnet18

    reference = tv_resnet18(weights=None)  # stands in for the ImageNet file in the cache
    cache = tmp_path / "checkpoints"
    cache.mkdir()
    torch.save(reference.state_dict(), cache / ResNet18_Weights.DEFAULT.url.rsplit("/", 1)[-1])
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    net = models.resnet18(in_channels=1, num_classes=2, weights="DEFAULT")
    torch.testing.assert_close(net.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)
    torch.testing.assert_close(net.conv1.weight, reference.conv1.weight.mean(dim=1, keepdim=True))


@pytest.mark.parametrize("f, m, n", [(3, 1, 8), (3, 3, 16), (5, 16, 32), (1, 192, 96)])
def test_conv_parameter_count_is_f_f_m_n_plus_n(f, m, n):
    assert models.count_parameters(nn.Conv2d(m, n, kernel_size=f)) == f * f * m * n + n


def test_count_parameters_matches_torch_and_skips_frozen_layers():
    net = models.small_cnn(width=8)
    assert models.count_parameters(net) == sum(p.numel() for p in net.parameters())
    net.fc.requires_grad_(False)
    frozen = net.fc.weight.numel() + net.fc.bias.numel()
    assert models.count_parameters(net) == sum(p.numel() for p in net.parameters()) - frozen
    assert models.count_parameters(net, trainable_only=False) == sum(
        p.numel() for p in net.parameters()
    )


def test_ensemble_is_the_mean_of_its_members_probabilities():
    torch.manual_seed(0)
    nets = [models.small_cnn(width=4, num_classes=3).eval() for _ in range(3)]
    x = torch.rand(5, 1, 16, 16)
    probs = torch.stack([torch.softmax(n(x), dim=1) for n in nets])
    out = models.Ensemble(nets).eval()(x)
    assert out.shape == (5, 3)
    assert torch.allclose(torch.softmax(out, dim=1), probs.mean(0), atol=1e-6)
    assert torch.allclose(torch.softmax(models.Ensemble(nets[:1])(x), dim=1), probs[0], atol=1e-6)
    assert models.count_parameters(models.Ensemble(nets)) == 3 * models.count_parameters(nets[0])
    with pytest.raises(ValueError, match="at least one"):
        models.Ensemble([])


# ---------------------------------------------------------------- one convolution --


@pytest.mark.parametrize(
    "n,f,s,p",
    [
        (64, 3, 1, 0),
        (64, 3, 1, 1),
        (64, 3, 2, 1),
        (28, 5, 1, 2),
        (32, 3, 3, 0),
        (7, 7, 1, 0),
        (227, 11, 4, 0),
        (10, 2, 2, 0),
    ],
)
def test_conv_output_size_matches_torch(n, f, s, p):
    out = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p)
    assert models.conv_output_size(n, f, s, p) == out.shape[-1]


def test_conv_output_size_explains_a_filter_too_large():
    with pytest.raises(ValueError, match="does not fit"):
        models.conv_output_size(2, 5, 1, 0)


def test_convolve_by_hand():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)  # rises by 1 per column, 4 per row
    assert np.array_equal(models.convolve(image, "identity"), image[1:-1, 1:-1])
    # Sobel sums 4 weights of +-1/+-2 across a step of 2 columns: (1 + 2 + 1) * 2 = 8 everywhere
    assert np.array_equal(models.convolve(image, "edge vertical (Sobel)"), np.full((2, 2), 8.0))
    assert np.array_equal(models.convolve(image, "edge horizontal (Sobel)"), np.full((2, 2), 32.0))
    assert models.convolve(image, "blur", stride=2, padding=1).shape == (2, 2)
    custom = torch.ones(3, 3)
    assert models.convolve(torch.from_numpy(image)[None], custom)[0, 0] == image[:3, :3].sum()


def test_convolve_agrees_with_a_conv_layer():
    layer = nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False)
    image = torch.rand(1, 1, 9, 9)
    expected = layer(image)[0, 0].detach().numpy()
    got = models.convolve(image[0], layer.weight[0, 0], stride=2, padding=1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_kernels_are_3x3_and_edge_filters_sum_to_zero():
    assert all(k.shape == (3, 3) for k in models.KERNELS.values())
    for name in ("edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian"):
        assert models.KERNELS[name].sum() == 0
    assert models.KERNELS["blur"].sum() == pytest.approx(1)


def test_as_kernel_reads_names_and_numbers_and_explains_errors():
    assert models.as_kernel("blur") is models.KERNELS["blur"]
    learned = torch.randn(1, 1, 3, 3, requires_grad=True)  # a conv layer's filter
    assert models.as_kernel(learned).shape == (3, 3)
    with pytest.raises(ValueError, match="identity"):
        models.convolve(np.zeros((5, 5)), "emboss")
    with pytest.raises(ValueError, match="square"):
        models.as_kernel(np.ones((3, 2)))


# ---------------------------------------------------------------- a model as a table --


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: models.small_cnn(width=8, dropout=0.5), (1, 28, 28)),
        (lambda: models.small_cnn(in_channels=3, num_classes=5, batchnorm=False), (3, 64, 64)),
        (lambda: models.resnet_small(width=8), (1, 28, 28)),
    ],
)
def test_layer_table_totals_match_torch_and_shapes_match_a_forward_pass(build, shape):
    net = build()
    rows = models.layer_table(net, shape)
    assert rows[0] == models.LayerRow("input", "image", shape, 0)
    assert sum(row.parameters for row in rows) == sum(p.numel() for p in net.parameters())
    assert sum(row.parameters for row in rows) == models.count_parameters(net)
    assert rows[-1].shape == net.eval()(torch.zeros(2, *shape)).shape[1:]


def test_layer_table_rows_are_the_shapes_of_a_real_forward_pass():
    net = models.small_cnn(width=8)
    rows = {row.name: row for row in models.layer_table(net, (1, 28, 28))}
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        for block in ("block1", "block2", "block3"):
            for name, layer in getattr(net, block).named_children():
                x = layer(x)
                assert rows[f"{block}.{name}"].shape == tuple(x.shape[1:])
    assert rows["block1.conv"].layer == "conv 3x3, 1->8"
    assert rows["block1.conv"].parameters == 3 * 3 * 1 * 8  # no bias: batch norm shifts
    assert rows["block1.bn"].parameters == 2 * 8  # a scale and a shift per channel
    assert rows["block1.pool"] == ("block1.pool", "max pool 2x2", (8, 14, 14), 0)
    assert rows["fc"].parameters == 32 * 2 + 2 and rows["fc"].shape == (2,)
    assert [rows[n].layer for n in ("gap", "flatten", "dropout")] == [
        "global average pool",
        "flatten",
        "dropout p=0",
    ]


def test_layer_table_changes_nothing_in_the_model():
    net = models.small_cnn(width=4).train()
    net.block2.bn.eval()  # a mixed state, as in fine-tuning with frozen statistics
    before = {k: v.clone() for k, v in net.state_dict().items()}
    models.layer_table(net, (1, 16, 16))
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running averages untouched
    assert net.training and net.block1.bn.training and not net.block2.bn.training
    assert not net.block1.conv._forward_hooks  # no hook left behind


def test_layer_table_counts_a_shared_layer_once_and_explains_a_wrong_shape():
    conv = nn.Conv2d(2, 2, 3, padding=1)
    net = nn.Sequential(conv, nn.ReLU(), conv)  # the same layer used twice
    rows = models.layer_table(net, (2, 8, 8))
    assert [row.parameters for row in rows] == [0, 2 * 2 * 9 + 2, 0, 0]
    with pytest.raises(ValueError, match="without the batch axis"):
        models.layer_table(net, (4, 2, 8, 8))
