# %% [markdown]
# # 03 · The building blocks of a CNN, by hand and with the framework
#
# **What you will learn**
# - the fully connected unit: a weighted sum plus a bias, through ReLU (review Fig. 6a);
# - the output layer: softmax for classes (the review's liver-fibrosis example, Fig. 6b) and the
#   identity for a continuous score cut into stages (Fig. 6c);
# - convolution: a 3 x 3 filter slid over a real CT with stride and zero padding, several input
#   channels to several output channels, the output size and the number of weights (Fig. 7);
# - hand-made edge filters and a filter that a network *learned* by itself;
# - pooling: max and average, what it keeps and why it tolerates small shifts;
# - dropout (Fig. 8) and batch normalization, and why both behave differently in training and testing.
#
# Every block is computed twice: once **by hand**, in a few lines of plain NumPy or tensor arithmetic
# you can read, and once with the **framework's layer** (`torch.nn`), which is what real networks use.
# The numbers agree. Nothing inside a CNN is more mysterious than these few operations, repeated.
#
# **Why a radiologist cares.** Papers describe their networks in this vocabulary: "five 3 x 3
# convolutional layers with stride 1, max pooling, dropout 0.5, batch normalization, softmax output".
# Knowing what each piece computes lets you judge a methods section, understand why a network needs so
# many cases (every weight must be learned), and see why a model may behave differently when one image
# is processed alone rather than in a batch. This lesson follows the review's section on the
# architecture of a CNN (Yasaka K, Akai H, Kunimatsu A, Kiryu S, Abe O. Deep learning with convolutional
# neural network in radiology. Jpn J Radiol 2018;36:257-272; Fig. 5-8).

# %%
import numpy as np
import torch
from pydicom.data import get_testdata_file
from torch import nn

import radlab as rl

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("03_building_blocks")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. The fully connected unit (Fig. 6a)
#
# A unit (a "neuron") takes several input numbers $x_1 \dots x_n$, multiplies each by a **weight**,
# adds them up with a **bias** $b$, and passes the sum through an **activation function**. The usual one
# is ReLU (rectified linear unit), which keeps positive values and turns negative ones into 0:
#
# $$y = \max\Big(\sum_i w_i x_i + b,\; 0\Big).$$
#
# As inputs we take the mean attenuation of a liver lesion in the three phases of a dynamic CT,
# divided by 100 (so 115 HU becomes 1.15). The weights here are chosen by us to reward arterial
# enhancement and penalise washout; in a real network they are *learned*.

# %%
hcc = np.array(
    [0.42, 1.15, 0.78]
)  # unenhanced, arterial, delayed (HU / 100): enhances, then washes out
cyst = np.array([0.08, 0.09, 0.08])  # water density in every phase
w = np.array([-0.5, 1.2, -0.9])  # one weight per input
b = -0.2


def unit(x):
    total = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b  # weighted sum plus bias
    return max(total, 0.0)  # ReLU


print(f"HCC:  weighted sum {w @ hcc + b:+.4f} -> output {unit(hcc):.4f}")
print(f"cyst: weighted sum {w @ cyst + b:+.4f} -> output {unit(cyst):.4f}")

# %% [markdown]
# The same unit with the framework: `nn.Linear` computes the weighted sum plus bias, `nn.ReLU` the
# activation. We put our weights into it and feed both lesions at once (a batch of two):

# %%
layer = nn.Linear(3, 1)  # 3 inputs, 1 unit
with torch.no_grad():
    layer.weight[:] = torch.tensor(w[None], dtype=torch.float32)
    layer.bias[:] = b
framework = nn.ReLU()(layer(torch.tensor(np.stack([hcc, cyst]), dtype=torch.float32)))
by_hand = np.array([unit(hcc), unit(cyst)])
print("by hand:  ", np.round(by_hand, 4))
print("framework:", np.round(framework[:, 0].detach().numpy(), 4))

# %% [markdown]
# A **fully connected layer** is many such units side by side, each with its own weights: the weights
# form a matrix $W$ (one row per unit) and the whole layer is $y = \max(Wx + b, 0)$. Four units,
# by hand as a matrix product, and with `nn.Linear(3, 4)`:

# %%
W = np.array(
    [[-0.5, 1.2, -0.9], [1.0, 0.0, 0.0], [0.3, -0.2, 0.8], [-1.0, -1.0, -1.0]]
)  # (4 units, 3 inputs)
b4 = np.array([-0.2, 0.1, 0.0, 0.5])
by_hand = np.maximum(W @ hcc + b4, 0)  # (4,)

layer4 = nn.Linear(3, 4)
with torch.no_grad():
    layer4.weight[:] = torch.tensor(W, dtype=torch.float32)
    layer4.bias[:] = torch.tensor(b4, dtype=torch.float32)
framework = torch.relu(layer4(torch.tensor(hcc, dtype=torch.float32))).detach().numpy()
print("by hand:  ", np.round(by_hand, 4))
print("framework:", np.round(framework, 4))
rec.claim(
    "fully connected layer: by hand and nn.Linear + ReLU agree to 1e-5",
    np.abs(by_hand - framework).max() < 1e-5,
)

# %% [markdown]
# The last unit outputs 0: its weighted sum is negative, and ReLU cuts it. A layer with 3 inputs and 4
# units has 3 x 4 weights plus 4 biases, 16 numbers to learn:

# %%
sum(p.numel() for p in layer4.parameters())

# %% [markdown]
# ## 2. The output layer: softmax for classes (Fig. 6b)
#
# For a classification the last layer has one unit per class. Its raw outputs, the **logits**, can be
# any numbers. **Softmax** turns them into probabilities that are positive and add up to 1:
#
# $$p_k = \frac{e^{z_k}}{\sum_j e^{z_j}}.$$
#
# The review's example is a network that stages liver fibrosis on MR (Yasaka et al., Radiology 2018)
# with five classes F0 to F4. It prints the logits F0 = 1.41, F1 = 0.59 and F4 = 3.51, and a softmax
# probability of 0.76 for F4. **The review does not print F2 and F3.** They are not free: for F4 to get
# 0.76, $e^{F2} + e^{F3}$ must be about $e^{3.51}/0.76 - e^{3.51} - e^{1.41} - e^{0.59}$:

# %%
needed = np.exp(3.51) / 0.76 - np.exp(3.51) - np.exp(1.41) - np.exp(0.59)
round(float(needed), 2)

# %% [markdown]
# We **chose F2 = 0.70 and F3 = 0.95** ($e^{0.70} + e^{0.95} \approx 4.60$, close to the 4.66
# needed); these two numbers are ours, not the review's. Other pairs with about the same sum of
# exponentials would fit the review equally well; a pair that does not have it gives F4 a different
# probability (F2 = 1.20 and F3 = 1.90, for example, would give F4 only 0.68). Softmax by hand, then
# with `torch.softmax`:

# %%
stages = ["F0", "F1", "F2", "F3", "F4"]
logits = np.array([1.41, 0.59, 0.70, 0.95, 3.51])  # F2 and F3 chosen by this lesson
by_hand = np.exp(logits) / np.exp(logits).sum()
framework = torch.softmax(torch.tensor(logits, dtype=torch.float32), dim=0).numpy()
for stage, z, p_hand, p_torch in zip(stages, logits, by_hand, framework):
    print(f"{stage}: logit {z:5.2f}   softmax by hand {p_hand:.4f}   torch.softmax {p_torch:.4f}")
print(f"sum of probabilities: {by_hand.sum():.4f}")

# %%
rec.measure("softmax_F4", round(float(framework[4]), 4))
rec.claim(
    "softmax of the fibrosis logits: by hand and torch.softmax agree to 1e-5",
    np.abs(by_hand - framework).max() < 1e-5,
)
# F2 and F3 were chosen to give 0.76, so this is a comparison, not a test
print(f"probability of F4: review 0.76, this lesson {float(framework[4]):.3f}")

# %% [markdown]
# | | review (Fig. 6b) | this lesson |
# |---|---|---|
# | logits F0, F1, F4 | 1.41, 0.59, 3.51 | 1.41, 0.59, 3.51 |
# | logits F2, F3 | not printed | 0.70, 0.95 (our choice) |
# | softmax probability of F4 | 0.76 | 0.761 |
#
# The largest logit wins clearly after softmax: the exponential turns a logit 2 points higher into a
# probability about 7 times larger. Softmax output is often read as the network's confidence, but a
# network can be confidently wrong; lesson 06 deals with how to judge it.
#
# ## 3. The output layer for a score: identity and thresholds (Fig. 6c)
#
# Fibrosis stages are **ordered**: F3 lies between F2 and F4. Instead of five separate classes, a
# network can output **one number**, a fibrosis score, through the **identity** function (the
# weighted sum is passed on unchanged). The stage then follows from thresholds on the score. With
# thresholds 0.5, 1.5, 2.5 and 3.5, the stage is the number of thresholds the score exceeds:

# %%
thresholds = np.array([0.5, 1.5, 2.5, 3.5])
scores = np.array([0.2, 1.4, 2.7, 3.9])
for score in scores:
    stage = int((score > thresholds).sum())  # how many thresholds lie below the score
    print(f"score {score:.1f} -> F{stage}")

# %% [markdown]
# The framework's identity layer does exactly nothing, by design: the score leaves the network as it is.

# %%
score = torch.tensor([2.7])
nn.Identity()(score), torch.bucketize(score, torch.tensor(thresholds, dtype=torch.float32))

# %% [markdown]
# A score of 2.7 is stage F3 by hand and by `torch.bucketize`. A score keeps the order of the stages:
# an F4 called F3 is a smaller error than an F4 called F0, which five unrelated classes cannot express.
#
# ## 4. Convolution (Fig. 7)
#
# A **convolutional layer** slides a small grid of weights, the **filter** (or kernel), of F x F
# pixels over the image. At each position it multiplies the filter with the pixels under it and adds up
# the products (plus a bias): one output pixel. Two settings:
#
# - **stride S**: how many pixels the filter moves between positions (S = 2 halves the output);
# - **zero padding P**: P rings of zeros around the image, so that the filter also fits at the edges.
#
# The output of an N x N input is $(N + 2P - F)/S + 1$ pixels wide (rounded down).
#
# We use a real CT: the head slice `693_UNCR.dcm` of lesson 01, in the brain window, reduced to 128 x 128
# pixels so that the hand-made version runs quickly.

# %%
hu = torch.from_numpy(
    rl.dicom.to_array(rl.dicom.read(get_testdata_file("693_UNCR.dcm")))
)  # (512, 512)
ct = rl.window(
    nn.functional.interpolate(hu[None, None], size=(128, 128), mode="area"), preset="brain"
)  # (1, 1, 128, 128)
image = ct[0, 0].numpy()  # (128, 128) in [0, 1]
image.shape, round(float(image.min()), 3), round(float(image.max()), 3)

# %% [markdown]
# The filter: a **Sobel** edge filter, which responds where brightness changes from left to right
# (the edges of the skull, the ventricles). By hand, with two loops over the output positions:

# %%
sobel = rl.models.KERNELS["edge vertical (Sobel)"]  # (3, 3)
print(sobel)


def conv_by_hand(image, kernel, stride=1, padding=0):
    """Slide `kernel` over `image` (zero padding, given stride): one weighted sum per position."""
    padded = np.pad(image, padding)  # zeros all around
    f = kernel.shape[0]
    rows = (padded.shape[0] - f) // stride + 1
    cols = (padded.shape[1] - f) // stride + 1
    out = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            patch = padded[
                i * stride : i * stride + f, j * stride : j * stride + f
            ]  # the pixels under the filter
            out[i, j] = np.sum(patch * kernel)
    return out


# %% [markdown]
# Now the framework's `torch.nn.functional.conv2d` (which, like our loops, does *not* flip the filter:
# strictly it is a cross-correlation, as in every deep-learning framework), for four settings:

# %%
kernel = torch.from_numpy(sobel)[None, None]  # (out channels, in channels, F, F)
agree = []
for stride, padding in [(1, 0), (1, 1), (2, 1), (3, 2)]:
    mine = conv_by_hand(image, sobel, stride, padding)
    theirs = nn.functional.conv2d(ct, kernel, stride=stride, padding=padding)[0, 0].numpy()
    formula = (128 + 2 * padding - 3) // stride + 1
    agree.append(bool(np.abs(mine - theirs).max() < 1e-5))
    print(
        f"S={stride} P={padding}: by hand {mine.shape}, conv2d {theirs.shape}, formula {formula}; "
        f"pixel (40, 40): {mine[40, 40]:+.4f} vs {theirs[40, 40]:+.4f}; agree to 1e-5: {agree[-1]}"
    )

# %%
rec.claim(
    "convolution on the CT: loops by hand and conv2d agree to 1e-5 for every stride and padding",
    all(agree),
)

# %% [markdown]
# The static figure: the padded input, the filter's nine numbers, and the output (mid-grey = 0; white
# and black = strong edges of opposite direction), here with stride 2 and padding 1:

# %%
rl.plot.conv_figure(image, "edge vertical (Sobel)", stride=2, padding=1)

# %% [markdown]
# The edges of the skull and ventricles light up; uniform brain tissue gives 0. With stride 2 the output
# is 64 x 64: a quarter of the pixels, the same anatomy.
#
# ### Output size and number of weights
#
# A layer with **M input channels** and **N filters** has filters of size F x F x M (each filter looks at
# all input channels at once) and one bias per filter:
#
# $$\text{parameters} = F \cdot F \cdot M \cdot N + N.$$
#
# We check both formulas against the framework's `nn.Conv2d` for several settings, including the first
# layer of AlexNet (227 x 227 colour input, 96 filters of 11 x 11, stride 4; lesson 07):

# %%
settings = [  # (input size, F, S, P, M in, N out)
    (128, 3, 1, 1, 1, 8),
    (128, 3, 2, 1, 3, 16),
    (128, 5, 1, 2, 3, 4),
    (64, 3, 2, 0, 16, 32),
    (227, 11, 4, 0, 3, 96),
]
checks = []
print(
    f"{'in':>4} {'F':>3} {'S':>2} {'P':>2} {'M':>3} {'N':>3} | {'size: formula':>13} {'layer':>5} | {'params: formula':>15} {'layer':>6}"
)
for size, f, s, p, m, n in settings:
    conv = nn.Conv2d(m, n, kernel_size=f, stride=s, padding=p)
    out_size = conv(torch.zeros(1, m, size, size)).shape[-1]
    params = conv.weight.numel() + conv.bias.numel()
    size_formula, params_formula = rl.models.conv_output_size(size, f, s, p), f * f * m * n + n
    checks.append(out_size == size_formula and params == params_formula)
    print(
        f"{size:>4} {f:>3} {s:>2} {p:>2} {m:>3} {n:>3} | {size_formula:>13} {out_size:>5} | {params_formula:>15} {params:>6}"
    )

# %%
rec.claim(
    "output size (N + 2P - F)/S + 1 and parameters F*F*M*N + N match nn.Conv2d in every setting",
    all(checks),
)

# %% [markdown]
# Note what does *not* appear in the parameter count: the image size. The same 3 x 3 filter is used at
# every position (weight sharing), which is why a CNN needs far fewer weights than a fully connected
# network on the same image.
#
# ### Several channels in, several channels out (Fig. 7b)
#
# Three CT phases (unenhanced, arterial, delayed) enter as 3 channels (lesson 01); the layer makes 4
# output maps. Each output map is the sum, over the three phases, of one 3 x 3 filter per phase, plus
# the map's bias. By hand with the loops from above, then with `nn.Conv2d(3, 4, 3, padding=1)`:

# %%
cases = rl.phantoms.liver_lesions(4, size=64, seed=SEED)
phases = rl.window(cases.images[0], preset="liver")  # (3, 64, 64): three phases as channels
conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)  # random starting weights (seeded)
weights = conv.weight.detach().numpy()  # (4 out, 3 in, 3, 3)
biases = conv.bias.detach().numpy()  # (4,)

maps_by_hand = np.zeros((4, 64, 64), dtype=np.float32)
for n in range(4):  # each output map
    for m in range(3):  # each input phase
        maps_by_hand[n] += conv_by_hand(phases[m], weights[n, m], padding=1)
    maps_by_hand[n] += biases[n]
phase_maps = conv(torch.from_numpy(phases)[None])[0].detach().numpy()  # (4, 64, 64)
print("shapes:", phases.shape, "->", maps_by_hand.shape, phase_maps.shape)
print("pixel (32, 20) of each map, by hand:  ", np.round(maps_by_hand[:, 32, 20], 4))
print("pixel (32, 20) of each map, framework:", np.round(phase_maps[:, 32, 20], 4))

# %%
rec.claim(
    "3 phases in, 4 maps out: by hand and nn.Conv2d agree to 1e-5",
    np.abs(maps_by_hand - phase_maps).max() < 1e-5,
)
print("parameters:", conv.weight.numel() + conv.bias.numel(), "= 3*3*3*4 + 4")

# %% [markdown]
# ### Hand-made filters and a filter learned from examples
#
# The Sobel filter was designed by people. A CNN starts from random filters and *learns* its own from
# the training data. To see that learning can find an edge filter, we give a single 3 x 3
# convolution (one input, one output, no bias) examples: the CT as input, its edge map as the desired
# output. We made that edge map with the Sobel filter, so we know the right answer; the question is
# whether the learner can recover the filter that produced its teaching images from the examples
# alone. It starts from random weights and is corrected step by step (gradient descent, lesson 04).

# %% tags=["nbval-ignore-output"]
rl.config.seed_everything(SEED)
target = nn.functional.conv2d(ct, kernel, padding=1)  # (1, 1, 128, 128): the teaching image
learner = nn.Conv2d(1, 1, kernel_size=3, padding=1, bias=False)  # random starting filter
start_filter = learner.weight.detach()[0, 0].clone()
steps = rl.config.pick(smoke=20, cpu=250, gpu=250)
for step in range(steps + 1):
    loss = nn.functional.mse_loss(learner(ct), target)  # how far the output is from the edge map
    if step % max(1, steps // 5) == 0:
        print(f"step {step:>3}: mean squared error {loss.item():.6f}")
    learner.zero_grad()
    loss.backward()  # the gradient: which way each of the 9 weights should move
    with torch.no_grad():
        learner.weight -= (
            0.8 * learner.weight.grad
        )  # a step downhill; the learning rate 0.8 sets its size (lesson 04)
learned = learner.weight.detach()[0, 0]
print("learned filter:\n", np.round(learned.numpy(), 2))

# %% tags=["nbval-ignore-output"]
similarity = float(np.corrcoef(learned.numpy().ravel(), sobel.ravel())[0, 1])
rec.measure("learned_filter_correlation_with_sobel", round(similarity, 4))
rec.claim(
    "from examples alone, the learned filter recovers the filter that made the teaching image, "
    "the Sobel filter (correlation above 0.98)",
    similarity > 0.98,
    correlation=round(similarity, 4),
)

# %%
responses = [
    rl.plot.conv_display(rl.models.convolve(image, k, padding=1), k)
    for k in (start_filter, sobel, learned)
]
rl.plot.grid(
    [image] + responses,
    titles=["CT, brain window", "random start filter", "Sobel (hand-made)", "learned filter"],
    panel_inches=2.0,
    suptitle="the same CT through three 3 x 3 filters",
)

# %% [markdown]
# In a real CNN nobody hands the network an edge map: the filters are learned from the diagnosis
# alone, and the first layers typically end up with edge-like and blob-like detectors because those
# help. Try the filters yourself: choose a kernel (the learned one is in the menu), the stride and the
# padding; the read-out gives the output size by the formula.

# %% tags=["nbval-ignore-output"]
rl.widgets.conv_playground(image, learned=learned)

# %% [markdown]
# The same, without a kernel (the static twin of the playground), for the learned filter with
# stride 1 and padding 1:

# %%
rl.plot.conv_figure(image, learned, stride=1, padding=1)

# %% [markdown]
# ## 5. Pooling
#
# A **pooling** layer shrinks each map: it cuts it into H x H squares (here 2 x 2, stride 2) and keeps
# one number per square, the **maximum** (max pooling) or the **average** (average pooling). Each
# channel is pooled separately, so the number of channels stays the same. Pooling has **no weights**:
# nothing is learned. By hand on a small 4 x 4 example:

# %%
small = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 2, 7, 8]], dtype=np.float32)


def pool_by_hand(image, how):
    """2 x 2 pooling with stride 2 of one (H, W) map: the max or the mean of each 2 x 2 square."""
    rows, cols = image.shape[0] // 2, image.shape[1] // 2
    out = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            square = image[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]  # the 2 x 2 pixels of this square
            out[i, j] = square.max() if how == "max" else square.mean()
    return out


print("max pooling by hand:\n", pool_by_hand(small, "max"))
print("average pooling by hand:\n", pool_by_hand(small, "mean"))

# %%
x = torch.from_numpy(small)[None, None]  # (1, 1, 4, 4)
nn.MaxPool2d(2)(x)[0, 0], nn.AvgPool2d(2)(x)[0, 0]

# %% [markdown]
# The same on the 4 output maps of the 3-phase convolution above: half the height and width, still 4
# channels, and 0 parameters:

# %%
maps = torch.from_numpy(phase_maps)[None]  # (1, 4, 64, 64)
pooled_max, pooled_avg = nn.MaxPool2d(2)(maps)[0].numpy(), nn.AvgPool2d(2)(maps)[0].numpy()
max_by_hand = np.stack(
    [pool_by_hand(one_map, "max") for one_map in phase_maps]
)  # each channel on its own
avg_by_hand = np.stack([pool_by_hand(one_map, "mean") for one_map in phase_maps])
same_max = np.abs(max_by_hand - pooled_max).max() < 1e-5
same_avg = np.abs(avg_by_hand - pooled_avg).max() < 1e-5
parameters = sum(p.numel() for p in nn.MaxPool2d(2).parameters()) + sum(
    p.numel() for p in nn.AvgPool2d(2).parameters()
)
print("shape:", tuple(maps.shape), "->", pooled_max.shape, " parameters:", parameters)
rec.claim(
    "2 x 2 pooling: by hand and nn.MaxPool2d / nn.AvgPool2d agree; half the size, same channels, 0 parameters",
    same_max and same_avg and pooled_max.shape == (4, 32, 32) and parameters == 0,
)


# %% [markdown]
# ### Tolerance to small shifts
#
# A patient lying one pixel further to the right should not change the diagnosis. Pooling helps: a
# strong response that moves by one pixel often stays inside the same 2 x 2 square, so the pooled map
# changes less than the map itself. We measure it on the CT's edge map (Sobel, then ReLU, as in a
# convolutional layer): shift the CT one pixel to the right and compare, without and with pooling, how
# much the map changes (the size of the difference divided by the size of the map):


# %%
def edge_map(x):
    return torch.relu(nn.functional.conv2d(x, kernel, padding=1))  # (1, 1, 128, 128)


shifted = torch.roll(ct, shifts=1, dims=-1)  # the CT moved one pixel to the right
change = {}
for name, pool in [
    ("no pooling", nn.Identity()),
    ("max pooling 2 x 2", nn.MaxPool2d(2)),
    ("average pooling 2 x 2", nn.AvgPool2d(2)),
]:
    before, after = pool(edge_map(ct)), pool(edge_map(shifted))
    change[name] = float((after - before).norm() / before.norm())
    print(f"{name:<22} relative change after a 1-pixel shift: {change[name]:.2f}")

# %%
rec.claim(
    "max pooling makes the edge map less sensitive to a 1-pixel shift of the CT",
    change["max pooling 2 x 2"] < 0.85 * change["no pooling"],
    unpooled=round(change["no pooling"], 2),
    max_pooled=round(change["max pooling 2 x 2"], 2),
)

# %%
rl.plot.grid(
    [edge_map(ct)[0, 0], nn.MaxPool2d(2)(edge_map(ct))[0, 0], nn.AvgPool2d(2)(edge_map(ct))[0, 0]],
    titles=["edge map 128 x 128", "max pooled 64 x 64", "average pooled 64 x 64"],
    panel_inches=2.2,
    suptitle="pooling the CT's edge map",
)

# %% [markdown]
# After pooling, a 1-pixel shift changes the map noticeably less. Stacking several pooling layers, as a
# CNN does, makes the deeper maps tolerant to larger shifts; the price is that exact positions are
# lost, which matters for segmentation (lesson 08).
#
# ## 6. Dropout (Fig. 8)
#
# **Dropout** fights overfitting: during training each unit is switched off (set to 0) at random with
# probability p, a new random choice for every image and every step, so the network cannot rely on any
# single unit. At test time all units are used. The review describes dropping units; one more detail
# matters in practice. If half the units are dropped in training but all are present in testing, the
# next layer would receive about twice as much signal at test time. PyTorch therefore uses **inverted
# dropout**: in training the surviving units are multiplied by 1/(1 - p), so that testing can use all
# units **unchanged**.
#
# On an image it looks like this (each pixel a unit, p = 0.5): half the pixels black, the others twice
# as bright.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(SEED)
dropout = nn.Dropout(p=0.5)  # a new layer is in training mode
rl.plot.grid(
    [image, dropout(torch.from_numpy(image)).numpy() / 2],
    titles=["CT (brain window)", "after dropout p = 0.5 (shown / 2)"],
    panel_inches=2.2,
)

# %% [markdown]
# Over many units, the fraction dropped is close to p, and the survivors are scaled by exactly
# 1/(1 - p). By hand the rule is two lines: draw a random number per unit, keep it if the number is at
# least p. The framework's layer does the same:

# %%
p = 0.5
units = torch.ones(100_000)
generator = torch.Generator().manual_seed(SEED)
keep = (
    torch.rand(units.shape, generator=generator) >= p
)  # by hand: keep a unit with probability 1 - p
by_hand = units * keep / (1 - p)

torch.manual_seed(SEED)
framework = nn.Dropout(p=p)(units)  # training mode
dropped = framework == 0
print(
    f"fraction dropped: by hand {float((by_hand == 0).float().mean()):.2f}, framework {float(dropped.float().mean()):.2f}"
)
print(
    "survivors become:",
    sorted(set(by_hand[keep].tolist())),
    "by hand,",
    sorted(set(framework[~dropped].tolist())),
    "framework",
)

# %%
eval_layer = nn.Dropout(p=p).eval()  # testing: evaluation mode
fraction = float(dropped.float().mean())
rec.claim(
    "nn.Dropout(0.5) drops a fraction p of the units (within 0.01), scales the rest by 1/(1 - p), "
    "and changes nothing in evaluation mode",
    abs(fraction - p) < 0.01
    and torch.equal(framework[~dropped], units[~dropped] / (1 - p))
    and torch.equal(eval_layer(units), units),
    fraction_dropped=round(fraction, 2),
)

# %% [markdown]
# Because the scaling already happened in training, the evaluation-mode layer passes its input through
# untouched. **Remember `model.eval()` before testing**: a model left in training mode keeps dropping
# units, and the same image gets a different answer each time.
#
# ## 7. Batch normalization: training vs testing
#
# **Batch normalization** (BN) rescales each channel over the current minibatch to mean 0 and variance 1,
# then applies a learned scale $\gamma$ and shift $\beta$ per channel:
#
# $$\hat{x} = \frac{x - \mu_{\text{batch}}}{\sqrt{\sigma^2_{\text{batch}} + \epsilon}}, \qquad y = \gamma\,\hat{x} + \beta.$$
#
# It lets networks train faster and more stably (lesson 05 measures it). We use a batch of 8 phantom
# slices, 3 phases as channels, 32 x 32 pixels: by hand, then with `nn.BatchNorm2d` in training mode.

# %%
batch, _ = rl.phantoms.tensors(rl.phantoms.liver_lesions(16, size=32, seed=SEED))  # (16, 3, 32, 32)
x = batch[:8]
gamma, beta, eps = torch.tensor([1.5, 0.5, 2.0]), torch.tensor([0.1, -0.2, 0.0]), 1e-5

mean = x.mean(dim=(0, 2, 3))  # one mean per channel, over images and pixels
var = x.var(dim=(0, 2, 3), unbiased=False)
by_hand = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)
by_hand = gamma[None, :, None, None] * by_hand + beta[None, :, None, None]

bn = nn.BatchNorm2d(3, eps=eps)
with torch.no_grad():
    bn.weight[:] = gamma
    bn.bias[:] = beta
framework = bn.train()(x).detach()
print("batch mean per phase:", np.round(mean.numpy(), 4), " variance:", np.round(var.numpy(), 4))
print(
    "output mean per phase, by hand:  ", np.round(by_hand.mean(dim=(0, 2, 3)).numpy(), 4) + 0.0
)  # + 0.0: no "-0."
print(
    "output mean per phase, framework:",
    np.round(framework.mean(dim=(0, 2, 3)).numpy(), 4) + 0.0,
    "(= beta)",
)

# %%
rec.claim(
    "batch normalization in training mode: by hand and nn.BatchNorm2d agree to 1e-5",
    float((by_hand - framework).abs().max()) < 1e-5,
)

# %% [markdown]
# At test time there may be a single image, and its result must not depend on which other images happen
# to be processed with it. So during training the layer also keeps **running averages** of the batch
# means and variances (each step moves them 10 % of the way towards the current batch's values, using
# the unbiased variance), and in **evaluation mode** it normalises with those instead:

# %%
running_mean = 0.9 * torch.zeros(3) + 0.1 * mean  # the layer started at mean 0, variance 1
running_var = 0.9 * torch.ones(3) + 0.1 * x.var(dim=(0, 2, 3), unbiased=True)
print(
    "running mean by hand:",
    np.round(running_mean.numpy(), 4),
    " framework:",
    np.round(bn.running_mean.numpy(), 4),
)
print(
    "running var by hand: ",
    np.round(running_var.numpy(), 4),
    " framework:",
    np.round(bn.running_var.numpy(), 4),
)

by_hand_eval = (x - running_mean[None, :, None, None]) / torch.sqrt(
    running_var[None, :, None, None] + eps
)
by_hand_eval = gamma[None, :, None, None] * by_hand_eval + beta[None, :, None, None]
framework_eval = bn.eval()(x).detach()
rec.claim(
    "in evaluation mode BN uses the running statistics: by hand and nn.BatchNorm2d agree to 1e-5",
    float((by_hand_eval - framework_eval).abs().max()) < 1e-5
    and float((running_var - bn.running_var).abs().max()) < 1e-5,
)

# %% [markdown]
# The consequence: in training mode **the same image gives a different output depending on the rest of
# the batch**; in evaluation mode it does not. Image 0 in two different batches:

# %%
batch_a = batch[0:8]  # image 0 with images 1-7
batch_b = torch.cat([batch[0:1], batch[9:16]])  # image 0 with images 9-15
with torch.no_grad():
    train_diff = float((bn.train()(batch_a)[0] - bn.train()(batch_b)[0]).abs().max())
    eval_diff = float((bn.eval()(batch_a)[0] - bn.eval()(batch_b)[0]).abs().max())
print(
    f"image 0, batch A vs batch B: largest difference {train_diff:.3f} in training mode, {eval_diff:.3f} in evaluation mode"
)
rec.claim(
    "in training mode the output for one image depends on the rest of the batch; in evaluation mode it does not",
    train_diff > 0.01 and eval_diff == 0.0,
    train_mode=round(train_diff, 3),
    eval_mode=eval_diff,
)

# %% [markdown]
# This is the second reason to call `model.eval()` before testing: otherwise a patient's result would
# depend on the other patients in the same batch.
#
# ## Summary
# - A fully connected unit computes a weighted sum plus a bias and passes it through ReLU, max(x, 0); a
#   layer is many units, a matrix product. By hand and with `nn.Linear`, the same numbers.
# - Softmax turns logits into probabilities: the review's fibrosis example gives F4 a probability of
#   0.76 (with F2 and F3, which the review does not print, chosen by us). For ordered stages a single
#   score through the identity, cut at thresholds, is an alternative.
# - Convolution slides an F x F filter with stride S over a zero-padded image: output (N + 2P - F)/S + 1
#   pixels, F·F·M·N + N parameters, independent of the image size. Loops by hand and `conv2d` agree on
#   a real CT; a single convolution, taught with a Sobel edge map of the CT, recovered the Sobel
#   filter from those examples.
# - Pooling halves height and width, keeps the channels, learns nothing, and makes maps less sensitive
#   to small shifts.
# - Dropout drops units with probability p in training (PyTorch scales the survivors by 1/(1 - p)) and
#   does nothing at test time.
# - Batch normalization uses the batch's statistics in training and running averages in testing:
#   `model.eval()` before testing, always.
#
# ## Questions
# 1. A unit has weights (0.5, -1.0), bias 0.2 and inputs (1.0, 0.4). What does it output after ReLU?
#    And with inputs (0.2, 0.8)?
# 2. The fibrosis logits all increase by 10. How do the softmax probabilities change?
# 3. A 512 x 512 CT slice goes through a 3 x 3 convolution with stride 2 and padding 1, 32 filters, one
#    input channel. What size is each output map, and how many parameters does the layer have?
# 4. Why does a convolutional layer have the same number of parameters for a 64 x 64 and a 512 x 512
#    image, while a fully connected layer does not?
# 5. A colleague tests a network one image at a time and gets results that change from run to run.
#    Which two layers would you suspect, and what is the fix?
