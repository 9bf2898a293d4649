"""Networks that answer per pixel: segmentation (FCN, U-Net, SegNet) and denoising (RED-CNN).

A classifier squeezes an image into one answer; these networks give back an
image of the same size: a class for every pixel (a mask) or a corrected grey
value for every pixel (a denoised scan). The four builders follow the papers
the review cites, scaled down to run on a laptop at 64 pixels:

=============  ================================================================
``fcn``        fully convolutional network (Long et al. 2015): no fully
               connected layer; coarse class scores upsampled near the output
               and added to scores from shallower, sharper layers ("skips")
``unet``       U-Net (Ronneberger et al. 2015): an encoder and a decoder with
               many feature channels; each decoder step is joined
               (concatenated) with the encoder's feature maps of its size
``segnet``     SegNet (Badrinarayanan et al. 2017): the encoder remembers where
               each max-pooling maximum was, and the decoder puts values back
               exactly there ("unpooling" by the pooling indices)
``red_cnn``    RED-CNN (Chen et al., IEEE TMI 2017) for low-dose CT:
               convolutions then deconvolutions with symmetric shortcuts, no
               pooling, no fully connected layer; output = input + correction
=============  ================================================================

Sizes: FCN, U-Net and SegNet halve the image three times, so the height and
width must be multiples of 8 (64 and 32 work, 60 does not: a clear error
says so). RED-CNN does not pool; any image of at least ``4 * layers + 1``
pixels works with its 5x5 filters (3x3: ``2 * layers + 1``).

This module imports only torch, so it can be read on its own.

Example:
    >>> import torch
    >>> net = unet(in_channels=3, num_classes=3, width=8)
    >>> tuple(net(torch.rand(2, 3, 64, 64)).shape)
    (2, 3, 64, 64)
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["fcn", "unet", "segnet", "red_cnn", "FCN", "UNet", "SegNet", "REDCNN"]


def _check_size(x: torch.Tensor, multiple: int, name: str) -> None:
    """A plain error when the image cannot be halved the network's number of times."""
    if x.ndim != 4:
        raise ValueError(f"{name} expects images (N, C, H, W), got shape {tuple(x.shape)}.")
    height, width = x.shape[-2:]
    if height % multiple or width % multiple:
        raise ValueError(
            f"{name} halves the image {multiple.bit_length() - 1} times, so height and width "
            f"must be multiples of {multiple}; got {height} x {width}. Resize or pad the image "
            f"(e.g. to {multiple * max(1, round(height / multiple))} pixels)."
        )


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3x3 convolutions, each with batch normalization and ReLU; the size is kept."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


def _upsample_x2(channels: int) -> nn.ConvTranspose2d:
    """A learned 2x upsampling (a transposed convolution, "deconvolution"): H, W -> 2H, 2W."""
    return nn.ConvTranspose2d(channels, channels, kernel_size=4, stride=2, padding=1)


# ------------------------------------------------------------------------ FCN
class FCN(nn.Module):
    """A small FCN-8s: class scores at 1/8, 1/4 and 1/2 size, upsampled and added, to full size."""

    def __init__(self, in_channels: int, num_classes: int, width: int):
        super().__init__()
        self.stage1 = _conv_block(in_channels, width)  # full size
        self.stage2 = _conv_block(width, 2 * width)  # 1/2
        self.stage3 = _conv_block(2 * width, 4 * width)  # 1/4
        self.stage4 = _conv_block(4 * width, 8 * width)  # 1/8
        self.pool = nn.MaxPool2d(2)
        # 1x1 convolutions turn feature maps into class scores (no fully connected layer)
        self.score2 = nn.Conv2d(2 * width, num_classes, 1)
        self.score3 = nn.Conv2d(4 * width, num_classes, 1)
        self.score4 = nn.Conv2d(8 * width, num_classes, 1)
        self.up4 = _upsample_x2(num_classes)
        self.up3 = _upsample_x2(num_classes)
        self.up2 = _upsample_x2(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, 8, "FCN")
        f1 = self.stage1(x)  # (N, w, H, W)
        f2 = self.stage2(self.pool(f1))  # (N, 2w, H/2, W/2)
        f3 = self.stage3(self.pool(f2))  # (N, 4w, H/4, W/4)
        f4 = self.stage4(self.pool(f3))  # (N, 8w, H/8, W/8): coarse but "knows" the context
        scores = self.up4(self.score4(f4))  # (N, K, H/4, W/4)
        scores = self.up3(scores + self.score3(f3))  # skip: add the sharper 1/4 scores
        scores = self.up2(scores + self.score2(f2))  # skip: add the 1/2 scores -> (N, K, H, W)
        return scores


def fcn(*, in_channels: int = 1, num_classes: int = 2, width: int = 16) -> FCN:
    """A fully convolutional network (FCN-8s style, Long et al. 2015) for segmentation.

    Args:
        in_channels: image channels (3 for three CT phases).
        num_classes: classes per pixel, background included (3: background, liver, lesion).
        width: feature channels of the first stage (doubled at each halving).

    Returns outputs (N, num_classes, H, W) for images (N, in_channels, H, W);
    H and W must be multiples of 8.

    Example:
        >>> import torch
        >>> tuple(fcn(in_channels=3, num_classes=3, width=8)(torch.rand(1, 3, 32, 32)).shape)
        (1, 3, 32, 32)
    """
    return FCN(in_channels, num_classes, width)


# --------------------------------------------------------------------- U-Net
class UNet(nn.Module):
    """An encoder that halves the size three times and a decoder that concatenates its skips."""

    def __init__(self, in_channels: int, num_classes: int, width: int):
        super().__init__()
        w = width
        self.down1 = _conv_block(in_channels, w)  # full size
        self.down2 = _conv_block(w, 2 * w)  # 1/2
        self.down3 = _conv_block(2 * w, 4 * w)  # 1/4
        self.bottom = _conv_block(4 * w, 8 * w)  # 1/8
        self.pool = nn.MaxPool2d(2)
        self.up3 = nn.ConvTranspose2d(8 * w, 4 * w, kernel_size=2, stride=2)
        self.dec3 = _conv_block(8 * w, 4 * w)  # 4w upsampled + 4w from the skip
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, kernel_size=2, stride=2)
        self.dec2 = _conv_block(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, kernel_size=2, stride=2)
        self.dec1 = _conv_block(2 * w, w)
        self.head = nn.Conv2d(w, num_classes, 1)  # class scores per pixel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, 8, "U-Net")
        s1 = self.down1(x)  # (N, w, H, W)
        s2 = self.down2(self.pool(s1))  # (N, 2w, H/2, W/2)
        s3 = self.down3(self.pool(s2))  # (N, 4w, H/4, W/4)
        b = self.bottom(self.pool(s3))  # (N, 8w, H/8, W/8)
        d3 = self.dec3(
            torch.cat([self.up3(b), s3], dim=1)
        )  # join along channels: (N, 8w, H/4, W/4)
        d2 = self.dec2(torch.cat([self.up2(d3), s2], dim=1))  # (N, 4w, H/2, W/2) in
        d1 = self.dec1(torch.cat([self.up1(d2), s1], dim=1))  # (N, 2w, H, W) in
        return self.head(d1)  # (N, K, H, W)


def unet(*, in_channels: int = 1, num_classes: int = 2, width: int = 16) -> UNet:
    """A U-Net (Ronneberger et al. 2015), three halvings deep, for segmentation.

    Args:
        in_channels: image channels; num_classes: classes per pixel, background included.
        width: feature channels of the first level (the original paper starts at 64 on
            572-pixel images; 8-16 is enough for 64-pixel phantoms).

    Returns outputs (N, num_classes, H, W) for images (N, in_channels, H, W);
    H and W must be multiples of 8.

    Example:
        >>> import torch
        >>> tuple(unet(in_channels=1, num_classes=2, width=4)(torch.rand(1, 1, 16, 24)).shape)
        (1, 2, 16, 24)
    """
    return UNet(in_channels, num_classes, width)


# -------------------------------------------------------------------- SegNet
class SegNet(nn.Module):
    """Encoder with max pooling that returns where each maximum was; decoder unpools there."""

    def __init__(self, in_channels: int, num_classes: int, width: int):
        super().__init__()
        w = width
        self.enc1 = _conv_block(in_channels, w)
        self.enc2 = _conv_block(w, 2 * w)
        self.enc3 = _conv_block(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2, return_indices=True)  # also returns the argmax positions
        self.unpool = nn.MaxUnpool2d(2)  # puts each value back at its remembered position
        self.dec3 = _conv_block(4 * w, 2 * w)
        self.dec2 = _conv_block(2 * w, w)
        self.dec1 = _conv_block(w, w)
        self.head = nn.Conv2d(w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_size(x, 8, "SegNet")
        e1, where1 = self.pool(self.enc1(x))  # (N, w, H/2, W/2) and the positions of the maxima
        e2, where2 = self.pool(self.enc2(e1))  # (N, 2w, H/4, W/4)
        e3, where3 = self.pool(self.enc3(e2))  # (N, 4w, H/8, W/8)
        d3 = self.dec3(self.unpool(e3, where3))  # (N, 2w, H/4, W/4); zeros except at the maxima
        d2 = self.dec2(self.unpool(d3, where2))  # (N, w, H/2, W/2)
        d1 = self.dec1(self.unpool(d2, where1))  # (N, w, H, W)
        return self.head(d1)


def segnet(*, in_channels: int = 1, num_classes: int = 2, width: int = 16) -> SegNet:
    """A SegNet (Badrinarayanan et al. 2017): decoder unpools by the encoder's pooling indices.

    No skip carries whole feature maps across (unlike U-Net): only the positions of
    the maxima, a few bits per pixel, so the decoder is light.

    Args:
        in_channels: image channels; num_classes: classes per pixel, background included.
        width: feature channels of the first stage.

    Returns outputs (N, num_classes, H, W) for images (N, in_channels, H, W);
    H and W must be multiples of 8.

    Example:
        >>> import torch
        >>> tuple(segnet(in_channels=3, num_classes=3, width=4)(torch.rand(1, 3, 40, 40)).shape)
        (1, 3, 40, 40)
    """
    return SegNet(in_channels, num_classes, width)


# ------------------------------------------------------------------- RED-CNN
class REDCNN(nn.Module):
    """Convolutions shrink the image by a border each, deconvolutions grow it back; shortcuts
    add the input to the output, and middle feature maps to their mirror layers."""

    def __init__(self, in_channels: int, out_channels: int, width: int, kernel_size: int):
        super().__init__()
        k = kernel_size
        self.kernel_size = k
        self.encoder = nn.ModuleList(
            [
                nn.Conv2d(in_channels, width, k),  # no padding: each loses k - 1 pixels
                nn.Conv2d(width, width, k),
                nn.Conv2d(width, width, k),
                nn.Conv2d(width, width, k),
                nn.Conv2d(width, width, k),
            ]
        )
        self.decoder = nn.ModuleList(
            [
                nn.ConvTranspose2d(width, width, k),  # each gains k - 1 pixels back
                nn.ConvTranspose2d(width, width, k),
                nn.ConvTranspose2d(width, width, k),
                nn.ConvTranspose2d(width, width, k),
                nn.ConvTranspose2d(width, out_channels, k),  # the last layer: the correction
            ]
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smallest = 5 * (self.kernel_size - 1) + 1
        if x.ndim != 4 or min(x.shape[-2:]) < smallest:
            raise ValueError(
                f"RED-CNN needs images (N, C, H, W) of at least {smallest} x {smallest} pixels "
                f"(five unpadded {self.kernel_size}x{self.kernel_size} convolutions); "
                f"got shape {tuple(x.shape)}."
            )
        e1 = self.relu(self.encoder[0](x))
        e2 = self.relu(self.encoder[1](e1))  # kept for the shortcut to decoder layer 4
        e3 = self.relu(self.encoder[2](e2))
        e4 = self.relu(self.encoder[3](e3))  # kept for the shortcut to decoder layer 2
        e5 = self.relu(self.encoder[4](e4))  # the smallest maps
        d = self.decoder[0](e5) + e4  # symmetric shortcut: same size as e4
        d = self.decoder[1](self.relu(d))
        d = self.decoder[2](self.relu(d)) + e2  # symmetric shortcut: same size as e2
        d = self.decoder[3](self.relu(d))
        correction = self.decoder[4](self.relu(d))  # (N, out, H, W)
        return x + correction  # residual: the network learns only what to take away


def red_cnn(
    *, in_channels: int = 1, out_channels: int = 1, width: int = 96, kernel_size: int = 5
) -> REDCNN:
    """RED-CNN (Chen et al., IEEE TMI 2017): a residual encoder-decoder for low-dose CT.

    Five unpadded convolutions and five transposed convolutions ("deconvolutions"), with
    shortcuts from encoder layers 2 and 4 to their mirror decoder layers and from the
    input to the output: output = input + a learned correction. No pooling and no fully
    connected layer, so no detail is thrown away and any image size works. (The paper
    ends with a ReLU after the last sum, which clips at zero; it is left out here so
    that the output is exactly input + correction.)

    Args:
        in_channels, out_channels: 1 for one CT image in, one out (they must match for the
            input shortcut).
        width: filters per layer (the paper: 96); kernel_size: 5 as in the paper.

    Example:
        >>> import torch
        >>> tuple(red_cnn(width=8, kernel_size=3)(torch.rand(2, 1, 33, 47)).shape)
        (2, 1, 33, 47)
    """
    if in_channels != out_channels:
        raise ValueError(
            f"RED-CNN adds its input to its output, so in_channels ({in_channels}) must equal "
            f"out_channels ({out_channels})."
        )
    return REDCNN(in_channels, out_channels, width, kernel_size)
