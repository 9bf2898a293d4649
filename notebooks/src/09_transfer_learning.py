# %% [markdown]
# # 09 · Transfer learning: reusing a network trained on many cases for a task with few
#
# **What you will learn**
# - what transfer learning is (review Fig. 11): a network trained on a task A with many cases is
#   moved to a task B with few, by replacing its last layer and training again, either the changed
#   layers only or all layers (*fine-tuning*: training an already trained network a little more);
# - how to freeze layers (stop them from learning) and count what is still trainable;
# - how ImageNet weights (a network trained on 1.2 million photographs) are loaded without any
#   download, and how a colour first layer becomes one for grey images;
# - an experiment: fine-tuning only the head, fine-tuning all layers, and training from scratch,
#   at 25 to all task-B cases, each repeated with several seeds; the gain of transfer against the
#   number of cases, set beside the two studies the review cites.
#
# **Why a radiologist cares.** Most clinical questions come with a few hundred cases, not tens of
# thousands. Transfer learning is the usual answer in papers with small data sets: "we started
# from an ImageNet network and fine-tuned it". Knowing what was frozen, what was trained, and how
# much the start from another task is worth at your number of cases lets you judge such a paper,
# and tells you when a start from another task cannot replace more cases.
#
# This lesson follows the review's section on transfer learning (Fig. 11): Yasaka K, Akai H,
# Kunimatsu A, Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn
# J Radiol 2018;36:257-272.
#
# Four exercises check themselves as you go: write your answer where the cell says, run it, and
# read the feedback. `ex.NAME.hint()` gives a hint, `ex.NAME.solution()` the answer.

# %%
import math
import time

import numpy as np
import torch

import radlab as rl
from radlab import transfer
from radlab.exercises import lesson09 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("09_transfer_learning")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. Task A with many cases, task B with few
#
# **Task A** is OrganAMNIST: axial slices of abdominal CT, 28 x 28 pixels, each labelled with one
# of 11 organs (liver, kidneys, spleen, bladder, ...), 34,561 training slices. It is the course's
# large real CT task. **Task B** is BreastMNIST: breast ultrasound images, 28 x 28 pixels,
# malignant vs normal or benign, with only 546 training images: a typical small clinical data
# set.
#
# Why these two? Both are real images that are on this machine, and task B is small enough that
# a start from elsewhere might matter. The two tasks differ in modality (CT vs ultrasound), just
# as the usual start for radiology, ImageNet, differs from it (photographs vs grey medical
# images). A CT-to-CT pair would be closer, but the course's only other CT tasks are synthetic
# phantoms, and a real task B was preferred. So the question this lesson asks is a realistic
# one: does a network that learned grey-level CT anatomy help with a small ultrasound task?
#
# Without the downloads, phantom stand-ins are used (the lines printed below say which task is in
# use, and the class names follow the data).

# %%
task_a = rl.data.load("organamnist")
task_b = rl.data.load("breastmnist")
for splits in (task_a, task_b):
    print(f"{splits.name} (real data: {splits.real}): {splits.task}")
    print(f"   {len(splits.train[1]):,} training cases, classes: {', '.join(splits.label_names)}")

# %% [markdown]
# ## 2. Training on task A
#
# First the lesson CNN (three convolutional blocks of 16, 32 and 64 filters, global average
# pooling, one fully connected layer: lesson 03) learns task A. To keep the lesson quick on a
# laptop, it sees a stratified subset of the training slices for a few epochs (the gpu run uses
# all of them). Its validation AUC says whether it has learned useful CT features; with more than
# two classes the AUC is the average of one-class-against-the-rest AUCs.

# %% tags=["nbval-ignore-output"]
WIDTH = 16  # filters in the first block of the lesson CNN (then 32 and 64)
N_TASK_A = rl.config.pick(smoke=500, cpu=3000, gpu=len(task_a.train[1]))
EPOCHS_A = rl.config.pick(smoke=1, cpu=3, gpu=15)
N_VAL_A = rl.config.pick(smoke=200, cpu=1000, gpu=len(task_a.val[1]))

x_a, y_a = rl.data.subset(*task_a.train, min(N_TASK_A, len(task_a.train[1])), seed=SEED)
x_a_val, y_a_val = rl.data.subset(*task_a.val, min(N_VAL_A, len(task_a.val[1])), seed=SEED)
torch.manual_seed(SEED)
net_a = rl.models.small_cnn(in_channels=1, num_classes=task_a.n_classes, width=WIDTH)
start = time.time()
history_a = rl.train.fit(
    net_a,
    (x_a, y_a),
    (x_a_val, y_a_val),
    epochs=EPOCHS_A,
    batch_size=64,
    lr=3e-3,
    progress=False,
)
seconds_a = time.time() - start
auc_a = history_a.best_score
# a CPU copy of the trained weights: every task-B run below starts from this same copy
weights_a = {}
for key, value in net_a.state_dict().items():
    weights_a[key] = value.detach().cpu().clone()
print(f"task A: {len(y_a):,} slices, {EPOCHS_A} epochs, {seconds_a:.0f} s")
print(f"task A validation AUC: {auc_a:.3f}")
rec.claim(
    "the task-A network learned its task (validation AUC above 0.9)", auc_a > 0.9, auc_task_a=auc_a
)

# %% [markdown]
# The network tells the organs apart well on validation slices it never trained on, so its
# filters hold something about CT images. Whether that helps on ultrasound is the question of the
# rest of the lesson.
#
# ## 3. Moving the network to task B: a new head, frozen layers
#
# Task B has 2 classes, task A had 11, so the last layer (the *head*: the fully connected layer
# that turns the features into class scores) cannot be reused: it is replaced by a new, untrained
# one with 2 outputs (`transfer.replace_head`). Everything before it keeps what task A taught it.
# Then there are two ways to train, the two arms of the review's Fig. 11:
#
# - **head only**: freeze all other layers (`transfer.freeze(net, train_only=["fc"])`): their
#   weights get no gradient, so the optimizer never changes them; only the new head learns;
# - **all layers**: every weight may move, starting from task A's values.
#
# The third way, the comparison, is **from scratch**: the same network with random starting weights.
# `freeze` returns the number of weights and biases the optimizer may still change.

# %%
net_b = rl.models.small_cnn(in_channels=1, num_classes=task_a.n_classes, width=WIDTH)
net_b.load_state_dict(weights_a)
transfer.replace_head(net_b, task_b.n_classes)
print(net_b.fc)
head_only = transfer.freeze(net_b, train_only=["fc"])
all_layers = transfer.freeze(net_b, train_only=None)
print(f"trainable with the head only: {head_only:,}")
print(f"trainable with all layers:    {all_layers:,}")

# %% [markdown]
# The head alone has 130 numbers to learn (64 features x 2 classes + 2 biases) against 23,538 in
# the whole network. Fewer numbers to fit means less room to memorize a few dozen
# cases, but also less room to adapt to a new kind of image. One detail: batch normalization keeps
# running averages of its inputs; they are not weights, so even in a frozen layer they follow the
# task-B images during training.
#
# ### Exercise 1 · The head of a wider network
# A colleague uses the lesson CNN with width 32 (blocks of 32, 64 and 128 filters) trained on the
# 11 organs, and moves it to a task B with 3 classes (say, cyst, haemangioma, metastasis). Only the
# new head is trained. How many numbers may the optimizer change? Write the count in
# `my_head_count`.

# %%
my_head_count = ...  # trainable weights and biases of the new head
### BEGIN SOLUTION
my_head_count = 4 * 32 * 3 + 3
### END SOLUTION
ex.head_parameters.check(my_head_count)
# ex.head_parameters.hint()
# ex.head_parameters.solution()

# %% [markdown]
# ## 4. ImageNet weights, when they are on the machine
#
# Most published transfer learning in radiology starts from ImageNet: torchvision's ResNet-18 was
# trained on 1.2 million photographs of 1,000 everyday categories. torchvision would fetch the
# weight file from the internet the first time; the course never does (a lesson must not hang on a
# machine without internet). `transfer.imagenet_resnet18` looks for the file in torch's cache
# folder and, when it is missing, stops with a message that says which file, where it belongs, and
# how to get it. Here the error is caught and its message printed.

# %% tags=["nbval-ignore-output"]
try:
    net_imagenet = transfer.imagenet_resnet18(num_classes=task_b.n_classes)
    HAVE_IMAGENET = True
    print(f"ImageNet weights found in {transfer.weights_file().parent}: a third starting point.")
except transfer.WeightsNotFound as error:
    HAVE_IMAGENET = False
    print(error)

# %% [markdown]
# ImageNet networks take colour images: their first layer has, for each filter, one 7 x 7 slice
# per colour (R, G, B). A CT or ultrasound image has one grey channel. The usual fix: show the grey
# image as a colour image whose three channels are equal. Since a convolution adds up what each
# colour slice sees, a grey image `g` copied into R, G and B gives
# `W_R * g + W_G * g + W_B * g = (W_R + W_G + W_B) * g`. So **adding** the three slices of each
# filter gives a one-channel layer with exactly the same response, and nothing after it notices
# the change. *Averaging* them instead (another common choice) gives a third of that response, as
# if the grey image had been copied into R, G and B and divided by 3; the batch normalization
# after the first layer would then see values three times smaller than those it was trained on.
# `transfer.grayscale_conv` adds by default. A check on a random colour layer:

# %%
torch.manual_seed(SEED)
rgb_layer = torch.nn.Conv2d(3, 8, kernel_size=7, stride=2, padding=3, bias=False)
grey_layer = transfer.grayscale_conv(rgb_layer, how="sum")
averaged_layer = transfer.grayscale_conv(rgb_layer, how="mean")
g = torch.rand(2, 1, 28, 28)  # two grey images (N, 1, H, W)
g_as_rgb = g.repeat(1, 3, 1, 1)  # (N, 3, H, W): the same grey in R, G and B
print("weights:", tuple(rgb_layer.weight.shape), "->", tuple(grey_layer.weight.shape))
with torch.no_grad():
    same = torch.allclose(grey_layer(g), rgb_layer(g_as_rgb), atol=1e-5)
    third = torch.allclose(averaged_layer(g), rgb_layer(g_as_rgb / 3), atol=1e-5)
print("summed filters on grey  == RGB filters on grey x 3 channels:", same)
print("averaged filters on grey == RGB filters on (grey x 3 channels) / 3:", third)

# %% [markdown]
# Both lines print True: the summed layer is the colour layer seen through a grey image; the
# averaged layer answers with a third of the strength.
#
# ### Exercise 2 · Grey filters from colour filters
# Write `my_grey(weights)`: it receives the weights of a colour first layer as a NumPy array of
# shape (filters, 3, height, width) and returns the weights of the grey layer, shape
# (filters, 1, height, width), that responds to a grey image as the colour layer responds to that
# image copied into R, G and B.


# %%
def my_grey(weights):
    """Grey first-layer weights (out, 1, F, F) from colour ones (out, 3, F, F)."""
    ### BEGIN SOLUTION
    weights = np.asarray(weights)  # (out, 3, F, F)
    return weights.sum(axis=1, keepdims=True)  # (out, 1, F, F)
    ### END SOLUTION


ex.grey_filters.check(my_grey)
# ex.grey_filters.hint()
# ex.grey_filters.solution()

# %% [markdown]
# ## 5. The experiment: three ways at five sizes of task B
#
# For each number of task-B training cases (25, 50, 100, 200 and all 546), a stratified subset
# is drawn (each class keeps its share), and the network is trained three ways: head only, all
# layers from task A's weights, and from scratch. Each is repeated with three seeds; a seed fixes
# both the subset and the random weights, so at one size and seed the three ways see the very same
# cases. Every run gets about the same budget of weight updates (whole epochs of at least the
# number printed below, so a run on 25 cases is not simply shorter), picks its best epoch by the
# AUC on task B's validation images, and is then scored once on task B's test images. The head
# alone learns with a larger step (learning rate 0.01 against 0.003), as a single linear layer on
# fixed features can.
#
# When ImageNet weights are present, a fourth way (the ImageNet ResNet-18, all layers) joins; not
# here.

# %% tags=["nbval-ignore-output"]
SIZES = rl.config.pick(smoke=[25, 50], cpu=[25, 50, 100, 200, 546], gpu=[25, 50, 100, 200, 546])
SEEDS = [SEED + i for i in range(rl.config.pick(smoke=1, cpu=3, gpu=5))]
STEPS = rl.config.pick(smoke=4, cpu=80, gpu=300)  # weight updates per run
BATCH = 32
WAYS = ["head only", "all layers", "from scratch"]
if HAVE_IMAGENET:
    WAYS.append("ImageNet, all layers")
LEARNING_RATES = {"head only": 1e-2, "all layers": 3e-3, "from scratch": 3e-3}
LEARNING_RATES["ImageNet, all layers"] = 1e-3
N_B = len(task_b.train[1])
print(f"sizes {SIZES}, seeds {SEEDS}, at least {STEPS} updates per run, {len(WAYS)} ways")
print(f"task B: {N_B} training, {len(task_b.val[1])} validation, {len(task_b.test[1])} test images")


# %% [markdown]
# One run, as a function: build the starting network, train, score on the test images.


# %%
def start_network(way):
    """The network a run starts from: task A's weights, ImageNet's, or random ones."""
    if way == "ImageNet, all layers":
        return transfer.imagenet_resnet18(num_classes=task_b.n_classes)
    net = rl.models.small_cnn(in_channels=1, num_classes=task_a.n_classes, width=WIDTH)
    if way != "from scratch":
        net.load_state_dict(weights_a)
    transfer.replace_head(net, task_b.n_classes)
    if way == "head only":
        transfer.freeze(net, train_only=["fc"])
    return net


def one_run(way, n, seed):
    """Train one way on n task-B cases drawn with this seed; return the test AUC."""
    torch.manual_seed(seed)  # the random weights (new head, or the whole network from scratch)
    net = start_network(way)
    if n >= N_B:
        x, y = task_b.train
    else:
        x, y = rl.data.subset(*task_b.train, n, seed=seed)
    steps_per_epoch = math.ceil(len(y) / BATCH)
    epochs = max(2, math.ceil(STEPS / steps_per_epoch))
    rl.train.fit(
        net,
        (x, y),
        task_b.val,
        epochs=epochs,
        batch_size=BATCH,
        lr=LEARNING_RATES[way],
        seed=seed,
        progress=False,
    )
    x_test, y_test = task_b.test
    probability = rl.train.predict(net, x_test)[:, 1]
    return rl.metrics.auc(y_test, probability)


# %% tags=["nbval-ignore-output"]
aucs = {}  # aucs[way] has one row per size and one column per seed
start = time.time()
for way in WAYS:
    rows = []
    for n in SIZES:
        row = []
        for seed in SEEDS:
            row.append(one_run(way, min(n, N_B), seed))
        rows.append(row)
    aucs[way] = np.array(rows)
seconds_b = time.time() - start
n_fits = len(WAYS) * len(SIZES) * len(SEEDS)
print(f"{n_fits} fits in {seconds_b:.0f} s ({seconds_b / n_fits:.1f} s each)")

# %% [markdown]
# ### Exercise 3 · What a fourth starting point costs
# On a machine with the ImageNet file, the experiment adds a fourth way (the ImageNet ResNet-18,
# all layers fine-tuned). With 5 sizes and 3 seeds, how many task-B training runs does the
# experiment then take? Write the number in `my_fits`.

# %%
my_fits = ...  # task-B training runs with four ways
### BEGIN SOLUTION
my_fits = 5 * 4 * 3
### END SOLUTION
ex.number_of_fits.check(my_fits)
# ex.number_of_fits.hint()
# ex.number_of_fits.solution()

# %% [markdown]
# ## 6. The results: AUC against the number of task-B cases
#
# The table gives, for each way and size, the mean test AUC over the seeds and in brackets the
# lowest and highest seed (the spread is the luck of the draw of cases and of the starting
# weights). The AUC here is the network's probability of "normal or benign" ranking the benign
# images above the malignant ones; it is the same number as for the malignant class read the other
# way round.

# %% tags=["nbval-ignore-output"]
header = "cases " + "".join(f"{way:>24}" for way in WAYS)
print(header)
for i, n in enumerate(SIZES):
    line = f"{min(n, N_B):>5} "
    for way in WAYS:
        row = aucs[way][i]
        line += f"{row.mean():>10.3f} [{row.min():.3f}-{row.max():.3f}]"
    print(line)

# %%
sizes_used = [min(n, N_B) for n in SIZES]
size_labels = [str(n) for n in sizes_used]
fig, (ax_auc, ax_gain) = rl.plot.figure(1, 2, panel_inches=(4.2, 3.2))
colour = {}  # one colour per way, the same in both panels
for number, way in enumerate(WAYS):
    colour[way] = f"C{number}"
for way in WAYS:
    table = aucs[way]  # (sizes, seeds)
    ax_auc.plot(sizes_used, table.mean(axis=1), marker="o", label=way, color=colour[way])
    # the band: lowest to highest seed at each size, in the line's colour
    low, high = table.min(axis=1), table.max(axis=1)
    ax_auc.fill_between(sizes_used, low, high, color=colour[way], alpha=0.15)
for way in ["all layers", "head only"]:
    gain = aucs[way] - aucs["from scratch"]  # (sizes, seeds): paired by seed, same cases
    label = f"{way} minus scratch"
    ax_gain.plot(sizes_used, gain.mean(axis=1), marker="o", label=label, color=colour[way])
    low, high = gain.min(axis=1), gain.max(axis=1)
    ax_gain.fill_between(sizes_used, low, high, color=colour[way], alpha=0.15)
ax_gain.axhline(0, color="grey", lw=1)
ax_auc.set(ylabel="test AUC (mean, band: seed range)", title="AUC by way")
ax_gain.set(ylabel="AUC gain (mean, band: seed range)", title="gain over scratch")
for ax in (ax_auc, ax_gain):
    ax.set_xscale("log")
    ax.set_xticks(sizes_used, labels=size_labels)
    ax.set_xticks([], minor=True)  # no extra ticks between the sizes
    ax.set_xlabel("task-B training cases")
    ax.legend(fontsize=8)
fig

# %% tags=["nbval-ignore-output"]
head, full, scratch = aucs["head only"], aucs["all layers"], aucs["from scratch"]
gain_full = (full - scratch).mean(axis=1)  # one mean gain per size
gain_head = (head - scratch).mean(axis=1)
for i, n in enumerate(sizes_used):
    print(f"{n:>4} cases: all layers {gain_full[i]:+.3f}, head only {gain_head[i]:+.3f}")
head_below = bool(np.all(head.mean(axis=1) < full.mean(axis=1)))
largest_gain = float(np.abs(gain_full).max())
rec.claim("head only is below all layers at every size", head_below, n_sizes=len(sizes_used))
closest_head = float(gain_head.max())  # the head-only gain nearest to zero
rec.claim("head only is below scratch at every size", closest_head < 0, head_gain_max=closest_head)
overlap = True  # do the lowest-to-highest seed ranges of the two ways share some AUC values?
for i in range(len(sizes_used)):
    if full[i].min() > scratch[i].max() or scratch[i].min() > full[i].max():
        overlap = False
rec.claim(
    "the seed ranges of all layers and scratch overlap at every size",
    overlap,
    n_sizes=len(sizes_used),
)
rec.claim(
    "all layers is within 0.05 AUC of scratch at every size",
    largest_gain < 0.05,
    largest_gain=largest_gain,
)

# %% [markdown]
# And how much each way gains from more task-B cases: the mean AUC with the smallest and the
# largest training set, and the change from 200 cases to all of them.

# %% tags=["nbval-ignore-output"]
rises = []
for way in WAYS:
    means = aucs[way].mean(axis=1)  # one mean AUC per size
    last_step = means[-1] - means[-2]
    rises.append(means[-1] > means[0])
    print(f"{way:<13} {means[0]:.3f} -> {means[-1]:.3f}; last step {last_step:+.3f}")
rec.claim("every way does better with all cases than with the fewest", all(rises), ways=len(WAYS))

# %% [markdown]
# What the numbers show (cpu run; the gpu settings, with all 34,561 task-A slices, 300 updates per
# run and five seeds, were run once on the course's CPU, and where they differ it is said).
#
# - **Training only the head was the worst way at every size**, 0.06 to 0.08 AUC below training
#   from scratch. Filters that learned to tell CT organs apart are not the filters that tell a
#   malignant breast mass from a benign one on ultrasound, most likely, and a single linear layer
#   on top of them cannot make up for it.
# - **Fine-tuning all layers was as good as training from scratch, not better**: its mean gain
#   stayed between -0.012 and +0.013 AUC, and at every size the lowest-to-highest seed ranges of
#   the two ways overlap. The CT start neither helped nor hurt once every layer could adapt.
# - **More cases helped every way**: from 25 cases to all 546 the mean AUC rose by 0.05 to 0.06,
#   most of it between 25 and 200 cases; the last step, from 200 to 546 cases, changed each way by
#   less than 0.02. With the gpu settings' longer training that last step still added 0.04 to 0.05
#   for all layers and for scratch: whether the last cases help depends on how long each network
#   trains, one reason why Mohamed's and Larson's findings (section 7) can both be true.
#
# So in this run the start from another modality bought nothing, and the number of task-B cases
# mattered more than the starting point. This is one pair of tasks with a small network at 28
# pixels: a closer task A (CT to CT), a larger network, or ImageNet weights may behave differently,
# which is why section 7 looks at published results.
#
# ### Exercise 4 · The gain at each size
# Write `my_gain(fine, scratch)`: both are arrays with one row per training-set size and one
# column per seed, holding test AUCs (the same seed means the same cases). Return one number per
# size: the mean over the seeds of fine-tuned minus scratch.


# %%
def my_gain(fine, scratch):
    """Mean gain (fine-tuned minus scratch AUC) per size, from (sizes, seeds) tables."""
    ### BEGIN SOLUTION
    difference = np.asarray(fine) - np.asarray(scratch)  # (sizes, seeds)
    return difference.mean(axis=1)  # one gain per size
    ### END SOLUTION


ex.gain_per_size.check(my_gain)
# ex.gain_per_size.hint()
# ex.gain_per_size.solution()

# %% [markdown]
# ## 7. Beside the published studies
#
# The review contrasts two studies on how performance depends on the number of training cases.
# Mohamed et al. (breast density on mammograms, with transfer learning) found **little difference**
# in performance across the sizes of the fine-tuning set; Larson et al. (bone age on hand
# radiographs) found performance **improving with more training cases**. Our cpu-run curves hold
# both: a clear rise from 25 to 200 cases (Larson's pattern), then little change from 200 to 546
# (Mohamed's pattern); with the gpu settings' longer training they still rose at 546. Where a study
# sits on its own curve, and how long it trains, decide which of the two it sees, so "does more
# data help?" has no answer without the number of cases already in hand.
#
# For scale on the head-only question, MedMNIST+ (Doerrich et al. 2024) fine-tuned an ImageNet
# ResNet-18 on 12 MedMNIST sets at 28 pixels (padded to 224) and found full fine-tuning 15 points
# ahead of training the head only: 79.7% vs 64.4% mean accuracy. Our head-only runs were also
# clearly behind fine-tuning all layers. The numbers are not directly comparable: they used
# ImageNet weights, accuracy rather than AUC, full training sets and 12 data sets, while we used
# one CT-trained small network and AUC on one ultrasound test set of 156 images.

# %% tags=["nbval-ignore-output"]
published_gap = 79.7 - 64.4  # MedMNIST+, mean accuracy, points: full fine-tuning minus head only
our_gap = float((full - head).mean())  # our AUC difference, averaged over sizes and seeds
print(f"MedMNIST+ (accuracy, 12 sets): full fine-tuning - head only = {published_gap:.1f} points")
print(f"this lesson (AUC, BreastMNIST): all layers - head only = {our_gap:.3f}")

# %% [markdown]
# ## Summary
# - Transfer learning (review Fig. 11) moves a network trained on a task A with many cases to a
#   task B with few: the last layer (the head) is replaced for task B's classes, and then either
#   only the head or all layers are trained (fine-tuning).
# - Freezing a layer stops the optimizer from changing its weights; with only the head trainable
#   the lesson CNN learns 130 numbers instead of 23,538. Batch normalization's running averages
#   still follow the new images.
# - ImageNet weights are read from torch's cache only; when the file is absent the lesson prints
#   where it belongs and how to fetch it, and carries on. A colour first layer becomes a grey one
#   by adding the three colour slices of each filter (same response as the grey image copied into
#   R, G and B); averaging them gives a third of that response.
# - Here, a CT-trained start moved to breast ultrasound: head only was worst at every size; all
#   layers matched training from scratch (mean gain within about 0.01 AUC); more cases helped
#   every way up to about 200, then little. A start from another task did not replace cases.
# - Published results differ by task and by where on the curve a study sits (Mohamed: little
#   difference across sizes; Larson: better with more cases); MedMNIST+ found full fine-tuning
#   of ImageNet ResNet-18 15 points ahead of the head only.
#
# ## Questions
# 1. A network trained on 11 organs on CT is moved to "malignant vs benign" on ultrasound. What is
#    replaced, what is kept, and why can the old last layer not simply be reused?
#
# <details><summary>Answer</summary>
#
# The last fully connected layer (the head) is replaced by a new, untrained one with 2 outputs;
# all convolutional layers keep the weights task A gave them. The old head has 11 outputs, each
# tied to one organ: its weights turn features into organ scores, which mean nothing for
# malignancy, and it has the wrong number of outputs. Whether the kept layers are then frozen or
# fine-tuned is a separate choice.
#
# </details>
#
# 2. Why was training only the head worse than training from scratch here, when it has far fewer
#    numbers to fit and so less room to overfit?
#
# <details><summary>Answer</summary>
#
# With a frozen body the head can only weigh the features task A produced, and features that tell
# CT organs apart (shapes, organ densities) are most likely not those that separate malignant from
# benign masses on ultrasound (margins, echo texture). Fewer trainable numbers protect against
# memorizing, but they cannot create the missing features; training from scratch, or fine-tuning
# all layers, lets the filters themselves adapt. A task A closer to task B would give the head
# better features to start from.
#
# </details>
#
# 3. A paper reports: "we fine-tuned an ImageNet-pretrained ResNet on 300 CT examinations." What
#    do you want to know before believing that the pretraining helped?
#
# <details><summary>Answer</summary>
#
# Which layers were trained (head only or all); how the grey images were fed to a colour network
# (copied into three channels, or a first layer with summed or averaged filters); whether the
# same network trained from scratch on the same 300 cases was compared, with the same number of
# updates; whether that comparison was repeated with several seeds or given with an interval;
# and whether the epoch and settings were chosen on validation cases with the final figure from a
# separate test set. Without a from-scratch comparison at the same size, the gain of the
# pretraining is not measured at all.
#
# </details>
#
# 4. Adding or averaging the three colour slices of each first-layer filter: what does each give
#    for a grey image, and why does the difference matter for a pretrained network?
#
# <details><summary>Answer</summary>
#
# Adding gives exactly the response of the colour layer to the grey image copied into R, G and B;
# averaging gives a third of it (the same as the copied image divided by 3). In a pretrained
# network the next layer (batch normalization in ResNet) expects values of the size seen in
# pretraining; a response three times smaller shifts everything that follows until fine-tuning
# adapts to it. Either can work once all layers are fine-tuned, but the sum starts closer to what
# the network learned.
#
# </details>
#
# 5. Mohamed et al. saw little difference across fine-tuning set sizes, Larson et al. saw better
#    results with more cases. How can both be right, and what does this lesson's curve suggest
#    for planning your own study?
#
# <details><summary>Answer</summary>
#
# A learning curve rises steeply while cases are few and flattens once the task is learned as
# well as the network and image size allow; a study on the flat part sees little difference, a
# study on the rising part sees a clear gain. Here the AUC rose from 25 to 200 cases and changed
# little from 200 to 546. For your own study, train at a few subset sizes (with several seeds)
# before collecting more: if the curve is still rising, more cases are worth more than a new
# starting point; if it is flat, look elsewhere (a closer task A, larger images, better labels).
#
# </details>
