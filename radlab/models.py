"""The small lesson CNN and a few stronger networks, as builders in the style of torchvision.

Every builder takes keyword arguments only and returns a plain ``nn.Module``
that maps a batch of images ``(N, C, H, W)`` to logits ``(N, num_classes)``:

=======================  ===================================================
``small_cnn``            the lesson CNN: three conv blocks, global pooling
``resnet_small``         a compact ResNet for 28-64 px images (MedMNIST)
``resnet18``             torchvision's ResNet-18, first conv adapted to C
``Ensemble``             several trained models whose probabilities are averaged
``alexnet_small``        AlexNet's plan (5 conv, 3 max pool, 3 fully connected), small
``googlenet_small``      a small GoogLeNet: a stem, three ``Inception`` blocks
``resnet``               ResNet-18 / 34 / 50 from torchvision, or their plain twins
``resnet_thin``          He et al.'s thin CIFAR-style ResNet (6n + 2 layers), or plain
``texture_cnn``          a Texture CNN: the energy of each last map into the classifier
=======================  ===================================================

``multiply_adds`` counts the multiply-adds one image costs (torch's FLOP
counter, halved), the cost the 1 x 1 reductions of GoogLeNet cut.

The pieces they are made of (``conv_block``, ``ResidualBlock``) are public
too, so a lesson can push a random batch through one block and read the
shape it gives, and ``count_parameters`` counts what a model learns.
``layer_table`` lists every layer of a model with the shape it gives and the
numbers it learns, as the review's Fig. 5 draws a CNN (``rl.plot.architecture``
draws the same table as boxes).

The arithmetic of one convolution, for lesson 03: ``conv_output_size`` (the
formula), ``convolve`` (one 2D image and one filter, with torch's ``conv2d``)
and ``KERNELS``, hand-made 3 x 3 filters (``as_kernel`` reads a filter given
by name or as numbers).

Example:
    >>> import torch
    >>> net = small_cnn(in_channels=1, num_classes=2)
    >>> net(torch.zeros(4, 1, 28, 28)).shape
    torch.Size([4, 2])
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import to_numpy, to_slice

__all__ = [
    "KERNELS",
    "as_kernel",
    "conv_output_size",
    "convolve",
    "conv_block",
    "ResidualBlock",
    "small_cnn",
    "resnet_small",
    "resnet18",
    "Ensemble",
    "count_parameters",
    "LayerRow",
    "layer_table",
    "multiply_adds",
    "alexnet_small",
    "Inception",
    "googlenet_small",
    "resnet",
    "resnet_thin",
    "Energy",
    "texture_cnn",
    "fcn",
    "red_cnn",
    "segnet",
    "unet",
]

# 3x3 filters for the convolution lesson. torch's conv2d does not flip the
# kernel (it is a cross-correlation), so each one reads as written.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    # Sobel: responds to horizontal edges (intensity changing from top to bottom)
    "edge horizontal (Sobel)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    # Sobel: responds to vertical edges (intensity changing from left to right)
    "edge vertical (Sobel)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
}


# ----------------------------------------------------------- one convolution --


def conv_output_size(n: int, f: int, s: int = 1, p: int = 0) -> int:
    """Output size of a convolution: ``(n + 2p - f) // s + 1``.

    Args:
        n: input size in pixels (height or width).
        f: filter size (3 for a 3 x 3 filter).
        s: stride.
        p: zero padding added on each side.

    Example:
        >>> conv_output_size(64, 3, s=2, p=1)
        32
    """
    if n + 2 * p < f:
        raise ValueError(f"A {f}x{f} filter does not fit in a {n}-pixel input with padding {p}.")
    return (n + 2 * p - f) // s + 1


def as_kernel(kernel) -> np.ndarray:
    """A square float32 filter (F, F) from a name in ``KERNELS`` or an array/tensor.

    Args:
        kernel: a name such as ``"edge vertical (Sobel)"``, or numbers, e.g. a
            learned filter ``model.conv1.weight[0, 0]``.
    """
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(
                f"There is no kernel called {kernel!r}; choose one of {', '.join(KERNELS)}."
            )
        return KERNELS[kernel]
    values = np.asarray(np.squeeze(to_numpy(kernel)), dtype=np.float32)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"A kernel must be square, e.g. 3x3; this one is {values.shape}.")
    return values


def convolve(image, kernel, *, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Slide one filter over one 2D image with torch's ``conv2d`` (zero padding).

    Args:
        image: (H, W) or (1, H, W) array or tensor.
        kernel: a name in ``KERNELS`` or a square array/tensor (see ``as_kernel``).
        stride, padding: as in ``torch.nn.functional.conv2d``.

    Returns:
        the filter response, (H', W') float32 with H' = ``conv_output_size(H, F, stride, padding)``.

    Example:
        >>> convolve(np.ones((5, 5)), "blur", padding=1).shape
        (5, 5)
    """
    values = as_kernel(kernel)
    x = torch.from_numpy(to_slice(image))[None, None]  # (1, 1, H, W): a batch of one
    w = torch.from_numpy(values).reshape(1, 1, *values.shape)  # (out, in, F, F)
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


# ------------------------------------------------------------------ networks --


def conv_block(
    in_channels: int, out_channels: int, *, batchnorm: bool = True, pool: bool = True
) -> nn.Sequential:
    """One convolutional block: 3 x 3 convolution, batch normalization, ReLU, 2 x 2 max pooling.

    Args:
        in_channels: channels coming in (M).
        out_channels: filters in the convolution, i.e. channels going out (N).
        batchnorm: add batch normalization after the convolution (the
            convolution then needs no bias: BN has its own shift).
        pool: end with 2 x 2 max pooling, which halves height and width.

    Example:
        >>> import torch
        >>> conv_block(1, 8)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 8, 14, 14])
    """
    layers: dict[str, nn.Module] = {
        "conv": nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=not batchnorm),
    }
    if batchnorm:
        layers["bn"] = nn.BatchNorm2d(out_channels)
    layers["relu"] = nn.ReLU(inplace=True)
    if pool:
        layers["pool"] = nn.MaxPool2d(2)
    return nn.Sequential(OrderedDict(layers))  # named layers: the printout shows conv, bn, relu...


class ResidualBlock(nn.Module):
    """Two 3 x 3 convolutions whose output is added to the block's input (a skip connection).

    When the block changes the number of channels or halves the image
    (``stride=2``), a 1 x 1 convolution brings the input to the same shape
    before the addition, as in ResNet.

    Args:
        in_channels: channels coming in.
        out_channels: channels going out.
        stride: 2 halves height and width, 1 keeps them.

    Example:
        >>> import torch
        >>> ResidualBlock(16, 32, stride=2)(torch.zeros(2, 16, 28, 28)).shape
        torch.Size([2, 32, 14, 14])
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.skip(x))  # the skip: input added to the processed data


def _head(in_features: int, num_classes: int, dropout: float) -> list[tuple[str, nn.Module]]:
    """Global average pooling, flatten, dropout, fully connected layer to the class logits."""
    return [
        ("gap", nn.AdaptiveAvgPool2d(1)),  # (N, C, H, W) -> (N, C, 1, 1), any image size works
        ("flatten", nn.Flatten()),  # (N, C)
        ("dropout", nn.Dropout(dropout)),
        ("fc", nn.Linear(in_features, num_classes)),  # (N, num_classes) logits
    ]


def small_cnn(
    *,
    in_channels: int = 1,
    num_classes: int = 2,
    width: int = 32,
    dropout: float = 0.0,
    batchnorm: bool = True,
) -> nn.Sequential:
    """The lesson CNN: three conv blocks, global pooling, dropout, a linear layer.

    The blocks have width, 2 x width and 4 x width filters.

    Small enough to train in seconds on a laptop CPU at 28-64 pixels.

    Args:
        in_channels: 1 for a grayscale image, 3 for three CT phases or RGB.
        num_classes: outputs (logits); 1 for a regression output.
        width: filters in the first block; the next two have 2x and 4x.
        dropout: probability of dropping each unit before the last layer.
        batchnorm: use batch normalization in every block.

    Example:
        >>> import torch
        >>> net = small_cnn(in_channels=3, num_classes=5, width=16)
        >>> net(torch.zeros(8, 3, 64, 64)).shape
        torch.Size([8, 5])
        >>> [name for name, _ in net.named_children()]
        ['block1', 'block2', 'block3', 'gap', 'flatten', 'dropout', 'fc']
    """
    w = width
    layers = [
        ("block1", conv_block(in_channels, w, batchnorm=batchnorm)),  # (N, w, H/2, W/2)
        ("block2", conv_block(w, 2 * w, batchnorm=batchnorm)),  # (N, 2w, H/4, W/4)
        ("block3", conv_block(2 * w, 4 * w, batchnorm=batchnorm)),  # (N, 4w, H/8, W/8)
        *_head(4 * w, num_classes, dropout),
    ]
    return nn.Sequential(OrderedDict(layers))


def resnet_small(
    *, in_channels: int = 1, num_classes: int = 2, width: int = 16, dropout: float = 0.0
) -> nn.Sequential:
    """A compact ResNet for small images: a stem, three residual stages, global pooling, linear.

    The stem (3 x 3 convolution, BN, ReLU, 2 x 2 max pooling) halves the image
    once; the stages keep, halve and halve again, with width, 2 x width and
    4 x width channels. At 28 px: 28 -> 14 -> 14 -> 7 -> 4.

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        width: channels after the stem.
        dropout: dropout before the last layer.

    Example:
        >>> import torch
        >>> net = resnet_small(in_channels=1, num_classes=2)
        >>> net(torch.zeros(4, 1, 28, 28)).shape
        torch.Size([4, 2])
    """
    w = width
    layers = [
        ("stem", conv_block(in_channels, w)),  # (N, w, H/2, W/2)
        ("stage1", ResidualBlock(w, w)),  # (N, w, H/2, W/2)
        ("stage2", ResidualBlock(w, 2 * w, stride=2)),  # (N, 2w, H/4, W/4)
        ("stage3", ResidualBlock(2 * w, 4 * w, stride=2)),  # (N, 4w, H/8, W/8)
        *_head(4 * w, num_classes, dropout),
    ]
    return nn.Sequential(OrderedDict(layers))


def resnet18(
    *, in_channels: int = 1, num_classes: int = 2, weights: str | None = None
) -> nn.Module:
    """torchvision's ResNet-18 with its first convolution adapted to ``in_channels``.

    Args:
        in_channels: image channels; 1 for grayscale radiographs.
        num_classes: outputs of the last layer (replaced when it differs from 1000).
        weights: ``None`` (random start, the default) or ``"imagenet"`` /
            ``"DEFAULT"`` / ``"IMAGENET1K_V1"`` for ImageNet weights. These are
            only read from torch's local cache (:func:`radlab.transfer.imagenet_weights`);
            nothing is downloaded. With pretrained weights and ``in_channels != 3`` each
            first-layer filter becomes its RGB mean times ``3 / in_channels``, repeated, so
            that an image with the same values in every channel gets the response the
            ImageNet network gives that grey image as R = G = B (for one channel: the sum,
            as :func:`radlab.transfer.grayscale_conv` does).

    Example:
        >>> import torch
        >>> net = resnet18(in_channels=1, num_classes=2)
        >>> net(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 2])
    """
    from torchvision.models import resnet18 as tv_resnet18

    from . import transfer  # imported here: radlab.transfer builds on this module

    net = tv_resnet18(weights=None)
    if weights is not None:
        try:
            net.load_state_dict(transfer.imagenet_weights(weights))
        except transfer.WeightsNotFound as missing:
            raise transfer.WeightsNotFound(
                f"{missing} Meanwhile use weights=None to train from scratch."
            ) from None
    if in_channels != 3:
        old = net.conv1
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        if weights is not None:  # keep what the pretrained filters learned (see Args)
            grey = old.weight.mean(dim=1, keepdim=True) * (3 / in_channels)
            with torch.no_grad():
                net.conv1.weight.copy_(grey.repeat(1, in_channels, 1, 1))
    if num_classes != net.fc.out_features:
        net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net


class Ensemble(nn.Module):
    """Several trained models read as one: their class probabilities are averaged.

    Networks trained from different random starts make partly different
    mistakes, so their average ranks cases more reliably than any one of them,
    above all on images that differ from the training ones (Lakshminarayanan
    et al., NeurIPS 2017; Ovadia et al., NeurIPS 2019). ``forward`` returns
    the logarithm of the mean probability, so that ``softmax`` of the output
    is exactly the mean of the members' softmax outputs and the ensemble can
    be used wherever a single classifier is (``radlab.train.predict``).

    Example:
        >>> import torch
        >>> a, b = small_cnn(width=4), small_cnn(width=4)
        >>> x = torch.rand(3, 1, 16, 16)
        >>> p = torch.softmax(Ensemble([a, b]).eval()(x), dim=1)
        >>> mean = (torch.softmax(a.eval()(x), 1) + torch.softmax(b.eval()(x), 1)) / 2
        >>> bool(torch.allclose(p, mean, atol=1e-6))
        True
    """

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)
        if len(self.members) == 0:
            raise ValueError("An ensemble needs at least one trained model.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_probs = torch.stack(
            [torch.log_softmax(m(x).float(), dim=1) for m in self.members]
        )  # (M, N, K)
        return torch.logsumexp(log_probs, dim=0) - torch.log(torch.tensor(float(len(self.members))))


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of numbers the model learns (weights and biases).

    Args:
        model: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad`` (frozen
            layers in transfer learning are then left out).

    Example:
        >>> count_parameters(nn.Conv2d(3, 16, kernel_size=3))  # F*F*M*N + N = 3*3*3*16 + 16
        448
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ------------------------------------------------------------ a model as a table --


class LayerRow(NamedTuple):
    """One row of :func:`layer_table`: one layer, the shape it gives and the numbers it learns."""

    name: str  # where the layer sits in the model, e.g. "block1.conv" ("input": the image)
    layer: str  # what it is, in short, e.g. "conv 3x3, 1->16"
    shape: tuple[int, ...]  # its output for ONE image (no batch axis): (C, H, W), or (K,)
    parameters: int  # weights and biases it holds (0 for ReLU, pooling, dropout, flatten)


def _describe(module: nn.Module) -> str:
    """A short name for a layer: "conv 3x3, 1->16", "max pool 2x2", "dropout p=0.5"..."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        text = f"conv {kh}x{kw}, {module.in_channels}->{module.out_channels}"
        return text if module.stride == (1, 1) else f"{text}, stride {module.stride[0]}"
    if isinstance(module, nn.MaxPool2d):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return f"max pool {k}x{k}"
    if isinstance(module, nn.AvgPool2d):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return f"average pool {k}x{k}"
    if isinstance(module, nn.Dropout):
        return f"dropout p={module.p:g}"
    if isinstance(module, nn.Linear):
        return f"fully connected, {module.in_features}->{module.out_features}"
    names = {
        nn.BatchNorm2d: "batch norm",
        nn.ReLU: "ReLU",
        nn.AdaptiveAvgPool2d: "global average pool",
        nn.Flatten: "flatten",
        nn.Identity: "identity",
    }
    return names.get(type(module), type(module).__name__)


def _output_shape(output) -> tuple[int, ...]:
    """The shape of one image's output (batch axis dropped); the first tensor of a tuple."""
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    return tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else ()


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerRow]:
    """Every layer of ``model`` with the shape it gives and its number of parameters.

    One blank image of ``input_shape`` goes through the model in evaluation mode,
    without learning anything; each layer (a module with no layers inside it) reports
    its output shape on the way, in the order the image meets it. The model's own
    training or evaluation mode is restored afterwards. The parameters of all rows
    add up to the model's total (a layer used twice counts its parameters once).

    Args:
        model: any ``nn.Module`` taking a batch ``(N, *input_shape)``.
        input_shape: one image, without the batch axis: ``(C, H, W)``, e.g. ``(1, 28, 28)``.

    Returns:
        a list of :class:`LayerRow`, the first one the input image itself.

    Example:
        >>> rows = layer_table(small_cnn(width=8), (1, 28, 28))
        >>> rows[1]
        LayerRow(name='block1.conv', layer='conv 3x3, 1->8', shape=(8, 28, 28), parameters=72)
        >>> rows[-1].shape, sum(row.parameters for row in rows)
        ((2,), 6010)
    """
    shape = tuple(int(n) for n in input_shape)
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise ValueError(
            f"input_shape is one image without the batch axis, (channels, height, width), "
            f"e.g. (1, 28, 28); got {tuple(input_shape)}."
        )
    rows = [LayerRow("input", "image", shape, 0)]
    counted: set[int] = set()

    def recorder(name: str, module: nn.Module):
        def record(_module, _inputs, output):  # called by torch after the layer has run
            own = sum(p.numel() for p in module.parameters(recurse=False))
            first_use = id(module) not in counted
            counted.add(id(module))
            row = LayerRow(name, _describe(module), _output_shape(output), own if first_use else 0)
            rows.append(row)

        return record

    layers = [
        (name, m)
        for name, m in model.named_modules()
        if not list(m.children()) or list(m.parameters(recurse=False))
    ]
    handles = [m.register_forward_hook(recorder(name or "model", m)) for name, m in layers]
    modes = {m: m.training for m in model.modules()}  # restored below, layer by layer
    first = next(model.parameters(), None)
    blank = torch.zeros(
        1,
        *shape,
        device=first.device if first is not None else "cpu",
        dtype=first.dtype if first is not None and first.is_floating_point() else torch.float32,
    )
    try:
        model.eval()  # batch norm with its running averages: a batch of one is fine
        with torch.no_grad():
            model(blank)
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes.items():
            m.training = training
    return rows


# ------------------------------------------------------ architectures (lesson 07) --


def multiply_adds(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds one image costs in ``model``: torch's FLOP count of a forward pass, halved.

    One multiply-add (a weight times an input, added to a sum) is two floating-point
    operations; torch's ``FlopCounterMode`` counts convolutions and matrix products
    (fully connected layers), not ReLU, pooling, batch normalization or biases, which
    cost little beside them. A convolution with F x F filters from M to N channels
    giving an H x W output costs H x W x N x F x F x M multiply-adds.

    Args:
        model: any ``nn.Module`` taking a batch ``(1, *input_shape)``.
        input_shape: one image without the batch axis, e.g. ``(1, 28, 28)``.

    Example:
        >>> multiply_adds(nn.Conv2d(192, 32, kernel_size=5, padding=2, bias=False), (192, 28, 28))
        120422400
        >>> 28 * 28 * 32 * 5 * 5 * 192
        120422400
    """
    from torch.utils.flop_counter import FlopCounterMode

    shape = tuple(int(n) for n in input_shape)
    first = next(model.parameters(), None)
    blank = torch.zeros(1, *shape, device=first.device if first is not None else "cpu")
    modes = {m: m.training for m in model.modules()}
    counter = FlopCounterMode(display=False)
    try:
        model.eval()
        with torch.no_grad(), counter:
            model(blank)
    finally:
        for m, training in modes.items():
            m.training = training
    return int(counter.get_total_flops()) // 2


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, **conv) -> nn.Sequential:
    """Convolution (no bias: batch normalization has its own shift), batch normalization, ReLU."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv", nn.Conv2d(in_channels, out_channels, kernel_size, bias=False, **conv)),
                ("bn", nn.BatchNorm2d(out_channels)),
                ("relu", nn.ReLU(inplace=True)),
            ]
        )
    )


def alexnet_small(
    *, in_channels: int = 1, num_classes: int = 2, width: int = 16, dropout: float = 0.5
) -> nn.Sequential:
    """AlexNet's plan scaled to 28-64 px images: 5 convolutional, 3 max pooling, 3 fully connected.

    As in AlexNet (Krizhevsky et al. 2012): a larger first filter (5 x 5 here,
    11 x 11 there), pooling after the first, the second and the fifth
    convolution, then three fully connected layers with dropout. The channels
    keep AlexNet's proportions (64, 192, 384, 256, 256 there; width x 1, 3, 6,
    4, 4 here). Batch normalization (which AlexNet did not have) lets it train
    quickly from scratch. At 28 px: 28 -> 14 -> 7 -> 3.

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        width: channels of the first convolution.
        dropout: dropout before the first two fully connected layers.

    Example:
        >>> import torch
        >>> net = alexnet_small(in_channels=1, num_classes=11)
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 11])
        >>> sum(isinstance(m, nn.Conv2d) for m in net.modules()), sum(
        ...     isinstance(m, nn.Linear) for m in net.modules())
        (5, 3)
    """
    w = width
    hidden = 16 * w  # units of the first two fully connected layers (4096 in AlexNet)
    layers = [
        ("conv1", _conv_bn_relu(in_channels, w, 5, padding=2)),
        ("pool1", nn.MaxPool2d(2)),  # (N, w, H/2, W/2)
        ("conv2", _conv_bn_relu(w, 3 * w, 3, padding=1)),
        ("pool2", nn.MaxPool2d(2)),  # (N, 3w, H/4, W/4)
        ("conv3", _conv_bn_relu(3 * w, 6 * w, 3, padding=1)),
        ("conv4", _conv_bn_relu(6 * w, 4 * w, 3, padding=1)),
        ("conv5", _conv_bn_relu(4 * w, 4 * w, 3, padding=1)),
        ("pool3", nn.MaxPool2d(2)),  # (N, 4w, H/8, W/8)
        ("fit", nn.AdaptiveAvgPool2d(3)),  # any image size -> 3 x 3 maps
        ("flatten", nn.Flatten()),  # (N, 4w * 9)
        ("dropout1", nn.Dropout(dropout)),
        ("fc1", nn.Linear(4 * w * 9, hidden)),
        ("relu1", nn.ReLU(inplace=True)),
        ("dropout2", nn.Dropout(dropout)),
        ("fc2", nn.Linear(hidden, hidden)),
        ("relu2", nn.ReLU(inplace=True)),
        ("fc3", nn.Linear(hidden, num_classes)),  # (N, num_classes) logits
    ]
    return nn.Sequential(OrderedDict(layers))


class Inception(nn.Module):
    """GoogLeNet's inception block: four branches side by side, their outputs stacked.

    The branches see the same input: a 1 x 1 convolution; a 1 x 1 reduction then
    a 3 x 3 convolution; a 1 x 1 reduction then a 5 x 5 convolution; a 3 x 3 max
    pooling then a 1 x 1 convolution. The 1 x 1 reductions shrink the channels
    before the costly large filters (Szegedy et al. 2015). Every convolution is
    followed by batch normalization and ReLU; all keep the image size, so the
    output has ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels.

    Args:
        in_channels: channels coming in.
        ch1x1: outputs of the 1 x 1 branch.
        ch3x3red, ch3x3: channels after the reduction, outputs of the 3 x 3 convolution.
        ch5x5red, ch5x5: the same for the 5 x 5 branch.
        pool_proj: outputs of the 1 x 1 convolution after the max pooling.

    Example (GoogLeNet's block 3a, the review's example):
        >>> import torch
        >>> block = Inception(192, 64, 96, 128, 16, 32, 32)
        >>> block(torch.zeros(1, 192, 28, 28)).shape
        torch.Size([1, 256, 28, 28])
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ):
        super().__init__()
        self.branch1 = _conv_bn_relu(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(
            _conv_bn_relu(in_channels, ch3x3red, 1),  # the 1 x 1 reduction
            _conv_bn_relu(ch3x3red, ch3x3, 3, padding=1),
        )
        self.branch3 = nn.Sequential(
            _conv_bn_relu(in_channels, ch5x5red, 1),  # the 1 x 1 reduction
            _conv_bn_relu(ch5x5red, ch5x5, 5, padding=2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            _conv_bn_relu(in_channels, pool_proj, 1),
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return torch.cat(branches, dim=1)  # stacked along the channels: (N, sum of C, H, W)


def googlenet_small(
    *, in_channels: int = 1, num_classes: int = 2, dropout: float = 0.2
) -> nn.Sequential:
    """A small GoogLeNet for 28-64 px images: a stem, three inception blocks, global pooling.

    The stem (3 x 3 convolution to 32 channels, 2 x 2 max pooling) halves the
    image; two inception blocks follow, a max pooling halves again, then a third
    block, global average pooling and one fully connected layer, as GoogLeNet
    ends. At 28 px: 28 -> 14 -> 7.

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        dropout: dropout before the last layer.

    Example:
        >>> import torch
        >>> net = googlenet_small(in_channels=1, num_classes=11)
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 11])
        >>> net.inception1.out_channels, net.inception2.out_channels, net.inception3.out_channels
        (64, 120, 128)
    """
    layers = [
        ("stem", _conv_bn_relu(in_channels, 32, 3, padding=1)),
        ("pool1", nn.MaxPool2d(2)),  # (N, 32, H/2, W/2)
        ("inception1", Inception(32, 16, 24, 32, 4, 8, 8)),  # (N, 64, H/2, W/2)
        ("inception2", Inception(64, 32, 32, 48, 8, 24, 16)),  # (N, 120, H/2, W/2)
        ("pool2", nn.MaxPool2d(2)),  # (N, 120, H/4, W/4)
        ("inception3", Inception(120, 48, 24, 52, 4, 12, 16)),  # (N, 128, H/4, W/4)
        *_head(128, num_classes, dropout),
    ]
    return nn.Sequential(OrderedDict(layers))


def _plain_block_classes():
    """torchvision's two ResNet blocks without their skip connection (built on first use)."""
    from torchvision.models.resnet import BasicBlock, Bottleneck

    class PlainBasicBlock(BasicBlock):
        """torchvision's BasicBlock whose input is NOT added back: a plain two-layer block."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.downsample = None  # no shortcut, so no projection of the input either

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)))  # no "+ x": the skip is gone

    class PlainBottleneck(Bottleneck):
        """torchvision's Bottleneck whose input is NOT added back: a plain three-layer block."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.downsample = None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)))  # no "+ x"

    return PlainBasicBlock, PlainBottleneck


_RESNET_LAYOUT = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
}


def resnet(
    depth: int,
    *,
    in_channels: int = 1,
    num_classes: int = 2,
    plain: bool = False,
    small_images: bool = True,
) -> nn.Module:
    """torchvision's ResNet-18, -34 or -50 (random start), or the same network without skips.

    ``small_images=True`` adapts the first layer to 28-64 px images as MedMNIST
    does: a 3 x 3 convolution with stride 1 and no max pooling, so the image is
    not shrunk 4 times before the first block. ``False`` keeps ImageNet's first
    layer (7 x 7, stride 2, then max pooling), adapted only to ``in_channels``.

    ``plain=True`` builds the same layers with every block's skip connection
    removed (the input is not added to the block's output, and the 1 x 1
    projections of the shortcuts are gone): He et al.'s "plain" network.

    Args:
        depth: 18, 34 or 50 (weighted layers: convolutions and the fully connected one).
        in_channels: image channels.
        num_classes: outputs (logits).
        plain: drop the skip connections.
        small_images: the first layer for 28-64 px images (see above).

    Example:
        >>> import torch
        >>> net = resnet(18, in_channels=1, num_classes=11)
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 11])
        >>> count_parameters(resnet(50, in_channels=3, num_classes=1000, small_images=False))
        25557032
    """
    from torchvision import models as tv
    from torchvision.models.resnet import ResNet

    if depth not in _RESNET_LAYOUT:
        raise ValueError(f"ResNet depth {depth!r} is not built here; choose 18, 34 or 50.")
    if plain:
        kind, layers = _RESNET_LAYOUT[depth]
        plain_basic, plain_bottleneck = _plain_block_classes()
        block = plain_basic if kind == "basic" else plain_bottleneck
        net = ResNet(block, layers, num_classes=num_classes)
    else:
        builders = {18: tv.resnet18, 34: tv.resnet34, 50: tv.resnet50}
        net = builders[depth](weights=None, num_classes=num_classes)
    if small_images:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if small_images or in_channels != 3:
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    return net


def resnet_thin(
    depth: int,
    *,
    in_channels: int = 1,
    num_classes: int = 2,
    width: int = 16,
    plain: bool = False,
) -> nn.Sequential:
    """He et al.'s thin ResNet for small images (their CIFAR-10 networks): 6n + 2 layers.

    A 3 x 3 convolution, then three stages of n two-layer blocks with width,
    2 x width and 4 x width channels (the second and third halve the image),
    global average pooling and one fully connected layer: 2 + 6n weighted
    layers, e.g. 8, 20, 32, 56. The blocks are torchvision's BasicBlock, or with
    ``plain=True`` the same block without its skip connection, so the two
    networks differ only by the skips. Thin and quick: made to show on a CPU
    that a deep plain network trains worse than a shallow one (He et al. 2016,
    Fig. 6) and that the skips undo it.

    Args:
        depth: 6n + 2 weighted layers (8, 14, 20, 26, 32, ...).
        in_channels: image channels.
        num_classes: outputs (logits).
        width: channels of the first stage.
        plain: drop the skip connections.

    Example:
        >>> import torch
        >>> net = resnet_thin(20, in_channels=1, num_classes=11, plain=True)
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 11])
        >>> sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in net.modules())
        20
    """
    from torchvision.models.resnet import BasicBlock

    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(f"depth must be 6n + 2 (8, 14, 20, 26, 32...); got {depth!r}.")
    n = (depth - 2) // 6
    block = _plain_block_classes()[0] if plain else BasicBlock
    layers: list[tuple[str, nn.Module]] = [
        ("stem", _conv_bn_relu(in_channels, width, 3, padding=1))
    ]
    channels = width
    for stage in range(3):
        out = width * 2**stage
        stride = 1 if stage == 0 else 2
        for b in range(n):
            downsample = None
            if b == 0 and (stride != 1 or channels != out):  # the input must match the output
                downsample = nn.Sequential(
                    nn.Conv2d(channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
                )
            first = b == 0
            layers.append(
                (
                    f"stage{stage + 1}_block{b + 1}",
                    block(channels, out, stride if first else 1, downsample),
                )
            )
            channels = out
    layers += _head(channels, num_classes, 0.0)
    return nn.Sequential(OrderedDict(layers))


class Energy(nn.Module):
    """The energy of each map: the mean of its squared values, ``(N, C, H, W) -> (N, C)``.

    A Texture CNN's pooling (Andrearczyk & Whelan 2016): it keeps how strongly
    each filter responded over the whole image, not where, which is what
    describes a texture.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * x).mean(dim=(2, 3))


def texture_cnn(
    *, in_channels: int = 1, num_classes: int = 5, width: int = 32, dropout: float = 0.2
) -> nn.Sequential:
    """A Texture CNN: convolutions, the energy of each last map, then fully connected layers.

    Three 3 x 3 convolutional blocks (the first two end with 2 x 2 max pooling)
    with width, 2 x width and 4 x width filters; the energy layer reduces each
    map of the last one to one number (:class:`Energy`), and two fully connected
    layers classify these (Andrearczyk & Whelan, Pattern Recognit Lett 2016).

    Args:
        in_channels: image channels.
        num_classes: outputs (logits).
        width: filters of the first block.
        dropout: dropout before the last layer.

    Example:
        >>> import torch
        >>> net = texture_cnn(in_channels=1, num_classes=5)
        >>> net(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 5])
        >>> net.energy(torch.full((1, 3, 4, 4), 2.0))
        tensor([[4., 4., 4.]])
    """
    w = width
    layers = [
        ("block1", conv_block(in_channels, w)),  # (N, w, H/2, W/2)
        ("block2", conv_block(w, 2 * w)),  # (N, 2w, H/4, W/4)
        ("block3", conv_block(2 * w, 4 * w, pool=False)),  # (N, 4w, H/4, W/4)
        ("energy", Energy()),  # (N, 4w): one energy per map
        ("fc1", nn.Linear(4 * w, 4 * w)),
        ("relu", nn.ReLU(inplace=True)),
        ("dropout", nn.Dropout(dropout)),
        ("fc2", nn.Linear(4 * w, num_classes)),  # (N, num_classes) logits
    ]
    return nn.Sequential(OrderedDict(layers))


# The networks that answer with an image (lesson 08) live in radlab.pixelwise; they are
# listed here too, so that every builder of the course is found under rl.models.
from .pixelwise import fcn, red_cnn, segnet, unet  # noqa: E402
