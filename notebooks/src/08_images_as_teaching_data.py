# %% [markdown]
# # 08 · Images as teaching data: segmentation and low-dose denoising
#
# **What you will learn** (about an hour, with five short exercises)
# - how a network can answer *per pixel* instead of per image: a class for every pixel
#   (segmentation) or a corrected grey value for every pixel (denoising);
# - three segmentation networks the review describes: the fully convolutional network (FCN), the
#   U-Net and SegNet, and what each passes from its encoder to its decoder;
# - how to score a segmentation with the Dice coefficient per structure, with a bootstrap
#   interval, and what to do with an empty mask;
# - how the probability threshold moves the outline and the Dice (a widget and its static twin);
# - low-dose CT denoising with RED-CNN against Gaussian and median filtering, scored with PSNR
#   and SSIM in a stated window, and by eye with difference images.
#
# **Why a radiologist cares.** In the tasks of this lesson the teaching data are images: the
# outline a radiologist drew, or the full-dose scan of the same patient. Contouring organs at risk
# for radiotherapy planning and reconstructing a low-dose scan are two places where these networks
# already reach the clinic. To read such papers you need to know what a Dice of 0.88 or a PSNR of
# 33 dB does and does not tell you.
#
# The lesson follows the review's part on segmentation and image processing: Yasaka K, Akai H,
# Kunimatsu A, Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J
# Radiol 2018;36:257-272. Numbers from the works it cites are labelled with their first author,
# journal and year.

# %%
import math

import numpy as np
import torch
from scipy import ndimage

import radlab as rl
from radlab import pixelwise
from radlab.exercises import lesson08 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("08_images_as_teaching_data")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. One answer per pixel
#
# The classifiers of the earlier lessons end in a fully connected layer that squeezes the whole
# image into one answer ("pneumonia: 0.93"). A **segmentation** network instead gives a class to
# every pixel: its output is a **mask**, an image of class numbers the size of the input. The
# teaching data are masks too: for each training image, the outline a reader drew.
#
# Our data are the three-phase liver phantoms of the earlier lessons (unenhanced, arterial,
# delayed), cropped to a square around the lesion as a radiologist would zoom in. The phantom
# generator knows every pixel, so the "reader's outline" is exact. We turn its two masks into one
# mask of three classes: 0 background, 1 liver (the parenchyma around the lesion), 2 lesion. Each
# image comes from a different phantom patient, so splitting by image is splitting by patient.

# %% tags=["nbval-ignore-output"]
N_CASES = rl.config.pick(smoke=60, cpu=260, gpu=1200)
SIZE = rl.config.pick(smoke=32, cpu=32, gpu=64)  # pixels per side; a multiple of 8
cases = rl.phantoms.liver_lesions(N_CASES, size=SIZE, roi_mm=120, seed=SEED)


def three_classes(c):
    """0 background, 1 liver, 2 lesion: the liver mask includes the lesion, so add the two."""
    return c.liver_mask.astype(np.int64) + c.lesion_mask.astype(np.int64)


x, y = rl.phantoms.tensors(cases, preset="liver", target=three_classes)
n_train, n_val = int(0.6 * N_CASES), int(0.2 * N_CASES)
train = (x[:n_train], y[:n_train])
val = (x[n_train : n_train + n_val], y[n_train : n_train + n_val])
test = (x[n_train + n_val :], y[n_train + n_val :])
print(f"images {tuple(x.shape)}, masks {tuple(y.shape)}, pixel {120 / SIZE:.2f} mm")
print(f"train {len(train[1])}, validation {len(val[1])}, test {len(test[1])} patients")

# %% [markdown]
# Here is one case: the delayed phase in the liver window, with the outlines of the mask (liver
# and lesion) drawn over it.

# %%
rl.plot.show(
    cases.images[0, 2], preset="liver", mask=y[0], title="case 0, delayed phase, with its mask"
)

# %% [markdown]
# ## 2. Three segmentation networks
#
# All three have an **encoder** (convolutions and max pooling that halve the image, as in a
# classifier, so that later layers see a wide context) and a **decoder** that brings the result
# back to full size. They differ in what the decoder gets from the encoder:
#
# - **FCN** (fully convolutional network; Long et al., CVPR 2015): no fully connected layer at all.
#   A 1 x 1 convolution turns the coarse feature maps into class scores, which are **upsampled**
#   near the output by a transposed convolution (a learned enlargement, often called
#   "deconvolution"), and **skips** add scores from shallower layers, which still see sharp
#   edges.
# - **U-Net** (Ronneberger et al., MICCAI 2015): the decoder mirrors the encoder step by step,
#   and at each size it receives the encoder's whole feature maps, **concatenated** (stacked as
#   extra channels) with its own. Many feature channels carry detail across.
# - **SegNet** (Badrinarayanan et al., IEEE TPAMI 2017): the encoder remembers only *where* each
#   max-pooling maximum was; the decoder **unpools** by putting each value back at that position
#   and zeros elsewhere, then convolves.
#
# The three builders live in `radlab/pixelwise.py`, scaled down for 32- and 64-pixel images. Each
# keeps the size of its input, which must be a multiple of 8 (three halvings).

# %%
WIDTH = rl.config.pick(smoke=8, cpu=8, gpu=16)  # feature channels of the first stage
BUILDERS = {"FCN": pixelwise.fcn, "U-Net": pixelwise.unet, "SegNet": pixelwise.segnet}
probe = torch.rand(2, 3, SIZE, SIZE)  # two random three-phase images
for name, builder in BUILDERS.items():
    net = builder(in_channels=3, num_classes=3, width=WIDTH)
    n_weights = sum(p.numel() for p in net.parameters())
    print(f"{name:7s} {tuple(probe.shape)} -> {tuple(net(probe).shape)}, {n_weights:,} weights")

# %% [markdown]
# Same size in and out, three scores per pixel (background, liver, lesion). The U-Net has the
# most weights: its decoder works on the concatenated feature maps.
#
# SegNet's unpooling, on a hand-made 2 x 4 image: max pooling keeps the larger value of each
# 2 x 2 block *and* its position; unpooling writes each value back at that position.

# %%
tiny = torch.tensor([[[[1.0, 5.0, 0.0, 2.0], [3.0, 4.0, 9.0, 1.0]]]])  # (1, 1, 2, 4)
pool = torch.nn.MaxPool2d(2, return_indices=True)
unpool = torch.nn.MaxUnpool2d(2)
pooled, where = pool(tiny)
print(
    "pooled:", pooled.flatten().tolist(), " positions (0..7, row by row):", where.flatten().tolist()
)
print("unpooled:\n", unpool(pooled, where)[0, 0])

# %% [markdown]
# The 5 and the 9 return exactly where they were; the rest is zero, and the decoder's
# convolutions fill it in. An outline's edge stays where the encoder saw it, at a cost of a few
# bits per pixel instead of whole feature maps.

# %% [markdown]
# ### Exercise 1 · Image sizes through SegNet
# A SegNet like ours (three 2 x 2 poolings, three unpoolings) receives a 96 x 96 crop of a CT
# slice. How many pixels per side are the smallest feature maps at the bottom of the encoder, and
# how large is the mask that comes out? Set `my_bottom` and `my_output`.

# %%
my_bottom, my_output = ..., ...  # pixels per side
### BEGIN SOLUTION
my_bottom, my_output = 12, 96
### END SOLUTION
ex.pool_unpool_size.check(my_bottom, my_output)
# ex.pool_unpool_size.hint()
# ex.pool_unpool_size.solution()

# %% [markdown]
# ## 3. Training and scoring with Dice
#
# The training loop of lesson 04 trains segmentation unchanged: the loss is the cross-entropy of
# every pixel, and after each epoch the validation images pick the best epoch by their mean Dice.
# (In the review's words that set is sometimes called a "test" set; here it is the **validation**
# set, and the test set is scored once at the end.)
#
# The **Dice similarity coefficient** (lesson 06) compares a predicted mask with the reader's:
# twice the shared pixels over the pixels of both masks, from 0 (no overlap) to 1 (identical). We
# score each structure on each test image, then average. **Empty masks**: when a structure is
# neither drawn nor predicted on an image, radlab counts that image's Dice as 1.0 (the network
# agreed that nothing is there); predicted where nothing was drawn counts 0. Every phantom image
# holds a lesion, so the rule does not change this lesson's numbers, but on real scans, where most
# slices show no lesion, it changes a mean Dice a lot: a paper should state its rule.

# %% tags=["nbval-ignore-output"]
EPOCHS = rl.config.pick(smoke=1, cpu=30, gpu=60)
scored = {}
for name, builder in BUILDERS.items():

    def new_network(builder=builder):
        """A fresh network with three input phases and three classes."""
        return builder(in_channels=3, num_classes=3, width=WIDTH)

    scored[name] = rl.study.train_and_score(
        new_network,
        train,
        val,
        test,
        task="segmentation",
        seed=SEED,
        epochs=EPOCHS,
        batch_size=16,
        lr=3e-3,
        progress=False,
    )
    history = scored[name].history
    print(f"{name:7s} {history.total_seconds:5.1f} s, best epoch {history.best_epoch}")

# %% [markdown]
# Now the Dice per structure on the test images, each with a 95% bootstrap interval: the test
# images are resampled with replacement 1000 times and the mean recomputed (lesson 06).

# %% tags=["nbval-ignore-output"]
y_test = test[1].numpy()  # (N, H, W) class numbers
STRUCTURES = {1: "liver", 2: "lesion"}
mean_dice = {}
for name, result in scored.items():
    predicted = result.outputs["test"].argmax(1)  # (N, H, W): the most probable class per pixel
    line = f"{name:7s}"
    for k, structure in STRUCTURES.items():
        per_image = rl.metrics.dice(y_test == k, predicted == k)  # one Dice per test image
        interval = rl.metrics.bootstrap_ci(np.mean, per_image, n_boot=1000, seed=SEED)
        mean_dice[name, structure] = interval.estimate
        line += f"   {structure} {interval}"
    print(line)

# %% tags=["nbval-ignore-output"]
liver_lowest = min(mean_dice[name, "liver"] for name in BUILDERS)
lesion_lowest = min(mean_dice[name, "lesion"] for name in BUILDERS)
lesion_harder = all(mean_dice[n, "lesion"] < mean_dice[n, "liver"] for n in BUILDERS)
rec.claim("every network: liver Dice above 0.8", liver_lowest > 0.8, liver=liver_lowest)
rec.claim("every network: lesion Dice above 0.6", lesion_lowest > 0.6, lesion=lesion_lowest)
rec.claim("the lesion is harder than the liver for every network", lesion_harder)

# %% [markdown]
# The liver, a large structure, is outlined well by all three networks. The lesion is smaller and
# its edge is a larger share of it, so the same pixel errors cost more Dice. SegNet, which passes
# only the pooling positions across, scored lowest on both structures, while FCN and U-Net, whose
# skips carry sharp shallow features, were close to each other (their intervals overlap). The best
# epochs came late, so all three were still improving: with longer training (gpu mode, not run for
# this notebook) the order may change. Compare the interval widths too: about 50 test images give
# a Dice to within a few hundredths, not to the third decimal.
#
# **Published values beside ours** (as quoted by the review):
#
# | structure | Dice | source |
# |---|---|---|
# | mandible | 0.90 | Ibragimov & Xing, Med Phys 2017 |
# | spinal cord | 0.87 | Ibragimov & Xing, Med Phys 2017 |
# | portal vein | 0.83 | Ibragimov, Toesca et al., Phys Med Biol 2017 |
# | rectal cancer clinical target volume | 0.88 | Men et al., Med Phys 2017 |
#
# They are not comparable with ours: those are real patients' 3-D CT volumes scored against
# clinicians' contours, of other structures with other sizes and contrasts; ours are clean
# synthetic 2-D slices with exact outlines.

# %% [markdown]
# ### Exercise 2 · Dice of two small masks
# A reader outlined a tiny lesion (left, 1 = lesion) and a network predicted the mask on the
# right. Count by hand and set `my_dice` to the Dice coefficient (a number).

# %%
print("reader:\n", ex.DICE_TRUTH, "\nnetwork:\n", ex.DICE_PREDICTED)

# %%
my_dice = ...  # a number between 0 and 1
### BEGIN SOLUTION
my_dice = 2 * 4 / (6 + 5)
### END SOLUTION
ex.dice_by_hand.check(my_dice)
# ex.dice_by_hand.hint()
# ex.dice_by_hand.solution()

# %% [markdown]
# ### Exercise 3 · Dice when nothing is drawn
# Most slices of a liver CT show no lesion. Write `my_dice_of(truth, predicted)` for two 0/1
# masks that returns the Dice coefficient, and 1.0 when both masks are empty (no lesion drawn and
# none predicted: the network agreed). A lesion predicted where none was drawn must still score 0.


# %%
def my_dice_of(truth, predicted):
    """Dice of two 0/1 masks; 1.0 when both are empty."""
    ### BEGIN SOLUTION
    truth = np.asarray(truth, bool)
    predicted = np.asarray(predicted, bool)
    total = truth.sum() + predicted.sum()
    if total == 0:
        return 1.0
    return 2 * np.sum(truth & predicted) / total
    ### END SOLUTION


ex.empty_masks.check(my_dice_of)
# ex.empty_masks.hint()
# ex.empty_masks.solution()

# %% [markdown]
# ## 4. The threshold draws the outline
#
# The network gives each pixel a probability of "lesion". Above we took the most probable class;
# another common way is a **threshold**: lesion where the probability is at least, say, 0.5. A
# lower threshold draws a larger outline (fewer missed pixels, more false ones), a higher one a
# smaller outline. Move the slider: the green line is the reader's outline, the red one the
# network's, and the read-out gives the Dice at that threshold. We use the U-Net and the test
# image where the threshold matters most: the one with the most pixels of uncertain lesion
# probability (between 0.05 and 0.95).

# %% tags=["nbval-ignore-output"]
p_lesion = scored["U-Net"].outputs["test"][:, 2]  # (N, H, W): probability of "lesion"
true_lesion = (y_test == 2).astype(np.int64)  # (N, H, W)
uncertain = (p_lesion >= 0.05) & (p_lesion < 0.95)  # (N, H, W): pixels the slider can flip
shown = int(np.argmax(uncertain.sum(axis=(1, 2))))  # the image with the most of them
delayed = test[0][shown, 2].numpy()  # the delayed phase in the liver window, in [0, 1]
rl.widgets.threshold_explorer(delayed, p_lesion[shown], true_lesion[shown])

# %% [markdown]
# Without a running kernel the slider cannot move; the same thing at three thresholds, and the
# mean lesion Dice over all test images at each:

# %% tags=["nbval-ignore-output"]
fig, axes = rl.plot.figure(1, 3, panel_inches=2.6, title="U-Net lesion outline (green: reader)")
for ax, threshold in zip(axes, (0.2, 0.5, 0.8), strict=True):
    predicted_here = (p_lesion[shown] >= threshold).astype(np.int64)  # (H, W)
    ax.imshow(delayed, cmap="gray", vmin=0, vmax=1)
    ax.contour(true_lesion[shown], levels=[0.5], colors="lime", linewidths=1.5)
    if predicted_here.any():
        ax.contour(predicted_here, levels=[0.5], colors="red", linewidths=1.5)
    one = rl.metrics.dice(true_lesion[shown], predicted_here)
    ax.set_title(f"threshold {threshold}: Dice {one:.2f}")
    ax.axis("off")
for threshold in (0.2, 0.5, 0.8):
    masks = (p_lesion >= threshold).astype(np.int64)
    print(
        f"threshold {threshold}: mean lesion Dice {rl.metrics.dice(true_lesion, masks).mean():.3f}"
    )
fig

# %% [markdown]
# The outline grows with a lower threshold and shrinks with a higher one, and the Dice follows. It
# moves only at the edge, where the network's probabilities are middling; inside the lesion and
# far from it the network is sure. Over all test images the mean Dice changed by a few hundredths
# between 0.2 and 0.8 (printed above): this trained network is confident almost everywhere, so the
# threshold matters most for the pixels along the edge, the ones a radiologist would argue about.
# A threshold is part of the model: choose it on validation images, never on the test images
# (lesson 06).

# %% [markdown]
# ## 5. Low-dose CT: denoising with RED-CNN
#
# Halving the dose of a CT scan raises its noise: the noise standard deviation grows as
# 1 / sqrt(dose), so a **quarter-dose** scan is twice as noisy. A denoising network is taught with
# pairs of images of the same patient: the low-dose image in, the full-dose image as the answer.
# Here the pairs are simulated: each phantom slice at standard dose (12 HU of correlated noise,
# i.e. noise with a grain, as reconstruction gives it) and the same slice with extra correlated
# noise added so that the total is that of a quarter dose (`rl.ct_physics.low_dose`).
#
# **RED-CNN** (residual encoder-decoder CNN; Chen et al., IEEE TMI 2017): five convolutions and
# five transposed convolutions, with shortcuts from the encoder to the mirror decoder layers and
# from the input to the output, so that **output = input + a learned correction**. It has no
# pooling and no fully connected layer: nothing of the image's detail is thrown away.
#
# We work in the soft-tissue window (W 400 / L 50 HU) scaled to [0, 1], so a data range of 1
# stands for 400 HU. The full-dose image is the reference; it carries its own noise, as real
# full-dose scans do, so no method can reach it exactly.

# %% tags=["nbval-ignore-output"]
N_SLICES = rl.config.pick(smoke=40, cpu=140, gpu=600)
dose_cases = rl.phantoms.liver_lesions(N_SLICES, size=64, roi_mm=160, seed=SEED + 1)
hu_full = dose_cases.images[:, 2]  # (N, 64, 64): delayed phase, standard dose, in HU
hu_low = rl.ct_physics.low_dose(hu_full, 0.25, seed=SEED + 2)  # quarter dose
added_sd = float(np.std(hu_low - hu_full))
print(f"noise added for a quarter dose: SD {added_sd:.1f} HU (12 HU x sqrt(3) = {12 * 3**0.5:.1f})")
full = rl.window(hu_full, preset="soft_tissue").astype(np.float32)  # (N, 64, 64) in [0, 1]
low = rl.window(hu_low, preset="soft_tissue").astype(np.float32)
n_fit, n_check = int(0.6 * N_SLICES), int(0.2 * N_SLICES)
fit_rows = slice(0, n_fit)
val_rows = slice(n_fit, n_fit + n_check)
test_rows = slice(n_fit + n_check, N_SLICES)
print(f"train {n_fit}, validation {n_check}, test {N_SLICES - n_fit - n_check} slices")

# %% [markdown]
# **The classical filters first.** A Gaussian filter averages each pixel with its neighbours
# (weights falling off with distance, width sigma); a median filter takes the middle value of a
# small square, which keeps edges better. Each has one setting; we choose it on the validation
# slices by PSNR (below), and only then look at the test slices.
#
# **PSNR** (peak signal-to-noise ratio) = 10 log10(data range² / mean squared error), in dB: every
# 6 dB more means half the error (in HU). **SSIM** (structural similarity) compares local means,
# contrasts and patterns in small windows; 1 means identical.


# %% tags=["nbval-ignore-output"]
def psnr_of(images, rows):
    """PSNR of images against the full-dose slices of the same rows (data range 1 = 400 HU)."""
    return rl.metrics.psnr(full[rows], images, data_range=1.0)


gaussian_psnr = {}
for sigma in (0.4, 0.6, 0.8, 1.0, 1.5):  # in pixels; 0 along the first axis: slice by slice
    gaussian_psnr[sigma] = psnr_of(
        ndimage.gaussian_filter(low[val_rows], (0, sigma, sigma)), val_rows
    )
median_psnr = {}
for size in (3, 5):  # a size x size square
    median_psnr[size] = psnr_of(ndimage.median_filter(low[val_rows], (1, size, size)), val_rows)
best_sigma = max(gaussian_psnr, key=gaussian_psnr.get)
best_size = max(median_psnr, key=median_psnr.get)
print("validation PSNR, Gaussian:", {s: round(v, 2) for s, v in gaussian_psnr.items()})
print("validation PSNR, median:  ", {s: round(v, 2) for s, v in median_psnr.items()})
print(f"chosen: Gaussian sigma {best_sigma} px, median {best_size} x {best_size}")

# %% [markdown]
# On these slices every wider Gaussian lowered the PSNR on validation, and so did the larger
# median: with 2.5 mm pixels and a reference that is itself noisy, a blur costs more at the edges
# of the anatomy than it gains by removing noise.

# %% [markdown]
# **RED-CNN.** We start its last layer at zero, so that before training the network returns its
# input unchanged (output = input + 0) and training only has to learn the correction. The loss is
# the mean squared error against the full-dose slice; the validation loss picks the best epoch.

# %% tags=["nbval-ignore-output"]
RED_WIDTH = rl.config.pick(smoke=8, cpu=16, gpu=96)  # the paper: 96 filters
RED_KERNEL = rl.config.pick(smoke=3, cpu=3, gpu=5)  # the paper: 5 x 5
RED_EPOCHS = rl.config.pick(smoke=1, cpu=20, gpu=60)
rl.config.seed_everything(SEED)
red = pixelwise.red_cnn(width=RED_WIDTH, kernel_size=RED_KERNEL)
with torch.no_grad():  # start as the identity: no correction yet
    red.decoder[-1].weight.zero_()
    red.decoder[-1].bias.zero_()
low_t, full_t = torch.from_numpy(low[:, None]), torch.from_numpy(full[:, None])  # (N, 1, 64, 64)
red_history = rl.train.fit(
    red,
    (low_t[fit_rows], full_t[fit_rows]),
    (low_t[val_rows], full_t[val_rows]),
    epochs=RED_EPOCHS,
    batch_size=10,
    lr=3e-3,
    seed=SEED,
    progress=False,
)
print(f"RED-CNN: {red_history.total_seconds:.1f} s, best epoch {red_history.best_epoch}")

# %% [markdown]
# Now every method once on the test slices:

# %% tags=["nbval-ignore-output"]
denoised = {
    "quarter dose (input)": low[test_rows],
    f"Gaussian sigma {best_sigma}": ndimage.gaussian_filter(
        low[test_rows], (0, best_sigma, best_sigma)
    ),
    f"median {best_size}x{best_size}": ndimage.median_filter(
        low[test_rows], (1, best_size, best_size)
    ),
    "RED-CNN": rl.train.predict(red, low_t[test_rows], softmax=False)[:, 0].numpy(),
}
psnr_test, ssim_test = {}, {}
for name, images in denoised.items():
    psnr_test[name] = psnr_of(images, test_rows)
    ssim_test[name] = float(np.mean(rl.metrics.ssim(full[test_rows], images, data_range=1.0)))
    print(f"{name:22s} PSNR {psnr_test[name]:5.2f} dB   SSIM {ssim_test[name]:.3f}")

# %% tags=["nbval-ignore-output"]
red_psnr, low_psnr = psnr_test["RED-CNN"], psnr_test["quarter dose (input)"]
best_filter_psnr = max(psnr_test[name] for name in list(denoised)[1:3])
red_ssim, low_ssim = ssim_test["RED-CNN"], ssim_test["quarter dose (input)"]
rec.claim("RED-CNN: higher PSNR than the input", red_psnr > low_psnr, red=red_psnr, low=low_psnr)
rec.claim(
    "RED-CNN: higher PSNR than both filters", red_psnr > best_filter_psnr, best=best_filter_psnr
)
rec.claim("RED-CNN: higher SSIM than the input", red_ssim > low_ssim, red=red_ssim, low=low_ssim)

# %% [markdown]
# On the test slices RED-CNN gained over the quarter-dose input in PSNR and SSIM and beat both
# filters; the best filter gained little. All of them stay well below a perfect match, since the
# full-dose reference carries its own 12 HU of noise.

# %% [markdown]
# Numbers are not the whole story: a filter can raise PSNR by blurring edges a radiologist needs.
# Look at one test slice, and at the **difference images** (method minus full dose, shown from
# -0.25 to +0.25, i.e. -100 to +100 HU): noise looks like grain, lost anatomy looks like outlines.

# %% tags=["nbval-ignore-output"]
k = 0  # the first test slice
names = list(denoised)
fig, axes = rl.plot.figure(1, 5, panel_inches=2.2, title="one test slice, W 400 / L 50")
axes[0].imshow(full[test_rows][k], cmap="gray", vmin=0, vmax=1)  # [0, 1] is the whole window
axes[0].set_title("full dose", fontsize=8)
for ax, name in zip(axes[1:], names, strict=True):
    ax.imshow(denoised[name][k], cmap="gray", vmin=0, vmax=1)
    ax.set_title(name, fontsize=8)
for ax in axes:
    ax.axis("off")
fig

# %% tags=["nbval-ignore-output"]
fig, axes = rl.plot.figure(
    1, 4, panel_inches=2.2, title="difference from full dose, -100 to +100 HU"
)
for ax, name in zip(axes, names, strict=True):
    ax.imshow(denoised[name][k] - full[test_rows][k], cmap="gray", vmin=-0.25, vmax=0.25)
    ax.set_title(name, fontsize=8)
    ax.axis("off")
fig

# %% [markdown]
# In the difference images the quarter-dose input is pure grain (part of it is the full-dose
# image's own noise). The small Gaussian filter hardly changes it. The median filter's difference
# shows the vessels and the body edge as lines: anatomy it removed along with the noise, although
# its PSNR equals the input's. RED-CNN's difference has a finer grain and only faint vessel lines.
# Note the flat areas: where the window clips a bright vessel to white, every method shows no
# difference at all, so errors there are invisible to a PSNR computed in this window.
#
# **Published values beside ours.** An independent rerun of RED-CNN on abdominal CT (Eulig et
# al., ldct-benchmark) reported the low-dose input at 29.1 dB / SSIM 0.856 and RED-CNN at
# 33.7 dB / 0.913; other reruns of the same network range from about 28 dB (chest) to 41 dB
# (10% dose, Mayo data). Our numbers are not comparable: PSNR depends on the anatomy, the dose,
# the HU window and the data range (ours: W 400 HU, data range 1 = 400 HU, 64-pixel phantom
# slices with a noisy full-dose reference). A study that does not state its window and data range
# cannot be compared with any other.

# %% [markdown]
# ### Exercise 4 · PSNR from an error and a window
# A denoised slice differs from the full-dose slice by a root-mean-square error of 20 HU, and the
# PSNR is computed in HU with the data range equal to a 400 HU window. Compute the PSNR in dB and
# set `my_psnr` (use `math.log10`).

# %%
my_psnr = ...  # dB
### BEGIN SOLUTION
my_psnr = 10 * math.log10(400**2 / 20**2)
### END SOLUTION
ex.psnr_from_mse.check(my_psnr)
# ex.psnr_from_mse.hint()
# ex.psnr_from_mse.solution()

# %% [markdown]
# ### Exercise 5 · Which network for which job
# Three requests from your department: (a) say whether a cropped liver lesion is benign or
# malignant; (b) outline the liver on every slice for a volumetry before hepatectomy; (c) make a
# quarter-dose follow-up scan look like a full-dose one. For each, pick one of `"classifier"`,
# `"unet"`, `"fcn"`, `"segnet"`, `"red_cnn"`.

# %%
my_grade, my_outline, my_denoise = ..., ..., ...
### BEGIN SOLUTION
my_grade, my_outline, my_denoise = "classifier", "unet", "red_cnn"
### END SOLUTION
ex.which_network.check(my_grade, my_outline, my_denoise)
# ex.which_network.hint()
# ex.which_network.solution()

# %% [markdown]
# ## Summary
# - Segmentation and denoising networks answer per pixel; their teaching data are images (a
#   reader's outline, a full-dose scan).
# - FCN: no fully connected layer, upsampling near the output, skips adding shallow scores. U-Net:
#   feature maps concatenated across at every size. SegNet: only the pooling positions, reused to
#   unpool. All keep the input's size (here a multiple of 8).
# - Score a segmentation with Dice per structure and an interval; small structures lose more Dice
#   for the same edge error; state the rule for empty masks.
# - The threshold on the probabilities draws the outline: it is part of the model, chosen on
#   validation images.
# - RED-CNN learns a correction added to the low-dose input; on our phantoms it beat the input and
#   both filters in PSNR on the test slices. PSNR and SSIM mean something only with the window and
#   data range stated, and difference images show what the numbers hide.
#
# ## Questions
#
# 1. A paper reports "mean Dice 0.95 for liver metastases" over all slices of 20 CT scans. What do
#    you ask before believing it?
#
# <details><summary>Answer</summary>
#
# How slices without any metastasis were scored. If a slice with no lesion drawn and none
# predicted counts as Dice 1.0, and most slices hold no metastasis, the mean is dominated by easy
# empty slices; if such slices were excluded, the number describes only slices with lesions. Ask
# for Dice on lesion-bearing slices or per lesion, the number of missed and false lesions, and an
# interval that resamples patients, not slices.
#
# </details>
#
# 2. What does a U-Net's decoder receive from its encoder that a SegNet's decoder does not, and
#    what does that cost?
#
# <details><summary>Answer</summary>
#
# The U-Net's decoder receives the encoder's whole feature maps at each size, concatenated with
# its own, so fine detail (edges, texture) crosses directly. SegNet's decoder receives only the
# positions of the pooling maxima and must rebuild the rest with its convolutions. The U-Net pays
# with more memory and more weights (the concatenated channels); SegNet is lighter (about a quarter
# of the U-Net's weights in section 2) but, in this lesson's short training, scored lowest,
# especially on the small lesion.
#
# </details>
#
# 3. Why can the same segmentation network have a Dice of 0.93 for the liver and 0.6 for a lesion
#    on the same images?
#
# <details><summary>Answer</summary>
#
# Dice divides the shared pixels by the size of the structures. A one-pixel error along the edge
# is a small share of a large liver but a large share of a small lesion, so the same edge accuracy
# gives a lower Dice for the lesion. The lesion's edge against the liver is also fainter than the
# liver's against fat. Dice values of different structures cannot be compared as if they measured
# the same skill.
#
# </details>
#
# 4. Why does RED-CNN add its input to its output, and why does it avoid pooling?
#
# <details><summary>Answer</summary>
#
# The full-dose image is close to the low-dose one: most of the answer is the input itself. With
# the shortcut the network only has to learn the correction (mostly the noise to remove), which is
# small and easier to learn, and it cannot lose anatomy it never had to rebuild. Pooling throws
# away the exact position of detail, which a denoiser must keep pixel for pixel, so RED-CNN uses
# only convolutions and transposed convolutions.
#
# </details>
#
# 5. A vendor states "our denoising reaches 41 dB PSNR; the competitor's only 30 dB". What do you
#    need to know before comparing?
#
# <details><summary>Answer</summary>
#
# The window and data range used (a PSNR in a 1500 HU range is about 11.5 dB higher than the same
# error in a 400 HU range), the dose reduction, the anatomy and scanner, and the reference image
# (a noisy full-dose scan caps the PSNR). Without the same data and the same definition the two
# numbers are not comparable. Also ask to see difference images and reader studies: a high PSNR
# can come with smoothed-away small lesions.
#
# </details>
