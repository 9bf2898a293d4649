# %% [markdown]
# # 03 · The building blocks of a CNN, by hand and with the framework
#
# **What you will learn**
# - the fully connected unit: a weighted sum plus a bias, through ReLU (review Fig. 6a);
# - the output layer: softmax for classes (the review's liver-fibrosis example, Fig. 6b) and the
#   identity for a continuous score cut into stages (Fig. 6c);
# - convolution: a 3 x 3 filter slid over a real CT with stride and zero padding, several input
#   channels to several output channels, the output size and the number of weights (Fig. 7);
# - pooling: max and average, what it keeps and why it tolerates small shifts;
# - dropout (Fig. 8) and batch normalization, and why both behave differently in training and testing;
# - the whole lesson CNN drawn as the review's Fig. 5 draws a CNN: every layer with the shape of its
#   output and the number of weights it learns;
# - what the first-layer filters of a network trained on a real diagnosis (pneumonia on chest films)
#   look like, compared with hand-made edge filters;
# - what really happens when a network is tested in training mode, one film at a time.
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
# A unit (a "neuron") takes several input numbers $x_1 \dots x_n$, multiplies each by a **weight**,
# adds them up with a **bias** $b$ (a number added at the end, whatever the inputs), and passes the
# sum through an **activation function**. The usual one is ReLU (rectified linear unit), which keeps
# positive values and turns negative ones into 0:
#
# $$y = \max\Big(\sum_i w_i x_i + b,\; 0\Big).$$
#
# As inputs we take the mean attenuation of a liver lesion in the three phases of a dynamic CT,
# divided by 100 (so 115 HU becomes 1.15). The weights here are chosen by us to reward arterial
# enhancement and penalise washout; in a real network they are *learned*.

# %%
hcc = np.array([0.42, 1.15, 0.78])  # unenhanced, arterial, delayed (HU / 100): washes out
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
    # nn.Linear keeps its weights as a (units, inputs) table: here 1 row of 3 weights
    layer.weight[:] = torch.tensor(w, dtype=torch.float32).reshape(1, 3)
    layer.bias[:] = b
lesions = torch.tensor(np.stack([hcc, cyst]), dtype=torch.float32)  # (2 lesions, 3 phases)
framework = nn.ReLU()(layer(lesions))  # (2 lesions, 1 output)
by_hand = np.array([unit(hcc), unit(cyst)])
print("by hand:  ", np.round(by_hand, 4))
print("framework:", np.round(framework[:, 0].detach().numpy(), 4))

# %% [markdown]
# A **fully connected layer** is many such units side by side, each with its own weights: the weights
# form a matrix $W$ (one row per unit) and the whole layer is $y = \max(Wx + b, 0)$. Four units,
# by hand as a matrix product, and with `nn.Linear(3, 4)`:

# %%
W = np.array(
    [
        [-0.5, 1.2, -0.9],
        [1.0, 0.0, 0.0],
        [0.3, -0.2, 0.8],
        [-1.0, -1.0, -1.0],
    ]
)  # (4 units, 3 inputs)
b4 = np.array([-0.2, 0.1, 0.0, 0.5])  # one bias per unit
by_hand = np.maximum(W @ hcc + b4, 0)  # (4,): ReLU of each unit's weighted sum

layer4 = nn.Linear(3, 4)
with torch.no_grad():
    layer4.weight[:] = torch.tensor(W, dtype=torch.float32)
    layer4.bias[:] = torch.tensor(b4, dtype=torch.float32)
framework = torch.relu(layer4(torch.tensor(hcc, dtype=torch.float32))).detach().numpy()
print("by hand:  ", np.round(by_hand, 4))
print("framework:", np.round(framework, 4))
gap = float(np.abs(by_hand - framework).max())
rec.claim("4 units: by hand = nn.Linear + ReLU (to 1e-5)", gap < 1e-5)

# %% [markdown]
# The last unit outputs 0: its weighted sum is negative, and ReLU cuts it. A layer with 3 inputs and 4
# units has 3 x 4 weights plus 4 biases, 16 numbers to learn (its **parameters**):

# %%
rl.models.count_parameters(layer4)

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
gap = float(np.abs(by_hand - framework).max())
p_f4 = round(float(framework[4]), 3)
rec.claim("softmax: by hand = torch.softmax (to 1e-5)", gap < 1e-5, p_F4=p_f4)
# F2 and F3 were chosen to give 0.76, so this is a comparison, not a test
print(f"probability of F4: review 0.76, this lesson {p_f4:.3f}")

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
# ### Exercise 1 · Softmax of a chest film's logits
# A network reads a chest film as one of three classes, normal, bacterial pneumonia or viral
# pneumonia, and gives the logits 2.0, 1.0 and 0.1. Write `my_softmax(logits)`: it receives the logits
# as a NumPy array and returns the probabilities, one per class, as an array of the same length. The
# check tries it on these three logits and on a few others, the fibrosis logits above among them.


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
# The framework's identity layer does exactly nothing, by design: the score leaves the network as it
# is. `torch.bucketize` counts the thresholds below the score, as we did by hand:

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
# the products (plus a bias): one output pixel. The output image of one filter is called a **feature
# map**. Two settings:
#
# - **stride S**: how many pixels the filter moves between positions (S = 2 halves the output);
# - **zero padding P**: P rings of zeros around the image, so that the filter also fits at the edges.
#
# The output of an N x N input is $(N + 2P - F)/S + 1$ pixels wide (rounded down).
#
# We use a real CT: the head slice `693_UNCR.dcm` of lesson 01, in the brain window, reduced to 128 x 128
# pixels so that the hand-made version runs quickly.

# %%
dicom_file = rl.dicom.read(get_testdata_file("693_UNCR.dcm"))
hu = torch.from_numpy(rl.dicom.to_array(dicom_file))  # (512, 512) in HU
small_hu = nn.functional.interpolate(
    hu[None, None], size=(128, 128), mode="area"
)  # (1, 1, 128, 128)
ct = rl.window(small_hu, preset="brain")  # (1, 1, 128, 128): a batch of one image, one channel
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
            top, left = i * stride, j * stride  # where the filter sits now
            patch = padded[top : top + f, left : left + f]  # the pixels under the filter
            out[i, j] = np.sum(patch * kernel)
    return out


# %% [markdown]
# Now the framework's `torch.nn.functional.conv2d`, for four settings. Like our loops it does *not*
# flip the filter; strictly speaking that is a cross-correlation (the filter applied as written), and
# every deep-learning framework calls it convolution all the same.

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

# %%
rec.claim("convolution of the CT: loops by hand = conv2d, every stride and padding", all(agree))

# %% [markdown]
# The static figure: the padded input, the filter's nine numbers, and the output (mid-grey = 0; white
# and black = strong edges of opposite direction), here with stride 2 and padding 1:

# %%
rl.plot.conv_figure(image, "edge vertical (Sobel)", stride=2, padding=1)

# %% [markdown]
# The edges of the skull and ventricles light up; uniform brain tissue gives 0. With stride 2 the output
# is 64 x 64: a quarter of the pixels, the same anatomy.
#
# People designed the Sobel filter, and others like it. The same CT through four of these hand-made
# filters: two Sobel filters (edges running across and down), the Laplacian (which responds to small
# spots and thin lines brighter or darker than their surroundings) and a blur:

# %%
hand_made = ["edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian", "blur"]
responses = []
for name in hand_made:
    response = rl.models.convolve(image, name, padding=1)  # (128, 128)
    responses.append(rl.plot.conv_display(response, name))  # scaled to [0, 1] for display
rl.plot.grid(
    [image] + responses,
    titles=["CT, brain window"] + hand_made,
    panel_inches=2.0,
    suptitle="the same CT through four hand-made 3 x 3 filters",
)

# %% [markdown]
# Try the filters yourself: choose a kernel, the stride and the padding; the read-out gives the output
# size by the formula. (Without a running kernel the playground cannot react; the figures above show
# the same thing.)

# %% tags=["nbval-ignore-output"]
rl.widgets.conv_playground(image)

# %% [markdown]
# In a real CNN nobody designs the filters: they start as random numbers and are learned from the
# diagnosis alone. Section 9 trains a network on chest films and looks at what its first filters
# became.
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
print(" in   F  S  P   M   N | size: formula layer | params: formula  layer")
for size, f, s, p, m, n in settings:
    conv = nn.Conv2d(m, n, kernel_size=f, stride=s, padding=p)
    out_size = conv(torch.zeros(1, m, size, size)).shape[-1]  # a blank image through the layer
    params = rl.models.count_parameters(conv)
    size_formula = rl.models.conv_output_size(size, f, s, p)
    params_formula = f * f * m * n + n
    checks.append(out_size == size_formula and params == params_formula)
    print(
        f"{size:>3} {f:>3} {s:>2} {p:>2} {m:>3} {n:>3} |"
        f" {size_formula:>13} {out_size:>5} | {params_formula:>15} {params:>6}"
    )

# %%
rec.claim("output size and parameter formulas = nn.Conv2d, every setting", all(checks))

# %% [markdown]
# Note what does *not* appear in the parameter count: the image size. The same 3 x 3 filter is used at
# every position (**weight sharing**), which is why a CNN needs far fewer weights than a fully
# connected network on the same image.
#
# ### Exercise 2 · The output size of a convolution
# Write `my_output_size(size, kernel, stride, padding)`: the width in pixels of the feature map that a
# `kernel` x `kernel` filter gives on a `size` x `size` image with the given stride and zero padding.
# The check compares it with the framework for CT slices (128 and 512 pixels), 28-pixel chest films
# and AlexNet's first layer, including a case where the division does not come out even.


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
gap = float(np.abs(maps_by_hand - phase_maps).max())
rec.claim("3 phases in, 4 maps out: by hand = nn.Conv2d (to 1e-5)", gap < 1e-5)
print("parameters:", rl.models.count_parameters(conv), "= 3*3*3*4 + 4")

# %% [markdown]
# ### Exercise 3 · The parameters of a convolutional layer
# The first layer of a network for 3-phase liver CT takes the 3 phases as channels and has 32 filters
# of 5 x 5 pixels, each with a bias. How many parameters does this layer learn? Write the arithmetic,
# not only the result.

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
# A **pooling** layer shrinks each map: it cuts it into H x H squares (here 2 x 2, stride 2) and keeps
# one number per square, the **maximum** (max pooling) or the **average** (average pooling). Each
# channel is pooled separately, so the number of channels stays the same. Pooling has **no weights**:
# nothing is learned. By hand on a small 4 x 4 example:

# %%
small = np.array(
    [
        [1, 3, 2, 0],
        [4, 2, 1, 1],
        [0, 0, 5, 6],
        [1, 2, 7, 8],
    ],
    dtype=np.float32,
)


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
x = torch.from_numpy(small).reshape(1, 1, 4, 4)  # (batch 1, channel 1, 4, 4)
nn.MaxPool2d(2)(x)[0, 0], nn.AvgPool2d(2)(x)[0, 0]

# %% [markdown]
# ### Exercise 4 · Max pooling of a CT patch
# A 4 x 4 corner of a CT map, in HU: soft tissue, one bright calcification (200 HU) and a vessel with
# contrast (300 and 260 HU). It is also `ex.PATCH`:
#
# | | | | |
# |---|---|---|---|
# | 40 | 45 | 120 | 118 |
# | 38 | 200 | 60 | 55 |
# | 35 | 42 | 50 | 300 |
# | 30 | 33 | 260 | 48 |
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
# The same on the 4 output maps of the 3-phase convolution above: half the height and width, still 4
# channels, and 0 parameters:

# %%
maps = torch.from_numpy(phase_maps)[None]  # (1, 4, 64, 64): a batch of one, 4 channels
pooled_max = nn.MaxPool2d(2)(maps)[0].numpy()  # (4, 32, 32)
pooled_avg = nn.AvgPool2d(2)(maps)[0].numpy()
max_by_hand = np.zeros((4, 32, 32), dtype=np.float32)
avg_by_hand = np.zeros((4, 32, 32), dtype=np.float32)
for channel in range(4):  # each channel is pooled on its own
    max_by_hand[channel] = pool_by_hand(phase_maps[channel], "max")
    avg_by_hand[channel] = pool_by_hand(phase_maps[channel], "mean")
same = (
    np.abs(max_by_hand - pooled_max).max() < 1e-5 and np.abs(avg_by_hand - pooled_avg).max() < 1e-5
)
parameters = rl.models.count_parameters(nn.MaxPool2d(2)) + rl.models.count_parameters(
    nn.AvgPool2d(2)
)
print("shape:", tuple(maps.shape), "->", pooled_max.shape, " parameters:", parameters)
rec.claim("pooling: by hand = nn.MaxPool2d / nn.AvgPool2d", same)
halved = pooled_max.shape == (4, 32, 32)  # 4 channels of 64 x 64 became 4 of 32 x 32
rec.claim("pooling: half the size, same channels, 0 parameters", halved and parameters == 0)

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
poolings = {
    "no pooling": nn.Identity(),
    "max pooling 2 x 2": nn.MaxPool2d(2),
    "average pooling 2 x 2": nn.AvgPool2d(2),
}
change = {}
for name, pool in poolings.items():
    before, after = pool(edge_map(ct)), pool(edge_map(shifted))
    change[name] = float((after - before).norm() / before.norm())
    print(f"{name:<22} relative change after a 1-pixel shift: {change[name]:.2f}")

# %%
unpooled, max_pooled = round(change["no pooling"], 2), round(change["max pooling 2 x 2"], 2)
steadier = max_pooled < 0.85 * unpooled
rec.claim("max pooling: less change after a shift", steadier, unpooled=unpooled, pooled=max_pooled)

# %%
edges = edge_map(ct)  # (1, 1, 128, 128)
rl.plot.grid(
    [edges[0, 0], nn.MaxPool2d(2)(edges)[0, 0], nn.AvgPool2d(2)(edges)[0, 0]],
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
# **Dropout** fights overfitting (learning the training cases by heart instead of what generalises,
# lesson 05): during training each unit is switched off (set to 0) at random with probability p, a new
# random choice for every image and every step, so the network cannot rely on any single unit. At test
# time all units are used. PyTorch layers therefore have two modes: **training mode**
# (`model.train()`, dropout active) and **evaluation mode** (`model.eval()`, for testing).
#
# The review describes dropping units; one more detail matters in practice. If half the units are
# dropped in training but all are present in testing, the next layer would receive about twice as
# much signal at test time. PyTorch therefore uses **inverted dropout**: in training the surviving
# units are multiplied by 1/(1 - p), so that testing can use all units **unchanged**.
#
# On an image it looks like this (each pixel a unit, p = 0.5): half the pixels black, the others twice
# as bright.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(SEED)
dropout = nn.Dropout(p=0.5)  # a new layer is in training mode
dropped_image = dropout(torch.from_numpy(image)).numpy()
rl.plot.grid(
    [image, dropped_image / 2],
    titles=["CT (brain window)", "after dropout p = 0.5 (shown / 2)"],
    panel_inches=2.2,
)

# %% [markdown]
# Over many units, the fraction dropped is close to p, and the survivors are scaled by exactly
# 1/(1 - p). By hand the rule is two lines: draw a random number between 0 and 1 per unit, keep the
# unit if the number is at least p. The framework's layer does the same:

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

# %%
eval_layer = nn.Dropout(p=p).eval()  # testing: evaluation mode
scaled = torch.equal(framework[~dropped], units[~dropped] / (1 - p))
untouched = torch.equal(eval_layer(units), units)
near_p = abs(fraction - p) < 0.01
rec.claim("nn.Dropout drops a fraction p (within 0.01)", near_p, dropped=round(fraction, 2))
rec.claim("nn.Dropout: survivors x 1/(1 - p), untouched in evaluation mode", scaled and untouched)

# %% [markdown]
# Because the scaling already happened in training, the evaluation-mode layer passes its input through
# untouched. **Remember `model.eval()` before testing**: a model left in training mode keeps dropping
# units, and the same image gets a different answer each time (section 10 shows it on a trained
# network).
#
# ### Exercise 5 · Predict dropout with p = 0.2
# A network uses dropout with p = 0.2 before its last layer. In training, about what fraction of the
# units is set to 0, and what does a surviving unit whose value was 1.0 become? Predict both, then
# check your prediction with the commented line (remove the `#`), or by setting `p = 0.2` in the cell
# above and running it again.

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
# **Batch normalization** (BN) rescales each channel over the current minibatch to mean 0 and variance 1,
# then applies a learned scale $\gamma$ and shift $\beta$ per channel:
#
# $$\hat{x} = \frac{x - \mu_{\text{batch}}}{\sqrt{\sigma^2_{\text{batch}} + \epsilon}}, \qquad y = \gamma\,\hat{x} + \beta.$$
#
# ($\epsilon$ is a tiny number that keeps the division safe.) It lets networks train faster and more
# stably (lesson 05 measures it). We use a batch of 8 phantom slices, 3 phases as channels, 32 x 32
# pixels: by hand, then with `nn.BatchNorm2d` in training mode.

# %%
batch, _ = rl.phantoms.tensors(rl.phantoms.liver_lesions(16, size=32, seed=SEED))  # (16, 3, 32, 32)
x = batch[:8]  # (8 images, 3 channels, 32, 32)
gamma = torch.tensor([1.5, 0.5, 2.0])  # the learned scale, one per channel (chosen here)
beta = torch.tensor([0.1, -0.2, 0.0])  # the learned shift, one per channel (chosen here)
eps = 1e-5


def per_channel(values):
    """(3,) -> (1, 3, 1, 1): one value per channel, repeated over every image and pixel of x."""
    return values.reshape(1, 3, 1, 1)


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
out_hand = by_hand.mean(dim=(0, 2, 3)).numpy()
out_framework = framework.mean(dim=(0, 2, 3)).numpy()
print("output mean per phase, by hand:  ", np.round(out_hand, 4) + 0.0)  # + 0.0: no "-0."
print("output mean per phase, framework:", np.round(out_framework, 4) + 0.0, "(= beta)")

# %%
gap = float((by_hand - framework).abs().max())
rec.claim("BN in training mode: by hand = nn.BatchNorm2d (to 1e-5)", gap < 1e-5)

# %% [markdown]
# At test time there may be a single image, and its result must not depend on which other images happen
# to be processed with it. So during training the layer also keeps **running averages** of the batch
# means and variances (each step moves them 10 % of the way towards the current batch's values, using
# the unbiased variance), and in **evaluation mode** it normalises with those instead:

# %%
running_mean = 0.9 * torch.zeros(3) + 0.1 * mean  # the layer started at mean 0, variance 1
running_var = 0.9 * torch.ones(3) + 0.1 * x.var(dim=(0, 2, 3), unbiased=True)
print("running mean by hand:", np.round(running_mean.numpy(), 4), end="  ")
print("framework:", np.round(bn.running_mean.numpy(), 4))
print("running var by hand: ", np.round(running_var.numpy(), 4), end="  ")
print("framework:", np.round(bn.running_var.numpy(), 4))

normalised = (x - per_channel(running_mean)) / torch.sqrt(per_channel(running_var) + eps)
by_hand_eval = per_channel(gamma) * normalised + per_channel(beta)
framework_eval = bn.eval()(x).detach()
gap = float((by_hand_eval - framework_eval).abs().max())
gap_var = float((running_var - bn.running_var).abs().max())
rec.claim("BN in evaluation mode: by hand = nn.BatchNorm2d", max(gap, gap_var) < 1e-5)

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
    f"image 0, batch A vs batch B: largest difference {train_diff:.3f} in training mode,", end=" "
)
print(f"{eval_diff:.3f} in evaluation mode")
depends = train_diff > 0.01 and eval_diff == 0.0
train_mode, eval_mode = round(train_diff, 3), eval_diff
rec.claim("BN: batch matters in training mode only", depends, train=train_mode, eval=eval_mode)

# %% [markdown]
# This is the second reason to call `model.eval()` before testing: otherwise a patient's result would
# depend on the other patients in the same batch. Note what training-mode BN does **not** do: given
# the same batch, it computes the same statistics and gives the same output, every time. A single
# image processed alone is a batch of one, normalised with its own statistics (not the learned running
# averages): not the answer the trained network gives in evaluation mode, but the same answer on
# every run. Section 10 shows it.
#
# ## 8. The whole network (Fig. 5)
#
# The review's Fig. 5 draws a CNN as a row of layers from the image to the answer: convolutions with
# their activation, pooling, repeated, then fully connected layers and the output. The course's
# **lesson CNN** (`rl.models.small_cnn`) is built exactly from this lesson's blocks: three blocks of
# convolution 3 x 3, batch normalization, ReLU and max pooling 2 x 2; then **global average pooling**
# (the mean of each feature map: one number per channel), **flatten** (those numbers laid out in one
# row), dropout, and a fully connected layer with two units, the logits of the two classes.
#
# Its task from here on: **PneumoniaMNIST**, 28 x 28 pixel chest radiographs labelled normal or
# pneumonia (MedMNIST). If the set is not downloaded, `rl.data.load` says in one line how to fetch it
# and stands in with the course's synthetic liver CT, so that the lesson still runs; the line printed
# says which task is in use.

# %%
data = rl.data.load("pneumoniamnist")
x_train, y_train = data.train
x_val, y_val = data.val
print(data.task)
input_shape = tuple(x_train.shape[1:])  # one image: (channels, height, width)
input_shape, len(x_train), len(x_val)

# %% [markdown]
# Each layer with the shape of what it hands on (for one image: channels x height x width) and the
# number of parameters it learns. The table comes from passing one blank image through the network
# and noting the shape after every layer:

# %%
WIDTH = 16  # filters in the first block; the next two have 32 and 64
net = rl.models.small_cnn(
    in_channels=data.n_channels, num_classes=data.n_classes, width=WIDTH, dropout=0.5
)
rows = rl.models.layer_table(net, input_shape)
print(f"{'layer':<14} {'what it does':<26} {'output shape':<14} {'parameters':>10}")
for row in rows:
    print(f"{row.name:<14} {row.layer:<26} {str(row.shape):<14} {row.parameters:>10,}")
table_total = sum(row.parameters for row in rows)
print(f"{'total':<56} {table_total:>10,}")
largest = rows[0]  # the row with the most parameters
for row in rows:
    if row.parameters > largest.parameters:
        largest = row
print(
    f"largest: {largest.name}, {largest.parameters:,} = {largest.parameters / table_total:.0%} of all"
)

# %%
total = rl.models.count_parameters(net)
rec.claim("the layer table adds up to count_parameters", table_total == total, total=total)

# %% [markdown]
# The same, drawn as the review draws a CNN: one box per layer, as tall as its feature maps are high
# and wider the more channels it has, with its output shape and its parameters underneath:

# %%
rl.plot.architecture(net, input_shape)

# %% [markdown]
# Read it from left to right, as the image travels. Each max pooling halves the height and width
# (28, 14, 7, then 3: pooling rounds down), while the channels double from block to block (16, 32, 64):
# the network trades *where* for *what*. Most of the weights sit in the deepest convolution, which
# connects 32 channels to 64 with 3 x 3 filters (3 x 3 x 32 x 64 = 18,432, the largest row above);
# each batch normalization learns only a scale and a shift per channel; ReLU, pooling, flatten and
# dropout learn nothing. The convolutions have no bias of their own, because the batch normalization
# right after them supplies the shift. Global average pooling leaves 64 numbers whatever the image
# size, and the fully connected layer turns them into 2 logits with 64 x 2 + 2 = 130 parameters.
#
# ## 9. Filters learned from a diagnosis
#
# The Sobel filter of section 4 was designed by people. The lesson CNN starts from random filters and
# **training** (lesson 04) adjusts every weight a little at a time so that its output agrees better
# with the labels: here, only "normal" or "pneumonia" for each film. Nobody tells it to look for edges.
# We train it briefly on a subset of the training films and keep a copy of its first-layer filters
# from before training. The **validation films** (films kept apart from training) are only watched:
# the network's last weights are kept, not the best epoch's, so nothing is chosen on them.

# %% tags=["nbval-ignore-output"]
N_TRAIN = rl.config.pick(smoke=128, cpu=1000, gpu=len(x_train))
EPOCHS = rl.config.pick(smoke=1, cpu=5, gpu=10)
xs, ys = rl.data.subset(x_train, y_train, N_TRAIN, seed=SEED)  # same class shares as the full set

rl.config.seed_everything(SEED)  # the same random start on every run
model = rl.models.small_cnn(
    in_channels=data.n_channels, num_classes=data.n_classes, width=WIDTH, dropout=0.5
)
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
# How much did each filter change? We compare its nine numbers after training with its nine numbers at
# the start (the size of the difference, divided by the size of the starting filter). We also ask how
# much each filter resembles a hand-made one: the correlation r of its nine numbers with those of
# the two Sobel filters and the Laplacian (r = 1: the same pattern, 0: unrelated, -1: the same pattern
# with the signs flipped, which detects the same edges), keeping the closest by its size |r|. The same
# for the random start, because nine random numbers already correlate somewhat with one of three
# kernels by chance.

# %% tags=["nbval-ignore-output"]
references = ["edge horizontal (Sobel)", "edge vertical (Sobel)", "Laplacian"]


def closest_hand_made(filt):
    """The hand-made kernel whose nine numbers correlate best with the filter's, and |r|."""
    best_name, best_r = "", 0.0
    for name in references:
        r = abs(float(np.corrcoef(filt.ravel(), rl.models.KERNELS[name].ravel())[0, 1]))
        if r > best_r:
            best_name, best_r = name, r
    return best_name, best_r


changes, r_start, r_trained = [], [], []
print("filter  change  sum of weights   closest hand-made kernel   |r| start  |r| trained")
for k in range(WIDTH):
    before = start_filters[k, 0].numpy()  # (3, 3): the first input channel of filter k
    after = trained_filters[k, 0].numpy()
    changes.append(float(np.linalg.norm(after - before) / np.linalg.norm(before)))
    _, r0 = closest_hand_made(before)
    name, r1 = closest_hand_made(after)
    r_start.append(r0)
    r_trained.append(r1)
    print(f"{k:>6} {changes[-1]:>7.0%} {after.sum():>+15.2f}   {name:<25} {r0:>9.2f} {r1:>12.2f}")
similar_start = sum(r >= 0.7 for r in r_start)  # how many filters have |r| of 0.7 or more
similar_trained = sum(r >= 0.7 for r in r_trained)
print(f"mean |r|: start {np.mean(r_start):.2f}, trained {np.mean(r_trained):.2f}")
print(f"filters with |r| of 0.7 or more: start {similar_start}, trained {similar_trained}")
most_similar = int(np.argmax(r_trained))  # the trained filter closest to a hand-made one
print(f"the most similar trained filter, {most_similar}:")
print(np.round(trained_filters[most_similar, 0].numpy(), 2))

# %% tags=["nbval-ignore-output"]
val_auc = round(history.val_metric[-1], 3)
median_change = round(float(np.median(changes)), 2)
moved = median_change > 0.2
rec.claim("the lesson CNN learned the task (validation AUC > 0.85)", val_auc > 0.85, auc=val_auc)
rec.claim("training changed the filters (median change > 20 %)", moved, median=median_change)

# %% [markdown]
# The sixteen filters before and after training, all on one grey scale (white = most positive
# weight, black = most negative), beside the hand-made ones for comparison:

# %%
panels, titles = [], []
for k in range(WIDTH):
    panels.append(start_filters[k, 0])
    titles.append(f"{k} start")
for k in range(WIDTH):
    panels.append(trained_filters[k, 0])
    titles.append(f"{k} trained")
rl.plot.grid(
    panels, titles=titles, ncols=8, panel_inches=0.95, suptitle="first-layer 3 x 3 filters"
)

# %%
rl.plot.grid(
    [rl.models.KERNELS[name] for name in references],  # the three kernels' nine numbers
    titles=["Sobel (across)", "Sobel (down)", "Laplacian"],
    panel_inches=1.2,
    suptitle="hand-made, for comparison",
)

# %% [markdown]
# Training changed every filter, by 20 % to 61 % of its starting size in this run (the "change"
# column), yet the trained filters still look like patterns of nine random grey squares rather than
# like the tidy hand-made kernels. A few have moved towards an edge detector: the one printed last
# above has positive weights on one side and negative weights on the other, which is what an edge
# detector looks like, though a rough one. Others moved away from the kernel they resembled by chance
# at the start. As a group, the trained filters are hardly closer to the Sobel and Laplacian filters
# than the random start was (compare the two "mean |r|" numbers and the counts of |r| of 0.7 or
# more). Mind the scale: nine random numbers already reach |r| of about 0.5 with the closest of three
# kernels, as the start shows, so a correlation of that size means little.
#
# This does not contradict the well-known pictures of edge- and blob-like first-layer filters: those
# come from large networks trained for a long time on millions of images. After five epochs on 1,000
# films of 28 x 28 pixels, the first layer has changed only partly, and the network already separates
# the classes well (the validation AUC above). It did not need textbook filters to do so.
#
# What the first layer hands on: one validation film and the feature maps of its first eight trained
# filters (each map scaled on its own: mid-grey = 0):

# %%
film = x_val[:1].to(DEVICE)  # one validation film: a batch of one, (1, channels, 28, 28)
with torch.no_grad():
    feature_maps = model.block1.conv(film)[0].cpu()  # (16, 28, 28): one map per filter
panels, titles = [film[0, 0].cpu()], ["film"]
for k in range(8):
    panels.append(rl.plot.conv_display(feature_maps[k], trained_filters[k, 0]))  # 0 = mid-grey
    titles.append(f"map {k}")
rl.plot.grid(panels, titles=titles, ncols=9, panel_inches=1.1)

# %% [markdown]
# The "sum of weights" column of the table explains most of these maps. A filter whose nine weights
# add up to clearly more than 0 responds to brightness itself: maps 2, 5 and 7 (sums +0.76, +0.80,
# +1.09) are copies of the film. Filter 3's weights add up to -1.81: map 3 is an inverted copy, the
# bright mediastinum turned dark. Filters whose weights add up to nearly 0 (0, 1, 4 and 6) respond
# mainly where the brightness changes: their maps show the film only faintly, and a strong line along
# the lower border, where the film meets the zero padding. The deeper layers combine these maps; what
# they combine them into is not visible this way (lesson 11 comes back to seeing inside a network).
#
# ## 10. Testing one film at a time: training mode vs evaluation mode
#
# A colleague tests the trained network one film at a time and forgets `model.eval()`. What happens?
# We give the network the same validation film four times: twice alone (a batch of one), then inside
# two different batches of eight films. We read its **score**: the logit of pneumonia minus the logit
# of normal. With two classes, softmax depends only on this difference (question 2 below): a score of
# 0 means 50 %, and the higher the score, the more likely pneumonia. (A probability close to 0 or 1
# would hide the differences in its fourth decimal; the score shows them.)
#
# Three settings: everything in training mode; only batch normalization in training mode (the
# dropout layer alone switched to evaluation mode); everything in evaluation mode. Each setting gets
# its own copy of the trained network, because passes in training mode change the network a little
# (shown below).

# %% tags=["nbval-ignore-output"]
others_a = x_val[1:8].to(DEVICE)  # seven other films
others_b = x_val[8:15].to(DEVICE)  # seven different films
with_a = torch.cat([film, others_a])  # the film first, then seven others: (8, channels, 28, 28)
with_b = torch.cat([film, others_b])


def score(network, films):
    """Logit of class 1 minus logit of class 0, for the FIRST film of the batch."""
    with torch.no_grad():
        logits = network(films)[0]  # (2,): the two logits of the first film
    return (logits[1] - logits[0]).item()


print(f"validation film 0, labelled '{data.label_names[int(y_val[0])]}'")
print(f"its score for '{data.label_names[1]}' (logit 1 - logit 0):")
print(f"{'setting':<30} {'alone':>7} {'again':>7} {'batch A':>8} {'batch B':>8}")
results, copies = {}, {}
for setting in ["training mode", "only BN in training mode", "evaluation mode"]:
    tested = copy.deepcopy(model)  # a fresh copy of the trained network
    tested.train()  # dropout active, BN with each batch's own statistics
    if setting == "only BN in training mode":
        tested.dropout.eval()  # only the dropout layer in evaluation mode
    if setting == "evaluation mode":
        tested.eval()  # every layer: how a network must be tested
    alone = score(tested, film)  # the film alone
    again = score(tested, film)  # the film alone, a second time
    in_a = score(tested, with_a)  # the film among batch A
    in_b = score(tested, with_b)  # the film among batch B
    results[setting] = [alone, again, in_a, in_b]
    copies[setting] = tested
    print(f"{setting:<30} {alone:>7.3f} {again:>7.3f} {in_a:>8.3f} {in_b:>8.3f}")

# %% tags=["nbval-ignore-output"]
alone, again, in_a, in_b = results["training mode"]
dropout_varies = abs(alone - again) > 0.01
alone, again, in_a, in_b = results["only BN in training mode"]
bn_repeats = abs(alone - again) < 1e-5
bn_depends = abs(in_a - in_b) > 0.01
spread = max(results["evaluation mode"]) - min(results["evaluation mode"])
rec.claim("training mode: the same film alone gets two scores (dropout)", dropout_varies)
rec.claim("only BN in training mode: the same film alone gets one score", bn_repeats)
rec.claim("only BN in training mode: the film's score depends on its batch", bn_depends)
rec.claim("evaluation mode: one score for the film, alone or in any batch", spread < 1e-4)

# %% [markdown]
# The side effect: in training mode every pass also moves batch normalization's running averages
# (10 % of the way each time, section 7) towards the statistics of the films just seen, even without
# any learning. The copy used in the first setting went through four such passes. Back in evaluation
# mode, does it still give the film the score of the untouched network?

# %% tags=["nbval-ignore-output"]
untouched = score(model.eval(), film)
after_passes = score(copies["training mode"].eval(), film)
print(
    f"score in evaluation mode: untouched network {untouched:.3f}, after 4 passes {after_passes:.3f}"
)
drift = round(abs(after_passes - untouched), 3)
rec.claim("passes in training mode change the network's later answers", drift > 0.01, drift=drift)

# %% [markdown]
# **Training mode** (first row): the same film alone gets two different scores, because dropout
# switched off a different set of about half of the 64 units before the last layer each time. This
# is the layer that makes a result change from run to run.
#
# **Only batch normalization in training mode** (second row): the film alone gets the same score
# twice. A batch of one has the same statistics on every run, so batch normalization in training mode
# does *not* make a single image's result vary. It makes it wrong in other ways: the film alone is
# normalised with its own statistics instead of the running averages learned in training, and in a
# batch with the statistics of its seven companions, so batch A and batch B give the same film
# different scores.
#
# **Evaluation mode** (third row): one score, alone or in any batch. In this run it is close to 0 and
# slightly negative: for this film, labelled pneumonia, the network is undecided and leans towards
# normal. Every training-mode score is far higher, strongly towards pneumonia. That is not a better
# reading of the film but arithmetic on the wrong statistics, and here it would have changed the call.
#
# And the network itself changed: the four passes in training mode moved the running averages enough
# to change the film's evaluation-mode score afterwards (last cell). Testing in training mode is not
# only unreliable; it alters the model being tested.
#
# ## Summary
# - A fully connected unit computes a weighted sum plus a bias and passes it through ReLU, max(x, 0); a
#   layer is many units, a matrix product. By hand and with `nn.Linear`, the same numbers.
# - Softmax turns logits into probabilities: the review's fibrosis example gives F4 a probability of
#   0.76 (with F2 and F3, which the review does not print, chosen by us). For ordered stages a single
#   score through the identity, cut at thresholds, is an alternative.
# - Convolution slides an F x F filter with stride S over a zero-padded image: output (N + 2P - F)/S + 1
#   pixels, F·F·M·N + N parameters, independent of the image size. Loops by hand and `conv2d` agree on
#   a real CT.
# - Pooling halves height and width, keeps the channels, learns nothing, and makes maps less sensitive
#   to small shifts.
# - Dropout drops units with probability p in training (PyTorch scales the survivors by 1/(1 - p)) and
#   does nothing at test time.
# - Batch normalization uses the batch's statistics in training and running averages in testing.
# - The lesson CNN, drawn as in Fig. 5, is these blocks in a row; most of its weights sit in the
#   deepest convolution.
# - Trained on a diagnosis (pneumonia on 28-pixel chest films, five epochs), the first-layer filters
#   changed by about half their size but stayed rough: a few lean towards edge detectors, most do not,
#   and as a group they are hardly closer to Sobel or Laplacian filters than their random start. The
#   network separated the classes well without textbook filters.
# - Left in training mode, dropout makes the same film's answer change from run to run; batch
#   normalization does not, but it makes the answer depend on the other films in the batch and
#   normalises a lone film with its own statistics. `model.eval()` before testing, always.
#
# ## Questions
# 1. A unit has weights (0.5, -1.0), bias 0.2 and inputs (1.0, 0.4). What does it output after ReLU?
#    And with inputs (0.2, 0.8)?
#
# <details><summary>Answer</summary>
#
# With inputs (1.0, 0.4): 0.5 x 1.0 - 1.0 x 0.4 + 0.2 = 0.3, positive, so ReLU passes it: the output is
# 0.3. With inputs (0.2, 0.8): 0.5 x 0.2 - 1.0 x 0.8 + 0.2 = -0.5, negative, so ReLU turns it into 0.
# A unit that outputs 0 passes nothing on for that case: the negative weight on the second input has
# silenced it.
#
# </details>
#
# 2. The fibrosis logits all increase by 10. How do the softmax probabilities change?
#
# <details><summary>Answer</summary>
#
# They do not change at all. Adding 10 to every logit multiplies every exponential by the same factor
# $e^{10}$, in the numerator and in the sum below it, so the factor cancels. Softmax depends only on
# the differences between the logits: F4 keeps its 0.76. (For the same reason a logit on its own, read
# without the others, says nothing about the probability.)
#
# </details>
#
# 3. A 512 x 512 CT slice goes through a 3 x 3 convolution with stride 2 and padding 1, 32 filters, one
#    input channel. What size is each output map, and how many parameters does the layer have?
#
# <details><summary>Answer</summary>
#
# Each map is (512 + 2 x 1 - 3) // 2 + 1 = 255 + 1 = 256 pixels per side, so 32 maps of 256 x 256.
# The layer has 3 x 3 x 1 x 32 weights plus 32 biases: 288 + 32 = 320 parameters. Stride 2 halves the
# matrix, as a 2 x 2 pooling would, but costs no extra parameters either.
#
# </details>
#
# 4. Why does a convolutional layer have the same number of parameters for a 64 x 64 and a 512 x 512
#    image, while a fully connected layer does not?
#
# <details><summary>Answer</summary>
#
# A convolutional layer learns only its filters (F x F x M weights each, plus a bias) and slides the
# same filters over every position (weight sharing), so the image size does not enter the count;
# only the output maps get larger. A fully connected layer has one weight for every input pixel and
# every unit: 64 x 64 = 4,096 inputs per unit against 512 x 512 = 262,144, 64 times more weights, all
# of which must be learned from the cases.
#
# </details>
#
# 5. A colleague tests a network one image at a time, and the same image gets a different probability
#    each time it is run. Which layer, left in training mode, explains this, and what is the fix?
#    Would batch normalization left in training mode explain it too?
#
# <details><summary>Answer</summary>
#
# Dropout: in training mode it switches off a new random set of units on every run, so the same image
# gets a different answer each time. Batch normalization in training mode does not explain it: for a
# single image it normalises with that image's own statistics, which are the same on every run, so
# the answer is repeatable (section 10 shows it). It is still wrong, though: the image is normalised
# with its own statistics instead of the learned running averages, in a batch its answer would depend
# on the other patients' images, and each pass in training mode also changes the running averages.
# The fix for both is `model.eval()` before testing.
#
# </details>
#
# 6. In the lesson CNN's table, which layer holds the most parameters, and why do the ReLU, pooling and
#    dropout rows hold none?
#
# <details><summary>Answer</summary>
#
# The deepest convolution, block3.conv: 3 x 3 filters connecting 32 input channels to 64 output
# channels, 3 x 3 x 32 x 64 = 18,432 weights (no bias: the batch normalization after it supplies the
# shift). ReLU, pooling and dropout are fixed rules (cut negatives, keep the maximum or mean, drop at
# random), with nothing to adjust, so they have no parameters; flatten only rearranges numbers.
#
# </details>
