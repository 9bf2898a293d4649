# %% [markdown]
# # 03 · The building blocks of a CNN, by hand and with the framework
#
# **What you will learn**
# - the fully connected unit and ReLU, softmax, and the identity for a score (review Fig. 6);
# - convolution of a real CT: stride, padding, channels, output size, weights (Fig. 7);
# - pooling, dropout (Fig. 8) and batch normalization, and how they differ in training and testing;
# - the whole lesson CNN (Fig. 5), the first filters it learns from chest films, and what goes wrong
#   when it is tested in training mode.
#
# Every block is computed twice, **by hand** in a few lines of plain arithmetic and with the
# **framework's layer** (`torch.nn`) that real networks use, and the numbers agree.
#
# **Why a radiologist cares.** Methods sections read like "five 3 x 3 convolutional layers, max
# pooling, dropout 0.5, batch normalization, softmax output". Knowing what each piece computes lets
# you judge them, and see why a network needs many cases (every weight must be learned). The lesson
# follows the review's section on CNN architecture (Yasaka et al., Jpn J Radiol 2018; Fig. 5-8).
#
# **Exercises.** Five short exercises check themselves. Write your answer where the cell has `...`
# and run the cell: it prints "Correct", or what is wrong with a hint aimed at that mistake.
# `ex.NAME.hint()` gives a general hint and `ex.NAME.solution()` the worked answer.

# %%
import copy

import numpy as np
import torch
from pydicom.data import get_testdata_file
from torch import nn

import radlab as rl
from radlab.exercises import lesson03 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("03_building_blocks")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. The fully connected unit (Fig. 6a)
#
# A unit (a "neuron") multiplies each input $x_1 \dots x_n$ by a **weight**, adds up the products
# and a **bias** $b$ (a number added at the end, whatever the inputs), and passes the sum through an
# **activation function**. The usual one is ReLU (rectified linear unit): positive values pass,
# negative ones become 0:
#
# $$y = \max\Big(\sum_i w_i x_i + b,\; 0\Big).$$
#
# Our inputs: a liver lesion's mean attenuation in the three phases of a dynamic CT, divided by 100
# (115 HU becomes 1.15). We chose the weights to reward arterial enhancement and penalise washout;
# in a real network they are *learned*. By hand, then with `nn.Linear` (weighted sum plus bias) and
# `nn.ReLU`, for both lesions at once (a batch of two):

# %%
hcc = np.array([0.42, 1.15, 0.78])  # unenhanced, arterial, delayed (HU / 100): washes out
cyst = np.array([0.08, 0.09, 0.08])  # water density in every phase
w = np.array([-0.5, 1.2, -0.9])  # one weight per input
b = -0.2


def unit(x):
    total = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b  # weighted sum plus bias
    return max(total, 0.0)  # ReLU


layer = nn.Linear(3, 1)  # 3 inputs, 1 unit
with torch.no_grad():
    # nn.Linear keeps its weights as a (units, inputs) table: here 1 row of 3 weights
    layer.weight[:] = torch.tensor(w, dtype=torch.float32).reshape(1, 3)
    layer.bias[:] = b
lesions = torch.tensor(np.stack([hcc, cyst]), dtype=torch.float32)  # (2 lesions, 3 phases)
framework = nn.ReLU()(layer(lesions))[:, 0].detach().numpy()  # (2,): one output per lesion
for name, x, out in zip(["HCC", "cyst"], [hcc, cyst], framework):
    print(f"{name:<4} weighted sum {w @ x + b:+.4f} -> by hand {unit(x):.4f}, framework {out:.4f}")

# %% [markdown]
# A **fully connected layer** is many such units side by side, each with its own weights: the
# weights form a matrix $W$ (one row per unit), and the layer is $y = \max(Wx + b, 0)$. Four units,
# by hand as a matrix product, and with `nn.Linear(3, 4)`:

# %%
W = np.array([[-0.5, 1.2, -0.9], [1.0, 0.0, 0.0], [0.3, -0.2, 0.8], [-1.0, -1.0, -1.0]])  # (4, 3)
b4 = np.array([-0.2, 0.1, 0.0, 0.5])  # one bias per unit
by_hand = np.maximum(W @ hcc + b4, 0)  # (4,): ReLU of each unit's weighted sum
layer4 = nn.Linear(3, 4)
with torch.no_grad():
    layer4.weight[:] = torch.tensor(W, dtype=torch.float32)  # one row of 3 weights per unit
    layer4.bias[:] = torch.tensor(b4, dtype=torch.float32)
framework = torch.relu(layer4(torch.tensor(hcc, dtype=torch.float32))).detach().numpy()
print("by hand:", np.round(by_hand, 4), " framework:", np.round(framework, 4))
print("numbers to learn:", rl.models.count_parameters(layer4), "= 3 x 4 weights + 4 biases")
gap = float(np.abs(by_hand - framework).max())
rec.claim("4 units: by hand = nn.Linear + ReLU (to 1e-5)", gap < 1e-5)

# %% [markdown]
# The last unit outputs 0: its weighted sum is negative, and ReLU cuts it. The 16 weights and biases
# are the layer's **parameters**, the numbers training must learn.
#
# ## 2. The output layer: softmax for classes (Fig. 6b)
#
# For a classification the last layer has one unit per class. Its raw outputs, the **logits**, can
# be any numbers. **Softmax** turns them into probabilities that are positive and add up to 1:
#
# $$p_k = \frac{e^{z_k}}{\sum_j e^{z_j}}.$$
#
# The review's example stages liver fibrosis on MR (Yasaka et al., Radiology 2018) in five classes,
# F0 to F4: logits F0 = 1.41, F1 = 0.59, F4 = 3.51, and a probability of 0.76 for F4. **The review
# does not print F2 and F3.** They are not free: F4 gets 0.76 only if $e^{F2} + e^{F3}$ is about
# $e^{3.51}/0.76 - e^{3.51} - e^{1.41} - e^{0.59}$ (first line below). We **chose F2 = 0.70 and
# F3 = 0.95** ($e^{0.70} + e^{0.95} \approx 4.60$); these two are ours, not the review's. Another
# pair with that sum would fit as well; F2 = 1.20 and F3 = 1.90 would give F4 only 0.68. Softmax by
# hand, then with `torch.softmax`:

# %%
needed = np.exp(3.51) / 0.76 - np.exp(3.51) - np.exp(1.41) - np.exp(0.59)
print(f"e^F2 + e^F3 needed for 0.76: {needed:.2f}")
stages = ["F0", "F1", "F2", "F3", "F4"]
logits = np.array([1.41, 0.59, 0.70, 0.95, 3.51])  # F2 and F3 chosen by this lesson
by_hand = np.exp(logits) / np.exp(logits).sum()
framework = torch.softmax(torch.tensor(logits, dtype=torch.float32), dim=0).numpy()
for stage, z, p_hand, p_torch in zip(stages, logits, by_hand, framework):
    print(f"{stage}: logit {z:5.2f}   softmax by hand {p_hand:.4f}   torch.softmax {p_torch:.4f}")
print(f"sum of probabilities: {by_hand.sum():.4f}")
gap = float(np.abs(by_hand - framework).max())
p_f4 = round(float(framework[4]), 3)  # F2 and F3 were chosen to give 0.76: a comparison, not a test
rec.claim("softmax: by hand = torch.softmax (to 1e-5)", gap < 1e-5, p_F4=p_f4)

# %% [markdown]
# F4 gets 0.761 here, 0.76 in the review. The exponential turns a logit 2 points higher into a
# probability about 7 times larger, so the largest logit wins clearly. Softmax output is often read
# as confidence, but a network can be confidently wrong (lesson 06).
#
# ### Exercise 1 · Softmax of a chest film's logits
# A network reads a chest film as one of three classes, normal, bacterial pneumonia or viral
# pneumonia, and gives the logits 2.0, 1.0 and 0.1. Write `my_softmax(logits)`: it receives the
# logits as a NumPy array and returns the probabilities, one per class, as an array of the same
# length. The check tries it on these logits and on others, the fibrosis logits among them.


# %%
def my_softmax(logits):
    """The softmax probabilities of the logits (a NumPy array in, an array of the same length out)."""
    ### BEGIN SOLUTION
    exponentials = np.exp(logits)  # every one positive
    return exponentials / exponentials.sum()  # they now add up to 1
    ### END SOLUTION


ex.softmax.check(my_softmax)
# ex.softmax.hint()
# ex.softmax.solution()

# %% [markdown]
# ## 3. The output layer for a score: identity and thresholds (Fig. 6c)
#
# Fibrosis stages are **ordered**: F3 lies between F2 and F4. Instead of five classes, a network can
# output **one number**, a fibrosis score, through the **identity** function (the weighted sum
# passes unchanged). Thresholds (here 0.5, 1.5, 2.5 and 3.5) give the stage: the number of
# thresholds below the score. `nn.Identity` does exactly nothing, by design; `torch.bucketize`
# counts the thresholds as we do by hand:

# %%
thresholds = np.array([0.5, 1.5, 2.5, 3.5])
for score in [0.2, 1.4, 2.7, 3.9]:
    stage = int((score > thresholds).sum())  # how many thresholds lie below the score
    print(f"score {score:.1f} -> F{stage}")
score = torch.tensor([2.7])
nn.Identity()(score), torch.bucketize(score, torch.tensor(thresholds, dtype=torch.float32))

# %% [markdown]
# A score of 2.7 is F3 both ways. A score keeps the order of the stages: an F4 called F3 is a
# smaller error than an F4 called F0, which five unrelated classes cannot express.
#
# ## 4. Convolution (Fig. 7)
#
# A **convolutional layer** slides a small grid of weights, the **filter** (or kernel), of F x F
# pixels over the image. At each position it multiplies the filter with the pixels under it and adds
# up the products (plus a bias): one output pixel. The output image of one filter is a **feature
# map**. Two settings:
#
# - **stride S**: how many pixels the filter moves between positions (S = 2 halves the output);
# - **zero padding P**: P rings of zeros around the image, so that the filter also fits at the edges.
#
# An N x N input gives an output $(N + 2P - F)/S + 1$ pixels wide (rounded down). Our image: the
# head CT `693_UNCR.dcm` of lesson 01, brain window, reduced to 128 x 128 pixels so that the loops
# by hand run quickly. Our filter: a **Sobel** edge filter, which responds where brightness changes
# from left to right (the skull, the ventricles).

# %%
dicom_file = rl.dicom.read(get_testdata_file("693_UNCR.dcm"))
hu = torch.from_numpy(rl.dicom.to_array(dicom_file))  # (512, 512) in HU
small_hu = nn.functional.interpolate(hu[None, None], size=(128, 128), mode="area")
ct = rl.window(small_hu, preset="brain")  # (1, 1, 128, 128): a batch of one image, one channel
image = ct[0, 0].numpy()  # (128, 128) in [0, 1]
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
            top, left = i * stride, j * stride  # where the filter sits now
            patch = padded[top : top + f, left : left + f]  # the pixels under the filter
            out[i, j] = np.sum(patch * kernel)
    return out


# %% [markdown]
# Now the framework's `torch.nn.functional.conv2d`, for four settings. Like our loops it does *not*
# flip the filter; strictly speaking that is a cross-correlation (the filter applied as written),
# and every deep-learning framework calls it convolution all the same. The figure shows the padded
# input, the filter's nine numbers and the output for stride 2 and padding 1: 64 x 64, a quarter of
# the pixels, the same anatomy. Uniform brain tissue gives 0 (mid-grey); white and black are strong
# edges of opposite direction.

# %%
kernel = torch.from_numpy(sobel).reshape(1, 1, 3, 3)  # (out channels, in channels, F, F)
agree = []
for stride, padding in [(1, 0), (1, 1), (2, 1), (3, 2)]:
    mine = conv_by_hand(image, sobel, stride, padding)
    theirs = nn.functional.conv2d(ct, kernel, stride=stride, padding=padding)[0, 0].numpy()
    formula = (128 + 2 * padding - 3) // stride + 1
    agree.append(bool(np.abs(mine - theirs).max() < 1e-5))
    print(f"S={stride} P={padding}: by hand {mine.shape}, conv2d {theirs.shape}, formula {formula}")
    print(f"   pixel (40, 40): {mine[40, 40]:+.4f} vs {theirs[40, 40]:+.4f}; agree: {agree[-1]}")
rec.claim("convolution of the CT: loops by hand = conv2d, every stride and padding", all(agree))
rl.plot.conv_figure(image, "edge vertical (Sobel)", stride=2, padding=1)

# %% [markdown]
# People designed the Sobel filter, and others like it. The CT through four of them: two Sobel
# filters (edges running across and down), the Laplacian (small spots and thin lines brighter or
# darker than their surroundings) and a blur:

# %%
hand_made = ["edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian", "blur"]
responses = []  # each filter's response, scaled to [0, 1] for display
for name in hand_made:
    responses.append(rl.plot.conv_display(rl.models.convolve(image, name, padding=1), name))
titles = ["CT, brain window"] + hand_made
rl.plot.grid([image] + responses, titles=titles, panel_inches=2.0, suptitle="hand-made filters")

# %% [markdown]
# Try the filters yourself: choose a kernel, the stride and the padding; the read-out gives the
# output size by the formula. (Without a running kernel the playground cannot react; the figures
# above show the same.)

# %% tags=["nbval-ignore-output"]
rl.widgets.conv_playground(image)

# %% [markdown]
# ### Output size and number of weights
#
# A layer with **M input channels** and **N filters** has filters of size F x F x M (each filter
# looks at all input channels at once) and one bias per filter:
#
# $$\text{parameters} = F \cdot F \cdot M \cdot N + N.$$
#
# Both formulas against `nn.Conv2d`; the last setting is AlexNet's first layer (227 x 227 colour
# input, 96 filters of 11 x 11, stride 4; lesson 07):

# %%
settings = [  # (input size, F, S, P, M in, N out)
    (128, 3, 1, 1, 1, 8),
    (128, 3, 2, 1, 3, 16),
    (128, 5, 1, 2, 3, 4),
    (64, 3, 2, 0, 16, 32),
    (227, 11, 4, 0, 3, 96),
]
checks = []
print(" in   F  S  P   M   N | size: formula layer | params: formula  layer")
for size, f, s, p, m, n in settings:
    conv = nn.Conv2d(m, n, kernel_size=f, stride=s, padding=p)
    out_size = conv(torch.zeros(1, m, size, size)).shape[-1]  # a blank image through the layer
    params = rl.models.count_parameters(conv)
    size_formula = rl.models.conv_output_size(size, f, s, p)
    params_formula = f * f * m * n + n
    checks.append(out_size == size_formula and params == params_formula)
    print(f"{size:>3} {f:>3} {s:>2} {p:>2} {m:>3} {n:>3} |", end="")
    print(f" {size_formula:>13} {out_size:>5} | {params_formula:>15} {params:>6}")
rec.claim("output size and parameter formulas = nn.Conv2d, every setting", all(checks))

# %% [markdown]
# The image size does *not* appear in the parameter count: the same filter is used at every
# position (**weight sharing**), so a CNN needs far fewer weights than a fully connected network on
# the same image.
#
# ### Exercise 2 · The output size of a convolution
# Write `my_output_size(size, kernel, stride, padding)`: the width in pixels of the feature map that
# a `kernel` x `kernel` filter gives on a `size` x `size` image with that stride and zero padding.
# The check tries CT slices, chest films and AlexNet's first layer, one where the division is not
# even.


# %%
def my_output_size(size, kernel, stride, padding):
    """Pixels per side of the output of a convolution."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


ex.output_size.check(my_output_size)
# ex.output_size.hint()
# ex.output_size.solution()

# %% [markdown]
# ### Several channels in, several channels out (Fig. 7b)
#
# Three CT phases (unenhanced, arterial, delayed) enter as 3 channels (lesson 01); the layer makes 4
# output maps. Each output map is the sum, over the three phases, of one 3 x 3 filter per phase,
# plus the map's bias. By hand with our loops, then with `nn.Conv2d(3, 4, 3, padding=1)`:

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
print("pixel (32, 20) of each map, by hand:  ", np.round(maps_by_hand[:, 32, 20], 4))
print("pixel (32, 20) of each map, framework:", np.round(phase_maps[:, 32, 20], 4))
print(phases.shape, "->", phase_maps.shape, " parameters:", rl.models.count_parameters(conv))
gap = float(np.abs(maps_by_hand - phase_maps).max())
rec.claim("3 phases in, 4 maps out: by hand = nn.Conv2d (to 1e-5)", gap < 1e-5)

# %% [markdown]
# ### Exercise 3 · The parameters of a convolutional layer
# The first layer of a network for 3-phase liver CT takes the 3 phases as channels and has 32
# filters of 5 x 5 pixels, each with a bias. How many parameters does this layer learn? Write the
# arithmetic, not only the result.

# %%
my_parameters = ...  # the number of weights and biases of the layer
### BEGIN SOLUTION
my_parameters = 5 * 5 * 3 * 32 + 32
### END SOLUTION
ex.parameters.check(my_parameters)
# ex.parameters.hint()
# ex.parameters.solution()

# %% [markdown]
# ## 5. Pooling
#
# A **pooling** layer shrinks each map: it cuts it into H x H squares (here 2 x 2, stride 2) and
# keeps one number per square, the **maximum** (max pooling) or the **average** (average pooling).
# Each channel is pooled separately, so the number of channels stays the same. Pooling has **no
# weights**: nothing is learned. By hand on a small 4 x 4 example, then with `nn.MaxPool2d` and
# `nn.AvgPool2d` on the 4 maps of the 3-phase convolution above:


# %%
def pool_by_hand(image, how):
    """2 x 2 pooling with stride 2 of one (H, W) map: the max or the mean of each 2 x 2 square."""
    rows, cols = image.shape[0] // 2, image.shape[1] // 2
    out = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            square = image[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]  # the 2 x 2 pixels of this square
            out[i, j] = square.max() if how == "max" else square.mean()
    return out


small = np.array([[1, 3, 2, 0], [4, 2, 1, 1], [0, 0, 5, 6], [1, 2, 7, 8]], dtype=np.float32)
print("4 x 4 example:\n", small)
print("max pooling by hand:\n", pool_by_hand(small, "max"))
print("average pooling by hand:\n", pool_by_hand(small, "mean"))
maps = torch.from_numpy(phase_maps)[None]  # (1, 4, 64, 64): a batch of one, 4 channels
pooled_max = nn.MaxPool2d(2)(maps)[0].numpy()  # (4, 32, 32)
pooled_avg = nn.AvgPool2d(2)(maps)[0].numpy()
gaps = []
for channel in range(4):  # each channel is pooled on its own
    gaps.append(np.abs(pool_by_hand(phase_maps[channel], "max") - pooled_max[channel]).max())
    gaps.append(np.abs(pool_by_hand(phase_maps[channel], "mean") - pooled_avg[channel]).max())
parameters = rl.models.count_parameters(nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2)))
print("4 maps:", tuple(maps.shape), "->", pooled_max.shape, " parameters:", parameters)
rec.claim("pooling: by hand = nn.MaxPool2d / nn.AvgPool2d", max(gaps) < 1e-5)
halved = pooled_max.shape == (4, 32, 32)  # 4 channels of 64 x 64 became 4 of 32 x 32
rec.claim("pooling: half the size, same channels, 0 parameters", halved and parameters == 0)

# %% [markdown]
# ### Exercise 4 · Max pooling of a CT patch
# A 4 x 4 corner of a CT map, in HU: soft tissue, one bright calcification (200 HU) and a vessel
# with contrast (300 and 260 HU). It is also `ex.PATCH`:
#
# ```
#  40   45  120  118
#  38  200   60   55
#  35   42   50  300
#  30   33  260   48
# ```
#
# Write down, as a 2 x 2 list of lists `[[top left, top right], [bottom left, bottom right]]`, what
# 2 x 2 max pooling with stride 2 gives. Work it out by eye first; `pool_by_hand(ex.PATCH, "max")`
# can confirm it afterwards.

# %%
my_pooled = ...  # [[top left, top right], [bottom left, bottom right]]
### BEGIN SOLUTION
my_pooled = [[200, 120], [42, 300]]
### END SOLUTION
ex.max_pool.check(my_pooled)
# ex.max_pool.hint()
# ex.max_pool.solution()

# %% [markdown]
# ### Tolerance to small shifts
#
# A patient lying one pixel further to the right should not change the diagnosis. Pooling helps: a
# strong response that moves by one pixel often stays inside the same 2 x 2 square. We shift the CT
# one pixel and measure how much its edge map (Sobel, then ReLU, as in a convolutional layer)
# changes, without and with pooling (the size of the difference divided by the size of the map):


# %%
def edge_map(x):
    return torch.relu(nn.functional.conv2d(x, kernel, padding=1))  # (1, 1, 128, 128)


shifted = torch.roll(ct, shifts=1, dims=-1)  # the CT moved one pixel to the right
poolings = {"none": nn.Identity(), "max 2 x 2": nn.MaxPool2d(2), "average 2 x 2": nn.AvgPool2d(2)}
change, panels = {}, []
for name, pool in poolings.items():
    before, after = pool(edge_map(ct)), pool(edge_map(shifted))
    change[name] = float((after - before).norm() / before.norm())
    print(f"pooling {name:<14} relative change after a 1-pixel shift: {change[name]:.2f}")
    panels.append(before[0, 0])  # the edge map before the shift, pooled or not
unpooled, max_pooled = round(change["none"], 2), round(change["max 2 x 2"], 2)
steadier = max_pooled < 0.85 * unpooled
rec.claim("max pooling: less change after a shift", steadier, unpooled=unpooled, pooled=max_pooled)
titles = ["edge map 128 x 128", "max pooled 64 x 64", "average pooled 64 x 64"]
rl.plot.grid(panels, titles=titles, panel_inches=2.2, suptitle="pooling the CT's edge map")

# %% [markdown]
# Stacking pooling layers, as a CNN does, makes deeper maps tolerant to larger shifts; the price is
# that exact positions are lost, which matters for segmentation (lesson 08).
#
# ## 6. Dropout (Fig. 8)
#
# **Dropout** fights overfitting (learning the training cases by heart instead of what generalises,
# lesson 05): in training each unit is set to 0 at random with probability p, anew for every image
# and step, so the network cannot rely on any single unit. At test time all units are used. So
# PyTorch layers have two modes: **training mode** (`model.train()`, dropout active) and
# **evaluation mode** (`model.eval()`, for testing).
#
# With half the units dropped in training and all present in testing, the next layer would get
# about twice the signal at test time. PyTorch therefore uses **inverted dropout** (a detail the
# review leaves out): in training the survivors are multiplied by 1/(1 - p), so testing uses all
# units **unchanged**. On an image (each pixel a unit, p = 0.5): half the pixels black, the
# others twice as bright.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(SEED)
dropped_image = nn.Dropout(p=0.5)(torch.from_numpy(image)).numpy()  # a new layer: training mode
titles = ["CT (brain window)", "after dropout p = 0.5 (shown / 2)"]
rl.plot.grid([image, dropped_image / 2], titles=titles, panel_inches=2.2)

# %% [markdown]
# By hand the rule is two lines: draw a random number between 0 and 1 per unit, keep the unit if
# the number is at least p, and scale the survivors. On 100,000 units, by hand and with the layer:

# %%
p = 0.5
units = torch.ones(100_000)
generator = torch.Generator().manual_seed(SEED)
keep = torch.rand(units.shape, generator=generator) >= p  # by hand: kept with probability 1 - p
by_hand = units * keep / (1 - p)
torch.manual_seed(SEED)
framework = nn.Dropout(p=p)(units)  # training mode
dropped = framework == 0
fraction_by_hand = float((by_hand == 0).float().mean())
fraction = float(dropped.float().mean())
print(f"fraction dropped: by hand {fraction_by_hand:.2f}, framework {fraction:.2f}")
print("survivors become:", sorted(set(by_hand[keep].tolist())), "by hand,", end=" ")
print(sorted(set(framework[~dropped].tolist())), "framework")
scaled = torch.equal(framework[~dropped], units[~dropped] / (1 - p))
untouched = torch.equal(nn.Dropout(p=p).eval()(units), units)  # testing: evaluation mode
near_p = abs(fraction - p) < 0.01
rec.claim("nn.Dropout drops a fraction p (within 0.01)", near_p, dropped=round(fraction, 2))
rec.claim("nn.Dropout: survivors x 1/(1 - p), untouched in evaluation mode", scaled and untouched)

# %% [markdown]
# **Remember `model.eval()` before testing**: left in training mode, a model keeps dropping units,
# and the same image gets a different answer each time (section 10).
#
# ### Exercise 5 · Predict dropout with p = 0.2
# A network uses dropout with p = 0.2 before its last layer. In training, about what fraction of the
# units is set to 0, and what does a surviving unit whose value was 1.0 become? Predict both, then
# check with the commented line (remove the `#`), or by setting `p = 0.2` in the cell above.

# %%
my_fraction, my_survivor = ..., ...  # fraction dropped, value of a surviving 1.0
### BEGIN SOLUTION
my_fraction, my_survivor = 0.2, 1 / (1 - 0.2)
### END SOLUTION
ex.dropout.check(my_fraction, my_survivor)
# nn.Dropout(p=0.2)(torch.ones(10))
# ex.dropout.hint()
# ex.dropout.solution()

# %% [markdown]
# ## 7. Batch normalization: training vs testing
#
# **Batch normalization** (BN) rescales each channel over the current minibatch to mean 0 and
# variance 1, then applies a learned scale $\gamma$ and shift $\beta$ per channel:
#
# $$\hat{x} = \frac{x - \mu_{\text{batch}}}{\sqrt{\sigma^2_{\text{batch}} + \epsilon}}, \qquad y = \gamma\,\hat{x} + \beta.$$
#
# ($\epsilon$ is a tiny number that keeps the division safe.) It lets networks train faster and more
# stably (lesson 05 measures it). A batch of 8 phantom slices, 3 phases as channels, 32 x 32 pixels:
# by hand, then with `nn.BatchNorm2d` in training mode.


# %%
def per_channel(values):
    """(3,) -> (1, 3, 1, 1): one value per channel, repeated over every image and pixel."""
    return values.reshape(1, 3, 1, 1)


batch, _ = rl.phantoms.tensors(rl.phantoms.liver_lesions(16, size=32, seed=SEED))  # (16, 3, 32, 32)
x = batch[:8]  # (8 images, 3 channels, 32, 32)
gamma = torch.tensor([1.5, 0.5, 2.0])  # the learned scale, one per channel (chosen here)
beta = torch.tensor([0.1, -0.2, 0.0])  # the learned shift, one per channel (chosen here)
eps = 1e-5
mean = x.mean(dim=(0, 2, 3))  # (3,): one mean per channel, over all images and pixels
var = x.var(dim=(0, 2, 3), unbiased=False)  # (3,)
normalised = (x - per_channel(mean)) / torch.sqrt(per_channel(var) + eps)  # (8, 3, 32, 32)
by_hand = per_channel(gamma) * normalised + per_channel(beta)
bn = nn.BatchNorm2d(3, eps=eps)
with torch.no_grad():
    bn.weight[:] = gamma
    bn.bias[:] = beta
framework = bn.train()(x).detach()
print("batch mean per phase:", np.round(mean.numpy(), 4), " variance:", np.round(var.numpy(), 4))
out_mean = framework.mean(dim=(0, 2, 3)).numpy()
print("output mean per phase:", np.round(out_mean, 4) + 0.0, "(= beta)")  # + 0.0: no "-0."
gap = float((by_hand - framework).abs().max())
rec.claim("BN in training mode: by hand = nn.BatchNorm2d (to 1e-5)", gap < 1e-5)

# %% [markdown]
# At test time there may be a single image, and its result must not depend on the images processed
# with it. So in training the layer also keeps **running averages** of the batch means and
# variances (each step moves them 10 % of the way towards the batch's values, with the unbiased
# variance), and in **evaluation mode** normalises with those. By hand and with the framework; then
# image 0 in two different batches:

# %%
running_mean = 0.9 * torch.zeros(3) + 0.1 * mean  # the layer started at mean 0, variance 1
running_var = 0.9 * torch.ones(3) + 0.1 * x.var(dim=(0, 2, 3), unbiased=True)
print("running mean by hand:", np.round(running_mean.numpy(), 4), end="  ")
print("framework:", np.round(bn.running_mean.numpy(), 4))
print("running var by hand: ", np.round(running_var.numpy(), 4), end="  ")
print("framework:", np.round(bn.running_var.numpy(), 4))
normalised = (x - per_channel(running_mean)) / torch.sqrt(per_channel(running_var) + eps)
by_hand_eval = per_channel(gamma) * normalised + per_channel(beta)
gap = float((by_hand_eval - bn.eval()(x).detach()).abs().max())
gap_var = float((running_var - bn.running_var).abs().max())
rec.claim("BN in evaluation mode: by hand = nn.BatchNorm2d", max(gap, gap_var) < 1e-5)
batch_a = batch[0:8]  # image 0 with images 1-7
batch_b = torch.cat([batch[0:1], batch[9:16]])  # image 0 with images 9-15
with torch.no_grad():
    train_diff = float((bn.train()(batch_a)[0] - bn.train()(batch_b)[0]).abs().max())
    eval_diff = float((bn.eval()(batch_a)[0] - bn.eval()(batch_b)[0]).abs().max())
print(f"image 0 in batch A vs B, largest difference: {train_diff:.3f} in training mode,", end=" ")
print(f"{eval_diff:.3f} in evaluation mode")
depends = train_diff > 0.01 and eval_diff == 0.0
train_mode, eval_mode = round(train_diff, 3), eval_diff
rec.claim("BN: batch matters in training mode only", depends, train=train_mode, eval=eval_mode)

# %% [markdown]
# In training mode **the same image's output depends on the rest of the batch**; in evaluation mode
# it does not: the second reason for `model.eval()` before testing. It is not random, though: the
# same batch always gives the same output (section 10).
#
# ## 8. The whole network (Fig. 5)
#
# The review's Fig. 5 draws a CNN as a row of layers from image to answer. The course's **lesson
# CNN** (`rl.models.small_cnn`) is this lesson's blocks in a row: three blocks of 3 x 3
# convolution, batch normalization, ReLU and 2 x 2 max pooling; then **global average pooling**
# (the mean of each feature map: one number per channel), **flatten** (those numbers in one row),
# dropout, and a fully connected layer with two units, the logits of the two classes.
#
# Its task from here on: **PneumoniaMNIST**, 28 x 28 pixel chest radiographs labelled normal or
# pneumonia (MedMNIST). If the set is not downloaded, `rl.data.load` says how to fetch it and stands
# in with the course's synthetic liver CT; the first line printed names the task. The drawing shows
# one box per layer, as tall as its maps are high and wider with more channels, with its output
# shape (channels x height x width) and the parameters it learns.

# %%
data = rl.data.load("pneumoniamnist")
x_train, y_train = data.train
x_val, y_val = data.val
input_shape = tuple(x_train.shape[1:])  # one image: (channels, height, width)
print(data.task)
print(len(x_train), "training and", len(x_val), "validation films of", input_shape)
WIDTH = 16  # filters in the first block; the next two have 32 and 64
rl.config.seed_everything(SEED)  # the same random start on every run (trained in section 9)
model = rl.models.small_cnn(
    in_channels=data.n_channels, num_classes=data.n_classes, width=WIDTH, dropout=0.5
)
rows = rl.models.layer_table(model, input_shape)  # what the drawing shows, layer by layer
table_total = sum(row.parameters for row in rows)
total = rl.models.count_parameters(model)
rec.claim("the layer table adds up to count_parameters", table_total == total, total=total)
rl.plot.architecture(model, input_shape)

# %% [markdown]
# From left to right, each max pooling halves height and width (28, 14, 7, then 3: pooling rounds
# down) while the channels double (16, 32, 64): the network trades *where* for *what*. The deepest
# convolution holds most weights (3 x 3 x 32 x 64 = 18,432 of 23,538). Batch normalization learns a
# scale and a shift per channel; ReLU, pooling, flatten and dropout learn nothing. The convolutions
# have no bias: the batch normalization after them supplies the shift.
#
# ## 9. Filters learned from a diagnosis
#
# In a real CNN nobody designs the filters. They start random, and **training** (lesson 04) adjusts
# every weight a little at a time so that the output agrees better with the labels, here only
# "normal" or "pneumonia" per film. We train the lesson CNN briefly on a subset of the training
# films, keeping a copy of its random first-layer filters. The **validation films** (kept apart from
# training) are only watched: the last weights are kept, not the best epoch's, so nothing is chosen
# on them.

# %% tags=["nbval-ignore-output"]
N_TRAIN = rl.config.pick(smoke=128, cpu=1000, gpu=len(x_train))
EPOCHS = rl.config.pick(smoke=1, cpu=5, gpu=10)
xs, ys = rl.data.subset(x_train, y_train, N_TRAIN, seed=SEED)  # same class shares as the full set
start_filters = model.block1.conv.weight.detach().clone()  # (16 filters, channels, 3, 3)
history = rl.train.fit(
    model,
    train=(xs, ys),
    val=(x_val, y_val),
    epochs=EPOCHS,
    batch_size=32,
    lr=1e-2,  # larger steps than the usual 0.001, so that five epochs move the filters visibly
    restore_best=False,  # keep the last weights: the validation films choose nothing
    seed=SEED,
    progress=False,
)
trained_filters = model.block1.conv.weight.detach().cpu()  # (16, channels, 3, 3)
for epoch, auc in zip(history.epoch, history.val_metric):
    print(f"epoch {epoch}: validation AUC {auc:.3f}")
print(f"{N_TRAIN} training films, {EPOCHS} epochs, {history.total_seconds:.0f} s")

# %% [markdown]
# How much did each filter change? The size of the difference between its nine numbers after and
# before, divided by the size of the starting filter. Does it resemble a hand-made kernel? The
# correlation r of its nine numbers with the two Sobel filters and the Laplacian (1: same pattern,
# 0: unrelated, -1: the pattern with signs flipped, which finds the same edges), keeping the largest
# |r| (r without its sign). The random start gets the same test, since nine random numbers correlate somewhat with one of
# three kernels by chance.

# %% tags=["nbval-ignore-output"]
references = ["edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian"]


def closest_r(filt):
    """|r| between the filter's nine numbers and those of the most similar hand-made kernel."""
    best = 0.0
    for name in references:
        r = np.corrcoef(filt.ravel(), rl.models.KERNELS[name].ravel())[0, 1]
        best = max(best, abs(float(r)))
    return best


changes, r_start, r_trained = [], [], []
print("filter  change  sum of weights  |r| start  |r| trained")
for k in range(WIDTH):
    before = start_filters[k, 0].numpy()  # (3, 3): the first input channel of filter k
    after = trained_filters[k, 0].numpy()
    changes.append(float(np.linalg.norm(after - before) / np.linalg.norm(before)))
    r_start.append(closest_r(before))
    r_trained.append(closest_r(after))
    print(f"{k:>6} {changes[-1]:>7.0%} {after.sum():>+15.2f}", end="")
    print(f" {r_start[-1]:>10.2f} {r_trained[-1]:>12.2f}")
print(f"mean |r|: start {np.mean(r_start):.2f}, trained {np.mean(r_trained):.2f}")
most_similar = int(np.argmax(r_trained))  # the trained filter closest to a hand-made one
print(f"the most similar trained filter, {most_similar}:")
print(np.round(trained_filters[most_similar, 0].numpy(), 2))
val_auc = round(history.val_metric[-1], 3)
median_change = round(float(np.median(changes)), 2)
moved = median_change > 0.2
rec.claim("the lesson CNN learned the task (validation AUC > 0.85)", val_auc > 0.85, auc=val_auc)
rec.claim("training changed the filters (median change > 20 %)", moved, median=median_change)

# %% [markdown]
# The sixteen filters before and after training, all on one grey scale (white = most positive
# weight, black = most negative), then the hand-made ones for comparison:

# %%
panels = list(start_filters[:, 0]) + list(trained_filters[:, 0])  # 16 at the start, 16 trained
titles = [f"{k} start" for k in range(WIDTH)] + [f"{k} trained" for k in range(WIDTH)]
rl.plot.grid(panels, titles=titles, ncols=8, panel_inches=0.95, suptitle="first-layer filters")

# %%
kernels = [rl.models.KERNELS[name] for name in references]  # the three kernels' nine numbers
titles = ["Sobel (across)", "Sobel (down)", "Laplacian"]
rl.plot.grid(kernels, titles=titles, panel_inches=1.2, suptitle="hand-made, for comparison")

# %% [markdown]
# Training changed every filter, by 20 % to 61 % of its starting size in this run, yet the trained
# filters still look like nine random grey squares, not like tidy hand-made kernels. A few moved
# towards an edge detector (the one printed last, positive on one side and negative on the other,
# is a rough one); others moved away from the kernel they resembled by chance. As a group they are
# hardly closer to the hand-made kernels than the random start (mean |r|), which already reaches
# about 0.5: a correlation that size means little. Textbook edge- and blob-like first filters come
# from large networks trained long on millions of images; after five epochs on 1,000 small films,
# this network separates the classes well (validation AUC above) without them.
#
# What the first layer hands on: one validation film and the feature maps of its first eight
# trained filters, each stretched from its darkest to its brightest value:

# %%
film = x_val[:1].to(DEVICE)  # one validation film: a batch of one, (1, channels, 28, 28)
with torch.no_grad():
    feature_maps = model.block1.conv(film)[0].cpu()  # (16, 28, 28): one map per filter
panels, titles = [film[0, 0].cpu()], ["film"]
for k in range(8):
    panels.append(rl.plot.conv_display(feature_maps[k], trained_filters[k, 0]))  # to [0, 1]
    titles.append(f"map {k}")
rl.plot.grid(panels, titles=titles, ncols=9, panel_inches=1.1, suptitle="layer 1 feature maps")

# %% [markdown]
# The "sum of weights" column explains most maps. Filters whose weights add up to clearly above 0
# respond to brightness itself: maps 2, 5 and 7 (sums +0.76, +0.80, +1.09) are copies of the
# film. Filter 3 sums to -1.81: map 3 is an inverted copy, the bright mediastinum turned dark.
# Filters summing to nearly 0 (0, 1, 4 and 6) respond mainly where brightness changes: their maps
# show the film faintly, plus a strong line along the lower border, where the film meets the zero
# padding.
#
# ## 10. Testing one film at a time: training mode vs evaluation mode
#
# A colleague tests the trained network one film at a time and forgets `model.eval()`. We give it
# one validation film twice alone (a batch of one), then in two different batches of eight, and read
# its **score**: the logit of pneumonia minus the logit of normal. With two classes softmax
# depends only on this difference (question 2): 0 means 50 %, higher means more likely pneumonia;
# unlike a probability near 0 or 1, it shows small differences.
#
# Three settings, each on its own copy of the trained network: everything in training mode; only
# batch normalization in training mode (dropout alone in evaluation mode); everything in evaluation
# mode. Every training-mode pass also moves the running averages (section 7), without any learning.
# So, last, the first copy goes back to evaluation mode: does it still give the untouched network's
# score?


# %% tags=["nbval-ignore-output"]
def score(network, films):
    """Logit of class 1 minus logit of class 0, for the FIRST film of the batch."""
    with torch.no_grad():
        logits = network(films)[0]  # (2,): the two logits of the first film
    return (logits[1] - logits[0]).item()


with_a = torch.cat([film, x_val[1:8].to(DEVICE)])  # the film, then 7 others: (8, channels, 28, 28)
with_b = torch.cat([film, x_val[8:15].to(DEVICE)])  # the film, then 7 different others
print(f"film 0, labelled '{data.label_names[int(y_val[0])]}': score (logit 1 - logit 0)")
print(f"{'setting':<30} {'alone':>7} {'again':>7} {'batch A':>8} {'batch B':>8}")
results, copies = {}, {}
for setting in ["training mode", "only BN in training mode", "evaluation mode"]:
    tested = copy.deepcopy(model)  # a fresh copy of the trained network
    tested.train()  # dropout active, BN with each batch's own statistics
    if setting == "only BN in training mode":
        tested.dropout.eval()  # only the dropout layer in evaluation mode
    if setting == "evaluation mode":
        tested.eval()  # every layer: how a network must be tested
    alone, again = score(tested, film), score(tested, film)  # the film alone, twice
    in_a, in_b = score(tested, with_a), score(tested, with_b)  # the film among batch A, B
    results[setting] = [alone, again, in_a, in_b]
    copies[setting] = tested
    print(f"{setting:<30} {alone:>7.3f} {again:>7.3f} {in_a:>8.3f} {in_b:>8.3f}")
alone, again, in_a, in_b = results["training mode"]
rec.claim("training mode: the same film alone gets two scores (dropout)", abs(alone - again) > 0.01)
alone, again, in_a, in_b = results["only BN in training mode"]
rec.claim("only BN in training mode: the same film alone gets one score", abs(alone - again) < 1e-5)
batch_matters = abs(in_a - in_b) > 0.01
rec.claim("only BN in training mode: the film's score depends on its batch", batch_matters)
spread = max(results["evaluation mode"]) - min(results["evaluation mode"])
rec.claim("evaluation mode: one score for the film, alone or in any batch", spread < 1e-4)
untouched = score(model.eval(), film)
after_passes = score(copies["training mode"].eval(), film)
print(f"evaluation mode: untouched network {untouched:.3f}, after 4 passes {after_passes:.3f}")
drift = round(abs(after_passes - untouched), 3)
rec.claim("passes in training mode change the network's later answers", drift > 0.01, drift=drift)

# %% [markdown]
# **Training mode** (first row): the film alone gets two different scores, because dropout switched
# off a new random set of about half of the 64 units before the last layer each time.
#
# **Only BN in training mode** (second row): the same score twice, since a batch of one has the same
# statistics on every run. Still wrong: the lone film is normalised with its own statistics, not
# the running averages, and in a batch with its companions', so batches A and B disagree.
#
# **Evaluation mode** (third row): one score, alone or in any batch, here slightly below 0: for this
# film, labelled pneumonia, the network is undecided and leans towards normal. Every training-mode
# score is far higher, towards pneumonia: not a better reading but arithmetic on the wrong
# statistics, and here it would have changed the call. And the four training-mode passes changed
# the network itself: its evaluation-mode score for the film moved (last line).
#
# ## Summary
# - A unit: weighted sum plus bias, through ReLU; a fully connected layer: many units, a matrix
#   product. Softmax turns logits into probabilities (F4: 0.76, with F2 and F3 ours); ordered stages
#   can instead be a score through the identity, cut at thresholds.
# - Convolution: (N + 2P - F)/S + 1 pixels out, F·F·M·N + N parameters whatever the image size.
# - Pooling halves height and width, keeps the channels, learns nothing, tolerates small shifts.
# - Dropout drops units with probability p in training (survivors x 1/(1 - p)), none in testing;
#   batch normalization uses batch statistics in training, running averages in testing.
# - The lesson CNN is these blocks in a row. Trained briefly on pneumonia films, it separated the
#   classes well with rough first-layer filters, hardly more like hand-made ones than at the start.
# - In training mode, dropout makes a film's answer vary from run to run; batch normalization does
#   not, but makes it depend on the batch and alters the running averages. `model.eval()` before
#   testing, always.
#
# ## Questions
# 1. A unit has weights (0.5, -1.0), bias 0.2 and inputs (1.0, 0.4). What does it output after ReLU?
#    And with inputs (0.2, 0.8)?
#
# <details><summary>Answer</summary>
#
# With (1.0, 0.4): 0.5 x 1.0 - 1.0 x 0.4 + 0.2 = 0.3, positive: the output is 0.3. With (0.2, 0.8):
# 0.5 x 0.2 - 1.0 x 0.8 + 0.2 = -0.5, negative: ReLU outputs 0, the unit silenced by the negative
# weight on the second input.
#
# </details>
#
# 2. The fibrosis logits all increase by 10. How do the softmax probabilities change?
#
# <details><summary>Answer</summary>
#
# Not at all. Adding 10 multiplies every exponential by $e^{10}$, above and below the fraction, so
# it cancels: F4 keeps its 0.76. Softmax depends only on the differences between logits; a logit on
# its own says nothing about the probability.
#
# </details>
#
# 3. A 512 x 512 CT slice goes through a 3 x 3 convolution with stride 2 and padding 1, 32 filters,
#    one input channel. What size is each output map, and how many parameters does the layer have?
#
# <details><summary>Answer</summary>
#
# (512 + 2 x 1 - 3) // 2 + 1 = 256: 32 maps of 256 x 256. Parameters: 3 x 3 x 1 x 32 weights plus
# 32 biases, 288 + 32 = 320.
#
# </details>
#
# 4. Why does a convolutional layer have the same number of parameters for a 64 x 64 and a 512 x 512
#    image, while a fully connected layer does not?
#
# <details><summary>Answer</summary>
#
# A convolutional layer learns only its filters and slides them over every position (weight
# sharing), so the image size does not enter the count. A fully connected layer has one weight per
# input pixel for every unit: 4,096 against 262,144, 64 times more, all to be learned from cases.
#
# </details>
#
# 5. A colleague tests a network one image at a time, and the same image gets a different
#    probability each time it is run. Which layer, left in training mode, explains this, and what
#    is the fix? Would batch normalization left in training mode explain it too?
#
# <details><summary>Answer</summary>
#
# Dropout: in training mode it switches off a new random set of units on every run. Batch
# normalization does not: a lone image is normalised with its own statistics, the same on every
# run. It is still wrong: those are not the learned running averages, in a batch the answer depends
# on other patients' images, and each pass changes the running averages (section 10). The fix for
# both: `model.eval()` before testing.
#
# </details>
#
# 6. In the lesson CNN's drawing, which layer holds the most parameters, and why do the ReLU,
#    pooling and dropout layers hold none?
#
# <details><summary>Answer</summary>
#
# The deepest convolution, block3.conv: 3 x 3 x 32 x 64 = 18,432 weights, no bias (the batch
# normalization after it supplies the shift). ReLU, pooling and dropout are fixed rules with nothing
# to adjust; flatten only rearranges numbers.
#
# </details>
