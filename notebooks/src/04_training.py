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
# - online, minibatch and batch learning; why one *epoch* is ⌈N / X⌉ updates; why the cases are
#   shuffled every epoch;
# - how to read *learning curves* (review Fig. 9a).
#
# **Why a radiologist cares.** Every deep-learning paper says "trained with Adam, learning rate
# 0.001, batch size 32, 50 epochs". These words decide what the network learned and how much it
# cost, and they are where a study can quietly go wrong (a loss that never went down, a validation
# curve nobody looked at). After this lesson you can read that sentence and know what it means.
#
# This lesson follows the review's section on training (Fig. 2 and Fig. 9a): Yasaka K, Akai H,
# Kunimatsu A, Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J
# Radiol 2018;36:257-272. The optimizers are those of Duchi et al. (AdaGrad, J Mach Learn Res 2011)
# and Kingma and Ba (Adam, International Conference on Learning Representations 2015).

# %%
import math

import numpy as np
import torch

import radlab as rl

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("04_training")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. Training in one picture (Fig. 2)
#
# Training repeats one loop, thousands of times:
#
# 1. a minibatch of images goes **forward** through the network, which outputs its answer;
# 2. the **error function** compares the answer with the teaching data (the label) and gives one
#    number, the *loss*: zero for a perfect answer, larger for a worse one;
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
by_hand = sum((p - m) ** 2 for p, m in zip(predicted, measured)) / len(measured)
by_torch = torch.nn.functional.mse_loss(torch.tensor(predicted), torch.tensor(measured)).item()
by_hand, by_torch

# %% [markdown]
# The errors are -4, 6, -5 and 2 mL/min; their squares 16, 36, 25 and 4 average to 20.25, and PyTorch
# agrees. The square root, about 4.5 mL/min, is the typical error in the units a nephrologist uses.
#
# **Softmax cross-entropy** is used for classes. The network outputs one raw score (*logit*) per
# class; softmax turns them into probabilities that add up to 1,
# $p_k = e^{z_k} / \sum_j e^{z_j}$; the loss is minus the logarithm of the probability given to the
# **true** class, $-\log p_{\text{true}}$, averaged over the cases. A confident right answer costs
# almost nothing; a confident wrong answer costs a lot. Two chest films and three classes (normal,
# bacterial pneumonia, viral pneumonia):

# %%
logits = [
    [2.0, 0.5, -1.0],  # film 1: the network favours "normal"
    [0.2, 1.1, 0.9],
]  # film 2: it hesitates between the two pneumonias
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
weights = {
    name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
    for name, value in {"w1": w1, "b1": b1, "w2": w2}.items()
}
torch_loss = (weights["w2"] * torch.relu(weights["w1"] * x + weights["b1"]) - y) ** 2
torch_loss.backward()
auto = {name: w.grad.item() for name, w in weights.items()}
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
#
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
# each optimizer moves it, all with learning rate 0.1:


# %%
def steps_taken(make_optimizer, gradients):
    """Give one weight the listed gradients, one per update; return how far each update moved it."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    moves = []
    for g in gradients:
        before = w.item()
        w.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        moves.append(round(before - w.item(), 4))
    return moves


optimizers = {
    "SGD": lambda params: torch.optim.SGD(params, lr=0.1),
    "AdaGrad": lambda params: torch.optim.Adagrad(params, lr=0.1),
    "Adam": lambda params: torch.optim.Adam(params, lr=0.1),
}
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
adagrad_steps = steps_taken(optimizers["AdaGrad"], [2.0] * 6)
formula = [round(0.1 / math.sqrt(t), 4) for t in range(1, 7)]
adagrad_steps == formula

# %% [markdown]
# ### The three optimizers on the same chest X-ray task
#
# Now a real task: **PneumoniaMNIST**, 28 x 28 pixel chest radiographs labelled normal or pneumonia
# (from the MedMNIST collection). If it is not downloaded, `rl.data.load` says in one line how to
# fetch it and stands in with the course's synthetic liver CT (malignant vs benign lesions), so that
# the lesson runs anyway; the line it prints says which task is in use.

# %%
data = rl.data.load("pneumoniamnist")
x_train, y_train = data.train
x_val, y_val = data.val
print(data.task)
tuple(x_train.shape), tuple(x_val.shape), round(y_train.float().mean().item(), 3)

# %% [markdown]
# The shapes above give the numbers of training and validation images and the share of class 1.
# With PneumoniaMNIST: 4708 training and 524 validation films, about three in four with pneumonia.
# The run mode decides how many training cases and epochs we use. Every optimizer starts from **the
# same initial weights** (one model, copied), sees the same minibatches in the same order (same
# seed), for the same number of epochs, with the same learning rate, 0.001 (a common default for
# Adam).

# %% tags=["nbval-ignore-output"]
import copy

N_TRAIN = rl.config.pick(smoke=128, cpu=1500, gpu=len(x_train))
EPOCHS = rl.config.pick(smoke=2, cpu=6, gpu=20)
WIDTH = rl.config.pick(smoke=8, cpu=16, gpu=32)
LR = 1e-3
xs, ys = rl.data.subset(x_train, y_train, N_TRAIN, seed=SEED)  # same class shares as the full set
start = rl.models.small_cnn(in_channels=x_train.shape[1], width=WIDTH)
print(
    f"{N_TRAIN} training cases, {EPOCHS} epochs, {rl.models.count_parameters(start)} weights, lr {LR}"
)

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
# epoch while the weights were changing), validation loss as dashed lines (the validation films,
# never used for the updates); a star marks each run's best epoch by validation AUC.

# %%
rl.plot.learning_curves(histories, title="three optimizers, the same start")

# %% tags=["nbval-ignore-output"]
final_train = {name: h.train_loss[-1] for name, h in histories.items()}
for name, h in histories.items():
    rec.measure(f"train_loss_{name}", h.train_loss[-1])
    rec.measure(f"val_loss_{name}", h.val_loss[-1])
    rec.measure(f"val_auc_{name}", h.val_metric[-1])
rec.claim(
    f"after {EPOCHS} epochs at the same learning rate, Adam's training loss is below 70% of plain SGD's",
    final_train["adam"] < 0.7 * final_train["sgd"],
    adam=final_train["adam"],
    sgd=final_train["sgd"],
)

# %% [markdown]
# At the same learning rate, plain SGD creeps: its steps are 0.001 times the gradient, and the
# gradients of a CNN are small. Adam, which scales each weight's step to about the learning rate,
# gets the training loss down much faster. (Where AdaGrad lands depends on how quickly its steps
# shrink; read it off the table.) Note what the table does *not* say: the lowest training loss is
# not automatically the best model. Compare the validation columns: a fast optimizer also starts
# sooner to fit the particulars of the training films (lesson 05). And a different learning rate for SGD (or momentum) changes the picture;
# comparing optimizers fairly means tuning each one, which is why papers must report them.
#
# ## 5. Online, minibatch and batch learning
#
# How many cases go into each update?
# - **online** learning: one case per update ($X = 1$): many small, noisy steps;
# - **batch** learning: all $N$ cases per update ($X = N$): one precise step per pass;
# - **minibatch** learning, what everyone uses: $X$ between, typically 16 to 256.
#
# One pass over all $N$ training cases is an **epoch**; with minibatches of $X$ cases it takes
# $\lceil N / X \rceil$ updates (iterations). When $N$ is not a multiple of $X$, the course's
# training loop (`rl.train.fit`) does not leave a small remainder for the last minibatch: it cuts the
# shuffled cases into $\lceil N / X \rceil$ minibatches of nearly equal size (4708 cases with
# $X = 32$: 148 minibatches of 31 or 32 cases). For the full training set in use (with
# PneumoniaMNIST, 4708 films):

# %%
N = len(x_train)
{X: math.ceil(N / X) for X in [1, 32, 128, N]}

# %% [markdown]
# To check this against the training loop itself, we give `rl.train.fit` an SGD optimizer with a
# *hook*: a small function that PyTorch calls after every update, here making one tally mark. Online
# learning is slow, so this runs on a small subset, for two epochs; we also note the seconds an
# epoch takes (the faster of the two, so that a moment of other work on the computer does not
# distort it).

# %% tags=["nbval-ignore-output"]
N_SMALL = rl.config.pick(smoke=64, cpu=512, gpu=2048)
x_small, y_small = rl.data.subset(x_train, y_train, N_SMALL, seed=SEED)
tally = []


def counting_sgd(params):
    """Plain SGD that makes a tally mark after each update."""
    optimizer = torch.optim.SGD(params, lr=0.01)
    optimizer.register_step_post_hook(lambda *args: tally.append(1))
    return optimizer


counted, seconds = {}, {}
for X in [1, 32, N_SMALL]:
    tally.clear()
    model = rl.models.small_cnn(in_channels=x_train.shape[1], width=WIDTH)
    # amp=False: on a GPU, mixed precision skips an update whenever a gradient overflows (mostly in the
    # first steps, while it finds its loss scale), and here we want to count the plain updates
    history = rl.train.fit(
        model,
        train=(x_small, y_small),
        epochs=2,
        batch_size=X,
        optimizer=counting_sgd,
        amp=False,
        seed=SEED,
        progress=False,
    )
    counted[X], seconds[X] = len(tally) / 2, min(history.seconds)  # per epoch
    print(
        f"X = {X:>5}: expected {math.ceil(N_SMALL / X):>5} updates per epoch, counted {counted[X]:>5.0f}, "
        f"{seconds[X]:.2f} s per epoch"
    )

# %% tags=["nbval-ignore-output"]
for X in counted:
    rec.measure(f"seconds_per_epoch_X{X}", seconds[X])
rec.claim(
    "the training loop makes ceil(N / X) updates per epoch, for online, minibatch and batch learning",
    all(counted[X] == math.ceil(N_SMALL / X) for X in counted),
    **{f"X{X}": counted[X] for X in counted},
)
rec.claim(
    "an epoch of online learning takes more than twice as long as one with minibatches of 32",
    seconds[1] > 2 * seconds[32],
    online_s=seconds[1],
    minibatch_s=seconds[32],
)

# %% [markdown]
# The counts match the formula. Online learning is the slowest per epoch by far: each update has a
# fixed cost (launching the computation, updating every weight) that a minibatch of 32 pays once for
# 32 images. Batch learning pushes the same images through the network as minibatches do, so an
# epoch costs roughly the same, but it makes only **one** update per pass over the data, so it needs
# many more passes to get as far. (It does not need all the images in memory at once: the gradients
# of one chunk after another can be added up before that single update. The real price is the one
# update per pass.) Minibatches are the compromise: steps frequent enough to learn quickly, large
# enough to use the hardware well, and a little noise that helps the network generalize.
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
first_batch_sorted = y_train.sort().values[:32]
first_batch_shuffled = y_train[
    torch.randperm(len(y_train), generator=torch.Generator().manual_seed(SEED))[:32]
]
POSITIVE = data.label_names[1]  # the name of class 1: "pneumonia" with PneumoniaMNIST
print(
    f"{POSITIVE} share in the first minibatch, sorted data:  ",
    first_batch_sorted.float().mean().item(),
)
print(
    f"{POSITIVE} share in the first minibatch, shuffled data:",
    round(first_batch_shuffled.float().mean().item(), 3),
)

# %% [markdown]
# Shuffled minibatches look like the whole training set (about three quarters pneumonia), so every
# update is a fair sample. Reshuffling each epoch also means the network never sees the same
# minibatch twice, one more small guard against memorizing.
#
# ## 7. Learning curves (Fig. 9a)
#
# A **learning curve** plots the loss per epoch on the training cases and on the validation cases.
# The review's Fig. 9a shows the healthy pattern: both go down together. Here are the curves of the
# Adam run above, with the epoch that had the best validation AUC marked. Check whether they follow
# that pattern all the way:

# %%
rl.plot.learning_curves(histories["adam"].as_dict(), metrics=("loss",))

# %% tags=["nbval-ignore-output"]
h = histories["adam"]
lowest = int(np.argmin(h.val_loss)) + 1
rec.measure("adam_epoch_lowest_val_loss", lowest)
print(
    f"training loss: {h.train_loss[0]:.3f} in epoch 1 -> {h.train_loss[-1]:.3f} in epoch {h.epoch[-1]}"
)
print(
    f"validation loss: lowest in epoch {lowest} ({min(h.val_loss):.3f}), {h.val_loss[-1]:.3f} at the end"
)
print(f"best validation AUC in epoch {h.best_epoch}")
rec.claim(
    "Adam's validation loss ended above its lowest value while its training loss kept falling",
    h.val_loss[-1] > min(h.val_loss) and h.train_loss[-1] < h.train_loss[lowest - 1],
    lowest_epoch=lowest,
    val_lowest=min(h.val_loss),
    val_last=h.val_loss[-1],
    train_at_lowest=h.train_loss[lowest - 1],
    train_last=h.train_loss[-1],
)

# %% [markdown]
# They follow it only at first. The training loss kept falling, but the validation loss was lowest
# a few epochs before the end and then rose again (the numbers are printed above). From that
# epoch on, the two curves part: the network kept getting better on its own training films and
# worse, in loss, on films it had not seen. That is not Fig. 9a's healthy pattern but the start of
# the review's Fig. 9b, overfitting; here it starts after only a few epochs, with a fast optimizer on
# a subset of the training films. Lesson 05 measures it and tries the countermeasures.
#
# The dotted line marks the epoch with the best validation AUC; it need not be the epoch with the
# lowest validation loss, because the two measure different things (AUC: how well the films are
# ranked; loss: also how well calibrated the probabilities are). In this run the best AUC came later
# than the lowest loss (both printed above): the network still ranked the films well while its loss
# rose. A loss that rises while the AUC holds usually means the probabilities have become more
# extreme than the films justify, and a confident wrong answer costs a lot of loss.
#
# How to read them:
# - the **training** curve should fall; if it does not, the learning rate or the optimizer is wrong
#   (see plain SGD above), or there is a bug;
# - the **validation** curve tells you whether what was learned transfers to films the network
#   never trained on. While it falls with the training curve, the network is still learning general
#   features. When the training curve keeps falling but the validation curve flattens or climbs, the
#   network has started to memorize its training films: *overfitting*, the review's Fig. 9b and the
#   subject of lesson 05.
#
# A paper that reports only the final accuracy, with no learning curves and no word on how the
# epoch was chosen, leaves you unable to tell which of these happened.
#
# ## Summary
# - The error function turns the network's answers into one number: mean squared error for
#   measurements, softmax cross-entropy for classes. Our by-hand values matched PyTorch's.
# - Backpropagation is the chain rule applied from the loss back to each weight; by hand and by
#   autograd we got the same gradients, and one gradient-descent step lowered the loss.
# - SGD steps in proportion to the gradient with a fixed learning rate; AdaGrad's steps shrink as
#   squared gradients accumulate; Adam adds momentum and per-weight scaling, so its steps are about
#   the learning rate whatever the gradient's scale. On the same chest X-ray task, from the same
#   start, Adam reached a much lower training loss than plain SGD at the same learning rate.
# - An epoch is one pass over the N training cases: ⌈N / X⌉ updates with minibatches of X. Online
#   learning (X = 1) is slow per epoch; batch learning (X = N) makes one update per epoch.
# - The cases are reshuffled every epoch with a seeded generator: random, yet repeatable.
# - Learning curves show training and validation loss per epoch; their divergence is the sign of
#   overfitting. Our Adam run showed it: its validation loss was lowest a few epochs before the end
#   and then rose while the training loss kept falling.
#
# ## Questions
# 1. A network predicts eGFR 50 and 80 for two patients whose true values are 60 and 80. What is the
#    mean squared error?
# 2. For the tiny network of section 3, what would the gradient of $w_1$ be if $b_1$ were -2.0
#    instead of -0.2? What does that tell you about a ReLU unit that is "switched off"?
# 3. A colleague trains with plain SGD at learning rate 0.001 and sees the training loss hardly move
#    after 5 epochs. Name two things to try.
# 4. A CT data set has 12,000 slices and you use minibatches of 64. How many updates is one epoch?
#    How many for 30 epochs?
# 5. Why would training on films sorted by diagnosis, without shuffling, be a bad idea?
