# %% [markdown]
# # 01 · Input data: DICOM, Hounsfield units, windows, channels and labels
#
# **What you will learn**
# - how a CNN's input differs from a radiomics pipeline's (review Fig. 1);
# - that a DICOM image is a matrix of stored numbers, and how those become Hounsfield units;
# - window and level, with named presets, an interactive viewer, and the MONOCHROME1 pitfall;
# - how several images of one patient (the phases of a dynamic CT) become *channels*, or one
#   concatenated image (review Fig. 3);
# - how much memory images take, and why crops and resizing are used;
# - the four kinds of teaching data (labels) and what each means for the network's output.
#
# **Why a radiologist cares.** A CNN learns only from the numbers it is given. Whether those numbers
# are Hounsfield units or arbitrary stored values, which window was applied, whether a chest film is
# shown inverted, whether the arterial phase is included: each of these decides what the network can
# possibly learn. This lesson follows the review's section on preparing input and teaching data
# (Yasaka et al., Jpn J Radiol 2018; Fig. 1-3).

# %%
import numpy as np
import torch
from pydicom.data import get_testdata_file

import radlab as rl

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
# skips the ROI and the hand-made features: it takes the image itself and learns its own features
# from the labels.
#
# To make this concrete, the course's synthetic liver CT (a *phantom*: made by the package, in
# Hounsfield units, with exact ground truth) gives us one case with its lesion mask. The radiomics way
# needs that mask:

# %%
case = rl.phantoms.liver_lesions(4, size=64, seed=SEED, roi_mm=100)  # 100 mm around the lesion
lesion = case.lesion_mask[0].astype(bool)
features = {phase: float(case.images[0, i][lesion].mean()) for i, phase in enumerate(case.phases)}
print("category:", case.label_names[case.label[0]])
{phase: round(hu, 1) for phase, hu in features.items()}

# %% [markdown]
# Three numbers, one per phase, computed inside the lesion's outline: that is a (tiny) radiomics
# feature vector. Here the outline is the phantom's exact ground truth; in a real radiomics study
# someone has to draw it, slice by slice. The CNN later in this lesson gets the three full images and no mask at all.
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
# field of view. Now we read the HU of different tissues off small square ROIs (8 x 8 pixels), as you
# would with the ROI tool of a workstation. Fat and muscle come from a second real CT that pydicom
# ships (`CT_small.dcm`, a slice through the back), because the head slice has almost no fat.

# %%
small = rl.dicom.to_array(rl.dicom.read(get_testdata_file("CT_small.dcm")))
rois = {  # tissue: (image, row, column, textbook range in HU)
    "air (in front of the head)": (hu, 60, 256, (-1010, -990)),
    "fat (back, subcutaneous)": (small, 115, 61, (-150, -50)),
    "CSF (lateral ventricle)": (hu, 299, 230, (-5, 20)),
    "brain parenchyma": (hu, 300, 300, (15, 45)),
    "muscle (back)": (small, 80, 30, (30, 70)),
    "bone (skull)": (hu, 427, 271, (700, 3000)),
}
measured = {}
for tissue, (image, row, col, (low, high)) in rois.items():
    measured[tissue] = float(image[row - 4 : row + 4, col - 4 : col + 4].mean())
    print(f"{tissue:<26} {measured[tissue]:8.1f} HU   (typical {low} to {high})")
cushion = float(
    hu[261 - 4 : 261 + 4, 104 - 4 : 104 + 4].mean()
)  # beside the head: the head holder's foam pad
print(f"for comparison, foam cushion of the head holder: {cushion:.1f} HU")

# %%
in_range = []  # True or False, one per ROI
numbers = {}  # the measured HU under a short name ("air", "fat", ...), shown beside the claim
for tissue, value in measured.items():
    low, high = rois[tissue][3]
    in_range.append(low <= value <= high)
    short = tissue.split()[0]
    numbers[short] = round(value, 1)
    rec.measure(f"hu_{short.lower()}", round(value, 1))
rec.claim(
    "every ROI reads within its tissue's typical HU range", all(in_range), **numbers
)  # ** hands over the dict's entries as named numbers

# %% [markdown]
# Air near -1000, water (CSF) near 0, fat negative, soft tissue a few tens, bone in the hundreds to
# thousands. Place the air ROI with care: just beside the head this slice shows the foam cushion of
# the head holder, which reads about -960 HU, not air.
#
# The Hounsfield scale is anchored to water (0) and air (-1000) by the scanner's calibration, so on
# any calibrated CT scanner these read approximately the same, water within a few HU. Denser
# materials are less fixed: bone and iodinated contrast read differently with the tube voltage (kVp)
# and the reconstruction kernel. Still, CT numbers are far more comparable between scanners than MR
# signal, which has no fixed scale at all. That is what makes CT a good input for a CNN.
#
# ## 3. Window and level
#
# A display shows a few hundred grey steps at most (typically 256), while CT spans thousands of HU,
# so not every HU can get its own grey. A **window** picks the part of the scale to spread over black-to-white: the **level** is its
# centre and the **width** its span. Everything below the window is black, everything above is white.
# The course keeps the common presets as data, each with where it is documented:

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
# Try it yourself: choose a preset, or move the level and width sliders. The line under the picture
# says how many pixels fall below the window (pure black) and above it (pure white): information
# that is on the disk but invisible on the screen.

# %% tags=["nbval-ignore-output"]
rl.widgets.window_viewer(hu, preset="brain", title="head CT (693_UNCR)")

# %% [markdown]
# The same numbers without a kernel (the static twin of the viewer above):

# %%
for preset in ["brain", "bone", "lung"]:
    w = rl.WINDOWS[preset]
    stats = rl.plot.window_stats(hu, level=w.level, width=w.width)
    print(
        f"{preset:<6} W {w.width} / L {w.level}: "
        + ", ".join(f"{k} {v:.0%}" for k, v in stats.items())
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
# studies, we crop a square of 100 mm around the lesion. Below, one case as three channels:

# %%
cases = rl.phantoms.liver_lesions(5, size=64, seed=SEED, roi_mm=100)  # 100 mm around each lesion
phases = cases.images[0]  # (3, H, W) in HU: unenhanced, arterial, delayed
print(cases.label_names[cases.label[0]], phases.shape)
as_channels = torch.from_numpy(rl.window(phases, preset="liver"))  # (3, H, W)
as_one_image = torch.cat(list(as_channels), dim=1)[None]  # (1, H, 3W)
as_channels.shape, as_one_image.shape

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
# With the concatenated image, matching pixels are 64 columns apart and the network has to learn that
# correspondence.

# %% [markdown]
# ### Does the network need all three phases?
#
# The review's liver-mass study (Yasaka et al., Radiology 2018) fed three phases. The phantom's
# lesion categories, as in real dynamic CT, differ mostly in how they enhance over the phases: on the
# unenhanced image alone most of them look alike (only the cyst is clearly darker). So a small CNN
# that sees all three phases should tell the five categories apart clearly better than the same CNN
# fed only the unenhanced phase. We check this on **held-out patients**: no patient in the test set
# was seen in training.

# %% tags=["nbval-ignore-output"]
n_cases = rl.config.pick(smoke=300, cpu=1500, gpu=12000)
data = rl.phantoms.liver_lesions(
    n_cases, size=rl.config.pick(smoke=32, cpu=40, gpu=64), seed=SEED, roi_mm=100
)
x_all, y_all = rl.phantoms.tensors(data, preset="liver")  # (N, 3, H, W) in [0, 1]; categories
# a fifth of the patients for validation, a fifth for test, each keeping the category shares
split = rl.data.patient_split(data.patient_id, val=0.2, test=0.2, labels=data.label, seed=SEED)
{name: int(rows.sum()) for name, rows in split.items()}

# %% [markdown]
# `rl.study.train_and_score` runs one experiment: it seeds, builds the network, trains it on the
# training patients, keeps the epoch with the best validation accuracy, and scores the test patients
# once (accuracy, and the macro AUC: the mean of the five one-vs-rest AUCs). We run it twice: the
# same small CNN, fed all three phases, then only the unenhanced phase.

# %% tags=["nbval-ignore-output"]
import functools

WIDTH = rl.config.pick(smoke=8, cpu=16, gpu=32)  # filters in the CNN's first layer
results = {}
for name, channels in {"three phases": [0, 1, 2], "unenhanced only": [0]}.items():
    x = x_all[:, channels]  # only the phases this network may see
    train, val, test = [(x[split[s]], y_all[split[s]]) for s in ("train", "val", "test")]
    # how to build the network; train_and_score seeds first, so the starting weights repeat
    build = functools.partial(
        rl.models.small_cnn, in_channels=len(channels), num_classes=5, width=WIDTH
    )
    scored = rl.study.train_and_score(
        build,
        train,
        val,
        test,
        epochs=rl.config.pick(smoke=1, cpu=10, gpu=20),
        lr=3e-3,
        schedule="onecycle",
        metric="accuracy",
        seed=SEED,
        progress=False,
    )
    results[name] = scored.test
    print(
        f"{name + ':':<17} accuracy {scored.test['accuracy']:.2f}, macro AUC {scored.test['auc']:.2f}"
    )
acc3, auc3 = results["three phases"]["accuracy"], results["three phases"]["auc"]
acc1, auc1 = results["unenhanced only"]["accuracy"], results["unenhanced only"]["auc"]

# %% tags=["nbval-ignore-output"]
rec.measure("accuracy_3_phases", acc3)
rec.measure("accuracy_unenhanced", acc1)
rec.measure("auc_3_phases", auc3)
rec.measure("auc_unenhanced", auc1)
rec.claim(
    "3 phases beat the unenhanced phase alone on held-out patients (accuracy, by at least 0.15)",
    acc3 >= acc1 + 0.15,
    three_phases=acc3,
    unenhanced=acc1,
)


# %% [markdown]
# The phantom encodes the diagnosis mainly in the enhancement pattern, so the phases carry information
# the unenhanced image lacks, exactly as for a radiologist reading a dynamic study. (The review's
# study reported its own per-category results on real patients; lesson 10 puts those beside ours.)
#
# ## 5. How much data is an image? Memory arithmetic
#
# A CT slice of 512 x 512 pixels stored as 16-bit integers takes 512 x 512 x 2 bytes = 0.5 MB; a
# series of 300 slices about 157 MB. Inside the network the numbers become 32-bit floats, and every
# convolutional layer produces many *feature maps* of the same size. The cell computes what a modest
# first layer (32 filters) costs for a minibatch of 32 three-phase slices, at full size and after
# cropping or resizing:


# %%
def megabytes(*shape, bytes_per_value=4):
    return float(np.prod(shape)) * bytes_per_value / 1e6


series_mb = megabytes(300, 512, 512, bytes_per_value=2)
rows = []
for side in [512, 256, 128, 64]:
    rows.append((side, megabytes(32, 3, side, side), megabytes(32, 32, side, side)))
print(f"one 300-slice CT series on disk: {series_mb:.0f} MB")
print(f"{'side':>5} {'input batch MB':>15} {'first-layer maps MB':>20}")
for side, inp, maps in rows:
    print(f"{side:>5} {inp:>15.1f} {maps:>20.1f}")

# %%
# the same arithmetic checked on real tensors (torch.empty reserves memory without filling it)
actual_mb = {}
for side in [512, 256, 64]:
    actual_mb[side] = torch.empty(32, 3, side, side).nbytes / 1e6
    print(f"batch of 32 three-phase slices, {side} x {side}: {actual_mb[side]:.1f} MB")
ratio = actual_mb[512] / actual_mb[256]
rec.measure("batch_mb_ratio_512_to_256", ratio)
print(f"512 x 512 needs {ratio:.0f} times the memory of 256 x 256")

# %% [markdown]
# Halving the side divides memory (and the work of every convolution) by four. That is why studies
# crop around the organ of interest or resize images, and why this course runs at 28 to 64 pixels
# on a laptop. The price: fine detail (a small nodule, a hairline fracture) can disappear.
#
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
# What the network must output decides its last layer and the error (loss) it learns from:
#
# | kind | example | output layer | loss |
# |---|---|---|---|
# | nominal | benign vs malignant | one unit per class, softmax | cross-entropy |
# | ordinal | breast density: fatty, scattered, heterogeneously dense, dense | one unit per class (softmax), or one score cut at thresholds | cross-entropy, or squared error on the score |
# | continuous | eGFR in mL/min/1.73 m² | one unit, identity | mean squared error |
# | image | a denoised CT | a whole image | pixel-wise squared error |
#
# Each kind in a few lines of PyTorch (logits are made-up numbers):

# %%
nominal = torch.nn.functional.cross_entropy(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))
ordinal = torch.nn.functional.cross_entropy(torch.tensor([[0.1, 0.4, 2.0, 0.3]]), torch.tensor([2]))
egfr = torch.nn.functional.mse_loss(torch.tensor([58.0]), torch.tensor([62.0]))
clean = torch.zeros(1, 1, 8, 8)
image = torch.nn.functional.mse_loss(clean + 0.1, clean)
{
    k: round(v.item(), 4)
    for k, v in dict(nominal=nominal, ordinal=ordinal, egfr=egfr, image=image).items()
}

# %% [markdown]
# Ordinal labels sit between the two: treating breast density as four unrelated classes ignores that
# "dense" is closer to "heterogeneously dense" than to "fatty"; treating it as one score with
# thresholds keeps the order (the review's fibrosis example, lesson 03).
#
# ## Summary
# - A CNN takes the image itself; radiomics needs an ROI and hand-made features.
# - DICOM stores integers; RescaleSlope and RescaleIntercept turn them into HU, which read
#   approximately the same on every calibrated scanner (air about -1000 and water 0 by calibration;
#   bone and iodinated contrast shift somewhat with kVp and kernel).
# - The window decides what the screen (and a CNN fed windowed images) can see. MONOCHROME1 films
#   must be inverted before use.
# - Phases become channels; on the phantom, three phases beat the unenhanced phase alone on held-out
#   patients, as this lesson measured above.
# - Memory grows with the square of the image side: crops and resizing buy speed at the price of detail.
# - The kind of label (nominal, ordinal, continuous, image) sets the output layer and the loss.
#
# ## Questions
# 1. A CT file has RescaleSlope 1 and RescaleIntercept -1024. What HU is a stored value of 1060?
# 2. Why would a CNN trained on chest films fail on MONOCHROME1 films that were not inverted?
# 3. You feed a network only the brain window (W 80 / L 40). Could it learn to find a skull fracture?
# 4. What is the input tensor shape for a minibatch of 8 three-phase slices of 128 x 128 pixels?
# 5. eGFR is continuous. Which output layer and which loss would you choose, and why not softmax?
