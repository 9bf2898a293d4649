"""radlab.saliency: Grad-CAM against captum's LayerGradCam, hooks and modes left as found, a known
case, the 1 x 1 pitfall, the randomization check against scipy's Spearman correlation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from radlab import saliency as S
from radlab.models import resnet18, resnet_small, small_cnn


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Tiny tensors: one torch thread is faster on a busy machine (see conftest)."""


def _trained_looking(model, seed=0):
    """Move every weight and batch-norm statistic off its starting value, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=generator))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
    return model


def _captum_maps(model, images, layer, target, size):
    """captum's raw LayerGradCam, and the same map after ReLU, bilinear enlarging, / maximum."""
    from captum.attr import LayerAttribution, LayerGradCam

    raw = LayerGradCam(model, layer).attribute(images, target=target)  # (N, 1, h, w)
    fine = LayerAttribution.interpolate(torch.relu(raw), size, interpolate_mode="bilinear")
    peak = fine.amax(dim=(1, 2, 3), keepdim=True)
    fine = torch.where(peak > 0, fine / peak.clamp_min(1e-12), torch.zeros_like(fine))
    return raw[:, 0].detach(), fine[:, 0].detach().numpy()


# ------------------------------------------------------- captum as reference --

CASES = [  # builder, name of the default layer, image size
    (lambda: small_cnn(num_classes=3, width=8), "block3", 28),
    (lambda: resnet_small(num_classes=3, width=8), "stage3", 28),
    (lambda: resnet18(num_classes=3), "layer4", 64),
]


@pytest.mark.parametrize("build, layer_name, size", CASES, ids=["small_cnn", "resnet_small", "r18"])
@pytest.mark.parametrize("target", ["predicted", 2, [0, 1, 2, 1, 0, 2]])
def test_grad_cam_equals_captum_layer_grad_cam(build, layer_name, size, target):
    pytest.importorskip("captum", reason="captum (the reference Grad-CAM) is not installed")
    torch.manual_seed(0)
    net = _trained_looking(build()).eval()
    images = torch.rand(6, 1, size, size)
    layer = getattr(net, layer_name)
    assert S.last_conv_layer(net, images) is layer  # the default layer is the one compared
    predicted = net(images).argmax(dim=1).tolist()
    captum_target = predicted if target == "predicted" else target
    ours_target = None if target == "predicted" else target

    raw_ref, fine_ref = _captum_maps(net, images, layer, captum_target, (size, size))
    raw = S.raw_grad_cam(net, images, layer=layer, target=ours_target)
    assert raw.shape == raw_ref.shape and raw.shape[-1] > 1
    torch.testing.assert_close(raw, raw_ref, rtol=1e-5, atol=1e-7)

    fine = S.grad_cam(net, images, target=ours_target)
    assert fine.shape == (6, size, size) and fine.dtype == np.float32
    np.testing.assert_allclose(fine, fine_ref, rtol=1e-5, atol=1e-6)
    assert fine.min() >= 0 and fine.max() <= 1
    for one in fine:  # each map peaks at exactly 1, unless it has no positive value at all
        assert one.max() == pytest.approx(1.0) or not one.any()


def test_an_earlier_layer_also_matches_captum():
    pytest.importorskip("captum", reason="captum (the reference Grad-CAM) is not installed")
    torch.manual_seed(1)
    net = _trained_looking(small_cnn(num_classes=2, width=8)).eval()
    images = torch.rand(4, 1, 28, 28)
    raw_ref, fine_ref = _captum_maps(net, images, net.block2, [1, 0, 1, 1], (28, 28))
    ours = S.raw_grad_cam(net, images, layer=net.block2, target=[1, 0, 1, 1])
    assert ours.shape == (4, 7, 7)
    torch.testing.assert_close(ours, raw_ref, rtol=1e-5, atol=1e-7)
    fine = S.grad_cam(net, images, layer=net.block2, target=[1, 0, 1, 1])
    np.testing.assert_allclose(fine, fine_ref, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------ leaves things as found --


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.mark.parametrize("training", [True, False])
def test_mode_restored_hooks_removed_and_weight_gradients_untouched(training):
    net = small_cnn(width=4, dropout=0.5).train(training)
    images = torch.rand(3, 1, 28, 28)
    S.grad_cam(net, images)
    assert net.training is training
    assert all(m.training is training for m in net.modules())
    assert _hook_count(net) == 0
    assert all(p.grad is None for p in net.parameters())
    assert not images.requires_grad and images.grad is None  # the caller's batch is untouched


def test_mixed_modes_are_restored_part_by_part():
    net = small_cnn(width=4).train()
    net.block1.bn.eval()  # e.g. a frozen batch norm while the rest trains
    S.grad_cam(net, torch.rand(2, 1, 28, 28))
    assert not net.block1.bn.training and net.training and net.block2.bn.training


def test_a_frozen_model_gives_the_same_maps():
    net = small_cnn(width=4, num_classes=2)
    images = torch.rand(3, 1, 28, 28)
    expected = S.grad_cam(net, images, target=1)
    for p in net.parameters():
        p.requires_grad_(False)  # as after rl.transfer.freeze
    np.testing.assert_array_equal(S.grad_cam(net, images, target=1), expected)


def test_existing_weight_gradients_are_kept_and_no_grad_is_fine():
    net = small_cnn(width=4)
    net(torch.rand(2, 1, 28, 28)).sum().backward()
    before = [p.grad.clone() for p in net.parameters()]
    with torch.no_grad():  # as a lesson might call it
        maps = S.grad_cam(net, torch.rand(2, 1, 28, 28), target=0)
    assert maps.shape == (2, 28, 28)
    for p, g in zip(net.parameters(), before):
        assert torch.equal(p.grad, g)


def test_hooks_are_removed_and_mode_restored_after_an_error_too():
    net = resnet18().train()
    with pytest.raises(ValueError):
        S.grad_cam(net, torch.rand(2, 1, 28, 28), layer=net.layer4)
    with pytest.raises(ValueError, match="class index from 0 to 1"):
        S.grad_cam(net, torch.rand(2, 1, 64, 64), target=5)
    assert net.training and _hook_count(net) == 0


def test_the_same_maps_with_the_model_in_channels_last():
    torch.manual_seed(2)
    for net in (small_cnn(num_classes=3, width=8), resnet_small(num_classes=3, width=8)):
        _trained_looking(net).eval()
        images = torch.rand(4, 1, 32, 32)
        expected = S.grad_cam(net, images, target=[0, 1, 2, 0])
        net = net.to(memory_format=torch.channels_last)
        fast = images.to(memory_format=torch.channels_last)
        np.testing.assert_allclose(
            S.grad_cam(net, fast, target=[0, 1, 2, 0]), expected, rtol=1e-4, atol=1e-5
        )


def test_inputs_and_targets_are_checked_with_clear_messages():
    net = small_cnn(width=4, num_classes=2)
    with pytest.raises(ValueError, match=r"image\[None\]"):
        S.grad_cam(net, torch.rand(1, 28, 28))
    with pytest.raises(ValueError, match="3 classes for 2 images"):
        S.grad_cam(net, torch.rand(2, 1, 28, 28), target=[0, 1, 1])
    with pytest.raises(ValueError, match=r"'fc' gives shape \(2, 2\)"):
        S.grad_cam(net, torch.rand(2, 1, 28, 28), layer=net.fc)
    with pytest.raises(ValueError, match="no convolutional layer"):
        S.last_conv_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))
    maps = S.grad_cam(net, np.random.default_rng(0).random((2, 1, 16, 16)), target=1)  # NumPy
    assert maps.shape == (2, 16, 16)


def test_a_map_with_no_positive_value_stays_zero():
    net = small_cnn(width=4, num_classes=2).eval()
    with torch.no_grad():  # class 1 is pushed down by everything the last block sees
        net.fc.weight[1] = -net.fc.weight[1].abs() - 0.1
    images = torch.rand(2, 1, 16, 16)
    raw = S.raw_grad_cam(net, images, layer=net.block3, target=1)
    assert (raw <= 0).all()  # block3 comes after a ReLU: every value >= 0, every weight < 0
    maps = S.grad_cam(net, images, layer=net.block3, target=1)
    assert np.isfinite(maps).all() and not maps.any()


# ------------------------------------------------------------ a known answer --


def test_the_map_finds_a_bright_square_the_network_learned():
    """Class 1 = a bright 6 x 6 square at rows 4-9, columns 20-25 of a 32 px noise image.

    A small CNN (no batch norm, so that eval mode equals training) learns it in 40 Adam
    steps (under 2 s). The maximum of the class-1 map of new images must lie within one cell
    of the layer's grid of the square: 4 px for block2 (8 x 8), 8 px for block3 (4 x 4).
    """
    torch.manual_seed(0)
    images = 0.3 * torch.rand(256, 1, 32, 32)
    labels = torch.arange(256) % 2
    images[labels == 1, :, 4:10, 20:26] += 0.7
    net = small_cnn(num_classes=2, width=8, batchnorm=False)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(40):
        batch = torch.randint(0, 256, (64,))
        loss = F.cross_entropy(net(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        assert (net(images).argmax(1) == labels).float().mean() > 0.95

    new = 0.3 * torch.rand(8, 1, 32, 32)
    new[:, :, 4:10, 20:26] += 0.7
    for layer, tolerance in ((net.block2, 4), (None, 8)):
        for one in S.grad_cam(net, new, layer=layer, target=1):
            row, col = np.unravel_index(one.argmax(), one.shape)
            outside_rows = max(4 - row, row - 9, 0)  # pixels outside the square, 0 = inside
            outside_cols = max(20 - col, col - 25, 0)
            assert max(outside_rows, outside_cols) <= tolerance, (row, col)

    # the sanity check on the same network: its map is not that of a random network
    random_net = S.randomized_copy(net)
    random_maps = S.grad_cam(random_net, new, layer=random_net.block2, target=1)
    with pytest.raises(ValueError, match="a part of this model"):
        S.grad_cam(random_net, new, layer=net.block2)  # a layer of the other network
    trained_maps = S.grad_cam(net, new, layer=net.block2, target=1)
    similarity = S.map_similarity(trained_maps, random_maps)
    print(f"similarity trained vs randomized: {similarity:.3f}")
    assert np.isnan(similarity) or similarity < 0.5


# ------------------------------------------------------ the small-image pitfall --


def test_a_1x1_layer_is_refused_with_its_size_and_an_earlier_layer():
    net = resnet18()  # ImageNet stem: 28 -> 14 -> 7 -> 7 -> 4 -> 2 -> 1
    with pytest.raises(ValueError) as info:
        S.grad_cam(net, torch.rand(2, 1, 28, 28), layer=net.layer4)
    message = str(info.value)
    assert "'layer4'" in message and "1 x 1" in message and "28 x 28" in message
    assert "layer=model.layer3 (2 x 2)" in message


def test_the_default_layer_passes_over_1x1_parts_and_says_so():
    net = small_cnn(width=4)  # at 8 px: block1 4 x 4, block2 2 x 2, block3 1 x 1
    with pytest.warns(UserWarning, match=r"'block3' gives a 1 x 1 .* 'block2' \(2 x 2\)"):
        maps = S.grad_cam(net, torch.rand(2, 1, 8, 8), target=0)
    assert maps.shape == (2, 8, 8)
    assert S.last_conv_layer(net) is net.block3  # without images: the last one


def test_no_layer_with_a_layout_at_all_is_an_error():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 2))  # 3 px in, 1 x 1 out
    with pytest.raises(ValueError, match="3 x 3 pixels every convolutional part"):
        S.grad_cam(net, torch.rand(2, 1, 3, 3))


def test_the_default_layer_opens_a_single_wrapper():
    inner = small_cnn(width=4)
    wrapped = nn.Sequential(inner)
    assert S.last_conv_layer(wrapped) is inner.block3


# ---------------------------------------------------------- randomization check --


def test_randomized_copy_changes_every_weight_and_leaves_the_original():
    class Scaled(nn.Module):  # a learnable tensor that no reset_parameters knows
        def __init__(self):
            super().__init__()
            self.net = small_cnn(width=4)
            self.gain = nn.Parameter(torch.full((2,), 3.0))

        def forward(self, x):
            return self.net(x) * self.gain

    model = _trained_looking(Scaled())
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    rng_before = torch.get_rng_state()
    fresh = S.randomized_copy(model, seed=3)
    assert torch.equal(torch.get_rng_state(), rng_before)  # torch's random state untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[k]), f"the original's {k} changed"
    new = dict(fresh.named_parameters())
    for name, p in model.named_parameters():
        assert not torch.equal(new[name], p), f"{name} was not re-drawn"
    for m in fresh.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
            assert torch.equal(m.running_var, torch.ones_like(m.running_var))
    again = S.randomized_copy(model, seed=3)
    for (_, a), (_, b) in zip(fresh.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b)  # same seed, same copy
    other = S.randomized_copy(model, seed=4)
    assert not torch.equal(other.net.fc.weight, fresh.net.fc.weight)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_similarity_is_scipy_spearman_averaged_over_images(seed):
    rng = np.random.default_rng(seed)
    a = np.round(rng.random((4, 7, 7)), 1)  # rounded: many ties
    b = np.round(a + rng.normal(0, 0.3, a.shape), 1)
    expected = np.mean([stats.spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)])
    assert S.map_similarity(a, b) == pytest.approx(expected, abs=1e-12)
    assert S.map_similarity(torch.from_numpy(a[0]), b[0]) == pytest.approx(
        stats.spearmanr(a[0].ravel(), b[0].ravel()).statistic, abs=1e-12
    )
    signed = a - 0.5
    expected_abs = np.mean(
        [stats.spearmanr(np.abs(x.ravel()), np.abs(y.ravel())).statistic for x, y in zip(signed, b)]
    )
    assert S.map_similarity(signed, b, absolute=True) == pytest.approx(expected_abs, abs=1e-12)


def test_map_similarity_edge_cases():
    m = np.random.default_rng(0).random((3, 5, 5))
    assert S.map_similarity(m, m) == 1.0
    assert S.map_similarity(m, -m) == -1.0
    flat = np.zeros((5, 5))
    assert np.isnan(S.map_similarity(flat, m[0]))  # a constant map has no order
    both = np.stack([flat, m[1]])
    assert S.map_similarity(both, np.stack([m[0], m[1]])) == 1.0  # only the second counts
    with pytest.raises(ValueError, match="same shape"):
        S.map_similarity(m, m[0])


# ------------------------------------------------------------------- picture --


def test_overlay_draws_the_map_over_the_image():
    image = np.random.default_rng(0).random((28, 28))
    cam = np.zeros((7, 7))
    cam[1, 5] = 1.0
    fig = S.overlay(image, cam, title="class 1")
    (ax,) = fig.axes
    assert len(ax.images) == 2 and ax.images[1].get_extent() == [-0.5, 27.5, 27.5, -0.5]
    assert "class 1" in ax.get_title()
    from radlab.plot import figure

    fig2, axes = figure(1, 2)
    assert S.overlay(image[None], cam, ax=axes[1]) is fig2 and len(axes[1].images) == 2
    with pytest.raises(ValueError, match="one map"):
        S.overlay(image, np.zeros((2, 7, 7)))
