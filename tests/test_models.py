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
    # one grey channel: the sum of the RGB filters, as rl.transfer.grayscale_conv makes it
    torch.testing.assert_close(net.conv1.weight, reference.conv1.weight.sum(dim=1, keepdim=True))


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


# ------------------------------------------------------ architectures (lesson 07) --


def test_multiply_adds_of_a_conv_layer_is_the_hand_formula():
    # H x W x N x F x F x M: every output value of every filter costs F x F x M multiply-adds
    conv = nn.Conv2d(6, 10, kernel_size=3, padding=1, bias=False)
    assert models.multiply_adds(conv, (6, 12, 12)) == 12 * 12 * 10 * 3 * 3 * 6
    strided = nn.Conv2d(4, 8, kernel_size=5, stride=2, bias=False)  # 16 px -> 6 px
    assert models.multiply_adds(strided, (4, 16, 16)) == 6 * 6 * 8 * 5 * 5 * 4
    assert models.multiply_adds(nn.Linear(20, 3), (20,)) == 20 * 3


def test_multiply_adds_leaves_the_model_mode_alone():
    net = models.small_cnn(width=4).train()
    models.multiply_adds(net, (1, 16, 16))
    assert net.training and net.block1.bn.training


def test_inception_3a_multiply_adds_with_and_without_the_reductions():
    """The review's example: GoogLeNet block 3a on a 28 x 28 x 192 input."""
    block = models.Inception(192, 64, 96, 128, 16, 32, 32)
    direct_5x5 = nn.Conv2d(192, 32, 5, padding=2, bias=False)
    direct_3x3 = nn.Conv2d(192, 128, 3, padding=1, bias=False)
    shape = (192, 28, 28)
    assert models.multiply_adds(direct_5x5, shape) == 120_422_400
    assert models.multiply_adds(block.branch3, shape) == 12_443_648
    assert models.multiply_adds(direct_3x3, shape) == 173_408_256
    assert models.multiply_adds(block.branch2, shape) == 101_154_816
    assert block(torch.randn(1, *shape)).shape == (1, 256, 28, 28)


def test_inception_branches_are_concatenated():
    block = models.Inception(8, 2, 3, 4, 1, 5, 6).eval()
    x = torch.randn(2, 8, 10, 10)
    parts = [block.branch1(x), block.branch2(x), block.branch3(x), block.branch4(x)]
    assert [p.shape[1] for p in parts] == [2, 4, 5, 6]
    torch.testing.assert_close(block(x), torch.cat(parts, dim=1))
    assert block.out_channels == 17


ARCHITECTURES = {
    "alexnet_small": lambda c, k: models.alexnet_small(in_channels=c, num_classes=k),
    "googlenet_small": lambda c, k: models.googlenet_small(in_channels=c, num_classes=k),
    "resnet_thin_plain": lambda c, k: models.resnet_thin(
        14, in_channels=c, num_classes=k, plain=True
    ),
    "resnet_thin": lambda c, k: models.resnet_thin(14, in_channels=c, num_classes=k),
    "texture_cnn": lambda c, k: models.texture_cnn(in_channels=c, num_classes=k, width=8),
}


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("in_channels, size", [(1, 28), (3, 64)])
def test_architectures_output_shape_parameters_and_cost(name, in_channels, size):
    net = ARCHITECTURES[name](in_channels, 5)
    assert net(torch.randn(2, in_channels, size, size)).shape == (2, 5)
    assert models.count_parameters(net) == sum(p.numel() for p in net.parameters())
    assert models.multiply_adds(net, (in_channels, size, size)) > 0


def test_alexnet_small_has_alexnets_layers():
    net = models.alexnet_small(width=8)
    kinds = [type(m) for m in net.modules()]
    assert kinds.count(nn.Conv2d) == 5 and kinds.count(nn.MaxPool2d) == 3
    assert kinds.count(nn.Linear) == 3


@pytest.mark.parametrize("depth", [18, 34, 50])
@pytest.mark.parametrize("plain", [False, True])
def test_resnet_output_shape_and_first_layer(depth, plain):
    net = models.resnet(depth, in_channels=1, num_classes=11, plain=plain)
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
    assert isinstance(net.maxpool, nn.Identity)
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, 11)
    assert models.count_parameters(net) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("depth, millions", [(18, 11.69), (34, 21.80), (50, 25.56)])
def test_resnet_full_size_counts_equal_torchvisions(depth, millions):
    from torchvision import models as tv

    net = models.resnet(depth, in_channels=3, num_classes=1000, small_images=False)
    reference = {18: tv.resnet18, 34: tv.resnet34, 50: tv.resnet50}[depth](weights=None)
    n = models.count_parameters(net)
    assert n == models.count_parameters(reference)
    assert round(n / 1e6, 2) == millions


def test_resnet_rejects_other_depths():
    with pytest.raises(ValueError, match="18, 34 or 50"):
        models.resnet(101)
    with pytest.raises(ValueError, match="6n"):
        models.resnet_thin(10)


@pytest.mark.parametrize("depth", [18, 50])
def test_plain_resnet_has_no_shortcut(depth):
    residual = models.resnet(depth, in_channels=1, num_classes=2)
    plain = models.resnet(depth, in_channels=1, num_classes=2, plain=True)
    assert all(b.downsample is None for b in plain.modules() if hasattr(b, "downsample"))
    projections = sum(
        models.count_parameters(b.downsample)
        for b in residual.modules()
        if getattr(b, "downsample", None) is not None
    )
    assert models.count_parameters(residual) - models.count_parameters(plain) == projections


def _zero_the_convolutions(block: nn.Module) -> nn.Module:
    for m in block.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    return block.eval()


@pytest.mark.parametrize("depth", [18, 50])
def test_a_plain_block_does_not_add_its_input(depth):
    """With its convolutions at zero, a residual block passes its input on; a plain one gives 0."""
    residual = _zero_the_convolutions(models.resnet(depth).layer1[1])
    plain = _zero_the_convolutions(models.resnet(depth, plain=True).layer1[1])
    channels = residual.conv1.in_channels
    x = torch.rand(1, channels, 5, 5)  # non-negative, so ReLU(x + 0) == x
    torch.testing.assert_close(residual(x), x)
    torch.testing.assert_close(plain(x), torch.zeros_like(x))
    torch.testing.assert_close(plain(x), plain(2 * x))  # the output ignores the input entirely


def test_resnet_thin_depth_counts_weighted_layers_and_plain_differs_only_by_skips():
    for depth in (8, 20, 32):
        net = models.resnet_thin(depth, width=4)
        weighted = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        projections = 2  # the 1 x 1 convolutions of the two shortcuts that halve the image
        assert len(weighted) == depth + projections
        plain = models.resnet_thin(depth, width=4, plain=True)
        assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in plain.modules()) == depth


def test_texture_cnn_pools_the_energy_of_each_map():
    net = models.texture_cnn(width=4)
    x = torch.randn(3, 16, 5, 5)
    torch.testing.assert_close(net.energy(x), (x**2).mean(dim=(2, 3)))
    assert net.fc1.in_features == 16
