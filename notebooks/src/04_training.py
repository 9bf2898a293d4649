# %% [markdown]
# # 04 · Training: error functions, backpropagation, optimizers, minibatches
#
# **What you will learn**
# - how a network's mistakes become one number, the *error function* (loss): mean squared error for
#   a measurement, cross-entropy for classes, each computed by hand and by PyTorch;
# - *backpropagation*: the chain rule, worked by hand on a network with three weights, checked
#   against PyTorch, and one step of gradient descent taken by hand;
# - three *optimizers* (SGD, AdaGrad, Adam): how each sizes its steps, and how they compare on the
#   same chest X-ray task with the same start;
# - online, minibatch and batch learning; why one *epoch* (one pass over all the training cases)
#   is ⌈N / X⌉ updates; why the cases are shuffled every epoch;
# - how to read *learning curves* (review Fig. 9), and how to draw a fair one: several seeds, enough
#   epochs, and a learning rate that changes during training (a *schedule*).
#
# Five exercises check themselves along the way: write your answer in the cell, run it, and the
# line below says "Correct" or what is wrong, with a hint.
#
# **Why a radiologist cares.** Every deep-learning paper says "trained with Adam, learning rate
# 0.001, batch size 32, 50 epochs". These words decide what the network learned and how much it
# cost, and they are where a study can quietly go wrong (a loss that never went down, a validation
# curve nobody looked at). After this lesson you can read that sentence and know what it means.
#
# This lesson follows the review's section on training (Fig. 2 and Fig. 9): Yasaka K, Akai H,
# Kunimatsu A, Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J
# Radiol 2018;36:257-272. The optimizers are those of Duchi et al. (AdaGrad, J Mach Learn Res 2011)
# and Kingma and Ba (Adam, International Conference on Learning Representations 2015).

# %%
import copy
import math

import numpy as np
import torch

import radlab as rl
from radlab.exercises import lesson04 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
rec = rl.claims.lesson("04_training")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. Training in one picture (Fig. 2)
#
# Training repeats one loop, thousands of times:
#
# 1. a *minibatch* (a small group of training images, for example 32, handled together) goes
#    **forward** through the network, which outputs its answer for each image;
# 2. the **error function** compares the answers with the teaching data (the labels) and gives one
#    number, the *loss*: zero for perfect answers, larger for worse ones;
# 3. **backpropagation** works out, for every weight, how the loss would change if that weight
#    changed a little (the *gradient*);
# 4. the **optimizer** nudges every weight a small step against its gradient, so that the loss goes
#    down.
#
# The sections below take these pieces one at a time, by hand first, then with the course's training
# loop `rl.train.fit`.
#
# ## 2. Error functions
#
# **Mean squared error** (MSE) is used when the teaching data are measurements, for example eGFR:
# the average of the squared differences between predicted and true values,
# $\mathrm{MSE} = \frac{1}{n}\sum_i (\hat y_i - y_i)^2$. Squaring makes every error positive and
# punishes large errors more than small ones. Four patients, predicted and measured eGFR (in
# mL/min/1.73 m²):

# %%
predicted = [58.0, 71.0, 40.0, 90.0]
measured = [62.0, 65.0, 45.0, 88.0]
squared_errors = []
for p, m in zip(predicted, measured):
    squared_errors.append((p - m) ** 2)
by_hand = sum(squared_errors) / len(squared_errors)
by_torch = torch.nn.functional.mse_loss(torch.tensor(predicted), torch.tensor(measured)).item()
squared_errors, by_hand, by_torch

# %% [markdown]
# The errors are -4, 6, -5 and 2 mL/min; their squares 16, 36, 25 and 4 average to 20.25, and PyTorch
# agrees. Its square root, about 4.5 mL/min (the *root mean squared error*, RMSE), is a typical error
# in the units a nephrologist uses. A close relative is the **mean absolute error** (MAE): the
# average of the errors without their sign, $\frac{1}{n}\sum_i |\hat y_i - y_i|$, also in mL/min; it
# is less swayed by a single large miss.

# %% [markdown]
# ### Exercise 1 · MSE and MAE of eGFR predictions
# Write the function `my_errors(predicted, measured)` so that it returns two numbers, the MSE first
# and the MAE second, for any lists of predicted and measured values. A plain loop, as in the cell
# above, is all it needs. The check runs it on the four patients above and on three others.


# %%
def my_errors(predicted, measured):
    """Return (MSE, MAE) of the predicted values against the measured ones."""
    ### BEGIN SOLUTION
    squares, absolutes = 0.0, 0.0
    for p, m in zip(predicted, measured):
        squares += (p - m) ** 2
        absolutes += abs(p - m)
    n = len(measured)
    return squares / n, absolutes / n
    ### END SOLUTION


ex.egfr_errors.check(my_errors)
# ex.egfr_errors.hint()
# ex.egfr_errors.solution()

# %% [markdown]
# **Softmax cross-entropy** is used for classes. The network outputs one raw score (*logit*) per
# class; softmax turns them into probabilities that add up to 1,
# $p_k = e^{z_k} / \sum_j e^{z_j}$; the loss is minus the (natural) logarithm of the probability
# given to the **true** class, $-\log p_{\text{true}}$, averaged over the cases. A confident right
# answer costs almost nothing; a confident wrong answer costs a lot. Two chest films and three
# classes (normal, bacterial pneumonia, viral pneumonia):

# %%
logits = [
    [2.0, 0.5, -1.0],  # film 1: the network favours "normal"
    [0.2, 1.1, 0.9],  # film 2: it hesitates between the two pneumonias
]
truth = [0, 2]  # film 1 is normal, film 2 is viral pneumonia

losses = []
for scores, true_class in zip(logits, truth):
    exps = [math.exp(z) for z in scores]
    probabilities = [e / sum(exps) for e in exps]
    losses.append(-math.log(probabilities[true_class]))
    print("probabilities", [round(p, 3) for p in probabilities], "-> loss", round(losses[-1], 4))
by_hand = sum(losses) / len(losses)
by_torch = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(truth)).item()
round(by_hand, 6), round(by_torch, 6)

# %% [markdown]
# Film 1 gets 0.79 for its true class and costs 0.24; film 2 gets only 0.37 for viral pneumonia and
# costs 1.00. The loss rewards putting probability on the right diagnosis, which is why the class
# probabilities of a network trained this way can be read (with care, lesson 06) as its confidence.
#
# With two classes, say pneumonia and normal, the same formula becomes *binary cross-entropy*: if
# the network gives a film the probability $p$ of pneumonia, a film that shows pneumonia costs
# $-\log p$ and a normal film costs $-\log(1 - p)$.

# %% [markdown]
# ### Exercise 2 · The price of a confident mistake
# The network gives two films the same probability of pneumonia, 0.9. The first film does show
# pneumonia; the second is normal. Compute the cross-entropy loss of each film (`math.log` is the
# natural logarithm).

# %%
my_loss_pneumonia, my_loss_normal = ..., ...  # the loss of each film
### BEGIN SOLUTION
my_loss_pneumonia = -math.log(0.9)
my_loss_normal = -math.log(1 - 0.9)
### END SOLUTION
ex.pneumonia_cross_entropy.check(my_loss_pneumonia, my_loss_normal)
# ex.pneumonia_cross_entropy.hint()
# ex.pneumonia_cross_entropy.solution()

# %% [markdown]
# ## 3. Backpropagation by hand
#
# Take the smallest network that still has a hidden layer: one input $x$, one hidden unit with
# weight $w_1$, bias $b_1$ and ReLU, and one output weight $w_2$:
#
# $$z = w_1 x + b_1,\qquad h = \max(z, 0),\qquad \hat y = w_2 h,\qquad L = (\hat y - y)^2 .$$
#
# Backpropagation is the chain rule, applied from the loss backwards, reusing each result:
#
# $$\frac{\partial L}{\partial \hat y} = 2(\hat y - y),\quad
# \frac{\partial L}{\partial w_2} = \frac{\partial L}{\partial \hat y}\, h,\quad
# \frac{\partial L}{\partial z} = \frac{\partial L}{\partial \hat y}\, w_2 \cdot [z > 0],\quad
# \frac{\partial L}{\partial w_1} = \frac{\partial L}{\partial z}\, x,\quad
# \frac{\partial L}{\partial b_1} = \frac{\partial L}{\partial z}.$$

# %%
x, y = 1.5, 2.0  # one input and its teaching value
w1, b1, w2 = 0.8, -0.2, 1.3  # the three weights the network learns

z = w1 * x + b1  # forward pass
h = max(z, 0.0)
y_hat = w2 * h
loss = (y_hat - y) ** 2

dL_dyhat = 2 * (y_hat - y)  # backward pass: the chain rule, from the loss back to each weight
dL_dw2 = dL_dyhat * h
dL_dz = dL_dyhat * w2 * (1.0 if z > 0 else 0.0)
dL_dw1 = dL_dz * x
dL_db1 = dL_dz
hand = {"w1": dL_dw1, "b1": dL_db1, "w2": dL_dw2}
print("loss", round(loss, 4))
{name: round(g, 4) for name, g in hand.items()}

# %% [markdown]
# PyTorch's *autograd* does the same bookkeeping automatically: it records the forward pass and then
# walks it backwards. The gradients agree with ours:

# %%
weights = {}
for name, value in [("w1", w1), ("b1", b1), ("w2", w2)]:
    # requires_grad=True: autograd records what is computed from this number
    weights[name] = torch.tensor(value, dtype=torch.float64, requires_grad=True)
torch_loss = (weights["w2"] * torch.relu(weights["w1"] * x + weights["b1"]) - y) ** 2
torch_loss.backward()  # the backward pass: fills in each weight's .grad
auto = {}
for name, w in weights.items():
    auto[name] = w.grad.item()
print({name: round(g, 4) for name, g in auto.items()})
all(math.isclose(hand[name], auto[name], rel_tol=1e-12) for name in hand)

# %% [markdown]
# All three gradients are negative: making any of the three weights a little larger would bring the
# output (1.3) closer to the target (2.0). **Gradient descent** moves each weight a small step
# against its gradient, $w \leftarrow w - \eta\, \partial L / \partial w$, with the *learning rate*
# $\eta$ setting the step size. One step by hand with $\eta = 0.1$, then PyTorch's SGD optimizer
# taking the same step:

# %%
lr = 0.1
new = {"w1": w1 - lr * dL_dw1, "b1": b1 - lr * dL_db1, "w2": w2 - lr * dL_dw2}
new_loss = (new["w2"] * max(new["w1"] * x + new["b1"], 0.0) - y) ** 2

torch.optim.SGD(weights.values(), lr=lr).step()  # uses the .grad filled in by backward()
same = all(math.isclose(new[name], w.item(), rel_tol=1e-12) for name, w in weights.items())
print({name: round(v, 4) for name, v in new.items()}, "same as torch:", same)
print(f"loss before {loss:.4f}, after one step {new_loss:.4f}")

# %% [markdown]
# One step cut the loss from 0.49 to about 0.09. A CNN does exactly this, only with tens of
# thousands of weights (`rl.models.count_parameters` counts them) and a loss averaged over a
# minibatch of images; autograd computes all the gradients in one backward pass.

# %% [markdown]
# ### Exercise 3 · One step by hand, with half the learning rate
# Take the output weight $w_2 = 1.3$ and its gradient $\partial L / \partial w_2 = -1.4$ (printed
# above) and compute the new value of $w_2$ after one gradient-descent step with learning rate 0.05.

# %%
my_new_w2 = ...  # w2 after one step with learning rate 0.05
### BEGIN SOLUTION
my_new_w2 = 1.3 - 0.05 * (-1.4)
### END SOLUTION
ex.one_sgd_step.check(my_new_w2)
# ex.one_sgd_step.hint()
# ex.one_sgd_step.solution()

# %% [markdown]
# ## 4. Optimizers: how big a step?
#
# The three optimizers below differ only in how they turn the gradient $g$ into a step:
#
# - **SGD** (stochastic gradient descent): $w \leftarrow w - \eta g$. The step is proportional to
#   the gradient, with a fixed learning rate $\eta$. Too small a rate is slow, too large a rate
#   overshoots.
# - **AdaGrad**: keeps a running sum of each weight's squared gradients, $G \leftarrow G + g^2$, and
#   steps $\eta\, g / \sqrt{G}$. As $G$ accumulates, every weight's effective learning rate
#   $\eta / \sqrt{G}$ shrinks; weights that have received large gradients slow down most.
# - **Adam**: combines two ideas. *Momentum*: it steps along a running average of recent gradients
#   $m$, so that zig-zags cancel out and a consistent direction builds up. *Per-weight scaling*: it
#   divides by the root of a running average of squared gradients $v$ (like AdaGrad, but an average
#   that forgets, so the step does not shrink forever):
#   $w \leftarrow w - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$, with $\beta_1 = 0.9$ and
#   $\beta_2 = 0.999$ as the memories of $m$ and $v$.
#
# To see the step sizes, we give a single weight a chosen sequence of gradients and record how far
# each optimizer moves it, all with learning rate 0.1. Each optimizer is made by a small function
# that receives the weights to train, as `rl.train.fit` also accepts.


# %%
def steps_taken(make_optimizer, gradients):
    """Give one weight the listed gradients, one per update; return how far each update moved it."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    moves = []
    for g in gradients:
        before = w.item()
        w.grad = torch.tensor([g], dtype=torch.float64)  # as if backward() had computed g
        optimizer.step()
        moves.append(round(before - w.item(), 4))
    return moves


def make_sgd(params):
    """Plain SGD at learning rate 0.1."""
    return torch.optim.SGD(params, lr=0.1)


def make_adagrad(params):
    """AdaGrad at learning rate 0.1."""
    return torch.optim.Adagrad(params, lr=0.1)


def make_adam(params):
    """Adam at learning rate 0.1."""
    return torch.optim.Adam(params, lr=0.1)


optimizers = {"SGD": make_sgd, "AdaGrad": make_adagrad, "Adam": make_adam}
for gradients in ([2.0] * 6, [200.0] * 6, [2.0, -2.0] * 3):
    print("gradients", gradients)
    for name, make in optimizers.items():
        print(f"   {name:<8} steps {steps_taken(make, gradients)}")

# %% [markdown]
# Read the three blocks:
# - **the same gradient every time (2.0)**: SGD steps 0.2 every time; AdaGrad's steps shrink as
#   0.1 / √t (0.1, 0.0707, 0.0577, ...); Adam steps about 0.1, the learning rate itself.
# - **a gradient 100 times larger (200)**: SGD's steps grow 100-fold to 20 (far too big: it would
#   shoot past any minimum); AdaGrad and Adam take exactly the same steps as before. Dividing by the
#   root of the squared gradients makes them insensitive to the gradient's scale, which is why one
#   learning rate works for weights whose gradients differ by orders of magnitude.
# - **a gradient that flips sign (a zig-zag)**: SGD bounces back and forth by 0.2; Adam's momentum
#   averages +2 and -2 towards zero, so after its first step it moves only a fraction of that.
#
# AdaGrad's shrinking step, checked against its formula $\eta / \sqrt{t}$ for a constant gradient:

# %%
adagrad_steps = steps_taken(make_adagrad, [2.0] * 6)
formula = []
for t in range(1, 7):
    formula.append(round(0.1 / math.sqrt(t), 4))
adagrad_steps == formula

# %% [markdown]
# ### Exercise 4 · Ten times the learning rate
# Predict, before running anything, the **first** step that SGD, AdaGrad and Adam take when the
# gradient is 2.0 (the first block above) but the learning rate is 1.0 instead of 0.1. Write your
# three numbers; once checked, you can confirm them with `steps_taken` and optimizers of your own
# made with `lr=1.0`.

# %%
my_sgd_step, my_adagrad_step, my_adam_step = ..., ..., ...  # first steps at learning rate 1.0
### BEGIN SOLUTION
my_sgd_step, my_adagrad_step, my_adam_step = 2.0, 1.0, 1.0
### END SOLUTION
ex.learning_rate_10x.check(my_sgd_step, my_adagrad_step, my_adam_step)
# ex.learning_rate_10x.hint()
# ex.learning_rate_10x.solution()

# %% [markdown]
# ### The three optimizers on the same chest X-ray task
#
# Now a real task: **PneumoniaMNIST**, 28 x 28 pixel chest radiographs labelled normal or pneumonia
# (from the MedMNIST collection). If it is not downloaded, `rl.data.load` says in one line how to
# fetch it and stands in with the course's synthetic liver CT (malignant vs benign lesions), so that
# the lesson runs anyway; the line it prints says which task is in use. (With the stand-in, read
# "lesion crop" wherever the text below says "film".)

# %%
data = rl.data.load("pneumoniamnist")
x_train, y_train = data.train
x_val, y_val = data.val
CHANNELS = x_train.shape[1]  # 1 for a radiograph, 3 for the 3-phase CT stand-in
POSITIVE = data.label_names[1]  # the name of class 1: "pneumonia" with PneumoniaMNIST
SET = data.name  # the data in use, named in the claims: "pneumoniamnist", or the stand-in's name
share_positive = y_train.float().mean().item()
print(data.task)
print(f"{len(y_train)} training and {len(y_val)} validation images, {CHANNELS} channel(s)")
print(f"{share_positive:.0%} of the training images are class 1 ({POSITIVE})")

# %% [markdown]
# With PneumoniaMNIST, the data used when it is downloaded, these are 4708 training and 524
# validation films, about three in four with pneumonia; the cell above prints what this run used.
# The run mode decides how many training cases and epochs we use. Every optimizer starts from **the
# same initial weights** (one model, copied), sees the same minibatches in the same order (same
# seed), for the same number of epochs, with the same learning rate, 0.001 (a common default for
# Adam). After each epoch the table's numbers are measured on the validation images, which are never
# used for the updates: the loss, and the *AUC* (area under the ROC curve: 1.0 when every
# pneumonia film is ranked above every normal one, 0.5 for chance; lesson 06).

# %% tags=["nbval-ignore-output"]
N_TRAIN = rl.config.pick(smoke=128, cpu=1500, gpu=len(x_train))
EPOCHS = rl.config.pick(smoke=2, cpu=6, gpu=20)
WIDTH = rl.config.pick(smoke=8, cpu=16, gpu=32)
LR = 1e-3
xs, ys = rl.data.subset(x_train, y_train, N_TRAIN, seed=SEED)  # same class shares as the full set
start = rl.models.small_cnn(in_channels=CHANNELS, width=WIDTH)
n_weights = rl.models.count_parameters(start)
print(f"{N_TRAIN} training cases, {EPOCHS} epochs, {n_weights} weights, lr {LR}")

histories = {}
for name in ["sgd", "adagrad", "adam"]:
    model = copy.deepcopy(start)  # the same starting weights for every optimizer
    histories[name] = rl.train.fit(
        model,
        train=(xs, ys),
        val=(x_val, y_val),
        epochs=EPOCHS,
        batch_size=32,
        optimizer=name,
        lr=LR,
        seed=SEED,
        progress=False,
    )
    h = histories[name]
    print(
        f"{name:<8} train loss {h.train_loss[-1]:.3f}  val loss {h.val_loss[-1]:.3f}  "
        f"val AUC {h.val_metric[-1]:.3f}  ({h.total_seconds:.0f} s)"
    )

# %% [markdown]
# The learning curves of all three in one figure: training loss as solid lines (averaged over each
# epoch while the weights were changing), validation loss as dashed lines; a star marks each run's
# best epoch by validation AUC.

# %%
rl.plot.learning_curves(histories, title="three optimizers, the same start")

# %% tags=["nbval-ignore-output"]
adam = histories["adam"].train_loss[-1]  # the last epoch's training loss
sgd = histories["sgd"].train_loss[-1]
rec.claim(f"{SET}: Adam's training loss < 70% of SGD's", adam < 0.7 * sgd, adam=adam, sgd=sgd)

# %% [markdown]
# At the same learning rate, plain SGD creeps: its steps are 0.001 times the gradient, and the
# gradients of a CNN are small. Adam, which scales each weight's step to about the learning rate,
# gets the training loss down much faster. (Where AdaGrad lands depends on how quickly its steps
# shrink; read it off the table.) Note what the table does *not* say: the lowest training loss is
# not automatically the best model, so compare the validation columns too, with care: Adam's
# validation loss ended above AdaGrad's although its training loss is lower, and its dashed curve
# zig-zags. With one seed, six epochs and a fixed learning rate, such a difference can be
# epoch-to-epoch noise (section 7 measures how large that noise is). And a different learning rate
# for SGD (or momentum) changes the picture; comparing optimizers fairly means tuning each one, which
# is why papers must report them.
#
# ## 5. Online, minibatch and batch learning
#
# How many cases go into each update?
# - **online** learning: one case per update ($X = 1$): many small, noisy steps;
# - **batch** learning: all $N$ cases per update ($X = N$): one precise step per pass;
# - **minibatch** learning, what everyone uses: $X$ between, typically 16 to 256.
#
# One pass over all $N$ training cases is an **epoch**; with minibatches of $X$ cases it takes
# $\lceil N / X \rceil$ updates (iterations): $N / X$ rounded up, because the cases left over after
# the full minibatches still need an update. When $N$ is not a multiple of $X$, the course's training
# loop (`rl.train.fit`) does not leave a small remainder for the last minibatch: it cuts the shuffled
# cases into $\lceil N / X \rceil$ minibatches of nearly equal size (for example 100 cases with
# $X = 32$ make four minibatches of 25, not three of 32 and one of 4). For the full training set in
# use (its size is printed in section 4):

# %%
N = len(x_train)
{X: math.ceil(N / X) for X in [1, 32, 128, N]}

# %% [markdown]
# ### Exercise 5 · Updates per epoch
# Write `my_updates_per_epoch(n_cases, batch_size)`, returning the number of updates in one epoch.
# The check tries it on BreastMNIST's 546 training images in minibatches of 32, on a set that is an
# exact multiple of the minibatch size, and on online and batch learning.


# %%
def my_updates_per_epoch(n_cases, batch_size):
    """The number of updates (minibatches) in one epoch of n_cases in minibatches of batch_size."""
    ### BEGIN SOLUTION
    return math.ceil(n_cases / batch_size)
    ### END SOLUTION


ex.updates_per_epoch.check(my_updates_per_epoch)
# ex.updates_per_epoch.hint()
# ex.updates_per_epoch.solution()

# %% [markdown]
# To check the formula against the training loop itself, we give `rl.train.fit` an SGD optimizer
# that keeps a tally of its updates. `CountingSGD` below is a *subclass* of PyTorch's SGD: it does
# everything SGD does, and in addition adds one to its tally each time it takes a step. Online
# learning is slow, so this runs on a small subset, for two epochs; we also note the seconds an
# epoch takes (the faster of the two, so that a moment of other work on the computer does not
# distort it).


# %%
class CountingSGD(torch.optim.SGD):
    """Plain SGD that counts its updates in `updates`."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.updates = 0

    def step(self, closure=None):
        self.updates += 1  # one tally mark, then the usual SGD step
        return super().step(closure)


# %% tags=["nbval-ignore-output"]
N_SMALL = rl.config.pick(smoke=64, cpu=512, gpu=2048)
x_small, y_small = rl.data.subset(x_train, y_train, N_SMALL, seed=SEED)

counted, seconds = {}, {}
for X in [1, 32, N_SMALL]:
    model = rl.models.small_cnn(in_channels=CHANNELS, width=WIDTH)
    optimizer = CountingSGD(model.parameters(), lr=0.01)
    # amp=False: on a GPU, mixed precision skips an update whenever a gradient overflows (mostly in
    # the first steps, while it finds its loss scale), and here we want to count the plain updates
    history = rl.train.fit(
        model,
        train=(x_small, y_small),
        epochs=2,
        batch_size=X,
        optimizer=optimizer,
        amp=False,
        seed=SEED,
        progress=False,
    )
    counted[X] = optimizer.updates / 2  # per epoch
    seconds[X] = min(history.seconds)  # the faster of the two epochs
    expected = math.ceil(N_SMALL / X)
    print(
        f"X = {X:>5}: expected {expected:>5} updates per epoch, counted {counted[X]:>5.0f}, "
        f"{seconds[X]:.2f} s per epoch"
    )

# %% tags=["nbval-ignore-output"]
formula_holds = True
for X in counted:
    if counted[X] != math.ceil(N_SMALL / X):
        formula_holds = False
n1, n32, nN = counted[1], counted[32], counted[N_SMALL]  # updates per epoch counted
s_online, s_32 = seconds[1], seconds[32]  # seconds per epoch
rec.claim("updates per epoch = ceil(N / X) for X = 1, 32, N", formula_holds, X1=n1, X32=n32, XN=nN)
rec.claim("online epoch over 2x slower than X = 32", s_online > 2 * s_32, online=s_online, x32=s_32)

# %% [markdown]
# The counts match the formula. Online learning is the slowest per epoch by far: each update has a
# fixed cost (launching the computation, updating every weight) that a minibatch of 32 pays once for
# 32 images. Batch learning pushes the same images through the network as minibatches do, so an
# epoch costs about the same or less, but it makes only **one** update per pass over the data, so it
# needs many more passes to get as far. (It does not need all the images in memory at once: the
# gradients of one chunk after another can be added up before that single update. The real price is
# the one update per pass.) Minibatches are the compromise: steps frequent enough to learn quickly,
# large enough to use the hardware well, and a little noise that helps the network generalize.
#
# ## 6. Shuffling every epoch
#
# The training loop draws a new random order of the cases at the start of every epoch, from a
# *seeded* random generator (so that a rerun gives the same orders). Two epochs of 12 cases, cut
# into minibatches of 4:

# %%
shuffler = torch.Generator().manual_seed(SEED)
epoch_1 = torch.randperm(12, generator=shuffler)
epoch_2 = torch.randperm(12, generator=shuffler)
print("epoch 1 minibatches:", [b.tolist() for b in epoch_1.tensor_split(3)])
print("epoch 2 minibatches:", [b.tolist() for b in epoch_2.tensor_split(3)])
rerun = torch.randperm(12, generator=torch.Generator().manual_seed(SEED))
torch.equal(epoch_1, epoch_2), torch.equal(epoch_1, rerun)

# %% [markdown]
# The two epochs use different orders (`False`), and restarting from the same seed gives epoch 1's
# order again (`True`): random, yet repeatable. Why bother? Data often arrive sorted: all normal
# films first, then all pneumonias. Without shuffling, every minibatch would hold one class only and
# pull the weights back and forth between them:

# %%
first_batch_sorted = y_train.sort().values[:32]  # the labels sorted: all class 0 first
order = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(SEED))
first_batch_shuffled = y_train[order[:32]]  # the labels of the first 32 cases in a shuffled order
print(
    f"{POSITIVE} share in the first minibatch, sorted data:  ",
    first_batch_sorted.float().mean().item(),
)
print(
    f"{POSITIVE} share in the first minibatch, shuffled data:",
    round(first_batch_shuffled.float().mean().item(), 3),
)

# %% [markdown]
# A shuffled minibatch looks like the whole training set (its share of class 1 is close to the share
# printed in section 4), so every update is a fair sample. Reshuffling each epoch also means the
# network never sees the same minibatch twice, one more small guard against memorizing.
#
# ## 7. Learning curves (Fig. 9)
#
# A **learning curve** plots the loss after every epoch, on the training cases and on the validation
# cases. The review's Fig. 9 shows the two patterns to look for: (a) while the network learns what
# carries over to new cases, both curves fall together; (b) in *overfitting*, the training loss keeps
# falling while the validation loss stops falling, or rises again: the network has begun to learn
# its training cases by heart.
#
# A word on names: the review calls the second curve the *test* loss, in Fig. 9 and where it
# describes early stopping (stopping when that curve stops improving). A curve that is watched to
# decide when to stop, or which epoch to keep, is what this course (and most of the field) calls a
# **validation** set. A *test* set is kept apart and used once, at the very end, for the number you
# report (lesson 06); if it also chose the epoch, its result would flatter the model.
#
# The short runs of section 4 cannot show these patterns fairly: one seed, six epochs, a fixed
# learning rate, and a validation loss that jumps from epoch to epoch for reasons that have nothing
# to do with overfitting. A fair learning curve needs:
#
# - **enough epochs** for the pattern to appear;
# - **several seeds**. The *seed* fixes the random starting weights and the order of the
#   minibatches. Training the same recipe with several seeds and drawing their mean with a band
#   (from the lowest to the highest run) separates noise (wiggles that differ between seeds) from
#   the trend (what all seeds share);
# - a **learning-rate schedule**: a plan that changes the learning rate during training instead of
#   keeping it fixed. We use **one-cycle**: the learning rate rises from a 25th of its peak to the
#   peak over the first 30% of the updates, then falls smoothly to nearly zero by the last one. The
#   large steps in the middle travel fast; the tiny steps at the end let the weights settle instead
#   of jumping around. (A **cosine** schedule is the same without the rise: it starts at the peak and
#   glides down along half a cosine wave to zero; lesson 05 uses it.)
#
# We also train on a deliberately **small** set, a random 200 of the training films (the share of
# pneumonia kept; the cell below prints the number this run used), so that the network can learn
# them nearly by heart within the epochs a CPU can afford. That is what makes the second pattern
# appear; lesson 05 measures it and tries the countermeasures.

# %% tags=["nbval-ignore-output"]
N_CURVE = rl.config.pick(smoke=64, cpu=200, gpu=200)
CURVE_EPOCHS = rl.config.pick(smoke=3, cpu=30, gpu=60)
CURVE_SEEDS = [SEED + i for i in range(rl.config.pick(smoke=2, cpu=3, gpu=5))]
PEAK_LR = 2e-3
x_few, y_few = rl.data.subset(x_train, y_train, N_CURVE, seed=SEED)  # the same films for every seed
print(f"{N_CURVE} training images, {CURVE_EPOCHS} epochs, seeds {CURVE_SEEDS}, peak lr {PEAK_LR}")


def train_one_seed(seed):
    """Train the lesson CNN on the small set with one seed (Adam, one-cycle); return its history."""
    rl.config.seed_everything(seed)  # the starting weights come from the seed
    model = rl.models.small_cnn(in_channels=CHANNELS, width=16)
    return rl.train.fit(
        model,
        train=(x_few, y_few),
        val=(x_val, y_val),
        epochs=CURVE_EPOCHS,
        batch_size=32,
        optimizer="adam",
        lr=PEAK_LR,
        schedule="onecycle",
        seed=seed,  # the minibatch order comes from the seed too
        progress=False,
    )


curves = []
for seed in CURVE_SEEDS:
    h = train_one_seed(seed)
    curves.append(h)
    print(
        f"seed {seed}: train loss {h.train_loss[0]:.3f} -> {h.train_loss[-1]:.3f}, "
        f"val loss {h.val_loss[0]:.3f} -> {h.val_loss[-1]:.3f}  ({h.total_seconds:.0f} s)"
    )

# %% [markdown]
# The one-cycle schedule in numbers: the learning rate at the end of every few epochs (the same for
# every seed).

# %% tags=["nbval-ignore-output"]
shown = list(range(1, CURVE_EPOCHS, max(CURVE_EPOCHS // 10, 1))) + [CURVE_EPOCHS]
for epoch in shown:
    print(f"end of epoch {epoch:>3}: learning rate {curves[0].lr[epoch - 1]:.6f}")

# %% [markdown]
# The curves of all seeds: the line is their mean, the shaded band runs from the lowest to the
# highest seed in each epoch. The loss axis is *logarithmic*: each step up the axis multiplies the
# loss by the same factor, so a fall from 0.1 to 0.01 looks as large as one from 1 to 0.1. (On a
# plain axis every loss below about 0.05 would be squeezed against the bottom.) The right panel is
# the validation AUC.

# %%
title = f"{N_CURVE} training images, {len(CURVE_SEEDS)} seeds, one-cycle"
figure = rl.plot.learning_curves(curves, metrics=("loss", "auc"), title=title)
figure.axes[0].set_yscale("log")  # the loss panel
figure

# %% [markdown]
# The same in numbers. To find where the validation loss stopped improving, we take the epoch
# with the lowest mean validation loss in the first two thirds of training (call it epoch *k*) and
# compare it with the last epoch.

# %% tags=["nbval-ignore-output"]
train_mean = np.mean([h.train_loss for h in curves], axis=0)  # (epochs,): the mean over seeds
val_mean = np.mean([h.val_loss for h in curves], axis=0)
two_thirds = max(2 * CURVE_EPOCHS // 3, 1)
k = int(np.argmin(val_mean[:two_thirds])) + 1  # epochs count from 1
auc_mean = np.mean([h.val_metric for h in curves], axis=0)
print("epoch   train loss   val loss   val AUC   (means over the seeds)")
for epoch in sorted({1, k, CURVE_EPOCHS}):
    i = epoch - 1  # lists count from 0
    print(f"{epoch:>5}   {train_mean[i]:>10.3f}   {val_mean[i]:>8.3f}   {auc_mean[i]:>7.3f}")

largest_rise = 0.0  # noise: the largest rise of one seed's validation loss between two epochs
for h in curves:
    for before, after in zip(h.val_loss[:-1], h.val_loss[1:]):
        largest_rise = max(largest_rise, after - before)
print(f"largest rise of one seed's validation loss from one epoch to the next: {largest_rise:.3f}")

# %% tags=["nbval-ignore-output"]
t1, tk, tn = train_mean[0], train_mean[k - 1], train_mean[-1]  # training loss: epoch 1, k, last
vk, vn = val_mean[k - 1], val_mean[-1]  # validation loss: epoch k, last
rec.claim(f"{SET}: training loss fell over 10-fold", tn < t1 / 10, train_1=t1, train_last=tn)
rec.claim(f"{SET}: after epoch {k}, train loss fell > 50%", tn < tk / 2, train_k=tk, train_last=tn)
rec.claim(f"{SET}: after epoch {k}, val loss fell < 15%", vn > 0.85 * vk, val_k=vk, val_last=vn)
rec.claim(f"{SET}: final validation loss over 3x training loss", vn > 3 * tn, val=vn, train=tn)

# %% [markdown]
# **What the figure shows.** The training loss (solid) falls epoch after epoch, from about 0.65 to
# about 0.02 (on the logarithmic axis, a nearly straight slope), and the three seeds barely differ.
# The validation loss (dashed) falls with it at first: that is Fig. 9a's pattern. While the learning
# rate is high (roughly epochs 5 to 20, by the table of learning rates) the validation loss jumps up
# and down and the band is wide: the seeds disagree, so these jumps are noise, not a trend. One
# seed's validation loss rose by as much as 0.48 from one epoch to the next (printed above), which is
# why a single run's curve cannot be read epoch by epoch, and why the difference of 0.06 between
# Adam's and AdaGrad's validation loss in section 4, one run each, is weak evidence. Large steps move
# the weights a long way between two validations; as the schedule brings the learning rate down,
# the curves calm.
#
# After epoch *k* (14 in the run printed above) the two curves part. The validation loss improves
# only a little more (from 0.152 to 0.139), while the training loss keeps falling to under a third
# (0.087 to 0.024); at the end the validation loss is more than five times the training loss. The
# network keeps getting better at its own 200 films without getting better at new ones: the start
# of Fig. 9b's overfitting, in its milder form, a validation loss that levels off. Here it did not
# climb again; the tiny final steps of the schedule hold the weights nearly still. The validation
# AUC tells the same story: from 0.53 in epoch 1 it reached 0.985 by epoch 14 and was still 0.985 at
# the end. After epoch 14, nearly all the network learned concerned its own 200 films.
#
# How to read learning curves:
# - the **training** curve should fall; if it does not, the learning rate or the optimizer is wrong
#   (see plain SGD above), or there is a bug;
# - the **validation** curve tells you whether what was learned transfers to images the network
#   never trained on. While it falls with the training curve, the network is still learning general
#   features. When the training curve keeps falling but the validation curve flattens or climbs, the
#   network has started to memorize its training cases: *overfitting*, the review's Fig. 9b and the
#   subject of lesson 05;
# - a single run's epoch-to-epoch wiggles are noise until several seeds agree on them.
#
# A paper that reports only the final accuracy, with no learning curves and no word on how the
# epoch was chosen (on validation cases, not on the test cases), leaves you unable to tell which of
# these happened.
#
# ## Summary
# - The error function turns the network's answers into one number: mean squared error for
#   measurements, softmax cross-entropy for classes. Our by-hand values matched PyTorch's.
# - Backpropagation is the chain rule applied from the loss back to each weight; by hand and by
#   autograd we got the same gradients, and one gradient-descent step lowered the loss.
# - SGD steps in proportion to the gradient with a fixed learning rate; AdaGrad's steps shrink as
#   squared gradients accumulate; Adam adds momentum and per-weight scaling, so its steps are about
#   the learning rate whatever the gradient's scale. On the same task, from the same start, Adam
#   reached a much lower training loss than plain SGD at the same learning rate.
# - An epoch is one pass over the N training cases: ⌈N / X⌉ updates with minibatches of X. Online
#   learning (X = 1) is slow per epoch; batch learning (X = N) makes one update per epoch.
# - The cases are reshuffled every epoch with a seeded generator: random, yet repeatable.
# - Learning curves show training and validation loss per epoch. A fair one uses several seeds
#   (their band shows what is noise) and enough epochs; a schedule such as one-cycle (learning rate
#   up, then down to nearly zero) lets the weights settle. On 200 chest films the training loss fell
#   steadily while the validation loss levelled off after about half the epochs: the curves parted,
#   the sign of overfitting (Fig. 9b). The review calls that second curve "test"; it is a validation
#   set, because it is used to choose.
#
# ## Questions
# 1. A network predicts eGFR 50 and 80 for two patients whose true values are 60 and 80. What is the
#    mean squared error?
#
# <details><summary>Answer</summary>
#
# The errors are -10 and 0 mL/min, their squares 100 and 0, and their mean 50 (mL/min)²: the MSE
# is 50. The square root, about 7.1 mL/min, is the RMSE; the mean absolute error is 5 mL/min. Note
# how one miss of 10 dominates the MSE, because squaring weighs large errors more.
#
# </details>
#
# 2. For the tiny network of section 3, what would the gradient of $w_1$ be if $b_1$ were -2.0
#    instead of -0.2? What does that tell you about a ReLU unit that is "switched off"?
#
# <details><summary>Answer</summary>
#
# Then $z = 0.8 \times 1.5 - 2.0 = -0.8$ is negative, the ReLU outputs $h = 0$, and the factor
# $[z > 0]$ in the chain rule is 0: the gradient of $w_1$ (and of $b_1$) is exactly 0, and so is the
# gradient of $w_2$, because $h = 0$. Gradient descent then cannot change these weights for this
# input: a unit whose ReLU is switched off for every case learns nothing (a "dead" unit), unless
# changes elsewhere (in a deeper network, the layers before it) push $z$ above zero again.
#
# </details>
#
# 3. A colleague trains with plain SGD at learning rate 0.001 and sees the training loss hardly move
#    after 5 epochs. Name two things to try.
#
# <details><summary>Answer</summary>
#
# Raise the learning rate (SGD's step is learning rate times gradient, and a CNN's gradients are
# small; try 0.01 or 0.1 and watch the training loss), or switch to an optimizer that scales its
# steps, such as Adam at 0.001, as in section 4. Momentum for SGD, or a schedule such as one-cycle
# (section 7), can help too. Before all that, check on a handful of cases that the loss can fall at
# all: if it cannot, suspect a bug (labels, image scaling) rather than the optimizer.
#
# </details>
#
# 4. A CT data set has 12,000 slices and you use minibatches of 64. How many updates is one epoch?
#    How many for 30 epochs?
#
# <details><summary>Answer</summary>
#
# 12,000 / 64 = 187.5, rounded up: 188 updates per epoch (187 full minibatches and the 32 slices left
# over, or, in the course's loop, 188 minibatches of nearly equal size). Thirty epochs make
# 30 x 188 = 5640 updates.
#
# </details>
#
# 5. Why would training on films sorted by diagnosis, without shuffling, be a bad idea?
#
# <details><summary>Answer</summary>
#
# Each minibatch would hold one diagnosis only (section 6: the first minibatch of the sorted data had
# no pneumonia at all), so every update would pull the weights towards "everything is normal", then
# towards "everything is pneumonia", instead of towards what tells the two apart. The network would
# end each epoch biased towards whatever class came last. Shuffling makes every minibatch a fair
# sample of the whole training set, and reshuffling each epoch keeps the minibatches from repeating.
#
# </details>
