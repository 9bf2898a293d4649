"""Where does the network look? Grad-CAM maps, and the sanity check every map should pass.

Grad-CAM (Selvaraju et al., ICCV 2017) answers "which parts of this image
pushed the score of this class up?". It takes one convolutional layer, whose
output is a stack of maps ``(C, h, w)`` that still keep the image's layout,
and weighs each map by how much the class score rises when that map rises
(the gradient, averaged over the map). The weighted sum, with negative values
set to zero, is a coarse heat map ``(h, w)``, enlarged to the image.

=========================  ===================================================
``grad_cam``               maps (N, H, W) in [0, 1], one per image
``raw_grad_cam``           the same before zeroing and enlarging: (N, h, w)
``last_conv_layer``        the layer ``grad_cam`` uses when none is given
``randomized_copy``        a copy of the model with every weight re-drawn
``map_similarity``         Spearman rank correlation of two maps
``overlay``                a map drawn over a grey image
=========================  ===================================================

Two warnings belong with every such map (lesson 11):

- **Small images.** The map is only as fine as the layer: at 28 px the last
  block of ``rl.models.small_cnn`` is 3 x 3, ResNet-18's ``layer4`` is 1 x 1,
  and a 1 x 1 map says nothing about where. Asked for a 1 x 1 layer,
  ``grad_cam`` refuses (a ``ValueError`` that names the size and an earlier
  layer to use instead); choosing the layer itself, it passes over 1 x 1 parts
  to the last one with a layout, and warns that it did. A coarse map is
  also only roughly placed: at 28 px ``small_cnn``'s pooling takes 7 -> 3 and
  drops the last row and column, so its 3 x 3 map covers the first 24 pixels
  but is stretched over all 28 (as in every Grad-CAM library).
- **A map must depend on what the network learned.** Adebayo et al. ("Sanity
  checks for saliency maps", NeurIPS 2018) re-drew all the weights of a
  trained network and found that some methods still gave almost the same
  picture: such a map shows the image's edges, not the model's reasoning.
  ``randomized_copy`` and ``map_similarity`` run that check: a faithful
  method gives a LOW similarity between the trained and the randomized map.
  Compare the maps of ``raw_grad_cam`` there: a random network's Grad-CAM is
  often negative everywhere, so ``grad_cam`` (negatives set to 0) gives an
  empty map, which has no pixel order to compare (``map_similarity``: nan).

Example:
    >>> import torch
    >>> from radlab.models import small_cnn
    >>> net = small_cnn(width=4)
    >>> maps = grad_cam(net, torch.rand(2, 1, 16, 16), target=1)
    >>> maps.shape, bool(maps.min() >= 0), bool(maps.max() <= 1)
    ((2, 16, 16), True, True)
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import to_numpy, to_slice

__all__ = [
    "grad_cam",
    "raw_grad_cam",
    "last_conv_layer",
    "randomized_copy",
    "map_similarity",
    "overlay",
]


# ----------------------------------------------------------- choosing a layer --


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def _conv_candidates(model: nn.Module) -> list[nn.Module]:
    """The model's parts that hold a convolution, at the level ``last_conv_layer`` looks at.

    That level is the model's own children (``block1``... of ``small_cnn``,
    ``layer1``... of ResNet-18); a single wrapper that holds all the
    convolutions (VGG's ``features``) is opened, and so on down.
    """
    module = model
    while True:
        parts = [child for child in module.children() if _has_conv(child)]
        if len(parts) != 1 or not list(parts[0].children()):
            return parts or ([module] if isinstance(module, nn.Conv2d) else [])
        module = parts[0]  # one wrapper holding every convolution: look inside it


def _output_sizes(model: nn.Module, layers: Sequence[nn.Module], images: torch.Tensor) -> list:
    """The (h, w) each layer gives for the first image (one forward pass, no gradients)."""
    sizes: dict[int, tuple[int, int]] = {}

    def keep_size(i: int):
        def hook(module, inputs, output) -> None:  # returns None: the output is not changed
            sizes.setdefault(i, tuple(output.shape[-2:]))

        return hook

    hooks = [layer.register_forward_hook(keep_size(i)) for i, layer in enumerate(layers)]
    try:
        with torch.no_grad():
            model(images[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return [sizes.get(i) for i in range(len(layers))]


def _name_of(model: nn.Module, layer: nn.Module) -> str:
    for name, module in model.named_modules():
        if module is layer:
            return name or "the model itself"
    return type(layer).__name__


def last_conv_layer(model: nn.Module, images: torch.Tensor | None = None) -> nn.Module:
    """The layer Grad-CAM uses by default: the last part of the model that holds a convolution.

    For the course's models this is ``block3`` of ``small_cnn``, ``stage3`` of
    ``resnet_small`` and ``layer4`` of ``resnet18`` (parts, not single
    convolutions: their output is what the rest of the network reads).

    Args:
        model: a CNN.
        images: optional (N, C, H, W) batch at the size the map is for. When given,
            parts whose output is only 1 x 1 at that size are passed over (with a
            warning), since a 1 x 1 map carries no location; the model should be in
            eval mode then (``grad_cam`` sees to that).

    Raises:
        ValueError: when the model has no convolution, or none with an output
            larger than 1 x 1 at the size of ``images``.

    Example:
        >>> import torch
        >>> from radlab.models import resnet18
        >>> net = resnet18().eval()
        >>> last_conv_layer(net) is net.layer4
        True
        >>> last_conv_layer(net, torch.zeros(1, 1, 28, 28)) is net.layer3  # layer4: 1 x 1
        True
    """
    candidates = _conv_candidates(model)
    if not candidates:
        raise ValueError(
            f"{type(model).__name__} has no convolutional layer (nn.Conv2d), so Grad-CAM has "
            "no map to weigh. Pass layer= a module whose output is shaped (N, C, h, w)."
        )
    if images is None:
        return candidates[-1]
    sizes = _output_sizes(model, candidates, images)
    spatial = [c for c, s in zip(candidates, sizes) if s is not None and s[0] * s[1] > 1]
    if not spatial:
        raise ValueError(
            f"At {images.shape[-2]} x {images.shape[-1]} pixels every convolutional part of this "
            "model gives a 1 x 1 output, which holds no location. Use larger images, or pass "
            "layer= a single convolution inside the first block."
        )
    if spatial[-1] is not candidates[-1]:
        last, chosen = candidates[-1], spatial[-1]
        warnings.warn(
            f"Grad-CAM: '{_name_of(model, last)}' gives a 1 x 1 output at "
            f"{images.shape[-2]} x {images.shape[-1]} pixels (no location), so the map is taken "
            f"from '{_name_of(model, chosen)}' ({_size_text(sizes[candidates.index(chosen)])}).",
            stacklevel=3,
        )
    return spatial[-1]


def _shape_text(output) -> str:
    shape = getattr(output, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else f"a {type(output).__name__}"


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]} x {size[1]}"


def _too_coarse_message(model, layer, images, size) -> str:
    """What went wrong with a 1 x 1 layer, and the earlier part to use instead."""
    text = (
        f"Grad-CAM needs a layer that still has a layout, but '{_name_of(model, layer)}' gives "
        f"a {_size_text(size)} output for {images.shape[-2]} x {images.shape[-1]} pixel images: "
        "one number per channel, which says nothing about where in the image. "
    )
    earlier = _conv_candidates(model)
    earlier = earlier[: earlier.index(layer)] if layer in earlier else earlier
    sizes = _output_sizes(model, earlier, images) if earlier else []
    spatial = [(c, s) for c, s in zip(earlier, sizes) if s is not None and s[0] * s[1] > 1]
    if spatial:
        part, part_size = spatial[-1]
        return text + (
            f"Choose an earlier layer, e.g. layer=model.{_name_of(model, part)} "
            f"({_size_text(part_size)}), or use larger images."
        )
    return text + "Choose an earlier layer (one with output larger than 1 x 1), or larger images."


# ------------------------------------------------------------------ Grad-CAM --


def _targets(target, logits: torch.Tensor) -> torch.Tensor:
    """One class index per image: the predicted class, one class for all, or one each."""
    n, num_classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    chosen = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if chosen.numel() == 1:
        chosen = chosen.expand(n)
    if chosen.numel() != n:
        raise ValueError(f"target has {chosen.numel()} classes for {n} images; give one or {n}.")
    if chosen.min() < 0 or chosen.max() >= num_classes:
        raise ValueError(f"target must be a class index from 0 to {num_classes - 1}.")
    return chosen


def _as_batch(images, model: nn.Module) -> torch.Tensor:
    """Images as a float (N, C, H, W) tensor on the model's device."""
    images = torch.as_tensor(images)
    if images.ndim != 4:
        raise ValueError(
            f"images must be a batch shaped (N, C, H, W); got {tuple(images.shape)}. "
            "For one image add the batch axis: image[None]."
        )
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else images.device
    return images.to(device=device, dtype=torch.float32)


def raw_grad_cam(model: nn.Module, images, *, layer: nn.Module, target=None) -> torch.Tensor:
    """Grad-CAM at the layer's own size, before negative values are set to zero: (N, h, w).

    The model must already be in the mode you want (``grad_cam`` puts it in eval
    mode). Only the layer's output is differentiated (``torch.autograd.grad``), so
    the ``.grad`` of the model's weights is never touched.

    Args:
        model: a classifier returning logits (N, num_classes).
        images: (N, C, H, W) batch.
        layer: the module whose output (N, C, h, w) is weighed.
        target: class index, one per image, or None for the predicted class.

    Example:
        >>> import torch
        >>> from radlab.models import small_cnn
        >>> net = small_cnn(width=4).eval()
        >>> raw_grad_cam(net, torch.rand(3, 1, 28, 28), layer=net.block2).shape
        torch.Size([3, 7, 7])
    """
    images = _as_batch(images, model)
    saved = {}
    hook = layer.register_forward_hook(lambda mod, inp, out: saved.update(maps=out))
    try:
        with torch.enable_grad():  # also inside a caller's torch.no_grad()
            logits = model(images.detach().requires_grad_(True))  # (N, num_classes)
            if "maps" not in saved:
                raise ValueError(
                    "The layer did not run when the model did: it must be a part of this model, "
                    "e.g. layer=model.block2 (not a layer of another copy of it)."
                )
            maps = saved["maps"]  # (N, C, h, w): the layer's output
            if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
                raise ValueError(
                    f"Grad-CAM needs a layer whose output is a stack of maps (N, C, h, w); "
                    f"'{_name_of(model, layer)}' gives {_shape_text(maps)}. Choose a "
                    "convolutional layer, e.g. rl.saliency.last_conv_layer(model)."
                )
            if maps.shape[-2] * maps.shape[-1] == 1:
                raise ValueError(_too_coarse_message(model, layer, images, maps.shape[-2:]))
            chosen = _targets(target, logits)  # (N,) one class per image
            score = logits.gather(1, chosen[:, None]).sum()  # each image's own class score
            # d score / d maps; in eval mode each image's score depends only on its own maps
            (gradient,) = torch.autograd.grad(score, maps)  # (N, C, h, w)
    finally:
        hook.remove()  # always: a forgotten hook would run on every later forward pass
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1): importance of each map
    return (weights * maps).sum(dim=1).detach()  # (N, h, w): the maps, weighted and summed


def grad_cam(
    model: nn.Module, images, *, layer: nn.Module | None = None, target=None
) -> np.ndarray:
    """Grad-CAM heat maps: where the image raised the score of the target class.

    The model is run in eval mode and given back in the mode it was in; the
    ``.grad`` of its weights is left as it was; the map is computed on the
    model's device.

    Args:
        model: a classifier returning logits (N, num_classes).
        images: (N, C, H, W) batch (tensor or array).
        layer: the convolutional layer to explain; default :func:`last_conv_layer`
            (the last part holding a convolution whose output is larger than 1 x 1).
        target: class index for every image, a list with one per image, or None for
            the class the model predicts for each image.

    Returns:
        (N, H, W) float32 maps in [0, 1]: the negative values set to zero (ReLU), enlarged
        to the image size by bilinear interpolation, then divided by each map's maximum, so
        0 means "no evidence for the class" and 1 the strongest place. A map with no
        positive value stays all zero.

    Raises:
        ValueError: when ``layer``'s output is 1 x 1 (e.g. ResNet-18's ``layer4`` at
            28 px): the message gives the size and an earlier layer to use.

    Example:
        >>> import torch
        >>> from radlab.models import resnet_small
        >>> net = resnet_small(num_classes=3)
        >>> grad_cam(net, torch.rand(4, 1, 28, 28), target=[0, 1, 2, 0]).shape
        (4, 28, 28)
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()  # batch norm and dropout as in use
    try:
        images = _as_batch(images, model)
        layer = layer if layer is not None else last_conv_layer(model, images)
        coarse = raw_grad_cam(model, images, layer=layer, target=target).relu()  # (N, h, w)
    finally:
        for module, training in modes.items():  # each part back in the mode it was in
            module.training = training
    fine = F.interpolate(coarse[:, None], size=images.shape[-2:], mode="bilinear")[:, 0]
    peak = fine.amax(dim=(1, 2), keepdim=True)  # (N, 1, 1)
    fine = torch.where(peak > 0, fine / peak.clamp_min(1e-12), torch.zeros_like(fine))
    return to_numpy(fine.contiguous()).astype(np.float32)


# -------------------------------------------------------- the sanity check --


def randomized_copy(model: nn.Module, *, seed: int = 0) -> nn.Module:
    """A copy of the model with every learnable weight re-drawn, as before any training.

    The "model randomization" test of Adebayo et al. (NeurIPS 2018): a map that
    barely changes when the weights it should explain are replaced by random
    ones does not explain the model. Each layer that knows how to start afresh
    (``reset_parameters``: convolutions, linear layers, batch normalization,
    whose running mean and variance are reset too) does so; any other learnable
    tensor gets random normal values with its former mean and spread. The
    original model is not changed, nor is torch's global random state.

    Args:
        model: the trained model.
        seed: seed of the new random weights (the same seed gives the same copy).

    Example:
        >>> import torch
        >>> from radlab.models import small_cnn
        >>> net = small_cnn(width=4)
        >>> bool(torch.equal(net.fc.weight, randomized_copy(net).fc.weight))
        False
    """
    fresh = copy.deepcopy(model)
    devices = sorted({p.device.index or 0 for p in fresh.parameters() if p.is_cuda})
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        done: set[int] = set()
        for module in fresh.modules():
            if callable(getattr(module, "reset_parameters", None)):
                module.reset_parameters()
                done.update(id(p) for p in module.parameters(recurse=False))
        with torch.no_grad():
            for p in fresh.parameters():
                if id(p) not in done:  # a tensor no layer knows how to reset
                    spread = float(p.std()) if p.numel() > 1 else 0.0
                    p.normal_(float(p.mean()), spread or 0.02)
    return fresh


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n; tied values share their average rank (as in Spearman's coefficient)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    _, group, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(group, weights=ranks)
    return sums[group] / counts[group]


def map_similarity(a, b, *, absolute: bool = False) -> float:
    """Spearman rank correlation of two maps (per image, then averaged over the images).

    1 means the two maps order the pixels the same way, 0 no relation, -1 the
    reverse order. It is Pearson's correlation of the pixel ranks (ties share
    their average rank), the value ``scipy.stats.spearmanr`` gives. For the
    randomization check a faithful method gives a LOW value between the map of
    the trained model and that of its :func:`randomized_copy`.

    Args:
        a, b: maps of the same shape, (H, W) or (N, H, W); arrays or tensors.
        absolute: compare the absolute values (as Adebayo et al. do too, for
            methods whose sign is unreliable); Grad-CAM maps are already >= 0.

    Returns:
        The mean over images. A map with all pixels equal (e.g. all zero) has no
        order, so its image is left out of the mean; ``nan`` when every image is.

    Example:
        >>> import numpy as np
        >>> m = np.arange(16.0).reshape(4, 4)
        >>> map_similarity(m, m), map_similarity(m, -m), map_similarity(m, m**3)
        (1.0, -1.0, 1.0)
    """
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(
            f"Two maps of the same shape, (H, W) or (N, H, W), are needed; got {a.shape} "
            f"and {b.shape}."
        )
    if absolute:
        a, b = np.abs(a), np.abs(b)
    a, b = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])  # (N, H, W)
    values = []
    for one, other in zip(a, b):
        x, y = _ranks(one.ravel()), _ranks(other.ravel())
        x, y = x - x.mean(), y - y.mean()
        norm = np.sqrt((x * x).sum() * (y * y).sum())
        if norm > 0:  # a constant map has no order to compare
            values.append(float(np.clip((x * y).sum() / norm, -1.0, 1.0)))
    return float(np.mean(values)) if values else float("nan")


# ------------------------------------------------------------------- picture --


def overlay(
    image,
    cam,
    *,
    alpha: float = 0.4,
    ax=None,
    title: str | None = None,
    cmap: str = "jet",
):
    """Draw a map in colour over a grey image; weak places stay see-through.

    Each pixel's colour is drawn with opacity ``alpha`` times the map's value, so
    the image shows through where the map is near 0 and the colour is strongest
    where it is 1. No colour bar: red is the strongest place, blue the weakest.

    Args:
        image: (H, W) or (1, H, W) grey image, in [0, 1] (or any values: shown min to max).
        cam: the map in [0, 1], e.g. ``grad_cam(...)[i]``; a coarser map is stretched
            over the image.
        alpha: opacity of the colour at the strongest place (0 to 1).
        ax: draw into this axes instead of a new figure.
        title: text above the image.
        cmap: matplotlib colour map of the heat map.

    Returns:
        The matplotlib ``Figure`` (end a notebook cell with it to show it).
    """
    from . import plot  # here: plotting is only needed for pictures

    cam = np.clip(np.asarray(to_numpy(cam), dtype=np.float32).squeeze(), 0.0, 1.0)
    if cam.ndim != 2:
        raise ValueError(f"cam must be one map shaped (H, W); got {cam.shape}. Pick one: maps[0].")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha is an opacity between 0 and 1; got {alpha}.")
    fig = plot.show(image, ax=ax, title=title)
    ax = ax if ax is not None else fig.axes[0]
    height, width = to_slice(image).shape
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # the image's own pixel grid
    ax.imshow(
        cam, cmap=cmap, vmin=0, vmax=1, alpha=alpha * cam, extent=extent, interpolation="bilinear"
    )
    return fig
