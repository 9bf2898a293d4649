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
# | 10 | clinical case studies | clinical application |
# | 11 | limitations and the road ahead | future directions |
#
# Lessons 07-11 are being written; the notebooks present in the `notebooks/` folder are the ones you can run today.

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
# or above the course's lower bounds works.

# %% tags=["nbval-ignore-output"]
import importlib.metadata as md
import shutil

settings = rl.config.summary()
for key, value in settings.items():
    print(f"{key:>14}: {value}")
for package in [
    "numpy",
    "torch",
    "torchvision",
    "pydicom",
    "pydicom-data",
    "scikit-learn",
    "matplotlib",
    "ipywidgets",
    "jupyterlab",
]:
    print(f"{package:>14}: {md.version(package)}")

# %% tags=["nbval-ignore-output"]
import os

free_disk_gb = shutil.disk_usage(rl.config.data_root().anchor or "/").free / 1e9
memory_gb = (
    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    if hasattr(os, "sysconf")
    else float("nan")
)
print(
    f"memory: {memory_gb:.1f} GB   free disk: {free_disk_gb:.1f} GB   CPU cores: {os.cpu_count()}"
)

# %% [markdown]
# Which data sets are on this computer? The real chest X-rays (PneumoniaMNIST) and breast ultrasound
# images (BreastMNIST) come from the MedMNIST collection; you fetch them once with the course's own
# download command, which checks every file against its published MD5 checksum. Everything else in
# the course (real DICOM files, synthetic CT) is installed with the package.

# %% tags=["nbval-ignore-output"]
print("data root:", rl.config.data_root())
for name in ["pneumoniamnist", "breastmnist"]:
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
rec.measure("softmax_2_1_0", probabilities[0].item())
probabilities.round(decimals=3)

# %% [markdown]
# Softmax is built so that the probabilities always add up to 1; a quick look:

# %%
total = probabilities.sum().item()
rec.measure("softmax_sum", total)
print(f"sum of the three probabilities: {total:.4f}")

# %% [markdown]
# ## Summary
# - The course follows the review by Yasaka et al. (2018) section by section, one lesson per part.
# - One setting, the run mode (`RADLAB_MODE`: smoke, cpu or gpu), scales every lesson to your computer.
# - Real DICOM ships with the course; the MedMNIST images come from the course's own checked download.
# - Every widget has a static figure beside it.
#
# ## Questions
# 1. Your laptop has no GPU. Which run mode will the lessons use, and how do you choose another one?
# 2. A dynamic liver CT has unenhanced, arterial and delayed phases of 512 x 512 pixels. As one
#    input to a CNN, what would its tensor shape be for a minibatch of 16 cases?
# 3. In your own words: what is the difference between a logit and a probability?
