"""The per-pixel networks: shapes, parameter counts by hand, unpooling, RED-CNN's shortcut."""

import pytest
import torch

from radlab import pixelwise as P


def _conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def _block(c_in, c_out):  # two bias-free 3x3 convolutions, each with batch norm (scale + shift)
    return _conv(c_in, c_out, 3, False) + 2 * c_out + _conv(c_out, c_out, 3, False) + 2 * c_out


def _count(net):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("builder", [P.fcn, P.unet, P.segnet])
@pytest.mark.parametrize("size", [(32, 32), (64, 64), (40, 24)])
def test_segmenters_keep_the_image_size(builder, size):
    torch.manual_seed(0)
    net = builder(in_channels=3, num_classes=3, width=4).eval()
    out = net(torch.rand(2, 3, *size))
    assert tuple(out.shape) == (2, 3, *size)


@pytest.mark.parametrize("builder", [P.fcn, P.unet, P.segnet])
def test_segmenters_refuse_sizes_that_are_not_multiples_of_8(builder):
    with pytest.raises(ValueError, match="multiples of 8"):
        builder(width=2)(torch.rand(1, 1, 60, 64))


def test_parameter_counts_by_hand():
    w, c, k = 4, 3, 3  # width, in channels, classes
    fcn = (
        _block(c, w)
        + _block(w, 2 * w)
        + _block(2 * w, 4 * w)
        + _block(4 * w, 8 * w)
        + _conv(2 * w, k, 1)
        + _conv(4 * w, k, 1)
        + _conv(8 * w, k, 1)
        + 3 * _conv(k, k, 4)  # three 4x4 transposed convolutions K -> K
    )
    assert _count(P.fcn(in_channels=c, num_classes=k, width=w)) == fcn
    unet = (
        _block(c, w)
        + _block(w, 2 * w)
        + _block(2 * w, 4 * w)
        + _block(4 * w, 8 * w)
        + _conv(8 * w, 4 * w, 2)
        + _block(8 * w, 4 * w)
        + _conv(4 * w, 2 * w, 2)
        + _block(4 * w, 2 * w)
        + _conv(2 * w, w, 2)
        + _block(2 * w, w)
        + _conv(w, k, 1)
    )
    assert _count(P.unet(in_channels=c, num_classes=k, width=w)) == unet
    segnet = (
        _block(c, w)
        + _block(w, 2 * w)
        + _block(2 * w, 4 * w)
        + _block(4 * w, 2 * w)
        + _block(2 * w, w)
        + _block(w, w)
        + _conv(w, k, 1)
    )
    assert _count(P.segnet(in_channels=c, num_classes=k, width=w)) == segnet
    red = _conv(1, 8, 5) + 8 * _conv(8, 8, 5) + _conv(8, 1, 5)  # 5 convolutions, 5 deconvolutions
    assert _count(P.red_cnn(width=8)) == red


def test_segnet_unpools_to_the_positions_of_the_maxima():
    net = P.segnet(width=1)
    x = torch.tensor([[[[1.0, 5.0, 0.0, 2.0], [3.0, 4.0, 9.0, 1.0]]]])  # (1, 1, 2, 4)
    pooled, where = net.pool(x)
    assert pooled.flatten().tolist() == [5.0, 9.0]
    back = net.unpool(pooled, where)
    expected = torch.tensor([[[[0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 9.0, 0.0]]]])
    assert torch.equal(back, expected)  # each maximum returns to where it was; the rest is 0


@pytest.mark.parametrize("size", [(21, 21), (33, 47), (64, 64)])
def test_red_cnn_keeps_the_size_and_with_a_silent_last_layer_returns_its_input(size):
    torch.manual_seed(0)
    net = P.red_cnn(width=4).eval()
    x = torch.rand(2, 1, *size)
    assert net(x).shape == x.shape
    with torch.no_grad():
        net.decoder[-1].weight.zero_()
        net.decoder[-1].bias.zero_()
    assert torch.equal(net(x), x)


def test_red_cnn_errors_speak_plainly():
    with pytest.raises(ValueError, match="at least 21"):
        P.red_cnn(width=2)(torch.rand(1, 1, 20, 30))
    with pytest.raises(ValueError, match="must equal"):
        P.red_cnn(in_channels=3, out_channels=1)
