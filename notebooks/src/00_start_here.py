# %% [markdown]
# # 00 · Start here
#
# **What you will learn**
# - how this course is laid out, and which part of the review each lesson follows;
# - whether this computer is ready: Python, packages, GPU or CPU, memory, disk, data sets;
# - what the *run mode* is and how long the lessons will take on your machine;
# - how to use the interactive widgets;
# - a short glossary of deep-learning words, each put in radiological terms.
#
# **Why a radiologist cares.** Deep learning papers in radiology use a small vocabulary (tensor, channel,
# epoch, logit, AUC, Dice...). Once those words map onto things you already know (a CT slice, a
# contrast phase, a reading session, a reader's confidence), the papers become much easier to judge.
#
# The course follows one review article, section by section: Yasaka K, Akai H, Kunimatsu A, Kiryu S,
# Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J Radiol
# 2018;36:257-272 (doi:10.1007/s11604-018-0726-3). The explanations here are our own; every number
# taken from the review is labelled as such, and stands beside the number the lesson measures itself.

# %% [markdown]
# ## The course map
#
# | lesson | topic | part of the review |
# |---|---|---|
# | 00 | start here (this notebook) | - |
# | 01 | input data: DICOM, Hounsfield units, windows, channels, labels | preparation of input and teaching data (Fig. 1-3) |
# | 02 | data augmentation | Fig. 4, Table 1 |
# | 03 | the building blocks of a CNN | Fig. 5-8 |
# | 04 | training: loss, backpropagation, optimizers | Fig. 2, Fig. 9a |
# | 05 | overfitting and its countermeasures | Table 1, Fig. 9b |
# | 06 | testing and evaluation | evaluation of performance |
# | 07 | architectures: AlexNet, GoogLeNet, ResNet, ensembles | Fig. 10 |
# | 08 | images as teaching data: segmentation and denoising | FCN, U-Net, RED-Net |
# | 09 | transfer learning | Fig. 11 |
# | 10 | clinical cases: case studies from the review | clinical application |
# | 11 | limitations and the road ahead | future directions |

# %% [markdown]
# ## Setup
#
# Every lesson starts with the same cell. It imports the course package `radlab` (as `rl`), fixes the
# random seed so that your numbers match ours, and reads the **run mode**: how much data and how many
# training epochs the lesson uses.
#
# | mode | meant for | typical time per lesson |
# |---|---|---|
# | `smoke` | automatic tests | seconds (tiny data: the numbers mean nothing) |
# | `cpu` | a laptop without a GPU | a few minutes |
# | `gpu` | a computer with an NVIDIA GPU | the full lesson, a few minutes on a GPU |
#
# The mode comes from the environment variable `RADLAB_MODE`; without it the course picks `gpu` when
# it finds a CUDA GPU and `cpu` otherwise. You never edit code to make a lesson faster: start
# JupyterLab with, for example, `RADLAB_MODE=cpu jupyter lab notebooks/`.

# %%
import radlab as rl

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("00_start_here")
MODE in rl.config.MODES

# %% [markdown]
# ## Pre-flight check
#
# The next cell lists what this computer offers. Your versions will differ from ours: any version at
# or above the course's lower bounds works. Two lines may be new to you:
# - **amp** (automatic mixed precision): on a GPU, much of the arithmetic runs in 16-bit numbers,
#   which is about twice as fast and takes half the memory, with no loss of accuracy that matters
#   here. The course switches it on only on a CUDA GPU.
# - **channels_last**: the order in which an image's numbers lie in memory (the channels of one
#   pixel side by side, as in a photo file). Some processors convolve faster that way; the course
#   picks it where it helps. Neither changes what the lessons teach.

# %% tags=["nbval-ignore-output"]
import importlib.metadata as md
import os
import shutil

for key, value in rl.config.summary().items():  # python, torch, mode, device, amp, ...
    print(f"{key:>14}: {value}")
for package in ["numpy", "torchvision", "pydicom", "scikit-learn", "matplotlib", "jupyterlab"]:
    print(f"{package:>14}: {md.version(package)}")
free_disk_gb = shutil.disk_usage(rl.config.data_root().anchor or "/").free / 1e9
print(f"{'free disk':>14}: {free_disk_gb:.1f} GB")
print(f"{'CPU cores':>14}: {os.cpu_count()}")

# %% [markdown]
# ### How long will the lessons take here?
#
# Most of a lesson's time goes into training small networks. The next cell times one small, fixed
# training job on this computer's CPU and compares it with the same job on the machine the course is
# built on, whose lesson times in `cpu` mode were measured (`benchmarks/README.md`). The ratio
# scales those times to your computer.

# %% tags=["nbval-ignore-output"]
seconds = rl.course.speed_check()
reference = rl.course.REFERENCE
print(
    f"speed check: {seconds:.2f} s here, {reference['speed_check_seconds']:.2f} s on {reference['machine']}"
)
estimate = rl.course.estimated_minutes(seconds)
for number, minutes in estimate.items():
    print(f"lesson {number} ({rl.course.PLAN[number]}): about {minutes * 60:.0f} s in cpu mode")
print(f"all of them: about {sum(estimate.values()):.1f} min of computing (reading takes longer)")

# %% [markdown]
# Which data sets are on this computer? The real chest X-rays (PneumoniaMNIST), breast ultrasound
# images (BreastMNIST) and abdominal CT slices (OrganAMNIST, used from lesson 07 on) come from the
# MedMNIST collection; you fetch them once with the course's own
# download command, which checks every file against its published MD5 checksum. Everything else in
# the course (real DICOM files, synthetic CT) is installed with the package.

# %% tags=["nbval-ignore-output"]
print("data root:", rl.config.data_root())
for name in ["pneumoniamnist", "breastmnist", "organamnist"]:
    path = rl.data.file_path(name, size=28)
    if not path.is_file():
        print(f"{name:<15} missing. To fetch it: {rl.data.download_command(name)}")
    elif rl.data.verify_file(path, rl.data.card(name).file(28).md5):
        print(f"{name:<15} present, MD5 verified")
    else:
        print(f"{name:<15} DAMAGED (MD5 differs). Fetch it again: {rl.data.download_command(name)}")

# %% [markdown]
# If a data set you need is missing, run the command the table shows in a terminal, for example
# `python -m data_download medmnist pneumoniamnist`. Lessons that need a missing data set say so and
# fall back to the data that ships with the package.

# %% [markdown]
# ## The real DICOM files that ship with the course
#
# The package `pydicom-data` carries real, anonymised DICOM files from a public test collection
# (NEMA's WG04 set). They are on your disk already, so lesson 01 can open a real head CT and a real
# chest radiograph without any download.

# %%
from pydicom.data import get_testdata_file

ct = rl.dicom.read(get_testdata_file("693_UNCR.dcm"))
ct.Modality, ct.Rows, ct.Columns

# %% [markdown]
# ## How to use the widgets
#
# Some cells show **interactive widgets**: sliders, drop-down lists and buttons that redraw a picture
# as you move them (a window/level viewer in lesson 01, an augmentation explorer in lesson 02, a
# convolution playground in lesson 03). They need a running Python kernel: open the notebook in
# JupyterLab and run the cells from the top (menu *Run → Run All Cells*).
#
# If you read a lesson as a web page, or the kernel has stopped, the widget cannot redraw. That is why
# every widget has a **static figure** right next to it showing the same thing, so you never miss the
# point of the cell.

# %% [markdown]
# ## A glossary in radiological terms
#
# | word | what it is | a radiological picture of it |
# |---|---|---|
# | tensor | an array of numbers with several axes | a CT series is a 3D tensor (slices x rows x columns) |
# | channel | one of several images stacked on the same grid | the phases of a dynamic CT, or the R, G, B of a photo |
# | minibatch | a handful of cases processed together | a reading session of 32 cases |
# | epoch | one pass through every training case | reading the whole teaching file once |
# | loss | one number saying how wrong the network is | the score of a quiz against the reference standard |
# | logit | the raw score of a class before it is turned into a probability | a reader's unscaled confidence |
# | AUC | area under the ROC curve, 0.5 = chance, 1 = perfect | how well a test separates diseased from healthy at every threshold |
# | Dice | overlap of two contours, 0 = none, 1 = identical | agreement between two radiologists' tumour outlines |
#
# Tensors are easiest to grasp by their shape. A minibatch of 32 three-phase CT slices of 64 x 64
# pixels is a 4-axis tensor (batch, channels, rows, columns):

# %%
import torch

batch = torch.zeros(32, 3, 64, 64)  # (B, C, H, W): 32 cases, 3 phases, 64 x 64 pixels
batch.shape, batch.numel(), f"{batch.numel() * batch.element_size() / 1e6:.2f} MB"

# %% [markdown]
# A logit becomes a probability through the softmax function, which lesson 03 takes apart. Here three
# classes with logits 2, 1 and 0:

# %%
probabilities = torch.softmax(torch.tensor([2.0, 1.0, 0.0]), dim=0)
probabilities.round(decimals=3)

# %% [markdown]
# ## How a lesson checks what it says
#
# A lesson does not only tell you that, say, three contrast phases beat one: it measures both, and
# then one line checks the sentence against the numbers just printed. Softmax, for example, is built
# so that its probabilities add up to 1:

# %%
total = probabilities.sum().item()
rec.claim("the softmax probabilities add up to 1", abs(total - 1) < 1e-6, total=total)

# %% [markdown]
# That line is a **claim**: the sentence, the test, and the numbers behind it. In `cpu` and `gpu`
# mode a claim that its own numbers do not support stops the lesson with an error, so a lesson
# cannot quietly say more than it showed. (In `smoke` mode the data are too small to show anything,
# so claims are only noted.) When a claim depends on training, read the numbers, not only the word
# "held": they are what you would report.
#
# ## Will your numbers match ours?
#
# The stored outputs of each lesson come from a `cpu`-mode run on the course's build machine. The
# seed fixes every random choice (which images, which starting weights, which augmentation), so:
# - on the **same computer with the same number of CPU threads**, a rerun gives identical numbers;
# - on **another computer**, or with another number of threads, the arithmetic adds the same numbers
#   in a different order, and floating-point sums depend on the order in their last digits. Over
#   hundreds of training steps those tiny differences grow: a few validation cases may end up on the
#   other side of a threshold. Expect AUCs and accuracies within about **0.02** of ours, losses
#   within a few percent, and every claim still to hold (each is set with a margin for this);
# - in **gpu** mode the lessons use more data and epochs: the numbers are different, usually better.
#
# The next cell shows the mechanism on a tiny training job: the same job twice with the same
# threads, then once with a different number of threads.

# %% tags=["nbval-ignore-output"]
images = torch.rand(128, 1, 32, 32, generator=torch.Generator().manual_seed(SEED))
labels = (images.mean(dim=(1, 2, 3)) > 0.5).long()


def final_loss(threads: int) -> float:
    """Train a fresh small CNN for 3 epochs with `threads` CPU threads; its last training loss."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    model = rl.models.small_cnn(width=8)
    history = rl.train.fit(
        model, (images, labels), epochs=3, batch_size=32, device="cpu", seed=SEED, progress=False
    )
    torch.set_num_threads(before)
    return history.train_loss[-1]


threads = torch.get_num_threads()
first, again = final_loss(threads), final_loss(threads)
print(
    f"{threads} threads, twice:   {first:.10f}  {again:.10f}  difference {abs(first - again):.1e}"
)
other = final_loss(1) if threads > 1 else final_loss(2)
print(f"other thread count: {other:.10f}  difference {abs(first - other):.1e}")
rec.claim(
    "the same seed and threads give identical numbers",
    first == again,
    difference=abs(first - again),
)

# %% [markdown]
# Identical to the last digit on a rerun; with another thread count the losses usually differ only
# far behind the decimal point (on some computers not at all). That is the whole source of the
# small differences between your outputs and ours.
#
# ## Exercises that check themselves
#
# From lesson 01 on, each lesson has a few exercises. You write an answer in a cell (where it says
# `...`), and the line under it checks it: it prints "Correct", or says what is wrong with a hint
# aimed at that mistake. `.hint()` gives a hint on request and `.solution()` the worked answer. An
# exercise you skip prints "Not answered yet" and breaks nothing: the lesson still runs from top to
# bottom. Teachers get copies without the worked answers with
# `python -m radlab.course student --out student-copies`.

# %% [markdown]
# ## Summary
# - The course follows the review by Yasaka et al. (2018) section by section, one lesson per part.
# - One setting, the run mode (`RADLAB_MODE`: smoke, cpu or gpu), scales every lesson to your computer.
# - Real DICOM ships with the course; the MedMNIST images come from the course's own checked download.
# - Every widget has a static figure beside it.
# - Each claim is checked against the lesson's own numbers; a rerun on the same computer gives the
#   same numbers, another computer numbers within about 0.02.
#
# ## Questions
# 1. Your laptop has no GPU. Which run mode will the lessons use, and how do you choose another one?
#
# <details><summary>Answer</summary>
#
# `cpu`: without `RADLAB_MODE` the course picks `gpu` only when it finds a CUDA GPU. To choose
# another mode, set the environment variable before starting JupyterLab, for example
# `RADLAB_MODE=smoke jupyter lab notebooks/` for a quick check that everything runs. You never edit
# the lessons' code.
#
# </details>
#
# 2. A dynamic liver CT has unenhanced, arterial and delayed phases of 512 x 512 pixels. As one
#    input to a CNN, what would its tensor shape be for a minibatch of 16 cases?
#
# <details><summary>Answer</summary>
#
# (16, 3, 512, 512): 16 cases, 3 phases as channels, 512 rows, 512 columns. As 32-bit numbers that
# is 16 x 3 x 512 x 512 x 4 bytes, about 50 MB, before the network has computed anything.
#
# </details>
#
# 3. In your own words: what is the difference between a logit and a probability?
#
# <details><summary>Answer</summary>
#
# A logit is the network's raw score for a class: any number, negative or positive, comparable only
# with the other classes' scores. Softmax turns the logits into probabilities between 0 and 1 that
# add up to 1; a larger logit always gets a larger probability. (Whether those probabilities are
# *calibrated*, i.e. 0.8 means right 8 times in 10, is a separate question that lesson 06 takes up.)
#
# </details>
