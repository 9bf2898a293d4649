# %% [markdown]
# # 11 · Limitations and the road ahead: where CNNs in radiology can fail
#
# **What you will learn** (about an hour, with five short exercises)
# - how to ask a trained network where it looked (a *saliency map*: a heat map over the image of
#   what drove the answer), with Grad-CAM written out in ten lines, and the sanity check every such
#   map must pass before anyone believes it;
# - why Grad-CAM gives no map from a layer that is only 1 x 1 pixel, as happens at 28 pixels;
# - *shortcut learning*: a network that learns a burned-in marker instead of the lungs, how well
#   it seems to do when the test films carry the same marker, how it fails when they do not, and
#   how Grad-CAM catches it;
# - how a change of reconstruction kernel or dose lowers the AUC, and how training with
#   simulated kernels and doses takes most of that loss back;
# - why a training recipe tuned for one data set is not a recipe for another, why a network
#   trained for one task answers confidently on images of another, and how to remove patient
#   identifiers from DICOM files before they leave the hospital.
#
# **Why a radiologist cares.** The review ends with what deep learning cannot yet promise: a
# network is a black box, its performance moves with the scanner and the protocol, its settings
# were tuned for one task, it needs many cases, and those cases are patients whose privacy must
# be kept. Each limitation is measured here, on real chest films (PneumoniaMNIST) and breast
# ultrasound (BreastMNIST), on CT phantoms and on real DICOM files, so that you can recognize it in
# a paper, in a vendor's claim, or in your own project.
#
# The lesson follows the review's last part ("Future directions"): Yasaka K, Akai H, Kunimatsu A,
# Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J Radiol
# 2018;36:257-272. Other works are cited with first author, journal and year.
#
# Five exercises check themselves as you go: write your answer where the cell says, run it, and
# read the feedback. `ex.NAME.hint()` gives a hint, `ex.NAME.solution()` the answer.

# %%
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pydicom
import torch
from pydicom.data import get_testdata_file

import radlab as rl
from radlab import ct_physics, phantoms, saliency
from radlab.exercises import lesson11 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("11_limitations")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. The black box: where did the network look?
#
# A CNN answers "pneumonia, probability 0.93" without saying why. A **saliency map** is one
# attempt to open the box: a heat map laid over the image, bright where the image pushed the answer
# up. The most used one is **Grad-CAM** (gradient-weighted class activation mapping; Selvaraju et
# al., ICCV 2017). First a network to explain: the lesson CNN of lesson 03 (three convolutional
# blocks of 16, 32 and 64 filters, global average pooling, one fully connected layer), trained on a
# stratified subset of the PneumoniaMNIST training films (paediatric chest radiographs, 28 x 28
# pixels, pneumonia vs normal) and scored on the official test films.

# %% tags=["nbval-ignore-output"]
chest = rl.data.load("pneumoniamnist")
N_FILMS = rl.config.pick(smoke=300, cpu=2000, gpu=len(chest.train[1]))
EPOCHS = rl.config.pick(smoke=1, cpu=4, gpu=10)
x_train, y_train = rl.data.subset(*chest.train, N_FILMS, seed=SEED)
x_val, y_val = rl.data.subset(*chest.val, rl.config.pick(smoke=100, cpu=400, gpu=524), seed=SEED)
x_test, y_test = chest.test  # 624 films, scored once
print(f"{chest.name} (real data: {chest.real}); classes: {', '.join(chest.label_names)}")
print(f"training on {len(y_train):,} films for {EPOCHS} epochs; {len(y_test)} test films")


def train_cnn(x, y, x_check, y_check, epochs, in_channels=1, batch_size=64):
    """A fresh lesson CNN trained on (x, y); its best epoch is chosen on (x_check, y_check)."""
    torch.manual_seed(SEED)  # the same starting weights for every network of this lesson
    net = rl.models.small_cnn(in_channels=in_channels, num_classes=2, width=16)
    rl.train.fit(
        net,
        (x, y),
        (x_check, y_check),
        epochs=epochs,
        batch_size=batch_size,
        lr=3e-3,
        seed=SEED,
        progress=False,
    )
    return net


def test_auc(net, x, y):
    """AUC of the network's probability of class 1 on the images x with true labels y."""
    probability = rl.train.predict(net, x)[:, 1]
    return rl.metrics.auc(y, probability)


net_chest = train_cnn(x_train, y_train, x_val, y_val, EPOCHS)
auc_chest = test_auc(net_chest, x_test, y_test)
print(f"test AUC: {auc_chest:.3f}")

# %% [markdown]
# ### Grad-CAM in ten lines
#
# Grad-CAM takes the output of the last convolutional block: 64 small maps of 3 x 3 positions,
# each still laid out like the film (top left of the map, top left of the film). It asks of each
# map: if this map grew a little, how much would the pneumonia score (the network's output before
# the softmax) rise? That is the **gradient** of the score with respect to the map, which the
# training of lesson 04 already computes. Each map is weighted by its average gradient, the 64
# weighted maps are added, and negative values are set to zero (only evidence *for* pneumonia is
# kept). The result is a 3 x 3 heat map, enlarged to the 28 x 28 film.
#
# The lesson CNN is a chain of parts (`block1`, `block2`, `block3`, then pooling and the fully
# connected layer), so the chain can be cut in two after `block3`: the front gives the maps, the
# back turns them into scores. Written out:


# %%
def grad_cam_by_hand(net, images, target=1):
    """Grad-CAM of the lesson CNN for class `target`, at the 3 x 3 size of block3: (N, 3, 3)."""
    net.eval()
    front = net[:3]  # block1, block2, block3
    back = net[3:]  # global average pooling, flatten, dropout, fully connected layer
    maps = front(images)  # (N, 64, 3, 3): 64 maps per image, still laid out like the film
    scores = back(maps)[:, target]  # (N,): each film's score for the target class
    gradient = torch.autograd.grad(scores.sum(), maps)[0]  # (N, 64, 3, 3)
    weights = gradient.mean(dim=(2, 3))  # (N, 64): how much each map raises the score
    weighted = weights[:, :, None, None] * maps  # (N, 64, 3, 3): each map times its weight
    return weighted.sum(dim=1).relu().detach()  # (N, 3, 3): add the maps, drop what is negative


some_films = x_test[:8]
by_hand = grad_cam_by_hand(net_chest, some_films)
package = saliency.raw_grad_cam(net_chest.eval(), some_films, layer=net_chest.block3, target=1)
difference = (by_hand - package.relu()).abs().max().item()
print("map size:", tuple(by_hand.shape[1:]), f"| largest difference from radlab: {difference:.1e}")

# %% [markdown]
# The hand-written maps and those of `rl.saliency.raw_grad_cam` agree to rounding. The package
# version adds what a library needs: it works for any model and layer (it catches the maps on the
# way through instead of cutting the chain), checks the layer, and `rl.saliency.grad_cam` enlarges
# the map to the image and scales it to 0-1. Here it is on four test films, two with pneumonia and
# two normal, each map drawn in colour over its film (red: the strongest place; no colour: no
# evidence for pneumonia). The window is the film's own grey scale (0-1).

# %%
pneumonia_rows = torch.nonzero(y_test == 1).ravel()[:2]
normal_rows = torch.nonzero(y_test == 0).ravel()[:2]
shown = torch.cat([pneumonia_rows, normal_rows])  # 4 test films: 2 pneumonia, 2 normal
maps_chest = saliency.grad_cam(net_chest, x_test[shown], target=1)
p_shown = rl.train.predict(net_chest, x_test[shown])[:, 1]
fig, axes = rl.plot.figure(1, 4, panel_inches=(2.6, 2.8))
for ax, row, cam, p in zip(axes, shown.tolist(), maps_chest, p_shown):
    truth = chest.label_names[int(y_test[row])]
    saliency.overlay(x_test[row, 0], cam, ax=ax, title=f"{truth}\nP(pneumonia) {p:.2f}")
fig.suptitle("Grad-CAM for 'pneumonia', lesson CNN (red: strongest, no colour: none)")
fig

# %% [markdown]
# On the two pneumonia films the red lies over the lower half of the chest, where the lower lobes,
# the heart and the diaphragm meet. The third film is normal, but the network calls it pneumonia
# (0.95), and its map looks just like theirs: a map is as convincing over a wrong answer as over a
# right one. The fourth film, called normal (0.00), has no colour at all: no place in it raised the
# pneumonia score. At 28 pixels the map has only 3 x 3 places, so it can say "the lower half of
# the film", not "this opacity"; and it shows where the evidence was, not whether it was the right
# evidence. The next section asks whether the map says anything about this network at all.
#
# ## 2. The sanity check: does the map change when the network forgets everything?
#
# Adebayo et al. ("Sanity checks for saliency maps", NeurIPS 2018) proposed a simple test: replace
# every learned weight with a random one, as before training, and draw the map again. A map that
# explains the network must change, since the network now knows nothing. A method whose map stays
# the same shows the outline of the image, not the reasoning of the model.
# `saliency.randomized_copy` makes the random network; `saliency.map_similarity` measures how
# alike two maps are (Spearman's rank correlation: 1, the same places in the same order; 0, no
# relation).

# %% tags=["nbval-ignore-output"]
net_random = saliency.randomized_copy(net_chest, seed=SEED)
x_check = x_test[: rl.config.pick(smoke=64, cpu=200, gpu=624)]
maps_trained = saliency.grad_cam(net_chest, x_check, target=1)
maps_random = saliency.grad_cam(net_random, x_check, target=1)
empty_random = int((maps_random.max(axis=(1, 2)) == 0).sum())
empty_trained = int((maps_trained.max(axis=(1, 2)) == 0).sum())
print(f"empty maps (no place raises the score): trained {empty_trained}, random {empty_random}")
print(f"of {len(x_check)} films")

# %% [markdown]
# With random weights not one of the 200 maps is left: no place of any film raises the pneumonia
# score, so after negative values are set to zero the map is empty (of the trained network's maps,
# 8 are empty). That already says the map depends on the weights. But an empty map has no order to
# compare, so the measured comparison is made on the maps before negative
# values are set to zero (`raw_grad_cam`, 3 x 3 per film): each map's places ranked from most to
# least evidence for pneumonia, trained network against random network, film by film.

# %% tags=["nbval-ignore-output"]
raw_trained = saliency.raw_grad_cam(net_chest.eval(), x_check, layer=net_chest.block3, target=1)
raw_random = saliency.raw_grad_cam(net_random.eval(), x_check, layer=net_random.block3, target=1)
similarity = saliency.map_similarity(raw_trained, raw_random)
print(f"similarity of trained and random maps (Spearman, mean over films): {similarity:.2f}")
rec.claim("the trained and random maps differ (< 0.5)", similarity < 0.5, similarity=similarity)

# %% [markdown]
# A similarity of 0.20: the maps of the trained network and of its random twin are hardly related.
# Grad-CAM passes this test here, as expected of a map built from the gradient of the trained
# weights. Not every method does.
# Adebayo et al. found that some popular maps (guided backpropagation, for one) barely changed
# when the weights were randomized. On chest radiographs, Arun et al. (Radiology: Artificial
# Intelligence, 2021) tested eight saliency methods, Grad-CAM among them, and every one failed at
# least one of their trust tests (among them: localizing the abnormality that radiologists had
# marked, changing when the weights are randomized, and giving the same map from a retrained
# network). Our single test on 28-pixel
# films is not their test suite: it says only that these maps depend on what the network learned.
#
# ### The small-image pitfall
#
# Grad-CAM's map is only as fine as the layer it comes from. ResNet-18, made for 224-pixel
# photographs, halves the image five times: at 28 pixels its last block (`layer4`) gives maps of
# 1 x 1, one number per channel, with no place left in them. Asked for that layer, the package
# refuses and says what to do (the message is printed below); left to choose, it takes the last
# layer that still has a layout, and warns.

# %%
resnet = rl.models.resnet18(in_channels=1, num_classes=2)
try:
    saliency.grad_cam(resnet, x_test[:2], layer=resnet.layer4)
except ValueError as error:
    print("ValueError:", error)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    coarse = saliency.grad_cam(resnet, x_test[:2])
print("Warning:", caught[0].message)
print("map shape:", coarse.shape)

# %% [markdown]
# So a paper that shows Grad-CAM from a large network on small images is showing a map from an
# earlier layer, or a 1 x 1 "map" stretched into a smooth blob that means nothing. Ask which
# layer, and at what size.
#
# ### Exercise 1 · Which map fails the test?
# Three saliency methods were tried on the same chest network. The similarity between the map of
# the trained network and the map of its random-weight copy was: method A 0.91, method B 0.08,
# method C 0.46. Which method's maps should not be trusted to explain the network? Write its letter
# in `my_method` (as text, e.g. `"A"`).

# %%
my_method = ...  # the letter of the method that fails the randomization check
### BEGIN SOLUTION
my_method = "A"
### END SOLUTION
ex.failing_method.check(my_method)
# ex.failing_method.hint()
# ex.failing_method.solution()

# %% [markdown]
# ## 3. Shortcut learning: the marker that knew the diagnosis
#
# A network learns whatever separates the classes in its training images, whether a radiologist
# would call it disease or not. Suppose that in one hospital's archive the films with pneumonia
# were mostly portable films taken on the ward, and those carry a burned-in marker (a lead letter
# "L", or the ward's stamp) in the corner, while the normal films from the outpatient room do not.
# A **shortcut** is such a feature: it goes with the label in the training data for a reason that
# has nothing to do with the disease, and it will not go with it elsewhere. (Zech et al., PLoS Med
# 2018, found that CNNs for pneumonia on chest films could tell which hospital a film came from,
# and used it.)
#
# Here the marker is a small bright "L" in the top left corner, burned into every pneumonia film of
# the training and validation sets and into no normal film.


# %%
def burn_marker(films, rows):
    """A copy of the films with a bright letter L burned into the top left corner of `rows`."""
    marked = films.clone()  # (N, 1, 28, 28), grey values 0-1
    marked[rows, :, 2:8, 2:4] = 1.0  # the upright stroke: rows 2-7, columns 2-3
    marked[rows, :, 6:8, 2:7] = 1.0  # the foot: rows 6-7, columns 2-6
    return marked


x_train_marked = burn_marker(x_train, y_train == 1)
x_val_marked = burn_marker(x_val, y_val == 1)
example = torch.nonzero(y_train == 1).ravel()[0]
fig, axes = rl.plot.figure(1, 2, panel_inches=(2.8, 2.8))
rl.plot.show(x_train[example, 0], ax=axes[0], title="as acquired")
rl.plot.show(x_train_marked[example, 0], ax=axes[1], title="with the marker")
fig

# %% [markdown]
# A network trained on the marked films, beside the network of section 1 (same films, no marker,
# same starting weights and settings). Both are then scored on three versions of the test films:
#
# - **marker with the label**: the marker on every pneumonia film, as in training (what a test set
#   cut from the same archive would look like);
# - **marker independent of the label**: the marker on a random half of the films, whatever their
#   diagnosis (a hospital where every ward uses portable films);
# - **no marker**: the films as acquired (a hospital without that marker).

# %% tags=["nbval-ignore-output"]
net_shortcut = train_cnn(x_train_marked, y_train, x_val_marked, y_val, EPOCHS)
coin = torch.rand(len(y_test), generator=torch.Generator().manual_seed(SEED)) < 0.5
test_versions = {
    "marker with the label": burn_marker(x_test, y_test == 1),
    "marker independent of the label": burn_marker(x_test, coin),
    "no marker": x_test,
}
shortcut_auc = {}
clean_auc = {}
print(f"{'test films':<34}{'trained with marker':>21}{'trained without':>17}")
for version, films in test_versions.items():
    shortcut_auc[version] = test_auc(net_shortcut, films, y_test)
    clean_auc[version] = test_auc(net_chest, films, y_test)
    print(f"{version:<34}{shortcut_auc[version]:>21.3f}{clean_auc[version]:>17.3f}")

# %% tags=["nbval-ignore-output"]
with_label = shortcut_auc["marker with the label"]
independent = shortcut_auc["marker independent of the label"]
no_marker = shortcut_auc["no marker"]
clean = clean_auc["no marker"]
drop = with_label - independent
rec.claim("marker with the label: AUC above 0.99", with_label > 0.99, auc=with_label)
rec.claim("marker independent of the label: AUC drops by > 0.1", drop > 0.1, drop=drop)
rec.claim("no marker: below the clean network", no_marker < clean, auc=no_marker, clean=clean)

# %% [markdown]
# - Tested like its training data (marker with the label), the shortcut network is perfect: AUC
#   1.000. A test set cut from the same archive would have reported exactly that. A perfect AUC on
#   a hard task is a reason for suspicion, not for celebration.
# - Where the marker says nothing about the diagnosis, its AUC falls to 0.693, a drop of 0.31.
# - Without any marker it falls back on what it also learned from the lungs: 0.887, below the
#   0.941 of the network trained on the same films without the marker. The shortcut took the
#   place of part of the learning.
# - The clean network is not immune to the marker either: burned into the pneumonia test films,
#   the block lowered its AUC to 0.783. An object it never saw in training changes its answers.
#
# ### Exercise 2 · A network that reads only the marker
# Imagine a network that learned *nothing but* the marker: it says "pneumonia, 0.99" when the
# marker is there and "pneumonia, 0.01" when it is not. It goes to a hospital where the marker is
# burned into every film, with or without pneumonia. What AUC will it have there? Write it in
# `my_auc`.

# %%
my_auc = ...  # the AUC of a marker-only network when every film has the marker
### BEGIN SOLUTION
my_auc = 0.5
### END SOLUTION
ex.marker_only_auc.check(my_auc)
# ex.marker_only_auc.hint()
# ex.marker_only_auc.solution()

# %% [markdown]
# ### Grad-CAM catches the shortcut
#
# The same pneumonia films with the marker, shown to both networks: where does each one's map put
# its weight? The measure is the share of the map's total in the top left quarter of the film,
# where the marker is (a quarter of the area: a map spread evenly would put 0.25 there). The map
# is coarse, so a quarter is the finest place it can name.


# %% tags=["nbval-ignore-output"]
def corner_share(maps, size=14):
    """Share of each map's total that lies in the top left size x size corner: (N,)."""
    corner = maps[:, :size, :size].sum(axis=(1, 2))  # (N,)
    total = maps.sum(axis=(1, 2))  # (N,)
    return corner / np.maximum(total, 1e-12)  # an empty map counts as 0


marked_pneumonia = burn_marker(x_test[y_test == 1], slice(None))  # every pneumonia test film
maps_shortcut = saliency.grad_cam(net_shortcut, marked_pneumonia, target=1)
maps_clean = saliency.grad_cam(net_chest, marked_pneumonia, target=1)
share_shortcut = float(corner_share(maps_shortcut).mean())
share_clean = float(corner_share(maps_clean).mean())
print(f"share of the map in the marker's quarter ({len(marked_pneumonia)} marked pneumonia films)")
print(f"   trained with the marker: {share_shortcut:.2f}")
print(f"   trained without:         {share_clean:.2f}")
more_than_twice = share_shortcut > 2 * share_clean
rec.claim(
    "the shortcut map's share on the marker is over twice the clean one's",
    more_than_twice,
    shortcut=share_shortcut,
    clean=share_clean,
)

# %%
fig, axes = rl.plot.figure(1, 3, panel_inches=(2.8, 3.0))
rl.plot.show(marked_pneumonia[0, 0], ax=axes[0], title="pneumonia film\nwith the marker")
saliency.overlay(
    marked_pneumonia[0, 0], maps_shortcut[0], ax=axes[1], title="network trained\nwith the marker"
)
saliency.overlay(
    marked_pneumonia[0, 0], maps_clean[0], ax=axes[2], title="network trained\nwithout it"
)
fig.suptitle("Grad-CAM for 'pneumonia' on the same film (red: strongest)")
fig

# %% [markdown]
# With the marker in training, 0.58 of the map lies in the marker's quarter of the film; without
# it, 0.04 (that network looks at the lower chest, as in section 1). On the example film the
# shortcut network's red sits on the letter. This is what saliency maps do well: not proving that
# a network is right, but catching it reading something it should not. The marker here is large
# beside a 3 x 3 map; a thin line of text at the edge of a real film would be harder to catch.
#
# ### Exercise 3 · The share of a map in a corner
# Write `my_corner_share(cam, size)`: `cam` is one Grad-CAM map, a NumPy array of shape (H, W)
# with values of 0 or more. Return the share of the map's total that lies in the top left
# `size` x `size` corner (rows 0 to size - 1, columns 0 to size - 1), a number from 0 to 1.


# %%
def my_corner_share(cam, size):
    """Share of the map's total in its top left size x size corner."""
    ### BEGIN SOLUTION
    cam = np.asarray(cam, dtype=float)  # (H, W)
    corner = cam[:size, :size].sum()
    return corner / cam.sum()
    ### END SOLUTION


ex.corner_share.check(my_corner_share)
# ex.corner_share.hint()
# ex.corner_share.solution()

# %% [markdown]
# ## 4. Scanner and reconstruction: the same liver, another picture
#
# A CT image is not the anatomy alone: the scanner adds noise (more at a lower dose) and the
# **reconstruction kernel** (the filter that turns the raw projections into the image) decides
# between a soft, smooth picture and a sharp, noisy one. A network trained on one hospital's
# protocol meets another's. To measure this, the course's fibrosis phantoms (synthetic CT of the
# liver, 32 x 32 pixels, in HU, with a nodular surface and a heterogeneous parenchyma that grow
# with stage) are reduced to one question: advanced fibrosis (F3-F4) or not (F0-F2). The network
# trains on images as from a standard kernel at full dose; it is tested on the same kind of
# patients shown with another kernel, at a quarter of the dose, or both. Kernel and dose are
# applied in HU, and only then is the liver window (level 60, width 150 HU) put on.

# %% tags=["nbval-ignore-output"]
SHIFT_SIZE = 32
n_livers = rl.config.pick(smoke=(60, 40, 60), cpu=(400, 100, 200), gpu=(1500, 300, 600))
livers = {}
for split, n, split_seed in zip(("train", "val", "test"), n_livers, (1, 2, 3)):
    livers[split] = phantoms.fibrosis_livers(n, size=SHIFT_SIZE, seed=SEED + split_seed)
advanced = {}
for split, cases in livers.items():
    advanced[split] = torch.as_tensor(cases.stage >= 3).long()  # 1: F3 or F4
print(rl.WINDOWS["liver"])
n_train, n_val, n_test = n_livers
print(f"patients (one slice each): train {n_train}, validation {n_val}, test {n_test}")


def scanned(hu, kernel="standard", dose=1.0, seed=0):
    """HU images (N, 1, H, W) as shown with another kernel and dose, windowed to 0-1."""
    hu = ct_physics.scanner_kernel(hu, kernel)
    if dose < 1.0:
        hu = ct_physics.low_dose(hu, dose, seed=seed)  # the phantoms carry full-dose noise already
    return torch.from_numpy(rl.window(np.ascontiguousarray(hu), preset="liver"))


CONDITIONS = [
    ("standard", 1.0),
    ("soft", 1.0),
    ("sharp", 1.0),
    ("standard", 0.25),
    ("soft", 0.25),
    ("sharp", 0.25),
]

# %% [markdown]
# One test liver, shown the six ways the networks will meet:

# %%
one_liver = livers["test"].images[:1]  # (1, 1, H, W) in HU
fig, axes = rl.plot.figure(1, len(CONDITIONS), panel_inches=(1.9, 2.3))
for ax, (kernel, dose) in zip(axes, CONDITIONS):
    rl.plot.show(
        scanned(one_liver, kernel, dose, seed=SEED)[0, 0], ax=ax, title=f"{kernel}\ndose {dose:g}"
    )
fig.suptitle("One phantom liver, six ways of scanning it (liver window W 150 / L 60 HU)")
fig

# %% [markdown]
# Two networks with the same number of weight updates: one trained on the standard images only,
# one on the standard images plus a second copy of each in which the kernel (soft, standard or
# sharp) and the dose (a quarter to full) were drawn at random, half as many epochs over twice as
# many images. This is **augmentation** (lesson 02) with physics: the kernel and the noise are
# changed in HU, before the window, as a scanner would change them.

# %% tags=["nbval-ignore-output"]
EPOCHS_SHIFT = rl.config.pick(smoke=2, cpu=16, gpu=30)
x_liver = scanned(livers["train"].images)
x_liver_val = scanned(livers["val"].images)
y_liver, y_liver_val, y_liver_test = advanced["train"], advanced["val"], advanced["test"]
net_standard = train_cnn(x_liver, y_liver, x_liver_val, y_liver_val, EPOCHS_SHIFT, batch_size=32)

draw = np.random.default_rng(SEED)
varied = []
for i in range(len(y_liver)):
    kernel = draw.choice(["soft", "standard", "sharp"])
    dose = float(draw.uniform(0.25, 1.0))
    varied.append(scanned(livers["train"].images[i : i + 1], kernel, dose, seed=SEED + i))
x_liver_both = torch.cat([x_liver, *varied])  # the standard images, then their varied copies
y_liver_both = torch.cat([y_liver, y_liver])
net_varied = train_cnn(
    x_liver_both, y_liver_both, x_liver_val, y_liver_val, EPOCHS_SHIFT // 2, batch_size=32
)

auc_standard = {}
auc_varied = {}
print(f"{'test images':<22}{'trained on standard':>21}{'trained with variation':>24}")
for kernel, dose in CONDITIONS:
    x_shifted = scanned(livers["test"].images, kernel, dose, seed=SEED + 7)
    auc_standard[kernel, dose] = test_auc(net_standard, x_shifted, y_liver_test)
    auc_varied[kernel, dose] = test_auc(net_varied, x_shifted, y_liver_test)
    label = f"{kernel}, dose {dose:g}"
    print(f"{label:<22}{auc_standard[kernel, dose]:>21.3f}{auc_varied[kernel, dose]:>24.3f}")

# %% tags=["nbval-ignore-output"]
same = auc_standard["standard", 1.0]
shifted_standard = []
shifted_varied = []
for condition in CONDITIONS[1:]:  # every condition other than the one trained on
    shifted_standard.append(auc_standard[condition])
    shifted_varied.append(auc_varied[condition])
mean_shifted = float(np.mean(shifted_standard))
mean_shifted_varied = float(np.mean(shifted_varied))
worst_drop = same - min(shifted_standard)
recovered = (mean_shifted_varied - mean_shifted) / (same - mean_shifted)
print(f"trained on standard: same protocol {same:.3f}, other protocols (mean) {mean_shifted:.3f}")
print(f"trained with variation: other protocols (mean) {mean_shifted_varied:.3f}")
print(f"share of the mean drop taken back by the variation: {recovered:.2f}")
rec.claim("another kernel or dose costs > 0.03 AUC at worst", worst_drop > 0.03, drop=worst_drop)
rec.claim("variation takes back over half of the mean drop", recovered > 0.5, recovered=recovered)

# %% [markdown]
# - The network trained on standard images reached 0.962 on standard test images. Every other
#   protocol cost it AUC: a soft kernel at a quarter of the dose most (0.897, a drop of 0.065), a
#   quarter of the dose with the standard kernel least (0.952); over the five other protocols
#   0.918 on average.
# - The network trained with variation kept between 0.944 and 0.969 on all six, took back 0.82 of
#   the mean drop, and lost nothing on the standard images (0.969 against 0.962).
# - The test protocols lay inside the range the variation was drawn from. Augmentation prepares a
#   network for the differences someone thought to simulate; a reconstruction nobody simulated
#   (iterative reconstruction, another vendor's kernel, another slice thickness) must still be
#   tested on real images from that scanner.
#
# ### Exercise 4 · How much of the drop came back?
# Write `my_recovered(same, shifted, varied)`: `same` is the AUC of a network on images from its
# own protocol, `shifted` its AUC on another protocol, and `varied` the AUC on that other protocol
# of a network trained with kernel and dose variation. Return the share of the drop that the
# variation took back (1: all of it, 0: none).


# %%
def my_recovered(same, shifted, varied):
    """Share of the drop (same - shifted) taken back by training with variation."""
    ### BEGIN SOLUTION
    drop = same - shifted
    regained = varied - shifted
    return regained / drop
    ### END SOLUTION


ex.recovered_share.check(my_recovered)
# ex.recovered_share.hint()
# ex.recovered_share.solution()

# %% [markdown]
# ## 5. One recipe, one task, many cases
#
# ### A recipe tuned for one data set
#
# Every choice made before training (the network, the number of epochs, the learning rate, the
# augmentation) is a **hyper-parameter**: a setting the training does not learn by itself. The
# course's recipes (`rl.study.RECIPES`) were chosen for each data set, mostly on its validation
# split. The
# pneumonia recipe trains 10 epochs with strong chest-film augmentation (zoom, tilt, shift,
# exposure); the breast recipe 60 epochs without augmentation. Here both are run on the breast
# ultrasound images (546 training images; cheaper versions in the cpu run: one network each
# instead of an ensemble, and 30 epochs instead of 60 for the breast recipe).

# %%
for name in ("pneumoniamnist", "breastmnist"):
    print(f"{name}: {rl.study.RECIPES[name]}")

# %% tags=["nbval-ignore-output"]
breast = rl.data.load("breastmnist")
pneumonia_recipe = rl.study.RECIPES["pneumoniamnist"]
breast_recipe = rl.study.RECIPES["breastmnist"]
EPOCHS_PNEUMONIA = rl.config.pick(
    smoke=1, cpu=pneumonia_recipe["epochs"], gpu=pneumonia_recipe["epochs"]
)
EPOCHS_BREAST = rl.config.pick(smoke=2, cpu=30, gpu=breast_recipe["epochs"])
BATCH = 128  # the recipes' batch size (fit's default)


def residual_net():
    """The network both recipes use: a compact ResNet of width 16 (lesson 07)."""
    return rl.models.resnet_small(in_channels=1, num_classes=2, width=16)


with_pneumonia_recipe = rl.study.train_and_score(
    residual_net,
    breast.train,
    breast.val,
    breast.test,
    epochs=EPOCHS_PNEUMONIA,
    lr=pneumonia_recipe["lr"],
    augment=rl.study.augmentation(pneumonia_recipe["augment"]),
    batch_size=BATCH,
    seed=SEED,
    progress=False,
)
with_breast_recipe = rl.study.train_and_score(
    residual_net,
    breast.train,
    breast.val,
    breast.test,
    epochs=EPOCHS_BREAST,
    lr=breast_recipe["lr"],
    batch_size=BATCH,
    seed=SEED,
    progress=False,
)
# weight updates = epochs x batches per epoch (the last, smaller batch counts too)
n_chest = len(chest.train[1])
n_breast = len(breast.train[1])
chest_updates = pneumonia_recipe["epochs"] * math.ceil(n_chest / BATCH)
breast_updates_pneumonia_recipe = EPOCHS_PNEUMONIA * math.ceil(n_breast / BATCH)
breast_updates_breast_recipe = EPOCHS_BREAST * math.ceil(n_breast / BATCH)
print(f"pneumonia recipe on {n_chest:,} chest films: {chest_updates} weight updates")
print(f"pneumonia recipe on {n_breast} breast images: {breast_updates_pneumonia_recipe} updates")
print(f"breast recipe here, {EPOCHS_BREAST} epochs: {breast_updates_breast_recipe} updates")
auc_pneumonia_recipe = with_pneumonia_recipe.test["auc"]
auc_breast_recipe = with_breast_recipe.test["auc"]
print(f"breast test AUC with the pneumonia recipe: {auc_pneumonia_recipe:.3f}")
print(f"breast test AUC with the breast recipe:    {auc_breast_recipe:.3f}")

# %% tags=["nbval-ignore-output"]
history_breast = with_breast_recipe.history
history_pneumonia = with_pneumonia_recipe.history
val_by_epoch = history_breast.val_metric  # validation AUC after each epoch
print("breast recipe, validation AUC by epoch:")
print("  ", " ".join(f"{v:.2f}" for v in val_by_epoch))
at_recipe_end = val_by_epoch[EPOCHS_PNEUMONIA - 1]  # where the pneumonia recipe stops
best_epoch = history_breast.best_epoch
print(f"breast recipe: validation AUC {at_recipe_end:.2f} after {EPOCHS_PNEUMONIA} epochs,")
print(f"   best {history_breast.best_score:.2f} at epoch {best_epoch}")
print(
    f"pneumonia recipe: best validation AUC {history_pneumonia.best_score:.2f} "
    f"at epoch {history_pneumonia.best_epoch} of {EPOCHS_PNEUMONIA}"
)
rec.claim(
    "the breast network was still improving when the pneumonia recipe stops",
    best_epoch > EPOCHS_PNEUMONIA,
    best_epoch=best_epoch,
    recipe_epochs=EPOCHS_PNEUMONIA,
)

# %% [markdown]
# - Counted in weight updates, the pneumonia recipe's 10 epochs are 370 updates on 4,708 chest
#   films but only 50 on 546 breast images: the same recipe is a seven times shorter training on
#   the smaller set.
# - Trained without augmentation, the breast network was still improving after 10 epochs
#   (validation AUC 0.86) and was best at epoch 15 (0.95). With the pneumonia recipe the network
#   was best at its last epoch (validation AUC 0.88): it too was stopped while still improving.
# - On the test images the two recipes ended close: 0.869 with the pneumonia recipe, 0.879 with
#   the breast recipe. This is one network each with one seed on 156 test images, and a
#   difference of 0.01 is what another seed can give (an independent rerun of MedMNIST v2 found a
#   spread of 0.010 between five seeds of ResNet-18 on BreastMNIST, mean AUC 0.907). So here the
#   borrowed recipe cost little at the test, but that was known only after measuring it on the
#   new data; the breast recipe was chosen on the breast validation images for reasons of its
#   own (an ensemble without augmentation had the best validation AUC and log-loss).
#
# ### Many cases
#
# Lesson 05 drew a learning curve: the validation loss improved as the training set grew, and
# lesson 09 found that more breast images helped every way of training up to about 200 cases. The
# review's limitation is the same: a CNN needs many labelled cases, and a study's AUC describes
# its own number of cases. A recipe, a learning curve and an AUC all travel badly from one data
# set to another.
#
# ### One model, one task
#
# The pneumonia network of section 1 knows chest films and nothing else. Shown the breast
# ultrasound test images, it does not say "I do not know": it has only two outputs, normal and
# pneumonia, and the softmax makes them add up to 1 whatever the image.

# %% tags=["nbval-ignore-output"]
x_breast_test = breast.test[0]
# P(pneumonia) for each ultrasound image, and for each chest test film, as NumPy arrays
p_on_breast = rl.config.to_numpy(rl.train.predict(net_chest, x_breast_test)[:, 1])
p_on_chest = rl.config.to_numpy(rl.train.predict(net_chest, x_test)[:, 1])
confident_breast = float(np.mean((p_on_breast > 0.9) | (p_on_breast < 0.1)))
confident_chest = float(np.mean((p_on_chest > 0.9) | (p_on_chest < 0.1)))
print(f"{len(p_on_breast)} breast ultrasound images, P(pneumonia): first ten")
print("  ", " ".join(f"{p:.2f}" for p in p_on_breast[:10]))
print("answered with P < 0.1 or > 0.9:")
print(f"   breast images {confident_breast:.0%}, chest test films {confident_chest:.0%}")
rec.claim("most breast images answered confidently", confident_breast > 0.5, share=confident_breast)

# %%
fig, ax = rl.plot.figure(1, 1, panel_inches=(5.0, 3.0))
bins = np.linspace(0, 1, 21)
ax.hist(
    p_on_chest, bins=bins, alpha=0.6, density=True, label=f"chest test films ({len(p_on_chest)})"
)
ax.hist(
    p_on_breast, bins=bins, alpha=0.6, density=True, label=f"breast ultrasound ({len(p_on_breast)})"
)
ax.set(xlabel="P(pneumonia) from the chest network", ylabel="share of images (density)")
ax.set_title("A chest network shown images it was never made for")
ax.legend(fontsize=8)
fig

# %% [markdown]
# The chest network answered 64% of the breast ultrasound images with a probability below 0.1 or
# above 0.9, not far from its own chest test films (73%). Nothing in its output says "this is not
# a chest film": the two probabilities always add up to 1. A network in clinical use needs a
# check at the door (is this the modality, body part and view it was trained for?), and that
# check is a task of its own, with its own validation.
#
# ## 6. Privacy: identifiers out before the images leave the hospital
#
# Training data are patients. A DICOM file carries, beside the pixels, the patient's name, ID,
# birth date, the hospital, the referring physician, dates and **UIDs** (unique identifiers of the
# study, series and image, which can be traced back to the hospital's archive). Before files go
# to a research partner they must be **de-identified**: identifiers removed or replaced, following
# the DICOM standard's basic confidentiality profile (PS3.15 Annex E). `rl.dicom.deidentify` does
# this with a **salt**, a project secret (like a password): the same patient, date or UID always
# gets the same replacement under the same salt, so a patient's studies still match each other,
# while no one without the salt can work back. A patient's dates all move back by the same number
# of days, so intervals between scans are kept. Here is pydicom's real test file `CT_small.dcm`:

# %%
ct_file = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
SALT = "radlab-lesson-11-secret"  # in a real project: a long random secret, kept off the data
ct_clean = rl.dicom.deidentify(ct_file, salt=SALT)
FIELDS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "InstitutionName",
    "StudyInstanceUID",
    "SOPInstanceUID",
]


def shown_value(ds, keyword):
    """A header value as short text: '(removed)' when absent, '(empty)' when empty."""
    if keyword not in ds:
        return "(removed)"
    value = ds.data_element(keyword).value
    if value is None or str(value) == "":
        return "(empty)"
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


print(f"{'element':<18}{'before':<32}after")
for keyword in FIELDS:
    print(f"{keyword:<18}{shown_value(ct_file, keyword):<32}{shown_value(ct_clean, keyword)}")
pixels_same = np.array_equal(ct_file.pixel_array, ct_clean.pixel_array)
print("pixel data unchanged:", pixels_same)
print(
    "marked as de-identified:",
    ct_clean.PatientIdentityRemoved,
    "|",
    ct_clean.DeidentificationMethod,
)

# %% [markdown]
# Names and IDs became a pseudonym, the hospital's name was replaced, the study date moved back
# and every UID was replaced by a new one (those starting `2.25.` are made from a number rather
# than an organization's prefix). The pixels are the same, bit for bit.
#
# The UIDs must stay linked: all slices of one series share a SeriesInstanceUID, and after
# de-identification they must still share one (a new one), or a viewer would split the series.
# A phantom series of three CT slices, written with `rl.dicom.write_series`, shows it:

# %%
liver_slices = phantoms.fibrosis_livers(1, size=64, slices_per_patient=3, seed=SEED).images[:, 0]
folder = Path(tempfile.mkdtemp())
paths = rl.dicom.write_series(
    liver_slices, folder, spacing=(5.0, 3.8, 3.8), patient_name="Doe^Jane", patient_id="MRN-0042"
)
old_series = set()
new_series = set()
new_images = set()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for path in paths:
        original = rl.dicom.read(path)
        cleaned = rl.dicom.deidentify(original, salt=SALT)
        old_series.add(original.SeriesInstanceUID)
        new_series.add(cleaned.SeriesInstanceUID)
        new_images.add(cleaned.SOPInstanceUID)
        assert np.array_equal(original.pixel_array, cleaned.pixel_array)
    last_again = rl.dicom.read(paths[-1])  # the last file, read and de-identified a second time
    again = rl.dicom.deidentify(last_again, salt=SALT)
print(f"{len(paths)} slices: series UIDs before {len(old_series)}, after {len(new_series)}")
print(f"distinct image UIDs after: {len(new_images)}; patient: {cleaned.PatientName}")
print("same salt, same file, same new UID:", again.SOPInstanceUID == cleaned.SOPInstanceUID)
print("image type of these files:", "\\".join(original.ImageType))
print(f"warnings: {len(caught)}, the first: {caught[0].message}")


# %% [markdown]
# One series before, one series after; three images, three new image UIDs; and the same file run
# again with the same salt gets the same new UID, so files de-identified on different days still
# fit together. The phantom files drew a warning too: `write_series` marks them DERIVED and
# SECONDARY (made by a program, not acquired), and they do not say BurnedInAnnotation NO, so
# `deidentify` cannot rule out text in their pixels. A warning too many costs a look; a name left
# in a shared data set cannot be taken back.
#
# ### What a header change cannot do
#
# Ultrasound machines and screen captures often write the patient's name and the date *into the
# pixels*. No header change removes that; `deidentify` warns when a file is of that kind, here a
# real ultrasound test file from pydicom:

# %%
us_file = pydicom.dcmread(get_testdata_file("US1_UNCI.dcm"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    us_clean = rl.dicom.deidentify(us_file, salt=SALT)
for warning in caught:
    if issubclass(warning.category, rl.dicom.DeidentifyWarning):
        print(warning.message)

# %% [markdown]
# What this de-identification does **not** cover, and must be handled otherwise:
#
# - **text burned into the pixels** (ultrasound, secondary captures, scanned requests): look at
#   every frame and black it out, or crop it;
# - **faces**: a head CT or MR can be rendered into a recognizable face; removing it
#   ("defacing") is a separate image-processing step;
# - **private tags** are removed by design, and with them any free text a vendor put there, which
#   may also remove technical values a study needs (check before sharing that the needed ones
#   survive);
# - the **salt** itself: whoever holds it can test a guessed name or UID, so it stays in the
#   hospital;
# - rare diseases, unusual anatomy or implants can identify a patient from the images alone: the
#   data-sharing agreement and the ethics approval still apply.
#
# ### Exercise 5 · Which header elements identify the patient?
# From this list, collect in `my_identifiers` (a set of names, e.g. `{"PatientName", ...}`) the
# elements that de-identification must remove or replace: `PatientName`, `PatientID`,
# `PatientBirthDate`, `AccessionNumber`, `InstitutionName`, `SliceThickness`, `PixelSpacing`,
# `KVP`, `Rows`.

# %%
my_identifiers = ...  # a set of element names
### BEGIN SOLUTION
my_identifiers = {
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "AccessionNumber",
    "InstitutionName",
}
### END SOLUTION
ex.identifiers.check(my_identifiers)
# ex.identifiers.hint()
# ex.identifiers.solution()

# %% [markdown]
# ## Summary
# - A saliency map shows where the image raised the network's score. Grad-CAM weighs the maps of
#   the last convolutional block by the gradient of the class score: ten lines of code. At 28
#   pixels it has 3 x 3 places, and from a 1 x 1 layer (ResNet-18's last block at 28 pixels) it
#   has none; the package refuses that layer and says which to use.
# - The randomization check (Adebayo et al. 2018): a map worth reading changes when the weights are
#   replaced by random ones. Here the similarity was 0.20 and every random-weight map was empty.
#   On chest radiographs, all eight methods Arun et al. (2021) tested failed at least one trust
#   test. A map shows where, not why, and looks as convincing over a wrong answer.
# - Shortcut learning: a marker burned into the pneumonia films gave a perfect AUC on test films
#   marked the same way, 0.693 where the marker was independent of the diagnosis, and 0.887
#   without it (the clean network: 0.941). Grad-CAM put 0.58 of its map on the marker's quarter
#   against 0.04 for the clean network.
# - Another kernel or dose lowered the AUC of a phantom fibrosis network by up to 0.065; training
#   with simulated kernels and doses took back 0.82 of the mean drop, for the shifts it imitated.
# - A recipe is tuned to its data set: the same 10 epochs are 370 updates on the chest films and
#   50 on the breast images. A network answers its own question about any image (64% of breast
#   ultrasound images got a confident pneumonia probability). Many cases are still needed
#   (lessons 05 and 09).
# - De-identification (DICOM PS3.15 basic profile) replaces names, IDs, dates and UIDs with a salt
#   that keeps a patient's files linked, leaves the pixels alone, and warns where text may be
#   burned into them. Faces, burned-in text and rare findings need more than a header change.
#
# ## Questions
# 1. A vendor shows ten example cases where the Grad-CAM map lies over the lesion. What do you ask
#    before taking that as evidence that the product looks at the right thing?
#
# <details><summary>Answer</summary>
#
# How the ten were chosen (all cases, or the nicest); what the maps look like on false positives
# and false negatives; whether the overlap with the lesion was measured on every test case against
# readers' outlines; whether the maps pass the randomization check (they must change when the
# weights are randomized); and from which layer they come, at what size (a map from a coarse layer
# is a blob stretched over the image). Even then a map shows where the evidence was, not that the
# reasoning was sound: in this lesson a normal film called pneumonia had a map like the true
# pneumonias.
#
# </details>
#
# 2. A pneumonia network has an AUC of 0.99 on its own hospital's test set and 0.75 in another
#    hospital. Give two explanations from this lesson and a way to check each.
#
# <details><summary>Answer</summary>
#
# A shortcut: something that goes with the diagnosis at home (portable films for inpatients, a
# ward's marker, the hospital's text) and not elsewhere; check with Grad-CAM on many films (the
# share of the map on markers or text), and by scoring the home test set split by film type, or
# with the markers covered. A shift of the images: another scanner, processing or protocol; check
# by scoring the new hospital's films split by device and protocol, and retrain or augment with the
# differences found. In both cases, the new hospital's own labelled films are the real test.
#
# </details>
#
# 3. Training with simulated kernels and doses took back most of the drop here. Why did it work,
#    and what can it not do?
#
# <details><summary>Answer</summary>
#
# The network saw the same livers with soft, standard and sharp kernels and more noise, with the
# same label, so it learned to ignore what the kernel and the dose change and to keep what the
# fibrosis changes. The changes were made in HU, before the window, as a scanner makes them. It
# only prepares for differences someone simulated, within the range simulated: another vendor's
# reconstruction, another slice thickness or a different population is still untested until it
# is measured on real images.
#
# </details>
#
# 4. A colleague trains a network on 300 knee MR examinations with "the recipe from the big chest
#    X-ray paper: 10 epochs". What is wrong with copying the number of epochs, and what should be
#    done instead?
#
# <details><summary>Answer</summary>
#
# An epoch is one pass over the training set, so 10 epochs on 300 cases are far fewer weight
# updates than 10 epochs on tens of thousands of films; the right length, learning rate and
# augmentation also depend on the images and the task. The settings should be chosen on a
# validation set from the new data (a curve of the validation AUC or loss by epoch shows whether
# training stopped too early or too late), and the test set used once at the end. As in lesson 05,
# a learning curve over the number of cases says whether more cases would help.
#
# </details>
#
# 5. You send 2,000 de-identified CT and ultrasound examinations to a partner. What can still
#    identify a patient, and why must the salt stay in the hospital and stay the same?
#
# <details><summary>Answer</summary>
#
# Text burned into the pixels (names and dates on ultrasound screens, screenshots), faces that
# can be rendered from head CT or MR, and rare findings or implants that are recognizable
# themselves. The salt makes the pseudonyms, date shifts and new UIDs: whoever has it can test a
# guessed name or UID against the data, so it stays in the hospital; and the same salt must be used
# for the whole project, or a patient's later examinations get another pseudonym and other UIDs
# and no longer match the earlier ones.
#
# </details>
#
# 6. The pneumonia network gave a breast ultrasound image a pneumonia probability of 1.00. Why can
#    it not say "this is not a chest film"?
#
# <details><summary>Answer</summary>
#
# It has two outputs, normal and pneumonia, and the softmax turns any two scores into
# probabilities that add up to 1, so every image is answered as one or the other. It never saw an
# image that was not a chest film, and nothing in its training rewarded doubt. Recognizing the
# wrong kind of image is a separate task (checking modality, body part and view) that needs its
# own network or rule, and its own validation.
#
# </details>
