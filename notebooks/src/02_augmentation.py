# %% [markdown]
# # 02 · Data augmentation: more training images from the ones you have
#
# **What you will learn**
# - the augmentations of the review's Fig. 4, each shown on a real image;
# - how CT noise is added the physical way: in Hounsfield units (HU), before the window;
# - how a whole minibatch is augmented in one call, each image with its own random setting;
# - why, for segmentation, image and mask must move by *the same* random draw, and how to check it;
# - which augmentations keep the label true for chest films, CT, weighted MR and quantitative MR maps;
# - how cheap augmentation is compared with one training step.
#
# **Why a radiologist cares.** A CNN learns from examples, and medical examples are scarce.
# Augmentation makes new training images by changing the ones we have in ways that *could* happen in
# practice: the patient lies a little rotated, the field of view sits differently, the dose is lower.
# Each change must leave the diagnosis unchanged: a radiological judgement. The lesson follows the
# review's section on augmentation (Yasaka K, Akai H, Kunimatsu A, Kiryu S, Abe O. Deep learning with
# convolutional neural network in radiology. Jpn J Radiol 2018;36:257-272; Fig. 4 and Table 1).
# Table 1 lists augmentation among the countermeasures against **overfitting** (a network that
# memorises its training cases instead of learning the disease); lesson 05 measures whether it helps.
#
# **Exercises.** Four short exercises check themselves. Write your answer where the cell has `...`
# and run the cell: it prints "Correct", or what is wrong with a hint. `ex.NAME.hint()` gives a
# general hint and `ex.NAME.solution()` the worked answer.

# %%
import numpy as np
import torch
from pydicom.data import get_testdata_file

import radlab as rl
from radlab.exercises import lesson02 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("02_augmentation")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. Three real images to work on
#
# Augmentation works on images that are already **windowed** (lesson 01: the window's lower end
# becomes 0, black, its upper end 1, white; values outside are cut off). Each image is a **tensor**,
# PyTorch's array of numbers, of shape (channels, height, width). We use three:
#
# - a **chest X-ray** from PneumoniaMNIST (real pediatric chest films from Kermany et al., Cell 2018,
#   reduced to 28 x 28 pixels by Yang et al., Sci Data 2023); without that download, a full-size film
#   from `pydicom-data` stands in;
# - the real **head CT** `693_UNCR.dcm` from lesson 01, brain window, reduced to 128 x 128;
# - a slice of the course's **liver phantom** (a computed abdominal CT in HU, arterial phase, liver
#   window) with its **lesion mask** (1 on the lesion's pixels, 0 elsewhere): segmentation needs the
#   mask to move with the image. Like every axial CT it is shown in the radiological convention: the
#   patient's right, and so the liver, on the image left.

# %%
normal_films, chest, chest_source = rl.data.chest_films()  # chest: (1, H, W) in [0, 1]
print(chest_source, tuple(chest.shape))

ct_hu = torch.from_numpy(
    rl.dicom.to_array(rl.dicom.read(get_testdata_file("693_UNCR.dcm")))
)  # (512, 512) HU
# average each 4 x 4 block of pixels into one: (1, 1, 512, 512) -> (1, 1, 128, 128)
ct_small = torch.nn.functional.interpolate(ct_hu[None, None], size=(128, 128), mode="area")
ct = rl.window(ct_small[0], preset="brain")  # (1, 128, 128) in [0, 1]

cases = rl.phantoms.liver_lesions(16, size=96, seed=SEED)
ARTERIAL = cases.phases.index("arterial")  # the phases are the channels: 0, 1, 2
# the arterial phase in the liver window (16, 1, 96, 96), and the lesion masks (16, 96, 96)
arterial, lesion_masks = rl.phantoms.tensors(cases, phases="arterial", target="lesion_mask")
k = int(np.flatnonzero(cases.category == "A")[1])  # one classic HCC: bright in the arterial phase
liver, lesion = arterial[k], lesion_masks[k]
examples = {
    "chest X-ray": chest,
    "head CT (brain window)": ct,
    "liver phantom (liver window)": liver,
}
{name: tuple(image.shape) for name, image in examples.items()}

# %% [markdown]
# ## 2. The augmentations of Fig. 4, one at a time
#
# The plain functions in `rl.transforms` apply one fixed setting, so we can look at each change on
# its own; section 3 uses the *random* versions. Each result goes into `shown` for an overview at
# the end. Showing an operation here does not make it safe for every image: section 6 sorts out
# which are.
#
# ### Cropping at different locations
#
# A crop cuts a smaller window out of the image. Crops at different places show the anatomy at
# different positions in the field of view, as when the radiographer centres the film differently.
# The label stays true only while the finding is inside the crop (section 6). Here, five 96 x 96 crops
# of the 128 x 128 head CT:

# %%
corners = [(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]  # (top, left) of each crop
ct_crops = []
for top, left in corners:
    ct_crops.append(rl.transforms.crop(ct, top, left, 96, 96))

shown = {}  # for each image: the original first, then one result per augmentation
for name, image in examples.items():
    side = image.shape[-1]
    crop = rl.transforms.crop(image, side // 8, side // 4, 3 * side // 4, 3 * side // 4)
    shown[name] = [image, crop]

rl.plot.grid(
    [c[0] for c in ct_crops],
    titles=[f"top {top}, left {left}" for top, left in corners],
    suptitle="five 96 x 96 crops of the head CT (brain window)",
    panel_inches=1.7,
)

# %% [markdown]
# ### Exercise 1 · A random crop
#
# Write the crop that training uses: `my_random_crop(image, size, rng)` returns a `size` x `size`
# block of a 2-D image (a NumPy array of shape (height, width)), cut at a random place, where every
# place that fits is possible. `rng` is a random-number generator (`np.random.default_rng`):
# `rng.integers(low, high)` draws a whole number from `low` up to `high - 1`. The check cuts 200
# crops from a 12 x 20 image with numbered pixels, to see whether each crop is a true block and
# whether every place is reached.


# %%
def my_random_crop(image, size, rng):
    """A size x size block of the 2-D image, at a random place that fits inside it."""
    ### BEGIN SOLUTION
    height, width = image.shape
    top = rng.integers(0, height - size + 1)  # + 1: the last place is allowed too
    left = rng.integers(0, width - size + 1)
    return image[top : top + size, left : left + size]
    ### END SOLUTION


ex.random_crop.check(my_random_crop)
# ex.random_crop.hint()
# ex.random_crop.solution()

# %% [markdown]
# ### Mirroring
#
# A mirror image (a *flip*) swaps left and right. It is only harmless when left and right do not
# matter for the label: a skin lesion on a photograph, perhaps, but not a chest film, nor an axial CT,
# where the liver belongs on the image left (section 6). Flipping twice gives the original back,
# exactly:

# %%
twice_is_original = []
for name, image in examples.items():
    shown[name].append(rl.transforms.flip(image))
    back = rl.transforms.flip(rl.transforms.flip(image))
    twice_is_original.append(torch.equal(back, image))
all(twice_is_original)

# %% [markdown]
# ### Rotation
#
# A rotation turns the image about its centre, like a patient lying slightly tilted. Each new pixel
# is **interpolated**: computed from the old pixels around the spot it comes from (bilinear: a
# weighted average of the four nearest). The corners that come from outside the original field are
# filled with 0 (black). Here 15 degrees counter-clockwise:

# %%
corner_values = {}
for name, image in examples.items():
    turned = rl.transforms.rotate(image, 15)
    shown[name].append(turned)
    corner_values[name] = round(float(turned[0, 0, 0]), 3)  # the top-left pixel
corner_values  # filled with 0

# %% [markdown]
# ### Parallel shift
#
# A shift moves the whole image content sideways or up and down, like a patient positioned
# off-centre. A shift by whole pixels just moves the same pixels: we check that against doing it by
# hand (move the columns, fill the gap with 0).

# %%
moved = rl.transforms.shift(ct, dx=12, dy=0)  # 12 pixels to the right
by_hand = torch.zeros_like(ct)
by_hand[..., :, 12:] = ct[..., :, :-12]  # column c of the original becomes column c + 12
print("largest difference to the shift by hand:", float((moved - by_hand).abs().max()))
for name, image in examples.items():
    side = image.shape[-1]
    shown[name].append(rl.transforms.shift(image, dx=side // 8, dy=-side // 10))

# %% [markdown]
# ### Added noise: the simple version
#
# Gaussian noise added to every pixel imitates a noisier acquisition (lower dose on CT, a faster MR
# sequence). Its size is the **standard deviation** (SD: the typical size of the random ups and downs
# around the true value, what the SD of an ROI measures on a CT). Here the SD is in window units: 0.05
# is 5 % of the window width. The noise comes from a **seeded generator** (a source of random numbers
# started from a fixed number, the seed), so this notebook shows the same noise every time.

# %%
generator = rl.transforms.make_generator(SEED)
for name, image in examples.items():
    noisy = rl.transforms.add_noise(image, sd=0.05, generator=generator)
    shown[name].append(noisy)
    print(f"{name:<30} SD of the added noise: {float((noisy - image).std()):.3f}")

# %% [markdown]
# On the chest film the measured SD is the 0.05 we asked for. On the head CT and the liver phantom it
# is lower (0.037 and 0.036): much of these images is pure black (air, fat) or pure white (bone), and
# the result is cut back into 0 to 1, so noise cannot make black blacker or white whiter.
#
# For CT this version is a **simplification**, wrong in three ways. A scanner makes its noise in HU,
# before any window, so the same 0.05 means 7.5 HU in the liver window (width 150 HU) but 4 HU in the
# brain window (width 80 HU). Real CT noise is **correlated**: neighbouring pixels rise and fall
# together (the reconstruction gives it a grain), whereas this noise is independent pixel to pixel.
# And air stays black at any dose, whereas noise added after the window greys it.
#
# ### Added noise: the physical version, a lower dose in HU
#
# CT noise comes from counting X-ray photons. At a fraction *d* of the standard dose (the **dose
# fraction**: 0.25 is a quarter of the dose) the variance (the SD squared) grows as 1/*d*, so:
#
# $$\text{SD}(d) = \frac{\text{SD}_\text{full}}{\sqrt{d}}.$$
#
# The phantom carries 12 HU of correlated noise at full dose, as an abdominal CT does.
# `rl.ct_physics.low_dose` adds the extra correlated noise, in HU, that brings an image down to a
# dose fraction; the window comes afterwards.

# %% [markdown]
# ### Exercise 2 · The noise at a lower dose
#
# Your abdominal protocol gives 12 HU of noise (the SD in a homogeneous liver ROI) at full dose.
# Predict the noise SD, in HU, at a quarter of the dose and at a tenth of the dose. Below, we measure
# it on the phantom.

# %%
my_sd_quarter, my_sd_tenth = ..., ...  # noise SD in HU at dose fractions 0.25 and 0.1
### BEGIN SOLUTION
my_sd_quarter, my_sd_tenth = 12 / 0.25**0.5, 12 / 0.1**0.5
### END SOLUTION
ex.dose_noise.check(my_sd_quarter, my_sd_tenth)
# ex.dose_noise.hint()
# ex.dose_noise.solution()

# %% [markdown]
# To measure the noise alone, we make the same phantom without noise (`noise_hu=0`; the same seed
# gives the same patients) and subtract it. We measure the noise SD in the liver of all 16 slices, at
# full dose and three lower doses.

# %%
clean = rl.phantoms.liver_lesions(16, size=96, seed=SEED, noise_hu=0.0)
arterial_hu = cases.images[:, ARTERIAL]  # (16, 96, 96), HU, with the full-dose noise
clean_hu = clean.images[:, ARTERIAL]  # (16, 96, 96), HU, the same anatomy without noise
in_liver = cases.liver_mask  # (16, 96, 96), True inside the liver
worst = 0.0  # the largest relative difference between measured and expected SD
for dose in [1.0, 0.5, 0.25, 0.1]:
    if dose == 1.0:
        hu = arterial_hu
    else:
        hu = rl.ct_physics.low_dose(arterial_hu, dose, base_sd=cases.noise_hu, seed=SEED)
    measured = float((hu - clean_hu)[in_liver].std())
    expected = cases.noise_hu / dose**0.5
    worst = max(worst, abs(measured / expected - 1))
    print(f"dose {dose:>4}: noise SD {measured:4.1f} HU; 12 / sqrt(dose) = {expected:4.1f} HU")
worst = round(worst, 3)
rec.claim("noise SD follows 12 / sqrt(dose) within 10 % at each dose", worst < 0.1, worst=worst)

# %% [markdown]
# The measured SDs follow the formula, within chance. Now both versions at a quarter of the dose. The
# simple version's noise, added after the window, gets the SD that a quarter dose adds to the
# phantom's own 12 HU (for 24 HU in all), in window units (divided by the width).

# %%
window = rl.WINDOWS["liver"]  # W 150 / L 60
quarter_hu = rl.ct_physics.low_dose(arterial_hu[k], 0.25, base_sd=cases.noise_hu, seed=SEED)
physical = rl.window(quarter_hu, preset="liver")  # (96, 96): noise in HU, then the window
extra_hu = cases.noise_hu * (1 / 0.25 - 1) ** 0.5  # 12^2 + extra^2 = 24^2
extra_sd = extra_hu / window.width  # the same, in window units
print(f"noise a quarter dose adds: {extra_hu:.1f} HU = {extra_sd:.3f} in window units")
simple = rl.transforms.add_noise(liver, sd=extra_sd, generator=rl.transforms.make_generator(SEED))
air = clean_hu[k] < -500  # (96, 96), True in the air around the patient
grey_hu = round(float((physical[air] > 0).mean()), 3)  # share of air pixels not black
grey_after = round(float((simple[0].numpy()[air] > 0).mean()), 3)
print(f"air pixels not black: {grey_hu:.0%} (dose noise in HU), {grey_after:.0%} (after window)")
air_kept = grey_hu < 0.01 and grey_after > 0.2
rec.claim("only noise after the window greys the air", air_kept, hu=grey_hu, after=grey_after)
rl.plot.grid(
    [liver[0], physical, simple[0]],
    titles=["full dose", "quarter dose, in HU", "noise after the window"],
    suptitle="the phantom at a quarter of the dose, two ways (liver window W 150 / L 60)",
    panel_inches=2.4,
)

# %% [markdown]
# The physical version has a fine grain and keeps the air black. The simple version is pixel-by-pixel
# salt and pepper that also speckles the air outside the patient, which no scanner does. For CT,
# prefer dose noise in HU: `rl.transforms.RandomDose` (section 4) draws a dose for each image of a
# batch. The overview below still uses the simple version.
#
# ### Contrast and brightness
#
# **Contrast** stretches the grey levels around the image's mean (like narrowing the window width);
# **brightness** adds an offset to every pixel (like moving the window level):
#
# $$x_{\text{contrast}} = f\,x + (1-f)\,\bar{x}, \qquad x_{\text{brightness}} = x + \delta,$$
#
# both cut back into 0 to 1 ($f$ is the contrast factor, $\bar{x}$ the image's mean grey level,
# $\delta$ the offset). Whether this is a fair augmentation depends on what the pixel values mean:
#
# - **Weighted MR** (T1-weighted, T2-weighted, FLAIR) has no absolute scale: its numbers depend on
#   coil, receiver gain and sequence, and the reader compares tissues. These changes imitate that.
# - On **quantitative MR maps** (ADC, T1 or T2 map, proton-density fat fraction) each pixel *is* a
#   measurement in physical units. Changing it changes the result, e.g. a liver fat fraction of 3 %
#   (normal) read as 8 % (steatosis).
# - On **CT**, Hounsfield units are calibrated: water reads close to 0 on any scanner, and a density
#   can decide the diagnosis (a cyst against a solid lesion). Real shifts of a few HU occur between
#   scanners and tube voltages (kVp; iodine and bone change more with kVp than soft tissue), and
#   enhanced tissue varies with bolus timing. So a shift of a few HU can be defended on CT; a contrast
#   stretch, or an offset of tens of HU, cannot (section 6).
#
# Both changes on our three images, then everything together (rows: images; columns: augmentations):

# %%
for name, image in examples.items():
    shown[name].append(rl.transforms.adjust_contrast(image, 1.5))
    shown[name].append(rl.transforms.adjust_brightness(image, 0.15))
    mean, brighter = float(image.mean()), float(shown[name][-1].mean())
    print(f"{name:<30} mean grey level {mean:.3f} -> {brighter:.3f} after brightness +0.15")

columns = ["original", "crop", "mirror", "rotate 15°", "shift", "noise 0.05"]
columns += ["contrast x1.5", "brightness +0.15"]
panels = []
for images in shown.values():  # one row per image
    for image in images:
        panels.append(image[0])
titles = columns + [""] * (len(columns) * (len(shown) - 1))  # column titles on the first row only
rl.plot.grid(
    panels,
    ncols=len(columns),
    titles=titles,
    panel_inches=1.2,
    suptitle="rows: " + " / ".join(shown),
)

# %% [markdown]
# Not every panel is an image a scanner could deliver for that patient: on both CT rows the mirror
# puts the patient's left on the wrong side, contrast and brightness change what the HU say, and 15
# degrees is more tilt than the phantom's patients ever have. Section 6 says which columns keep the
# label true for each kind of image.
#
# ## 3. A whole batch in one call
#
# In training, a **minibatch** (a small group of training images processed together, shape
# (N, C, H, W): N images, C channels, H x W pixels) goes through the random transforms (`RandomFlip`,
# `RandomRotate`, `RandomShift`, `RandomAffine` for rotation, shift and zoom together, `RandomCrop`,
# `RandomNoise`, `RandomContrast`, `RandomBrightness`) in one call, and **each image gets its own
# random setting**, on whatever device the batch is on. Each step takes a probability `p`: the chance
# that an image gets that step at all. `Compose` chains steps into a **pipeline** (a list of steps
# applied in order). Below, the default pipeline for chest films: sixteen copies of one film go in,
# sixteen different films come out.

# %%
chest_aug = rl.transforms.default_augmentation("chest_xray")
print(chest_aug)
batch = chest.repeat(16, 1, 1, 1)  # (16, 1, H, W): the same film 16 times
augmented = chest_aug(batch, generator=rl.transforms.make_generator(SEED))
# each image laid out as one long row of numbers; torch.unique keeps one copy of identical rows
different = len(torch.unique(augmented.flatten(1), dim=0))
print(f"in: {tuple(batch.shape)}, out: {tuple(augmented.shape)}, different images: {different}")
rl.plot.grid(
    augmented[:, 0], ncols=8, panel_inches=1.1, suptitle="16 versions of one film, one call"
)

# %% [markdown]
# Every **epoch** (one pass through all training images) the network sees new versions of each film,
# so it cannot memorise a training case's exact pixels.
#
# ### Exercise 3 · How many versions of one image?
#
# A breast ultrasound pipeline (left-right mirroring is allowed on ultrasound: the probe can be held
# either way round) mirrors each image with p = 0.5, then cuts one of 4 fixed crops, chosen at random.
# How many different images can come out of one original? And in 100 epochs, in about how many is
# it shown mirrored?

# %%
my_views = ...  # different images from one original
my_mirrored = ...  # epochs out of 100 in which it is shown mirrored, on average
### BEGIN SOLUTION
my_views = 4 * 2
my_mirrored = 100 * 0.5
### END SOLUTION
ex.views.check(my_views, my_mirrored)
# ex.views.hint()
# ex.views.solution()

# %% [markdown]
# ## 4. Segmentation: image and mask move together
#
# For segmentation the teaching data is the mask. If the image is rotated and the mask is not, or by
# another angle, the network is taught to outline the wrong pixels. So every spatial transform takes
# `mask=` and moves the mask by **the same random draw**, with **nearest-neighbour** interpolation
# (each new pixel copies the nearest old one, so a mask pixel stays 0 or 1). Intensity steps (noise,
# contrast, brightness) leave the mask alone.
#
# The phantom is an abdominal CT in HU, so it gets a **CT-safe pipeline** of three steps, in order:
#
# 1. dose noise in HU (`RandomDose`): with probability 0.5 an image gets its own lower dose, between
#    a quarter of the dose and the full dose;
# 2. the liver window (HU to 0-1);
# 3. small moves (`default_augmentation("phantom")`): rotation of at most 5 degrees, shift of up to
#    5 % of the image, zoom between 0.95 and 1.05 (a patient a little larger or smaller).
#
# No mirroring, no upside-down image, no contrast or brightness change (section 6 says why).

# %%
dose_step = rl.transforms.RandomDose(doses=(0.25, 1.0), base_sd=cases.noise_hu, p=0.5)
phantom_aug = rl.transforms.default_augmentation("phantom")
print(dose_step)
print(phantom_aug)

pipeline_generator = rl.transforms.make_generator(SEED)
batch_hu = torch.from_numpy(cases.images[:, ARTERIAL : ARTERIAL + 1])  # (16, 1, 96, 96), HU
noisy_hu = dose_step(batch_hu, generator=pipeline_generator)  # 1. dose noise, in HU
windowed = rl.window(noisy_hu, preset="liver")  # 2. the liver window: now 0 to 1
# 3. small moves, image and mask by the same draw
moved_images, moved_masks = phantom_aug(windowed, mask=lesion_masks, generator=pipeline_generator)
print("images", tuple(moved_images.shape), "masks", tuple(moved_masks.shape), moved_masks.dtype)
print("values in the masks:", moved_masks.unique().tolist())

# %%
title = "top: phantom slices with the lesion outlined; bottom: one random draw each (liver window)"
fig, axes = rl.plot.figure(2, 6, inches=(8.4, 3.2), title=title)
for i in range(6):
    rl.plot.show(arterial[i], ax=axes[0, i], mask=lesion_masks[i], title=cases.category[i])
    rl.plot.show(moved_images[i], ax=axes[1, i], mask=moved_masks[i], title="augmented")
fig

# %% [markdown]
# The outline still sits on the lesion after each random rotation, shift and zoom. Rather than trust
# our eyes, we **check by numbers**: the mask goes into the pipeline twice, once as the mask and once
# as an extra *image channel* (lesion = 1, the rest 0). Both copies must come out in the same place.
# Crops interpolate no pixel, so there the copies must be *identical*, pixel for pixel, in all 16
# images. And an intensity step (the simple noise of section 2) must not touch the mask at all:

# %%
exact = rl.transforms.RandomCrop(80)
# image and mask as two channels: (16, 2, 96, 96)
paired = torch.cat([arterial, lesion_masks[:, None].float()], dim=1)
out, out_masks = exact(paired, mask=lesion_masks, generator=rl.transforms.make_generator(SEED))
identical = []
for i in range(len(out)):
    identical.append(torch.equal(out[i, 1].long(), out_masks[i]))
n_same = sum(identical)
rec.claim("crops: mask and mask channel identical in all 16 images", n_same == 16, same=n_same)

noise_step = rl.transforms.RandomNoise(0.03)
_, untouched = noise_step(arterial, mask=lesion_masks, generator=rl.transforms.make_generator(SEED))
print("noise leaves every mask as it was:", torch.equal(untouched, lesion_masks))


# %% [markdown]
# Rotation, shift and zoom interpolate the image (bilinear) but not the mask (nearest neighbour), so
# the edges can differ by a pixel. The lesion's **centre** (its **centroid**: the average position of
# its pixels) must still move identically. As a contrast we also do it the *wrong* way: the mask
# moved by a second, separate call (a different random draw).


# %%
def centroid(weights):
    """Row and column of the centre of mass of a (H, W) mask or image."""
    rows, cols = torch.meshgrid(
        torch.arange(weights.shape[-2]), torch.arange(weights.shape[-1]), indexing="ij"
    )  # rows[r, c] = r and cols[r, c] = c: each pixel's own position
    total = weights.sum()
    return torch.stack([(rows * weights).sum() / total, (cols * weights).sum() / total])


one_draw = rl.transforms.make_generator(SEED)
out, out_masks = phantom_aug(paired, mask=lesion_masks, generator=one_draw)
# the wrong way: the mask moved by a separate call, with its own random draw
mask_as_image = lesion_masks[:, None].float()
other_draw = rl.transforms.make_generator(SEED + 1)
_, wrong_masks = phantom_aug(mask_as_image, mask=lesion_masks, generator=other_draw)
same_draw, two_draws = [], []
for i in range(len(out)):
    image_centre = centroid(out[i, 1])
    same_draw.append(float((centroid(out_masks[i].float()) - image_centre).norm()))
    two_draws.append(float((centroid(wrong_masks[i].float()) - image_centre).norm()))
largest_same, median_two = max(same_draw), float(np.median(two_draws))
mm = cases.pixel_mm  # millimetres per pixel
print(f"lesion centre, image vs mask, same draw: largest distance {largest_same:.2f} pixels")
print(f"two draws: median distance {median_two:.1f} pixels = {median_two * mm:.0f} mm")
low, high = cases.diameter_mm.min(), cases.diameter_mm.max()
print(f"pixel size {mm:.1f} mm; lesion diameters {low:.0f} to {high:.0f} mm")
largest_same, median_two = round(largest_same, 2), round(median_two, 1)
within_1 = largest_same < 1
rec.claim("one draw: centres of image and mask within 1 pixel", within_1, same_px=largest_same)
rec.claim("two draws: centres over 3 pixels apart (median)", median_two > 3, two_px=median_two)

# %% [markdown]
# With one draw the lesion's centre agrees to within a pixel. With two separate draws image and mask
# drift apart by a median of 6 pixels, 24 mm at 4 mm per pixel: a large part of a lesion 22 to 50 mm
# across, even with moves this small. A network trained like that would learn to outline next to the
# lesion.
#
# ## 5. Try it yourself: the augmentation explorer
#
# Move the sliders and watch the phantom slice and its lesion outline move together; the button draws
# a random setting. The ranges are generous (up to 45 degrees, contrast and brightness, noise after
# the window), beyond what this CT may get in training: turn it by 45 degrees, or raise the
# brightness, and ask whether a scanner could ever deliver that image. Below it, the explorer's
# static twin (no running kernel needed) shows a setting the CT-safe pipeline could draw: 4 degrees
# and a small shift, no intensity change.

# %% tags=["nbval-ignore-output"]
rl.widgets.augment_explorer(liver, mask=lesion, seed=SEED)

# %%
rl.plot.augment_figure(liver, angle=4, shift=(4, -3), mask=lesion, seed=SEED)

# %% [markdown]
# ## 6. Clinical cautions: an augmentation must keep the label true
#
# An augmented image inherits its original's label. If the change makes the label false, the network
# is trained on a lie. Three examples, then a table for each kind of image.
#
# ### Mirroring a chest film puts the heart on the wrong side
#
# On a PA chest film the heart lies on the patient's left, the **right** side of the image. The
# average of all normal films shows it: the lower half is brighter (the heart shadow) on the image
# right. A mirrored film shows the heart on the other side: *dextrocardia*, an anomaly, still
# labelled "normal".

# %%
if normal_films is not None:
    average = normal_films.mean(dim=0)  # (1, 28, 28): the average normal film
    lower = average[0, 14:24]  # the rows of the heart shadow
    right_minus_left = float(lower[:, 14:].mean() - lower[:, :14].mean())
    mirrored = rl.transforms.flip(average)[0, 14:24]
    mirrored_right_minus_left = float(mirrored[:, 14:].mean() - mirrored[:, :14].mean())
    print(
        f"{len(normal_films)} normal films; lower half, image right minus image left: "
        f"{right_minus_left:+.3f} (original), {mirrored_right_minus_left:+.3f} (mirrored)"
    )
    # mirroring swaps the two halves, so the mirrored difference is exactly the negative
    difference = round(right_minus_left, 3)
    rec.claim("the lower image right (heart) is brighter", difference > 0.02, difference=difference)
else:
    print("PneumoniaMNIST is not downloaded: the average film needs it (see the message above).")

pictures = [chest[0], rl.transforms.flip(chest)[0]]
titles = ["a normal film", "mirrored: heart on patient's right"]
if normal_films is not None:
    pictures += [average[0], rl.transforms.flip(average)[0]]
    titles += ["average normal film", "average, mirrored"]
suptitle = "chest X-ray: the heart shadow is on the image right (patient's left)"
rl.plot.grid(pictures, titles=titles, panel_inches=2.0, suptitle=suptitle)

# %% [markdown]
# The package's default pipeline for chest films therefore leaves mirroring out, and says why. A
# pipeline someone else wrote can be checked with `unsafe_steps`: mirroring, and a rotation of up to
# 45 degrees (a tilt no radiographer produces), are both flagged for chest films.

# %%
step_names = []
for step in chest_aug:
    step_names.append(type(step).__name__)
print(step_names)
no_flip = "RandomFlip" not in step_names
rec.claim("the default chest X-ray pipeline contains no mirroring", no_flip)
print(rl.transforms.UNSAFE["chest_xray"]["horizontal flip"])

naive = [rl.transforms.RandomFlip(p=0.5), rl.transforms.RandomRotate(degrees=45)]
for problem in rl.transforms.unsafe_steps("chest_xray", naive):
    print("-", problem)

# %% [markdown]
# ### Cropping away the lesion
#
# A small random crop may cut the lesion out of the field while the label still says "lesion
# present". We crop one phantom slice (the HCC above) 200 times at random, 40 x 40 pixels out of
# 96 x 96, and count the crops that contain none of the lesion:

# %%
many = liver.repeat(200, 1, 1, 1)  # (200, 1, 96, 96): the same slice 200 times
many_masks = lesion.repeat(200, 1, 1)  # (200, 96, 96)
crop_40 = rl.transforms.RandomCrop(40)
_, crop_masks = crop_40(many, mask=many_masks, generator=rl.transforms.make_generator(SEED))
lesion_pixels = crop_masks.sum(dim=(1, 2))  # lesion pixels left in each crop
lost = round(float((lesion_pixels == 0).float().mean()), 3)  # share of crops with no lesion
rec.claim("more than 20 % of 40-pixel crops cut the lesion out entirely", lost > 0.2, lost=lost)

# %% [markdown]
# More than half of these crops (52.5 %) hold no lesion at all. For a "lesion present" label, crops
# must be large enough to keep the lesion, or be placed around it (the mask tells where it is).
#
# ### Intensity changes on CT change the diagnosis
#
# A simple cyst is water (about 0 to 15 HU), a solid lesion soft tissue (30 HU and more). In the liver
# window (W 150 / L 60) a brightness change delta moves every pixel by delta x 150 HU. Here a phantom
# cyst, unenhanced phase, after brightness +0.2 and after a shift of only 5 HU (brightness 5 / 150),
# the size of the real differences between scanners and tube voltages:

# %%
e = int(np.flatnonzero(cases.category == "E")[0])  # a simple cyst
unenhanced = cases.images[e, 0:1]  # (1, 96, 96) HU, the unenhanced phase
cyst_image = torch.from_numpy(rl.window(unenhanced, preset="liver"))  # (1, 96, 96) in [0, 1]
cyst = torch.from_numpy(cases.lesion_mask[e])  # (96, 96), True on the cyst


def cyst_hu(windowed):
    """Mean HU of the cyst's pixels, converted back from window units (0 to 1) to HU."""
    hu = windowed * window.width + window.level - window.width / 2
    return float(hu[0][cyst].mean())


before = cyst_hu(cyst_image)
after_small = cyst_hu(rl.transforms.adjust_brightness(cyst_image, 5 / window.width))
after = cyst_hu(rl.transforms.adjust_brightness(cyst_image, 0.2))
print(f"cyst: {before:.0f} HU; after a 5 HU shift {after_small:.0f} HU; after +0.2 {after:.0f} HU")
before, after = round(before), round(after)
turned = before < 20 and after > 30
rec.claim("+0.2 turns the cyst's water into soft tissue", turned, before=before, after=after)

# %% [markdown]
# After +0.2 the "cyst" has soft-tissue density: a solid lesion, still labelled benign cyst. After a
# 5 HU shift it still reads as water. So the default CT pipeline leaves contrast and brightness out,
# while the one for weighted MR (no absolute scale) keeps them.
#
# ### Which step is safe for which image
#
# The reasons are kept as data, `rl.transforms.UNSAFE`, for each kind of image: `ct`, the `phantom`
# (an abdominal CT in HU: the CT rules hold), weighted MR (`mr`), quantitative MR maps (`mr_map`),
# chest films and ultrasound. Below: three default pipelines, then the steps unsafe for at least one
# kind, and the largest rotation, in degrees, each kind allows:

# %%
for kind in ["ct", "mr", "mr_map"]:
    labels = []
    for step in rl.transforms.default_augmentation(kind):
        labels.append(step.label)
    print(f"{kind:>6}:", labels)
print("CT brightness:", rl.transforms.UNSAFE["ct"]["brightness"])

kinds = ["ct", "phantom", "mr", "mr_map", "chest_xray", "ultrasound"]
steps = ["horizontal flip", "vertical flip", "large rotation", "contrast", "brightness"]
header = f"{'step':<16}"
for kind in kinds:
    header += f"{kind:>11}"
print("\n" + header)
for step in steps:
    row = f"{step:<16}"
    for kind in kinds:
        verdict = "unsafe" if step in rl.transforms.UNSAFE[kind] else "ok"
        row += f"{verdict:>11}"
    print(row)
row = f"{'rotation limit':<16}"  # degrees: a larger rotation counts as a large rotation
for kind in kinds:
    row += f"{rl.transforms.MAX_DEGREES[kind]:>11}"
print(row)

# %% [markdown]
# Read the table by column. On CT and the phantom, a left-right flip breaks situs and laterality (the
# liver belongs on the image left; a left-sided lesion would become right-sided), upside down the
# patient becomes prone, and contrast or brightness destroys what a HU means. Ultrasound may be
# mirrored left-right, but not turned upside down: the transducer is always at the top. On natural
# photographs, for which many published pipelines were written, all of these are usually fine: a
# mirrored photo of a dog still shows a dog. Such a photo-style pipeline is flagged step by step on
# the phantom, while the phantom's own one passes:

# %%
photo_style = [
    rl.transforms.RandomFlip(p=0.5),
    rl.transforms.RandomFlip(p=0.5, horizontal=False),
    rl.transforms.RandomRotate(degrees=30),
    rl.transforms.RandomContrast((0.8, 1.2)),
    rl.transforms.RandomBrightness(0.1),
]
problems = rl.transforms.unsafe_steps("phantom", photo_style)
for problem in problems:
    print("-", problem)
phantom_problems = rl.transforms.unsafe_steps("phantom", phantom_aug)
flagged = len(problems)
all_flagged = flagged == 5 and not phantom_problems
rec.claim("all 5 photo steps flagged; the phantom's pipeline passes", all_flagged)

# %% [markdown]
# ### Exercise 4 · Safe augmentations for an abdominal CT
#
# You train a network to classify liver lesions on portal venous CT, in HU, in the liver window. From
# the list below, choose every augmentation that keeps both the anatomy and the Hounsfield units true,
# and write them as a set of names, e.g. `{"shift up to 5 %", ...}`.

# %%
print("\n".join(ex.CT_CHOICES))
my_safe = ...  # a set of names copied from the list above
### BEGIN SOLUTION
my_safe = {
    "rotation up to 5 degrees",
    "shift up to 5 %",
    "zoom 0.95-1.05",
    "crop that keeps the lesion",
    "dose noise in HU before the window",
}
### END SOLUTION
ex.ct_safe.check(my_safe)
# ex.ct_safe.hint()
# ex.ct_safe.solution()

# %% [markdown]
# ## 7. What does augmentation cost?
#
# Augmentation runs on every batch of every epoch, so it must be cheap. We time the chest pipeline on
# a batch of 256 images of 64 x 64 pixels against one **training step** of the course's small CNN on
# the same batch: the **forward pass** (the batch through the network to its outputs), the **backward
# pass** (how each weight should change to reduce the error) and the weight update (lesson 04 explains
# all three). Times depend on your computer and its load.

# %%
n_batch = rl.config.pick(smoke=8, cpu=256, gpu=256)
if normal_films is not None:
    films = normal_films[:n_batch]  # (n_batch, 1, 28, 28)
else:
    films = chest.repeat(n_batch, 1, 1, 1)  # without the download: one film, n_batch times
films = torch.nn.functional.interpolate(films, size=(64, 64), mode="bilinear").clamp(0, 1)
x = films.to(DEVICE)  # (n_batch, 1, 64, 64)
# made-up labels: only the time matters here
y = torch.randint(0, 2, (n_batch,), generator=torch.Generator().manual_seed(SEED)).to(DEVICE)
model = rl.models.small_cnn(in_channels=1, num_classes=2).to(DEVICE)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
timing_generator = rl.transforms.make_generator(SEED, device=DEVICE)


def augment_batch():
    """Augment the whole batch once with the chest pipeline."""
    chest_aug(x, generator=timing_generator)


def train_step():
    """One training step: forward pass and loss, backward pass, weight update."""
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()


# %% tags=["nbval-ignore-output"]
repeats = rl.config.pick(smoke=1, cpu=3, gpu=20)
augment_ms = rl.transforms.time_per_batch(augment_batch, repeats=repeats, device=DEVICE)
step_ms = rl.transforms.time_per_batch(train_step, repeats=repeats, device=DEVICE)
share = augment_ms / step_ms
print(f"batch of {n_batch} at 64 x 64 on {DEVICE.type}: augmenting {augment_ms:.1f} ms")
print(f"one training step {step_ms:.1f} ms; augmenting costs {share:.0%} of it")
augment_ms, step_ms = round(augment_ms, 1), round(step_ms, 1)
rec.claim("augmenting costs under half a step", share < 0.5, augment_ms=augment_ms, step_ms=step_ms)

# %% [markdown]
# Augmenting costs a small share of a training step (a few per cent at most on this course's 2-core
# CPU). On a GPU the small network's step is itself much faster, so the share there is larger; this
# lesson does not measure it. Either way a network can see fresh versions of every case in every
# epoch at modest extra cost.
#
# ## Summary
# - Augmentation makes new training images from the ones we have (review Fig. 4), against
#   overfitting (Table 1); lesson 05 measures how much it helps.
# - On CT, noise belongs in HU before the window: correlated, with an SD of 12 / sqrt(dose) HU here.
#   Noise added after the window is a simplification that greys the air.
# - The random transforms augment a whole batch in one call, each image with its own setting.
# - For segmentation, image and mask move by the same random draw: identical under crops, the lesion
#   centre within a pixel under rotation, shift and zoom; with two draws they drift centimetres apart.
# - An augmentation must keep the label true: no mirrored chest films or CT, no upside-down CT, no
#   crops that cut the lesion out, no contrast or brightness change on CT (a few HU at most) or on
#   quantitative MR maps; fine on weighted MR. `default_augmentation` leaves such steps out and
#   `unsafe_steps` says why.
#
# ## Questions
# 1. You train a network to find pneumothorax on chest films. Would you use mirroring? Would you use
#    a rotation of 5 degrees? Of 90 degrees?
#
# <details><summary>Answer</summary>
#
# No mirroring: the film would show dextrocardia, and a label naming the side of the pneumothorax
# becomes false. 5 degrees, yes: patients stand a little rotated (the package allows up to 10 degrees
# for chest films). Not 90: no chest film is read on its side, and the apex, where air collects in an
# upright patient, would point sideways.
#
# </details>
#
# 2. Why must the segmentation mask be rotated with nearest-neighbour interpolation and not bilinear?
#
# <details><summary>Answer</summary>
#
# A mask holds labels, not grey levels. Bilinear interpolation averages neighbours, so at the lesion's
# edge it makes values such as 0.5, which are no label; between labels 1 (liver) and 3 (kidney) it
# could even make a 2, another organ. Nearest neighbour copies one existing label into each pixel, so
# the mask stays valid.
#
# </details>
#
# 3. A CT lesion classifier is augmented with brightness changes of +-0.2 in a window of width 150.
#    How many HU is that, and which diagnosis could it turn into which?
#
# <details><summary>Answer</summary>
#
# 0.2 x 150 HU = up to 30 HU either way. A simple cyst at about 10 HU could read 40 HU, soft tissue
# like a solid lesion, still labelled "cyst" (section 6 measured this). A solid hypo-attenuating
# lesion at 35 HU could read 5 HU, water, still labelled "solid": the network learns that density
# does not matter.
#
# </details>
#
# 4. Why is a contrast or brightness change reasonable for MR but not for CT?
#
# <details><summary>Answer</summary>
#
# Weighted MR has no absolute scale (the same tissue reads differently with another coil, gain or
# scanner), so the change imitates real variation. CT numbers are calibrated HU that readers use as
# measurements (a cyst against a solid lesion, an adrenal adenoma at 10 HU or less unenhanced), so
# changing them changes the diagnosis; only a shift of a few HU, as between scanners and tube
# voltages, can be defended. Quantitative MR maps (ADC, T1, T2, fat fraction) must not be changed
# either.
#
# </details>
#
# 5. Your segmentation network's outlines are always shifted a few pixels to one side of the lesions.
#    Which mistake in the augmentation code would you look for first?
#
# <details><summary>Answer</summary>
#
# A systematic mismatch between image and mask (separate random draws would scatter the outlines in
# every direction instead): a shift or crop applied to the image but not the mask, an offset or sign
# error in hand-written code, or image and mask resampled with different conventions (e.g. about the
# pixel centre). Check it by numbers, as in section 4.
#
# </details>
#
# 6. Your training CTs were all acquired at standard dose; the department moves to a reduced-dose
#    protocol. Which augmentation would prepare the network, and how would you make it physical?
#
# <details><summary>Answer</summary>
#
# Dose noise in HU, before the window, with an SD growing as 1/sqrt(dose fraction) and the grain of
# real CT noise, as `RandomDose` adds; white noise after the window has the wrong size in HU, no
# grain, and greys the air. Then test the network on real reduced-dose scans: iterative
# reconstruction changes the noise texture in ways this model does not capture.
#
# </details>
