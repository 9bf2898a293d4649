# %% [markdown]
# # 01 · Input data: DICOM, Hounsfield units, windows, channels and labels
#
# **What you will learn**
# - how a CNN's input differs from a radiomics pipeline's (review Fig. 1);
# - that a DICOM image is a matrix of stored numbers, and how those become Hounsfield units;
# - window and level, with named presets, an interactive viewer, and the MONOCHROME1 pitfall;
# - how several images of one patient (the phases of a dynamic CT) become *channels*, or one
#   concatenated image (review Fig. 3), and which of the two a small CNN learns from better;
# - how much memory images take, and why crops and resizing are used;
# - the four kinds of teaching data (labels) and what each means for the network's output.
#
# **Why a radiologist cares.** A CNN learns only from the numbers it is given. Whether those numbers
# are Hounsfield units or arbitrary stored values, which window was applied, whether a chest film is
# shown inverted, whether the arterial phase is included: each of these decides what the network can
# possibly learn. This lesson follows the review's section on preparing input and teaching data
# (Yasaka et al., Jpn J Radiol 2018; Fig. 1-3).
#
# **Exercises.** Four short exercises check themselves. Write your answer where the cell has `...`
# and run the cell: it prints "Correct", or what is wrong with a hint aimed at that mistake.
# `ex.NAME.hint()` gives a general hint and `ex.NAME.solution()` the worked answer.

# %%
import numpy as np
import torch
from pydicom.data import get_testdata_file

import radlab as rl
from radlab.exercises import lesson01 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("01_input_data")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. From visual reading to radiomics to CNNs (Fig. 1)
#
# A radiologist looks at the whole image and decides. A **radiomics** pipeline does it in steps: someone
# draws a region of interest (ROI) around the lesion, software computes hand-made features inside it
# (mean attenuation, texture, shape), and a classical classifier decides from those features. A **CNN**
# (convolutional neural network) skips the ROI and the hand-made features: it takes the image itself
# and learns its own features from the labels.
#
# To make this concrete, the course's synthetic liver CT (a *phantom*: made by the package, in
# Hounsfield units, with exact ground truth) gives us one case with its lesion mask. The radiomics way
# needs that mask:

# %%
case = rl.phantoms.liver_lesions(4, size=64, seed=SEED, roi_mm=100)  # 100 mm around the lesion
lesion = case.lesion_mask[0].astype(bool)  # (H, W): True inside the lesion's outline
features = {}  # phase name -> mean HU inside the lesion
for i, phase in enumerate(case.phases):
    image = case.images[0, i]  # the first case, phase i: (H, W) in HU
    inside = image[lesion]  # only the pixels where the mask is True
    features[phase] = round(float(inside.mean()), 1)
print("category:", case.label_names[case.label[0]])
features

# %% [markdown]
# Three numbers, one per phase, computed inside the lesion's outline: that is a (tiny) radiomics
# feature vector. Here the outline is the phantom's exact ground truth; in a real radiomics study
# someone has to draw it, slice by slice. The CNN later in this lesson gets the three full images and
# no mask at all.
#
# ## 2. An image is a matrix: a real CT in DICOM
#
# DICOM files hold the pixels as stored integers plus a header that says how to read them. Here is a
# real head CT from the public NEMA test collection that ships with `pydicom-data` (we use
# `693_UNCR.dcm`, the uncompressed original).

# %%
ct = rl.dicom.read(get_testdata_file("693_UNCR.dcm"))
ct.Modality, ct.Rows, ct.Columns, ct.BitsStored, ct.RescaleSlope, ct.RescaleIntercept

# %% [markdown]
# The stored values are not Hounsfield units. The header's **RescaleSlope** and **RescaleIntercept**
# convert them: HU = stored x slope + intercept. Here the slope is 1 and the intercept -1024, so a
# stored 1024 is water (0 HU).

# %%
stored = ct.pixel_array
hu = rl.dicom.to_array(ct)
print("stored values:", stored.dtype, stored.min(), "to", stored.max())
print("Hounsfield units:", hu.dtype, hu.min(), "to", hu.max())
bool(np.array_equal(hu, stored * float(ct.RescaleSlope) + float(ct.RescaleIntercept)))

# %% [markdown]
# The lowest values (about -3000) are not tissue: they fill the corners outside the scanner's round
# field of view.
#
# ### Exercise 1 · Write the HU conversion
#
# Write `my_hu(stored, slope, intercept)`: it gets the stored pixel values of one image (a NumPy
# array) and the header's slope and intercept, and returns the image in Hounsfield units, same
# shape. The check runs it on two small images: one with slope 1 and intercept -1024 as whole
# numbers, and one with slope 0.5. Both are stored as **uint16** (unsigned 16-bit integers: whole
# numbers from 0 to 65535, with no room for negative values such as air's -1000 HU).


# %%
def my_hu(stored, slope, intercept):
    """The image ``stored`` (stored values) in Hounsfield units."""
    ### BEGIN SOLUTION
    values = np.asarray(stored, dtype=np.float32)  # decimals: room for negative HU
    return values * float(slope) + float(intercept)
    ### END SOLUTION


ex.hu_conversion.check(my_hu)
# ex.hu_conversion.hint()
# ex.hu_conversion.solution()

# %% [markdown]
# Now we read the HU of different tissues off small square ROIs (8 x 8 pixels), as you would with
# the ROI tool of a workstation. Fat and muscle come from a second real CT that pydicom
# ships (`CT_small.dcm`, a slice through the back), because the head slice has almost no fat.

# %%
small = rl.dicom.to_array(rl.dicom.read(get_testdata_file("CT_small.dcm")))
rois = {  # tissue: (image, row, column of the ROI's centre, textbook range in HU)
    "air (in front of the head)": (hu, 60, 256, (-1010, -990)),
    "fat (back, subcutaneous)": (small, 115, 61, (-150, -50)),
    "CSF (lateral ventricle)": (hu, 299, 230, (-5, 20)),
    "brain parenchyma": (hu, 300, 300, (15, 45)),
    "muscle (back)": (small, 80, 30, (30, 70)),
    "bone (skull)": (hu, 427, 271, (700, 3000)),
}
measured = {}
for tissue, (image, row, col, (low, high)) in rois.items():
    square = image[row - 4 : row + 4, col - 4 : col + 4]  # 8 x 8 pixels around (row, col)
    measured[tissue] = float(square.mean())
    print(f"{tissue:<26} {measured[tissue]:8.1f} HU   (typical {low} to {high})")
pad = hu[257:265, 100:108]  # 8 x 8 pixels beside the head: the head holder's foam pad
print(f"for comparison, foam cushion of the head holder: {pad.mean():.1f} HU")

# %%
in_range = 0  # how many ROIs read within their tissue's typical range
for tissue, value in measured.items():
    low, high = rois[tissue][3]
    if low <= value <= high:
        in_range += 1
all_in = in_range == len(rois)
rec.claim("every ROI reads within its tissue's typical HU range", all_in, in_range=in_range)

# %% [markdown]
# Air near -1000, water (CSF) near 0, fat negative, soft tissue a few tens, bone in the hundreds to
# thousands. Place the air ROI with care: just beside the head this slice shows the foam cushion of
# the head holder, which reads about -960 HU, not air.
#
# The Hounsfield scale is anchored to water (0 HU) and air (-1000 HU) by the scanner's calibration,
# so these two read about the same on any calibrated CT. Everything else shifts somewhat: soft
# tissue and fat by a few to about ten HU between tube voltages (kVp), scanners and reconstruction
# kernels, bone and iodinated contrast by more (both read higher at lower kVp). In a contrast-enhanced study a
# tissue's HU also depends on when it was scanned after the injection (the bolus timing), not only
# on what it is. Conventional MR images (T1- or T2-weighted) have no absolute scale: the same liver
# gives different signal values with another scanner, coil or protocol. Quantitative MR maps do
# have units, like CT: the apparent diffusion coefficient (ADC) in mm²/s, T1 and T2 maps in ms, the
# proton-density fat fraction in %. CT's stable scale makes it a convenient input for a CNN; weighted
# MR images are usually normalised image by image (for example to mean 0 and standard deviation 1)
# before a CNN sees them.
#
# ## 3. Window and level
#
# An ordinary office monitor shows 256 grey levels (8 bits) and a diagnostic grey-scale monitor
# typically 1024 (10 bits): either way far fewer than the thousands of HU a CT spans (this head CT:
# -3024 to 1468, printed above), so not every HU can get its own grey. A **window** picks the part of
# the scale to spread from black to white: the **level** is its centre and the **width** its span.
# Everything below the window is black, everything above is white.

# %% [markdown]
# ### Exercise 2 · A window for a subdural haematoma
#
# A thin acute subdural haematoma (50-90 HU) lies against the skull (over 700 HU), beside brain
# (20-45 HU). In the standard brain window (level 40, width 80) the crescent of blood is as white as
# the bone. Choose a level and a width, in HU, that keep blood, brain and bone apart.

# %%
my_level, my_width = ..., ...  # your window, in HU
### BEGIN SOLUTION
my_level, my_width = 75, 215
### END SOLUTION
ex.subdural_window.check(my_level, my_width)
# ex.subdural_window.hint()
# ex.subdural_window.solution()

# %% [markdown]
# The course keeps the common presets as data, each with where it is documented (compare your
# subdural window with the one below):

# %%
for name, preset in rl.WINDOWS.items():
    print(f"{name:<12} level {preset.level:>6}  width {preset.width:>6}   {preset.use}")

# %%
print(rl.WINDOWS["brain"].source)

# %% [markdown]
# The same slice in three windows: the brain window separates grey and white matter but shows the
# skull as flat white; the bone window shows the skull's inner structure but the brain as flat grey.

# %% tags=["nbval-ignore-output"]
rl.plot.grid([hu, hu, hu], preset=["brain", "subdural", "bone"], panel_inches=2.6)

# %% [markdown]
# Try it yourself, as on a PACS: drag on the image (left and right change the width, up and down
# the level; hold Shift for fine steps), type a level and width into the boxes, or choose a preset.
# The line under the picture says how many pixels fall below the window (pure black) and above it
# (pure white): information that is on the disk but invisible on the screen.

# %% tags=["nbval-ignore-output"]
rl.widgets.window_viewer(hu, preset="brain", title="head CT (693_UNCR)")

# %% [markdown]
# The same numbers without a kernel (the static twin of the viewer above):

# %%
for preset in ["brain", "bone", "lung"]:
    w = rl.WINDOWS[preset]
    stats = rl.plot.window_stats(hu, level=w.level, width=w.width)  # shares of all pixels
    print(
        f"{preset:<6} W {w.width} / L {w.level}: below {stats['below']:.0%}, "
        f"inside {stats['inside']:.0%}, above {stats['above']:.0%}"
    )

# %% [markdown]
# **For the CNN**, windowing is a choice of input: a brain-window input throws away the bone detail,
# and a very wide window compresses the brain's grey-white contrast into a few grey levels. Many
# studies feed one or several windows of the same slice as separate channels.
#
# ### The MONOCHROME1 pitfall
#
# Radiographs are often stored as **MONOCHROME1**: a larger stored value means *darker*. Shown naively
# the chest film below is inverted (bones black, lungs white). `rl.dicom.to_array` reads the header
# and flips such images so that larger always means brighter, the convention of CT and of most
# training data. A network trained on correctly displayed films and fed inverted ones sees a
# different world.

# %%
cr = rl.dicom.read(get_testdata_file("RG1_UNCI.dcm"))
film = rl.dicom.to_array(cr)
cr.Modality, cr.PhotometricInterpretation, film.shape

# %% tags=["nbval-ignore-output"]
naive = cr.pixel_array.astype(np.float32)
step = 8  # every 8th pixel: a small figure, the same anatomy
shown = [naive[::step, ::step], film[::step, ::step]]
windows = []  # one window per picture
for picture in shown:
    low, high = np.percentile(picture, [1, 99])  # ignore the darkest and brightest 1 % of pixels
    windows.append(rl.dicom.Window(level=(low + high) / 2, width=high - low))
rl.plot.grid(
    shown,
    preset=windows,
    titles=["stored values shown naively", "after rl.dicom.to_array"],
    panel_inches=2.8,
)

# %%
# the check behind the picture: to_array mirrors the stored values within the bits-stored range
top = 2**cr.BitsStored - 1
cr.BitsStored, top, bool(np.array_equal(film, top - naive))

# %% [markdown]
# ## 4. Channels: several images of one patient (Fig. 3)
#
# A grayscale image has 1 channel, a colour photograph 3 (red, green, blue). A dynamic CT gives
# several grayscale images of the same slice: unenhanced, arterial and delayed. The review shows two
# ways to hand them to a CNN: stacked as **channels** on the same pixel grid (like R, G, B), or tiled
# side by side into **one concatenated image**.
#
# The course's phantom is a whole abdominal slice in three phases: watch the aorta light up in the
# arterial phase and the liver brighten by the delayed phase.

# %% tags=["nbval-ignore-output"]
whole = rl.phantoms.liver_lesions(1, size=128, seed=SEED)
rl.plot.grid(
    list(whole.images[0]), preset="soft_tissue", titles=list(whole.phases), panel_inches=2.3
)

# %% [markdown]
# A lesion of 2-5 cm covers only a few pixels of a whole slice shrunk to 64 x 64, so, like many
# studies, we crop a square of 100 mm around the lesion. Below, one case as three channels. PyTorch
# writes the shape of an image as (channels, height, width), and of a minibatch (a group of cases
# processed together) as (N, C, H, W): cases, channels, height, width.

# %%
cases = rl.phantoms.liver_lesions(5, size=64, seed=SEED, roi_mm=100)  # 100 mm around each lesion
phases = cases.images[0]  # (3, H, W) in HU: unenhanced, arterial, delayed
print(cases.label_names[cases.label[0]], phases.shape)
as_channels = torch.from_numpy(rl.window(phases, preset="liver"))  # (3, H, W), values 0 to 1
as_channels.shape

# %% tags=["nbval-ignore-output"]
rl.plot.grid(
    list(phases) + [as_channels.permute(1, 2, 0).numpy()],
    preset=["liver"] * 3 + [None],
    titles=list(cases.phases) + ["3 phases as R, G, B"],
    panel_inches=2.0,
)

# %% [markdown]
# In the RGB picture a region that enhances in the arterial phase (green channel) and washes out
# (dark in blue) gets a colour of its own: the network sees all phases *at the same pixel at once*.
#
# The other arrangement of Fig. 3 glues the three windowed phases side by side into one grey image
# with one channel. A short function does it for a whole minibatch, so that the experiment below can
# use it too:


# %%
def tile_side_by_side(x):
    """Images (N, C, H, W) -> (N, 1, H, C x W): the C phases of each case next to each other."""
    pieces = []
    for c in range(x.shape[1]):
        pieces.append(x[:, c])  # (N, H, W): phase c of every case
    wide = torch.cat(pieces, dim=2)  # (N, H, C x W): glued along the width
    return wide[:, None]  # (N, 1, H, C x W): one channel


batch_of_one = as_channels[None]  # (1, 3, H, W): a minibatch holding this one case
as_one_image = tile_side_by_side(batch_of_one)[0]  # (1, H, 3W): the case, tiled
as_one_image.shape

# %% tags=["nbval-ignore-output"]
fig, ax = rl.plot.figure(inches=(6.4, 2.6))
title = f"unenhanced | arterial | delayed as one image {tuple(as_one_image.shape)}"
rl.plot.show(as_one_image, title=f"{title}\n{rl.WINDOWS['liver']}", ax=ax)

# %% [markdown]
# In the tiled image the same spot of the liver appears three times, 64 columns apart: the network
# has to learn which pixels belong together.

# %% [markdown]
# ### Exercise 3 · Four phases as channels, and tiled into one image
#
# Your liver protocol has four phases: unenhanced, arterial, portal venous and delayed. A minibatch
# holds 16 cases, each phase cropped to 96 x 96 pixels. Give the minibatch's shape (N, C, H, W) as
# PyTorch wants it, once with the phases as channels and once tiled side by side into one image.

# %%
my_channels_shape = ...  # (N, C, H, W), phases as channels
my_tiled_shape = ...  # (N, C, H, W), phases side by side in one image
### BEGIN SOLUTION
my_channels_shape = (16, 4, 96, 96)
my_tiled_shape = (16, 1, 96, 384)
### END SOLUTION
ex.phase_shapes.check(my_channels_shape, my_tiled_shape)
# ex.phase_shapes.hint()
# ex.phase_shapes.solution()

# %% [markdown]
# ### Does the network need all three phases, and does the arrangement matter?
#
# The review's liver-mass study (Yasaka et al., Radiology 2018) fed three phases. The phantom's
# lesion categories, as in real dynamic CT, differ mostly in how they enhance over the phases: on the
# unenhanced image alone most of them look alike (only the cyst is clearly darker). So a small CNN
# that sees all three phases should tell the five categories apart clearly better than the same CNN
# fed only the unenhanced phase. We also feed the three phases tiled side by side, to see whether
# the arrangement of Fig. 3 matters.
#
# We check this on **held-out patients**. The patients are split three ways: a training set the
# network learns from, a **validation** set used only to pick the best moment to stop, and a
# **test** set scored once at the end. No test patient is seen in training or in that choice.

# %% tags=["nbval-ignore-output"]
n_cases = rl.config.pick(smoke=300, cpu=1500, gpu=12000)
size = rl.config.pick(smoke=32, cpu=40, gpu=64)  # pixels across each crop
data = rl.phantoms.liver_lesions(n_cases, size=size, seed=SEED, roi_mm=100)
x_all, y_all = rl.phantoms.tensors(data, preset="liver")  # (N, 3, H, W) in [0, 1]; categories 0-4
# a fifth of the patients for validation, a fifth for test, each keeping the category shares
split = rl.data.patient_split(data.patient_id, val=0.2, test=0.2, labels=data.label, seed=SEED)
{name: int(rows.sum()) for name, rows in split.items()}

# %% [markdown]
# The three inputs the same network will get, with the shape of one case:

# %% tags=["nbval-ignore-output"]
inputs = {
    "3 phases as channels": x_all,  # (N, 3, H, W)
    "3 phases tiled": tile_side_by_side(x_all),  # (N, 1, H, 3W)
    "unenhanced only": x_all[:, [0]],  # (N, 1, H, W): channel 0, kept as a channel
}
for name, x in inputs.items():
    print(f"{name:<22} {tuple(x.shape[1:])}")
print(f"tiled: the same spot in the next phase lies {size} columns to the right")

# %% [markdown]
# `rl.study.train_and_score` runs one experiment: it trains the network on the training patients
# for a number of **epochs** (passes over all training images), keeps the epoch with the best
# validation accuracy, and scores the test patients once. It reports the **accuracy** (the share of
# test patients put in the right category) and the **macro AUC**: the AUC of each category against
# the rest, averaged over the five categories (AUC: the area under the ROC curve, 0.5 for guessing,
# 1 for perfect separation; lesson 06 explains it). Before each run we reset the random seed, so
# that each run repeats exactly on this computer and all three networks see the training patients
# in the same order.
#
# The network, `rl.models.small_cnn`, is used here as a black box: three convolutional blocks and one
# output per category. Lesson 03 draws this network layer by layer, with each layer's output shape
# and number of parameters. It ends by averaging each feature over the whole image (global average
# pooling), so it accepts the wide tiled image as well as the square ones.

# %% tags=["nbval-ignore-output"]
WIDTH = rl.config.pick(smoke=8, cpu=16, gpu=32)  # filters in the CNN's first layer
EPOCHS = rl.config.pick(smoke=1, cpu=10, gpu=20)  # passes over the training images
results = {}
print(f"{'input':<22} {'accuracy':>9} {'macro AUC':>10}")
for name, x in inputs.items():
    train = (x[split["train"]], y_all[split["train"]])  # (images, categories) of the training set
    val = (x[split["val"]], y_all[split["val"]])
    test = (x[split["test"]], y_all[split["test"]])
    rl.config.seed_everything(SEED)  # a fixed seed: the run repeats on this computer
    model = rl.models.small_cnn(in_channels=x.shape[1], num_classes=5, width=WIDTH)
    scored = rl.study.train_and_score(
        model,
        train,
        val,
        test,
        epochs=EPOCHS,
        lr=3e-3,  # learning rate: the size of each correction step (lesson 04)
        schedule="onecycle",
        metric="accuracy",  # what picks the best epoch on the validation set
        seed=SEED,
        progress=False,
    )
    results[name] = scored.test
    print(f"{name:<22} {scored.test['accuracy']:>9.2f} {scored.test['auc']:>10.2f}")

# %% [markdown]
# These numbers come from training, so on another computer they may differ by a few hundredths
# (lesson 00 explains why). The claims below are set with a margin of 0.10 in accuracy.

# %% tags=["nbval-ignore-output"]
chan = results["3 phases as channels"]["accuracy"]
tile = results["3 phases tiled"]["accuracy"]
plain = results["unenhanced only"]["accuracy"]
both_win = min(chan, tile) >= plain + 0.1  # even the weaker 3-phase input wins by 0.10
channels_win = chan >= tile + 0.1
rec.claim("both 3-phase inputs beat the unenhanced phase alone", both_win, tiled=tile, plain=plain)
rec.claim("phases as channels beat phases tiled", channels_win, channels=chan, tiled=tile)

# %% [markdown]
# Both three-phase inputs beat the unenhanced image alone: the phantom encodes the diagnosis mainly
# in the enhancement pattern, so the phases carry information the unenhanced image lacks, as for a
# radiologist reading a dynamic study. (The review's study reported its own per-category results on
# real patients; lesson 10 puts those beside ours.)
#
# The arrangement matters too: the same network learned clearly more from channels than from the
# tiled image. As channels, the very first 3 x 3 filter sees the unenhanced, arterial and delayed
# value of the same spot together, so "bright in the arterial phase, darker again in the delayed
# phase" (washout) is one simple feature. Tiled, the three values of one spot lie a tile's width
# apart, farther than the patch any unit of this little network looks at, and the final averaging
# over the whole wide image mixes the features of the three tiles. The network most likely still
# tells the tiles apart in part (the liver's brightness differs from phase to phase), which would
# explain why tiling still beats the unenhanced image alone. Channels presume that the phases are **registered** (aligned
# pixel for pixel); if the patient moved between breath-holds, that advantage shrinks.
#
# ## 5. How much data is an image? Memory arithmetic
#
# A CT slice of 512 x 512 pixels stored as 16-bit integers (2 bytes each) takes half a megabyte; a
# series of 300 slices a few hundred times that. Inside the network the numbers become 32-bit floats
# (**float32**, 4 bytes each), and every convolutional layer produces many *feature maps* of the same
# size. The cell computes what a modest first layer (32 filters) costs for a minibatch of 32
# three-phase slices, at full size and after cropping or resizing:


# %%
def megabytes(*shape, bytes_per_value=4):
    """Megabytes (1 MB = 1,000,000 bytes) of an array of this shape; float32 by default."""
    return float(np.prod(shape)) * bytes_per_value / 1e6


print(f"one 512 x 512 slice on disk: {megabytes(512, 512, bytes_per_value=2):.2f} MB")
print(f"one 300-slice CT series on disk: {megabytes(300, 512, 512, bytes_per_value=2):.0f} MB")
print(f"{'side':>5} {'input batch MB':>15} {'first-layer maps MB':>20}")
for side in [512, 256, 128, 64]:
    batch = megabytes(32, 3, side, side)  # 32 cases x 3 phases x side x side
    maps = megabytes(32, 32, side, side)  # 32 cases x 32 feature maps x side x side
    print(f"{side:>5} {batch:>15.1f} {maps:>20.1f}")

# %%
# the same arithmetic checked on real tensors (torch.empty reserves memory without filling it)
actual_mb = {}
for side in [512, 256, 64]:
    actual_mb[side] = torch.empty(32, 3, side, side).nbytes / 1e6
    print(f"batch of 32 three-phase slices, {side} x {side}: {actual_mb[side]:.1f} MB")
ratio = actual_mb[512] / actual_mb[256]
print(f"512 x 512 needs {ratio:.0f} times the memory of 256 x 256")

# %% [markdown]
# Halving the side divides memory (and the work of every convolution) by four. That is why studies
# crop around the organ of interest or resize images, and why this course's lessons use small images
# on a laptop. The price: fine detail (a small nodule, a hairline fracture) can disappear.

# %% [markdown]
# ### Exercise 4 · The memory of a minibatch
#
# You plan to train on 16 three-phase liver slices per minibatch, each phase 384 x 384 pixels, as
# float32. How many megabytes (1 MB = 1,000,000 bytes) does this input minibatch take? Write the
# arithmetic, not only the result.

# %%
my_mb = ...  # megabytes of the input minibatch
### BEGIN SOLUTION
my_mb = 16 * 3 * 384 * 384 * 4 / 1e6
### END SOLUTION
ex.batch_memory.check(my_mb)
# ex.batch_memory.hint()
# ex.batch_memory.solution()

# %% [markdown]
# A phantom can also be written as a real DICOM series, so that the tools you use for patient data
# work on it too. Here one case's three phases are written and read back:

# %%
import tempfile
from pathlib import Path

with tempfile.TemporaryDirectory() as folder:
    files = rl.phantoms.to_dicom(cases, 0, folder)
    volume, spacing = rl.dicom.read_series(Path(files[0]).parent)
    back = rl.dicom.read(files[0])
len(files), back.Modality, volume.shape, float(np.abs(volume[0] - cases.images[0, 0]).max()) <= 0.5

# %% [markdown]
# ## 6. Teaching data: four kinds of labels
#
# What the network must output decides its last layer and the error (**loss**: the number training
# makes smaller) it learns from:
#
# | kind | example | output layer | loss |
# |---|---|---|---|
# | nominal | benign vs malignant | one unit per class, softmax | cross-entropy |
# | ordinal | breast density: fatty, scattered, heterogeneously dense, dense | one unit per class (softmax), or one score cut at thresholds | cross-entropy, or squared error on the score |
# | continuous | eGFR in mL/min/1.73 m² | one unit, identity | mean squared error |
# | image | a denoised CT | a whole image | pixel-wise squared error |
#
# Each kind in a few lines of PyTorch. The network's raw outputs for the classes are called
# **logits**; the ones below are made-up numbers:

# %%
ce = torch.nn.functional.cross_entropy  # softmax cross-entropy: logits and the true class
mse = torch.nn.functional.mse_loss  # mean squared error: prediction and truth
losses = {}
# benign vs malignant: logits of the two classes, the truth is class 0 (benign)
losses["nominal"] = ce(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
# breast density: logits of the four classes, the truth is class 2 (heterogeneously dense)
losses["ordinal"] = ce(torch.tensor([[0.1, 0.4, 2.0, 0.3]]), torch.tensor([2]))
# eGFR: the network says 58, the truth is 62 mL/min/1.73 m²
losses["egfr"] = mse(torch.tensor([58.0]), torch.tensor([62.0]))
# an 8 x 8 image: the output is off by 0.1 at every pixel
clean = torch.zeros(1, 1, 8, 8)
losses["image"] = mse(clean + 0.1, clean)
for kind, loss in losses.items():
    print(f"{kind:<8} loss {loss.item():.4f}")

# %% [markdown]
# Ordinal labels sit between the two: treating breast density as four unrelated classes ignores that
# "dense" is closer to "heterogeneously dense" than to "fatty"; treating it as one score with
# thresholds keeps the order (the review's fibrosis example, lesson 03).
#
# ## Summary
# - A CNN takes the image itself; radiomics needs an ROI and hand-made features.
# - DICOM stores integers; RescaleSlope and RescaleIntercept turn them into HU. Air and water read
#   about the same on every calibrated CT; other tissues shift a little with kVp, scanner and
#   kernel, and enhanced tissue with bolus timing. Weighted MR has no absolute scale; quantitative
#   MR maps (ADC, T1, T2, fat fraction) do.
# - The window decides what the screen (and a CNN fed windowed images) can see. MONOCHROME1 films
#   must be inverted before use.
# - Phases become channels or one tiled image. On the phantom, three phases beat the unenhanced
#   phase alone on held-out patients either way, and channels beat tiling, as measured above.
# - Memory grows with the square of the image side: crops and resizing buy speed at the price of detail.
# - The kind of label (nominal, ordinal, continuous, image) sets the output layer and the loss.
#
# ## Questions
# 1. A CT file has RescaleSlope 1 and RescaleIntercept -1024. What HU is a stored value of 1060?
#
# <details><summary>Answer</summary>
#
# HU = 1060 x 1 + (-1024) = 36 HU: soft-tissue density (brain parenchyma or muscle, for example). A stored value
# means nothing until slope and intercept are applied; with another intercept the same stored 1060
# would be a different tissue.
#
# </details>
#
# 2. Why would a CNN trained on chest films fail on MONOCHROME1 films that were not inverted?
#
# <details><summary>Answer</summary>
#
# In a MONOCHROME1 file a larger value means darker, so read without inversion the bones and heart
# are dark and the aerated lung bright. Every pattern the network learned (a bright rib, a dark
# lung, the polarity of each edge) is reversed, an input unlike anything it saw in training. It
# still outputs a confident-looking answer, without any warning. Check PhotometricInterpretation and
# invert first (`rl.dicom.to_array` does).
#
# </details>
#
# 3. You feed a network only the brain window (W 80 / L 40). Could it learn to find a skull fracture?
#
# <details><summary>Answer</summary>
#
# Only the obvious ones. Everything above 80 HU is pure white, so the bone's internal structure is
# gone. The outline of the skull stays visible, so a depressed fragment or a gap wide enough to be
# filled with blood or soft tissue might still show; but a thin undisplaced fracture line, whose
# pixels stay at several hundred HU through partial volume averaging, turns as white as the bone
# around it and is lost before the network sees it. Give the network a bone window, or the full HU
# range, for example as a second channel beside the brain window.
#
# </details>
#
# 4. What is the input tensor shape for a minibatch of 8 three-phase slices of 128 x 128 pixels?
#
# <details><summary>Answer</summary>
#
# (8, 3, 128, 128) with the phases as channels, in PyTorch's order: cases, channels, height, width.
# Tiled side by side into one image it would be (8, 1, 128, 384).
#
# </details>
#
# 5. eGFR is continuous. Which output layer and which loss would you choose, and why not softmax?
#
# <details><summary>Answer</summary>
#
# One output unit with the identity (no activation), trained with mean squared error (or mean
# absolute error). Softmax turns outputs into probabilities of separate classes that sum to 1; it
# would force eGFR into bins, lose the precision within each bin, and treat 58 and 62 as unrelated
# categories instead of nearby values.
#
# </details>
#
# 6. In the phantom experiment, channels beat tiling. What would you check before feeding the phases
#    of your own dynamic CT as channels?
#
# <details><summary>Answer</summary>
#
# That the phases are registered: the same pixel must show the same spot of the patient in every
# phase. Different breath-holds can shift the liver by several millimetres, so a small lesion's
# arterial value then sits beside its unenhanced value instead of on top of it. Align (register)
# the phases first, or at least crop each phase around the lesion itself.
#
# </details>
