"""Transfer learning: start from a trained network, change its head, freeze what should not move.

A network trained on a task A with many cases (ImageNet photographs, or
thousands of CT slices) already holds filters for edges, textures and shapes.
For a task B with few cases one keeps those filters and changes only what
must change (the review's Fig. 11):

=========================  ==================================================
``imagenet_weights``       ImageNet weights from torch's cache; never downloads
``weights_file``           where torch keeps that file on this machine
``WeightsNotFound``        the error (a ``FileNotFoundError``) when it is absent
``imagenet_resnet18``      ResNet-18 with ImageNet weights, grey input, new head
``grayscale_conv``         a first layer for RGB turned into one for grey images
``replace_head``           a new last layer for task B's classes
``freeze``                 train only the named layers; returns what is trainable
=========================  ==================================================

Nothing here downloads: a lesson must run with no internet and must not hang
waiting for one. When the ImageNet file is missing, :class:`WeightsNotFound`
says which file, where it belongs, and how to fetch it elsewhere.

Example:
    >>> from radlab.models import small_cnn
    >>> net = replace_head(small_cnn(num_classes=11, width=4), num_classes=2)
    >>> net.fc
    Linear(in_features=16, out_features=2, bias=True)
    >>> freeze(net, train_only=["fc"])  # 16 weights x 2 classes + 2 biases
    34
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

__all__ = [
    "WeightsNotFound",
    "weights_file",
    "imagenet_weights",
    "grayscale_conv",
    "imagenet_resnet18",
    "replace_head",
    "freeze",
]

FETCH_COMMAND = (
    "python -c \"import torchvision; torchvision.models.resnet18(weights='IMAGENET1K_V1')\""
)


class WeightsNotFound(FileNotFoundError):
    """Pretrained weights are not on this machine (radlab never downloads them)."""


def _weights_spec(name: str = "IMAGENET1K_V1"):
    """torchvision's description of ResNet-18's ImageNet weights (its url names the file)."""
    from torchvision.models import ResNet18_Weights

    key = "DEFAULT" if name.lower() in ("imagenet", "default") else name
    try:
        return ResNet18_Weights[key]
    except KeyError:
        known = ", ".join(["imagenet", "DEFAULT", *ResNet18_Weights.__members__])
        raise ValueError(f"Unknown weights {name!r} for ResNet-18; use one of {known}.") from None


def weights_file(name: str = "IMAGENET1K_V1") -> Path:
    """The path where torch keeps ResNet-18's ImageNet weights: ``<hub dir>/checkpoints/<file>``.

    The hub folder is ``torch.hub.get_dir()`` (``$TORCH_HOME/hub``, by default
    ``~/.cache/torch/hub``); the file name is the last part of the weights' url.
    """
    spec = _weights_spec(name)
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(spec.url).name


def _missing_message(path: Path) -> str:
    return (
        f"The ImageNet weights for ResNet-18 are not on this machine: the file {path.name} "
        f"is not in {path.parent}. radlab never downloads them by itself (a lesson must not "
        "hang without internet). On a computer with internet run once:\n"
        f"    {FETCH_COMMAND}\n"
        f"then copy {path.name} from that computer's torch cache (~/.cache/torch/hub/"
        f"checkpoints/) into {path.parent} here. Until then, train from scratch or start "
        "from a network trained on your own task A."
    )


def imagenet_weights(name: str = "IMAGENET1K_V1") -> dict[str, torch.Tensor]:
    """ResNet-18's ImageNet weights (a state dict) read from torch's cache, never downloaded.

    Raises:
        WeightsNotFound: the file is not in the cache; the message names the file, the
            folder it belongs in and the command that fetches it on a computer with internet.
    """
    path = weights_file(name)
    if not path.is_file():
        raise WeightsNotFound(_missing_message(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def grayscale_conv(conv: nn.Conv2d, *, how: str = "sum") -> nn.Conv2d:
    """A copy of an RGB first layer that takes one grey channel, keeping what its filters learned.

    Each filter has three slices, one per colour (weight shape ``(out, 3, F, F)``).
    Convolution is linear, so a grey image ``g`` copied into R, G and B gives
    ``W_R * g + W_G * g + W_B * g = (W_R + W_G + W_B) * g``:

    - ``how="sum"`` (default) adds the three slices. One grey channel then gives
      exactly the response to the grey image copied into R, G and B, so the
      layers after it (and their batch normalization) see values of the size
      they were trained on.
    - ``how="mean"`` averages them: the response is a third of that, the same as
      feeding the grey image copied into R, G and B and divided by 3.

    Args:
        conv: a convolution with 3 input channels (e.g. ``resnet.conv1``).
        how: ``"sum"`` or ``"mean"`` over the colour axis.

    Example:
        >>> rgb = nn.Conv2d(3, 8, kernel_size=3, bias=False)
        >>> g = torch.rand(1, 1, 9, 9)
        >>> grey = grayscale_conv(rgb)
        >>> bool(torch.allclose(grey(g), rgb(g.repeat(1, 3, 1, 1)), atol=1e-5))
        True
    """
    if how not in ("sum", "mean"):
        raise ValueError(f"how={how!r}: use 'sum' or 'mean'.")
    if conv.in_channels != 3:
        raise ValueError(f"This layer takes {conv.in_channels} channels; expected 3 (RGB).")
    grey = nn.Conv2d(
        1,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        # (out, 3, F, F) -> (out, 1, F, F): the colour axis is dimension 1
        if how == "sum":
            grey.weight.copy_(conv.weight.sum(dim=1, keepdim=True))
        else:
            grey.weight.copy_(conv.weight.mean(dim=1, keepdim=True))
        if conv.bias is not None:
            grey.bias.copy_(conv.bias)
    return grey


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` a new, untrained last layer ``fc`` with ``num_classes`` outputs.

    Works for the course's networks and torchvision's ResNets (both call the
    last layer ``fc``). The layers before it are kept as they are.
    """
    old = getattr(model, "fc", None)
    if not isinstance(old, nn.Linear):
        raise ValueError("This model has no last linear layer called 'fc' to replace.")
    model.fc = nn.Linear(old.in_features, num_classes)
    return model


def freeze(model: nn.Module, train_only: Sequence[str] | None = ("fc",)) -> int:
    """Freeze every parameter except those in the named layers; return how many are trainable.

    Args:
        model: any network.
        train_only: names of the layers to keep training, as in ``model.named_parameters()``
            (``"fc"`` trains ``fc.weight`` and ``fc.bias``). ``None`` unfreezes everything
            (fine-tuning all layers).

    Frozen parameters get no gradient, so the optimizer leaves them as they are. Batch
    normalization's running averages are not parameters: in training mode they still
    follow the new data.
    """
    prefixes = None if train_only is None else [str(name) for name in train_only]
    trainable = 0
    for name, parameter in model.named_parameters():
        if prefixes is None:
            keep = True
        else:
            keep = False
            for prefix in prefixes:
                if name == prefix or name.startswith(prefix + "."):
                    keep = True
        parameter.requires_grad_(keep)
        if keep:
            trainable += parameter.numel()
    if prefixes is not None and trainable == 0:
        raise ValueError(
            f"No parameter belongs to the layers {prefixes}; the model's layers are "
            f"{[name for name, _ in model.named_children()]}."
        )
    return trainable


def imagenet_resnet18(*, num_classes: int = 2, in_channels: int = 1) -> nn.Module:
    """torchvision's ResNet-18 with ImageNet weights, a grey first layer and a new head.

    Args:
        num_classes: outputs of the new last layer (task B's classes).
        in_channels: 1 (grey; the first layer's RGB filters are summed, see
            :func:`grayscale_conv`) or 3 (kept as is).

    Raises:
        WeightsNotFound: the ImageNet file is not on this machine (nothing is downloaded).
    """
    from torchvision.models import resnet18 as tv_resnet18

    if in_channels not in (1, 3):
        raise ValueError(f"in_channels={in_channels}: use 1 (grey) or 3 (RGB).")
    state = imagenet_weights()
    net = tv_resnet18(weights=None)
    net.load_state_dict(state)
    if in_channels == 1:
        net.conv1 = grayscale_conv(net.conv1)
    return replace_head(net, num_classes)
