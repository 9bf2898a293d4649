# %% [markdown]
# # 02 · Data augmentation: more training images from the ones you have
#
# **What you will learn**
# - the augmentations of the review's Fig. 4: cropping at different locations, mirroring, rotation,
#   parallel shift, added noise, contrast and brightness changes, each shown on a real image;
# - how a whole minibatch is augmented in one call, each image with its own random setting;
# - why, for segmentation, image and mask must be moved by *the same* random draw, and how to check it;
# - the clinical cautions: an augmentation must keep the label true (a mirrored chest film shows
#   dextrocardia; a crop can cut the lesion out; a brightness change on CT changes what a density means);
# - how cheap augmentation is compared with one training step.
#
# **Why a radiologist cares.** A CNN learns from examples, and medical examples are scarce. Augmentation
# makes new training images by changing the ones we have in ways that *could* have happened in practice:
# the patient lies a little rotated, the field of view is placed differently, the dose is lower, the MR
# gain is different. Each change must leave the diagnosis unchanged. Deciding which changes are harmless
# is a radiological judgement, not a programming one. This lesson follows the review's section on data
# augmentation (Yasaka K, Akai H, Kunimatsu A, Kiryu S, Abe O. Deep learning with convolutional neural
# network in radiology. Jpn J Radiol 2018;36:257-272; Fig. 4 and Table 1).
#
# In the review's Table 1 augmentation is one of the countermeasures against **overfitting** (a network
# that memorises its training cases instead of learning the disease). This lesson shows *what* the
# augmentations do; whether they actually reduce overfitting is *measured* in lesson 05.

# %%
import numpy as np
import torch
from pydicom.data import get_testdata_file

import radlab as rl

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("02_augmentation")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. Three real images to work on
#
# Augmentation works on images that are already **windowed** to the range 0 (black) to 1 (white)
# (lesson 01). We use three:
#
# - a **chest X-ray** from PneumoniaMNIST (real pediatric chest films from Kermany et al., Cell 2018,
#   reduced to 28 x 28 pixels by Yang et al., Sci Data 2023);
# - the real **head CT** `693_UNCR.dcm` from lesson 01, in the brain window, reduced to 128 x 128;
# - a slice of the course's **liver phantom** (arterial phase, liver window) with its **lesion mask**,
#   because segmentation needs the mask to move with the image.
#
# On a fresh computer without the MedMNIST download the cell prints how to get it and uses a real
# full-size chest film that ships with `pydicom-data` instead.

# %%
normal_films, chest, chest_source = rl.data.chest_films()  # chest: (1, H, W) in [0, 1]
print(chest_source, tuple(chest.shape))

# %%
ct_hu = torch.from_numpy(
    rl.dicom.to_array(rl.dicom.read(get_testdata_file("693_UNCR.dcm")))
)  # (512, 512) HU
ct_small = torch.nn.functional.interpolate(ct_hu[None, None], size=(128, 128), mode="area")[
    0
]  # (1, 128, 128)
ct = rl.window(ct_small, preset="brain")  # (1, 128, 128) in [0, 1]

cases = rl.phantoms.liver_lesions(16, size=96, seed=SEED)
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
# The package's plain functions in `rl.transforms` apply one fixed setting to an image, so that we can
# look at each change on its own. Later (section 3) the *random* versions draw a new setting for every
# image of a batch. We collect each result to show them all together at the end of this section.
#
# ### Cropping at different locations
#
# A crop cuts a smaller window out of the image. Cropping the same image at different places gives the
# network the anatomy at different positions in its field of view, as when the radiographer centres
# the film a little differently. Here, five 96 x 96 crops of the 128 x 128 head CT:

# %%
corners = [(0, 0), (0, 32), (32, 0), (32, 32), (16, 16)]  # (top, left) of each crop
ct_crops = [rl.transforms.crop(ct, top, left, 96, 96) for top, left in corners]
[tuple(c.shape) for c in ct_crops]

# %%
rl.plot.grid(
    [c[0] for c in ct_crops],
    titles=[f"top {top}, left {left}" for top, left in corners],
    suptitle="five 96 x 96 crops of the head CT (brain window)",
    panel_inches=1.7,
)

# %% [markdown]
# Each crop is a slightly different picture of the same head; the label (the diagnosis) stays the
# same as long as the finding is still inside the crop (section 6 shows when it is not).

# %%
shown = {name: [image] for name, image in examples.items()}  # the original first
for name, image in examples.items():
    side = image.shape[-1]
    shown[name].append(
        rl.transforms.crop(image, side // 8, side // 4, 3 * side // 4, 3 * side // 4)
    )
[tuple(images[-1].shape) for images in shown.values()]

# %% [markdown]
# ### Mirroring
#
# A mirror image (a *flip*) swaps left and right. It is only harmless when left and right do not
# matter for the label: a skin lesion on a photograph, perhaps, but hardly a chest film (section 6).
# Flipping twice gives the original back, exactly:

# %%
for name, image in examples.items():
    shown[name].append(rl.transforms.flip(image))
all(
    torch.equal(rl.transforms.flip(rl.transforms.flip(image)), image) for image in examples.values()
)

# %% [markdown]
# ### Rotation
#
# A rotation turns the image about its centre, like a patient lying slightly tilted. The corners that
# come from outside the original field are filled with 0 (black). Here 15 degrees counter-clockwise:

# %%
for name, image in examples.items():
    shown[name].append(rl.transforms.rotate(image, 15))
{
    name: round(float(images[-1][0, 0, 0]), 3) for name, images in shown.items()
}  # top-left corner: filled with 0

# %% [markdown]
# ### Parallel shift
#
# A shift moves the whole image content sideways or up and down, like a patient positioned off-centre.
# A shift by a whole number of pixels is just the same pixels moved: we check that against doing it
# by hand (move the columns, fill the gap with 0).

# %%
moved = rl.transforms.shift(ct, dx=12, dy=0)  # 12 pixels to the right
by_hand = torch.zeros_like(ct)
by_hand[..., :, 12:] = ct[..., :, :-12]
print("largest difference to the shift by hand:", float((moved - by_hand).abs().max()))
for name, image in examples.items():
    side = image.shape[-1]
    shown[name].append(rl.transforms.shift(image, dx=side // 8, dy=-side // 10))

# %% [markdown]
# ### Added noise
#
# Gaussian noise added to every pixel imitates a noisier acquisition (lower dose on CT, a faster MR
# sequence). The standard deviation `sd` is in window units: 0.05 is 5 % of the window width. The
# noise is drawn from a **seeded generator**, so this notebook shows the same noise every time.

# %%
generator = rl.transforms.make_generator(SEED)
for name, image in examples.items():
    noisy = rl.transforms.add_noise(image, sd=0.05, generator=generator)
    shown[name].append(noisy)
    print(f"{name:<30} SD of the added noise: {float((noisy - image).std()):.3f}")

# %% [markdown]
# On the chest film the measured SD is the 0.05 we asked for. On the head CT and the liver phantom it
# is clearly lower (about 0.037): in these windows much of the image is pure black (air, fat) or pure
# white (bone), and the result is cut back into the range 0 to 1, so noise cannot make black blacker
# or white whiter.
#
# ### Contrast and brightness
#
# **Contrast** stretches the grey levels around the image's mean (like narrowing the window width);
# **brightness** adds an offset to every pixel (like moving the window level):
#
# $$x_{\text{contrast}} = f\,x + (1-f)\,\bar{x}, \qquad x_{\text{brightness}} = x + \delta,$$
#
# both cut back into 0 to 1. On **MR** such changes are natural augmentations: MR signal has no absolute
# scale (its numbers depend on the coil, the receiver gain and the sequence), so the same tissue reads
# differently on every scanner. On **CT** they are not: Hounsfield units are calibrated, so water reads
# within a few HU of 0 on any scanner (bone and iodinated contrast vary more, with the tube voltage
# and the reconstruction kernel), and a density change can change the diagnosis (section 6).

# %%
for name, image in examples.items():
    shown[name].append(rl.transforms.adjust_contrast(image, 1.5))
    shown[name].append(rl.transforms.adjust_brightness(image, 0.15))
    mean, brighter = float(image.mean()), float(shown[name][-1].mean())
    print(f"{name:<30} mean grey level {mean:.3f} -> {brighter:.3f} after brightness +0.15")

# %% [markdown]
# Everything together: each row one image, each column one augmentation.

# %%
columns = [
    "original",
    "crop",
    "mirror",
    "rotate 15°",
    "shift",
    "noise 0.05",
    "contrast x1.5",
    "brightness +0.15",
]
rl.plot.grid(
    [image[0] for images in shown.values() for image in images],
    ncols=len(columns),
    titles=columns + [""] * (len(columns) * (len(shown) - 1)),
    panel_inches=1.2,
    suptitle="rows: " + " / ".join(shown),
)

# %% [markdown]
# The anatomy stays recognisable in every column: these are images a scanner could plausibly have
# produced. That is the test every augmentation has to pass.
#
# ## 3. A whole batch in one call
#
# For training we do not transform images one by one. The random transforms (`RandomFlip`,
# `RandomRotate`, `RandomShift`, `RandomAffine` for rotation and shift together, `RandomCrop`,
# `RandomNoise`, `RandomContrast`, `RandomBrightness`) take a whole minibatch `(N, C, H, W)` and give
# **each image its own random setting**, in one call, on whatever device the batch is on. `Compose`
# chains them. Here is the package's default pipeline for chest films:

# %%
chest_aug = rl.transforms.default_augmentation("chest_xray")
chest_aug

# %% [markdown]
# Sixteen copies of the same chest film go in; sixteen different films come out:

# %%
batch = chest.repeat(16, 1, 1, 1)  # (16, 1, H, W): the same film 16 times
augmented = chest_aug(batch, generator=rl.transforms.make_generator(SEED))
# each image laid out as one long row of numbers; torch.unique keeps one copy of identical rows
different = len(torch.unique(augmented.flatten(1), dim=0))
print(
    "batch in:",
    tuple(batch.shape),
    " batch out:",
    tuple(augmented.shape),
    " different images:",
    different,
)

# %%
rl.plot.grid(
    augmented[:, 0],
    ncols=8,
    panel_inches=1.1,
    suptitle="16 random versions of one chest film, one call",
)

# %% [markdown]
# Every epoch the network sees new versions of each film: it cannot simply memorise the exact pixels of
# a training case.
#
# ## 4. Segmentation: image and mask move together
#
# For segmentation the teaching data is a **mask** (which pixels are lesion). If the image is rotated
# and the mask is not, or is rotated by a different angle, the network is taught to outline the wrong
# pixels. So every spatial transform takes `mask=` and moves the mask with **the same random draw**
# (nearest-neighbour, so a mask pixel stays 0 or 1); intensity transforms (noise, contrast,
# brightness) leave the mask untouched. Here the phantom's default pipeline on all 16 phantom slices:

# %%
phantom_aug = rl.transforms.default_augmentation("phantom")
moved_images, moved_masks = phantom_aug(
    arterial, mask=lesion_masks, generator=rl.transforms.make_generator(SEED)
)
(
    tuple(moved_images.shape),
    tuple(moved_masks.shape),
    moved_masks.dtype,
    sorted(moved_masks.unique().tolist()),
)

# %%
fig, axes = rl.plot.figure(
    2,
    6,
    inches=(8.4, 3.2),
    title="top: phantom slices with the lesion outlined; bottom: one random draw each (liver window)",
)
for i in range(6):
    rl.plot.show(arterial[i], ax=axes[0, i], mask=lesion_masks[i], title=cases.category[i])
    rl.plot.show(moved_images[i], ax=axes[1, i], mask=moved_masks[i], title="augmented")
fig

# %% [markdown]
# The outline still sits on the lesion after each random flip, rotation and shift. We do not have to
# trust our eyes: a **check by numbers**. We give the mask to the pipeline twice: once as the mask, and
# once as an extra *image channel* (lesion = 1, the rest 0). Both copies must come out in the same
# place.
#
# With flips and crops no pixel is interpolated, so the two copies must be *identical*, pixel for pixel,
# in every one of the 16 images:

# %%
exact = rl.transforms.Compose(
    [
        rl.transforms.RandomFlip(p=0.5),
        rl.transforms.RandomFlip(p=0.5, horizontal=False),
        rl.transforms.RandomCrop(80),
    ]
)
paired = torch.cat(
    [arterial, lesion_masks[:, None].float()], dim=1
)  # (16, 2, 96, 96): image + mask as a channel
out, out_masks = exact(paired, mask=lesion_masks, generator=rl.transforms.make_generator(SEED))
identical = [torch.equal(out[i, 1].long(), out_masks[i]) for i in range(len(out))]
rec.claim(
    "with flips and random crops, the mask equals the mask-shaped image channel exactly, in every image",
    all(identical),
    images=len(identical),
    identical=sum(identical),
)


# %% [markdown]
# Rotation and shift interpolate the image (bilinear) but not the mask (nearest neighbour), so the edges
# can differ by a pixel. The lesion's **centre** (centroid) must still move identically. As a contrast we
# also do it the *wrong* way: the mask transformed by a second, separate call (a different random draw).


# %%
def centroid(weights):
    """Row and column of the centre of mass of a (H, W) mask or image."""
    rows, cols = torch.meshgrid(
        torch.arange(weights.shape[-2]), torch.arange(weights.shape[-1]), indexing="ij"
    )
    total = weights.sum()
    return torch.stack([(rows * weights).sum() / total, (cols * weights).sum() / total])


moves = rl.transforms.RandomAffine(degrees=30, translate=0.1)
out, out_masks = moves(paired, mask=lesion_masks, generator=rl.transforms.make_generator(SEED))
_, wrong_masks = moves(
    lesion_masks[:, None].float(),
    mask=lesion_masks,
    generator=rl.transforms.make_generator(SEED + 1),
)
same_draw = [
    float((centroid(out_masks[i].float()) - centroid(out[i, 1])).norm()) for i in range(len(out))
]
two_draws = [
    float((centroid(wrong_masks[i].float()) - centroid(out[i, 1])).norm()) for i in range(len(out))
]
print(f"lesion centre, image vs mask, same draw: largest distance {max(same_draw):.2f} pixels")
print(
    f"lesion centre, image vs mask, two draws: median distance {np.median(two_draws):.1f} pixels"
    f" = {np.median(two_draws) * cases.pixel_mm:.0f} mm at {cases.pixel_mm:.1f} mm per pixel"
)

# %%
agree = float((out[:, 1].round().long() == out_masks).float().mean())
rec.measure("centroid_distance_same_draw_px", round(max(same_draw), 3))
rec.measure("centroid_distance_two_draws_px", round(float(np.median(two_draws)), 3))
rec.claim(
    "one draw moves image and mask together: the lesion centre agrees within 0.5 pixel in every image",
    max(same_draw) < 0.5,
    largest_px=round(max(same_draw), 2),
    pixels_agreeing=round(agree, 4),
)

# %% [markdown]
# And the intensity steps never touch the mask at all:

# %%
intensity = rl.transforms.Compose(
    [
        rl.transforms.RandomNoise(0.05),
        rl.transforms.RandomContrast((0.7, 1.3)),
        rl.transforms.RandomBrightness(0.2),
    ]
)
_, untouched = intensity(arterial, mask=lesion_masks, generator=rl.transforms.make_generator(SEED))
torch.equal(untouched, lesion_masks)

# %% [markdown]
# With one draw the lesion's centre agrees to a fraction of a pixel. With two separate draws image and
# mask drift apart by more than ten pixels (the median above); the phantom's 96 pixels span 380 mm,
# about 4 mm per pixel, so that is several centimetres, often more than the lesion's own diameter. A
# segmentation network trained like that would learn to outline next to the lesion.
#
# ## 5. Try it yourself: the augmentation explorer
#
# Move the sliders (rotation, shift, noise, contrast, brightness) and watch the phantom slice and its
# lesion outline change together; the button draws a new random setting. The read-out under the
# pictures states the settings.

# %% tags=["nbval-ignore-output"]
rl.widgets.augment_explorer(liver, mask=lesion, seed=SEED)

# %% [markdown]
# The same, without a kernel (the static twin of the explorer), for one fixed setting:

# %%
rl.plot.augment_figure(
    liver,
    angle=20,
    shift=(8, -6),
    noise=0.05,
    contrast=1.2,
    brightness=0.05,
    mask=lesion,
    seed=SEED,
)

# %% [markdown]
# ## 6. Clinical cautions: an augmentation must keep the label true
#
# An augmented image inherits the label of its original. If the change makes that label false, the
# network is trained on a lie. Three examples.
#
# ### Mirroring a chest film puts the heart on the wrong side
#
# On a PA chest film the heart lies on the patient's left, which is the **right** side of the image.
# The average of all normal films shows it: the lower half of the image is brighter (the heart
# shadow) on the image's right. A mirrored film shows the heart on the other side: an image of
# *dextrocardia*, an anomaly, still labelled "normal".

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
    # mirroring swaps the two halves, so the mirrored difference is exactly the negative: only the original is tested
    rec.claim(
        "on the average normal chest film the heart side (lower image right) is brighter than the left",
        right_minus_left > 0.02,
        right_minus_left=round(right_minus_left, 3),
    )
else:
    print("PneumoniaMNIST is not downloaded: the average film needs it (see the message above).")

# %%
pictures = [chest[0], rl.transforms.flip(chest)[0]]
titles = ["a normal film", "mirrored: heart on patient's right"]
if normal_films is not None:
    pictures += [average[0], rl.transforms.flip(average)[0]]
    titles += ["average normal film", "average, mirrored"]
rl.plot.grid(
    pictures,
    titles=titles,
    panel_inches=2.0,
    suptitle="chest X-ray: the heart shadow is on the image right (patient's left)",
)

# %% [markdown]
# The package's default pipeline for chest films therefore leaves mirroring out, and says why:

# %%
print([type(step).__name__ for step in chest_aug])
no_flip = not any(isinstance(step, rl.transforms.RandomFlip) for step in chest_aug)
rec.claim("the default chest X-ray pipeline contains no mirroring", no_flip)
print(rl.transforms.UNSAFE["chest_xray"]["horizontal flip"])

# %% [markdown]
# A pipeline someone else wrote can be checked the same way. Mirroring, and a rotation of up to 45
# degrees (a tilt no radiographer produces), are both flagged for chest films:

# %%
naive = [rl.transforms.RandomFlip(p=0.5), rl.transforms.RandomRotate(degrees=45)]
for problem in rl.transforms.unsafe_steps("chest_xray", naive):
    print("-", problem)

# %% [markdown]
# ### Cropping away the lesion
#
# A small random crop may cut the lesion out of the field while the label still says "lesion present".
# We crop one phantom slice (the HCC above) 200 times at random, 40 x 40 pixels out of 96 x 96, and count
# the crops that contain none of the lesion:

# %%
many = liver.repeat(200, 1, 1, 1)  # (200, 1, 96, 96)
_, crop_masks = rl.transforms.RandomCrop(40)(
    many, mask=lesion.repeat(200, 1, 1), generator=rl.transforms.make_generator(SEED)
)
lost = float((crop_masks.sum(dim=(1, 2)) == 0).float().mean())
rec.measure("crops_without_lesion", lost)
rec.claim(
    "small random crops (40 of 96 pixels) often cut the lesion out entirely (in more than 20 % of crops)",
    lost > 0.2,
    fraction_without_lesion=round(lost, 3),
)

# %% [markdown]
# For a "lesion present" label, crops must be large enough to keep the lesion, or be placed around it
# (the mask tells where it is).
#
# ### Intensity changes on CT change the diagnosis
#
# Hounsfield units are calibrated, so on any scanner water reads close to 0 and soft tissue a few tens
# of HU (give or take a few HU between scanners, tube voltages and kernels): a simple cyst is water
# (about 0 to 15 HU), a solid lesion is soft tissue (30 HU and more). A brightness change in the liver window (W 150 / L 60) moves every pixel
# by delta x 150 HU. Here a phantom cyst, unenhanced phase, before and after brightness +0.2:

# %%
e = int(np.flatnonzero(cases.category == "E")[0])  # a simple cyst
window = rl.WINDOWS["liver"]
cyst_image = torch.from_numpy(
    rl.window(cases.images[e, 0:1], preset="liver")
)  # (1, 96, 96) unenhanced
cyst = torch.from_numpy(cases.lesion_mask[e])


def as_hu(windowed):
    """Back from window units (0 to 1) to HU."""
    return windowed * window.width + window.level - window.width / 2


before = float(as_hu(cyst_image)[0][cyst].mean())
after = float(as_hu(rl.transforms.adjust_brightness(cyst_image, 0.2))[0][cyst].mean())
print(f"cyst: {before:.0f} HU before, {after:.0f} HU after brightness +0.2")
rec.claim(
    "on CT a brightness change of 0.2 (liver window) turns the cyst's water density into soft-tissue density",
    before < 20 and after > 30,
    before_hu=round(before),
    after_hu=round(after),
)

# %% [markdown]
# The augmented image shows a "cyst" at soft-tissue density: a solid lesion, still labelled benign cyst.
# That is why the CT pipeline leaves contrast and brightness out, while the MR pipeline (no absolute
# scale) keeps them:

# %%
for kind in ["ct", "mr"]:
    print(f"{kind:>3}:", [step.label for step in rl.transforms.default_augmentation(kind)])
print("CT brightness:", rl.transforms.UNSAFE["ct"]["brightness"])

# %% [markdown]
# ## 7. What does augmentation cost?
#
# Augmentation runs on every batch of every epoch, so it has to be cheap. We time the chest pipeline on
# a batch of 256 images of 64 x 64 pixels and compare it with one training step (forward pass, backward
# pass, weight update) of the course's small CNN on the same batch. The numbers depend on your computer.

# %% tags=["nbval-ignore-output"]
import time


def median_ms(step, repeats):
    """Median time of step() in milliseconds, after one warm-up call."""
    times = []
    for _ in range(repeats + 1):
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:]))


n_batch = rl.config.pick(smoke=8, cpu=256, gpu=256)
x = (
    torch.nn.functional.interpolate(
        normal_films[:n_batch] if normal_films is not None else chest.repeat(n_batch, 1, 1, 1),
        size=(64, 64),
        mode="bilinear",
    )
    .clamp(0, 1)
    .to(DEVICE)
)
y = torch.randint(0, 2, (n_batch,), generator=torch.Generator().manual_seed(SEED)).to(DEVICE)
model = rl.models.small_cnn(in_channels=1, num_classes=2).to(DEVICE)
gen = rl.transforms.make_generator(SEED, device=DEVICE)


def train_step():
    """Forward pass, backward pass, and a plain gradient-descent update of every weight."""
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    with torch.no_grad():
        for weight in model.parameters():
            weight -= 0.01 * weight.grad


repeats = rl.config.pick(smoke=1, cpu=3, gpu=20)
augment_ms = median_ms(lambda: chest_aug(x, generator=gen), repeats)
step_ms = median_ms(train_step, repeats)
print(
    f"batch of {n_batch} at 64 x 64 on {DEVICE.type}: augmenting {augment_ms:.1f} ms, "
    f"one training step {step_ms:.1f} ms; augmenting costs {augment_ms / step_ms:.0%} of a step"
)

# %% tags=["nbval-ignore-output"]
rec.measure(
    "augment_ms_per_batch", round(augment_ms, 2), note=f"batch {n_batch}, 64x64, {DEVICE.type}"
)
rec.measure(
    "train_step_ms_per_batch", round(step_ms, 2), note=f"batch {n_batch}, 64x64, {DEVICE.type}"
)
rec.claim(
    "augmenting a batch costs less than half of one training step on it",
    augment_ms < 0.5 * step_ms,
    augment_ms=round(augment_ms, 1),
    step_ms=round(step_ms, 1),
)

# %% [markdown]
# Augmenting a batch costs less than half a training step, and on a CPU only a few per cent of it
# (the share is printed above). On a GPU the small network's training step itself takes only a few
# milliseconds, so the share is larger: about 30 % when we timed the same batch on an H100. Either
# way a network can be trained on fresh versions of every case in every epoch at modest extra cost.
#
# ## Summary
# - Augmentation makes new training images from the ones we have: crops at different locations,
#   mirroring, rotation, parallel shift, noise, contrast and brightness (review Fig. 4).
# - It counts among the review's countermeasures against overfitting (Table 1); lesson 05 measures how
#   much it helps.
# - The random transforms augment a whole batch in one call, each image with its own setting.
# - For segmentation, image and mask move by the same random draw: here identical pixel for pixel under
#   flips and crops, and the lesion centre within half a pixel under rotation and shift.
# - An augmentation must keep the label true: no mirrored chest films (dextrocardia), no crops that cut
#   the lesion out, no brightness or contrast changes on CT where HU carry the diagnosis (fine on MR,
#   which has no absolute scale). `default_augmentation(kind)` leaves such steps out and
#   `unsafe_steps` says why.
# - Augmenting a batch costs less than half a training step on it: a few per cent on a CPU, about 30 %
#   on a GPU, where the small network's step is itself very fast.
#
# ## Questions
# 1. You train a network to find pneumothorax on chest films. Would you use mirroring? Would you use
#    a rotation of 5 degrees? Of 90 degrees?
# 2. Why must the segmentation mask be rotated with nearest-neighbour interpolation and not bilinear?
# 3. A CT lesion classifier is augmented with brightness changes of +-0.2 in a window of width 150.
#    How many HU is that, and which diagnosis could it turn into which?
# 4. Why is a contrast or brightness change reasonable for MR but not for CT?
# 5. Your segmentation network's outlines are always shifted a few pixels to one side of the lesions.
#    Which mistake in the augmentation code would you look for first?
