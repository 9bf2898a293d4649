# %% [markdown]
# # 07 · Architectures: AlexNet, GoogLeNet, ResNet, Texture CNN and ensembles
#
# **What you will learn** (about an hour, with five short exercises)
# - the plan of AlexNet, the network that started the deep-learning era in 2012: five
#   convolutional, three max-pooling and three fully connected layers;
# - GoogLeNet's inception block, and why its 1 x 1 convolutions make it cheap: the review's own
#   example, counted by formula and by PyTorch's operation counter;
# - ResNet's skip connection (the block's input added to its output), and what it fixes: a deep
#   network *without* skips learns worse than a shallow one, measured here;
# - ResNet-18, -34 and -50 trained on real abdominal CT slices, beside the published numbers;
# - the Texture CNN, which keeps how strongly each pattern is present but not where, on liver
#   fibrosis phantoms;
# - an ensemble of two architectures, and an honest interval for what it adds.
#
# **Why a radiologist cares.** Papers name their network in one word ("we used ResNet-50",
# "an ensemble of AlexNet and GoogLeNet") and the choice looks like a secret ingredient. Each of
# these names is a small set of ideas about how to stack the building blocks of lesson 03. Knowing
# them lets you read a methods section, ask whether a deeper network was needed, and judge claims
# that one architecture beats another on a few hundred cases.
#
# The lesson follows the review's part on CNN architectures (Fig. 10): Yasaka K, Akai H,
# Kunimatsu A, Kiryu S, Abe O. *Deep learning with convolutional neural network in radiology.* Jpn J
# Radiol 2018;36:257-272. Numbers from the works it cites, and from later papers, are labelled with
# their first author, journal and year.

# %%
import numpy as np
import torch
from torch import nn

import radlab as rl
from radlab.exercises import lesson07 as ex

SEED = rl.config.seed_everything()
MODE = rl.config.mode()
DEVICE = rl.config.device()
rec = rl.claims.lesson("07_architectures")
MODE in rl.config.MODES

# %% [markdown]
# ## 1. AlexNet: the plan of the first winner
#
# In 2012 AlexNet (Krizhevsky et al., NIPS 2012) won the ImageNet challenge, a contest of
# classifying photographs into 1000 categories, by a wide margin, and the field turned to CNNs.
# Its plan is the one you built in lesson 03, made larger: **five convolutional layers**, **three
# max-pooling layers** (after the first, the second and the fifth convolution) and **three fully
# connected layers** at the end, with dropout (lesson 05) between them. The first filter is large
# (11 x 11 pixels on 224-pixel photographs); the later ones are 3 x 3.
#
# `rl.models.alexnet_small` keeps that plan for 28-pixel images: a 5 x 5 first filter, channels
# in AlexNet's proportions, and batch normalization (lesson 03), which AlexNet did not have but
# which lets it train from scratch in a few minutes. The table lists every layer, the shape of what
# it gives for one 28 x 28 image (channels, height, width), and the numbers it learns.

# %%
alexnet = rl.models.alexnet_small(in_channels=1, num_classes=11)
for row in rl.models.layer_table(alexnet, (1, 28, 28)):
    if row.parameters > 0 or "pool" in row.name:  # the layers that learn, and the poolings
        print(f"{row.name:10} {row.layer:31} {str(row.shape):13} {row.parameters:>8,}")

# %% [markdown]
# The three fully connected layers hold most of the numbers the network learns: `fc1` and `fc2`
# alone hold more than all five convolutions together. The full-size AlexNet had about 60 million
# parameters, mostly in the same place (Krizhevsky et al. 2012).
#
# Parameters are one measure of size. The other is **work**: how many multiply-adds one image
# costs (a multiply-add is one weight times one input value, added to a running sum). A
# convolution uses each of its weights at every position of the image, so it costs far more work
# per parameter than a fully connected layer, which uses each weight once.
# `rl.models.multiply_adds` counts the work with PyTorch's own operation counter.

# %%
lesson_cnn = rl.models.small_cnn(in_channels=1, num_classes=11)
for name, net in [("lesson CNN", lesson_cnn), ("AlexNet-like", alexnet)]:
    params = rl.models.count_parameters(net)
    work = rl.models.multiply_adds(net, (1, 28, 28))
    print(f"{name:13} {params:>8,} parameters {work / 1e6:5.1f} M multiply-adds per image")

# %% [markdown]
# The AlexNet-like network learns almost four times as many numbers as the lesson CNN, yet costs
# about the same work per image: the extra numbers sit in the fully connected layers, which are
# cheap to run but easy to overfit with a few thousand cases (lesson 05).
#
# ## 2. GoogLeNet and the 1 x 1 reduction
#
# GoogLeNet (Szegedy et al., CVPR 2015), the next winner, is built from **inception blocks**. Each
# block looks at its input in four ways at once and stacks the four results along the channels:
#
# 1. a 1 x 1 convolution;
# 2. a 1 x 1 convolution that **reduces** the channels, then a 3 x 3 convolution;
# 3. a 1 x 1 reduction, then a 5 x 5 convolution;
# 4. a 3 x 3 max pooling, then a 1 x 1 convolution.
#
# A 1 x 1 convolution looks at one pixel at a time and mixes its channels: it is a small fully
# connected layer applied at every pixel. Why put one before the 3 x 3 and 5 x 5 convolutions? A
# convolution with F x F filters, M input channels and N filters, giving an H x W output, costs
#
# $$\text{multiply-adds} = H \times W \times N \times F \times F \times M$$
#
# because each of the H x W x N output values needs one F x F x M filter's worth of
# multiply-adds. The cost grows with M, the channels coming in; a 1 x 1 reduction shrinks M first.
#
# The review's example is GoogLeNet's first inception block (block 3a): the input is 28 x 28 pixels
# with 192 channels. Its 5 x 5 branch gives 32 channels after a reduction to 16; its 3 x 3 branch
# gives 128 after a reduction to 96. First by the formula:

# %%
direct_5x5 = 28 * 28 * 32 * 5 * 5 * 192  # 5 x 5 convolution straight on the 192 channels
reduced_5x5 = 28 * 28 * 16 * 1 * 1 * 192 + 28 * 28 * 32 * 5 * 5 * 16  # 1 x 1 to 16, then 5 x 5
direct_3x3 = 28 * 28 * 128 * 3 * 3 * 192
reduced_3x3 = 28 * 28 * 96 * 1 * 1 * 192 + 28 * 28 * 128 * 3 * 3 * 96  # 1 x 1 to 96, then 3 x 3
print(
    f"5 x 5 branch: direct {direct_5x5 / 1e6:6.1f} M, with the reduction {reduced_5x5 / 1e6:6.1f} M"
)
print(
    f"3 x 3 branch: direct {direct_3x3 / 1e6:6.1f} M, with the reduction {reduced_3x3 / 1e6:6.1f} M"
)

# %% [markdown]
# Now the same four convolutions built in PyTorch and counted by its operation counter
# (`rl.models.Inception` is the block; `branch3` is its 5 x 5 branch, `branch2` its 3 x 3 one):

# %%
block_3a = rl.models.Inception(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's block 3a
one_input = (192, 28, 28)  # channels, height, width
conv_5x5 = nn.Conv2d(192, 32, kernel_size=5, padding=2, bias=False)
conv_3x3 = nn.Conv2d(192, 128, kernel_size=3, padding=1, bias=False)
counted = {
    "5 x 5 direct": rl.models.multiply_adds(conv_5x5, one_input),
    "5 x 5 reduced": rl.models.multiply_adds(block_3a.branch3, one_input),
    "3 x 3 direct": rl.models.multiply_adds(conv_3x3, one_input),
    "3 x 3 reduced": rl.models.multiply_adds(block_3a.branch2, one_input),
}
for name, value in counted.items():
    print(f"{name:14} {value / 1e6:6.1f} M multiply-adds")
by_formula = [direct_5x5, reduced_5x5, direct_3x3, reduced_3x3]
agree = list(counted.values()) == by_formula
saving_5x5 = direct_5x5 / reduced_5x5
rec.claim("the counter gives the formula's numbers exactly", agree, saving_5x5=saving_5x5)
rec.claim(
    "the reduction makes the 5 x 5 branch ~10 times cheaper", 9 < saving_5x5 < 11, times=saving_5x5
)

# %% [markdown]
# The counter and the formula agree to the last multiply-add: 120.4 M against 12.4 M for the 5 x 5
# branch, about ten times less, and 173.4 M against 101.2 M for the 3 x 3 branch. The saving is
# largest where the reduction is deepest (192 to 16 channels). The block's output stacks the four
# branches: 64 + 128 + 32 + 32 = 256 channels, at the same 28 x 28 pixels.

# %%
block_3a(torch.zeros(1, 192, 28, 28)).shape

# %% [markdown]
# ### Exercise 1 · The cost of a convolution layer
# Write `my_multiply_adds(h, w, m, n, f)`: the multiply-adds of a convolution with `n` filters of
# `f` x `f` pixels on `m` input channels, giving an `h` x `w` output. It will be checked on block
# 3a's 5 x 5 convolution and on two other layers.


# %%
def my_multiply_adds(h, w, m, n, f):
    """Multiply-adds of a convolution: h x w output, m channels in, n filters of f x f."""
    ### BEGIN SOLUTION
    per_value = f * f * m  # one output value of one filter
    return h * w * n * per_value
    ### END SOLUTION


ex.conv_multiply_adds.check(my_multiply_adds)
# ex.conv_multiply_adds.hint()
# ex.conv_multiply_adds.solution()

# %% [markdown]
# ### Exercise 2 · What a reduction saves in a deeper block
# Deeper in GoogLeNet, block 4a takes a 14 x 14 input with 480 channels. Its 3 x 3 branch reduces
# the channels to 96 with a 1 x 1 convolution, then gives 208 channels with a 3 x 3 convolution.
# Give the multiply-adds, in millions, of a 3 x 3 convolution straight from 480 to 208 channels
# (`my_direct`) and of the reduced branch (`my_reduced`).

# %%
my_direct, my_reduced = ..., ...  # millions of multiply-adds
### BEGIN SOLUTION
my_direct = 14 * 14 * 208 * 3 * 3 * 480 / 1e6
my_reduced = (14 * 14 * 96 * 1 * 1 * 480 + 14 * 14 * 208 * 3 * 3 * 96) / 1e6
### END SOLUTION
ex.reduction_saving.check(my_direct, my_reduced)
# ex.reduction_saving.hint()
# ex.reduction_saving.solution()

# %% [markdown]
# ### Exercise 3 · Channels out of an inception block
# Block 4a has, from its 480 input channels: a 1 x 1 branch with 192 filters; a 3 x 3 branch
# reducing to 96, then 208 filters; a 5 x 5 branch reducing to 16, then 48 filters; a pooling
# branch whose 1 x 1 convolution has 64 filters. How many channels does the block give?

# %%
my_channels = ...
### BEGIN SOLUTION
my_channels = 192 + 208 + 48 + 64
### END SOLUTION
ex.inception_channels.check(my_channels)
# ex.inception_channels.hint()
# ex.inception_channels.solution()

# %% [markdown]
# `rl.models.googlenet_small` stacks three such blocks for 28-pixel images, after one 3 x 3
# convolution, and ends as GoogLeNet does: global average pooling (one mean per channel) and a
# single fully connected layer, instead of AlexNet's three.

# %%
googlenet = rl.models.googlenet_small(in_channels=1, num_classes=11)
for name, net in [("AlexNet-like", alexnet), ("GoogLeNet-like", googlenet)]:
    params = rl.models.count_parameters(net)
    work = rl.models.multiply_adds(net, (1, 28, 28))
    print(f"{name:15} {params:>8,} parameters {work / 1e6:5.1f} M multiply-adds per image")

# %% [markdown]
# For about the same work per image the GoogLeNet-like network learns about six times fewer
# numbers: no large fully connected layers, and reductions before every large filter. The full-size
# GoogLeNet had 12 times fewer parameters than AlexNet while being far deeper (Szegedy et al. 2015).
#
# ## 3. ResNet: the skip connection
#
# Stacking more layers should never hurt: a deeper network could copy a shallower one and set its
# extra layers to pass their input through unchanged. In practice it does hurt. He et al. (CVPR
# 2016) found that plain networks (convolutions stacked one after another) of 56 layers ended with
# a *higher training error* than the same design with 20 layers. Not overfitting, since the
# training error itself was worse: the deep network was harder to optimise.
#
# Their fix, ResNet, adds a **skip connection** around every two or three convolutions: the
# block's input is added to what the convolutions produce, output = F(x) + x. If the best a block
# can do is nothing, its convolutions only have to go to zero, which is easy; a plain block must
# learn to reproduce its input exactly, which is hard.
#
# We repeat He et al.'s experiment in miniature, on real abdominal CT slices (OrganAMNIST, 11
# organs, 28 x 28 pixels; lesson 01). Three thin networks of their CIFAR design
# (`rl.models.resnet_thin`): a plain one with 8 weighted layers, a plain one with 32, and the same
# 32 layers with skip connections. Same data, same epochs, same optimizer, same seed; we compare
# the loss on the **training** slices in the last epoch, because the question is how well each
# network can be optimised, not how well it generalises.
#
# Without the OrganAMNIST file, the next cell prints how to fetch it and uses the phantom stand-in
# (five liver lesion categories); the printed class names say which data are in use.

# %% tags=["nbval-ignore-output"]
organ = rl.data.load("organamnist")
print(f"{organ.name}: {organ.n_classes} classes, real data: {organ.real}")
print(", ".join(organ.label_names))
for split, (images, labels) in [("train", organ.train), ("val", organ.val), ("test", organ.test)]:
    print(f"{split:5} {len(labels):>6} slices of {tuple(images.shape[1:])}")

# %% tags=["nbval-ignore-output"]
n_plain = rl.config.pick(smoke=256, cpu=1500, gpu=10000)
EPOCHS_PLAIN = rl.config.pick(smoke=1, cpu=3, gpu=5)
WIDTH_PLAIN = rl.config.pick(smoke=4, cpu=8, gpu=16)
x_plain, y_plain = rl.data.subset(*organ.train, n_plain, seed=SEED)


def last_training_loss(depth, plain):
    """Train one thin network on the training slices; its mean training loss in the last epoch."""
    rl.config.seed_everything(SEED)  # the same starting point for every network
    net = rl.models.resnet_thin(
        depth,
        in_channels=organ.n_channels,
        num_classes=organ.n_classes,
        width=WIDTH_PLAIN,
        plain=plain,
    )
    history = rl.train.fit(
        net,
        (x_plain, y_plain),
        None,  # no validation: we only look at how well the training slices are learned
        epochs=EPOCHS_PLAIN,
        batch_size=64,
        channels_last=False,  # torch 2.14 on a CPU can crash on these blocks in channels_last
        progress=False,
    )
    print(
        f"{'plain' if plain else 'residual':8} {depth:2} layers: training loss by epoch "
        f"{np.round(history.train_loss, 3)}, {history.total_seconds:.0f} s"
    )
    return history.train_loss[-1]


loss_plain_8 = last_training_loss(8, plain=True)
loss_plain_32 = last_training_loss(32, plain=True)
loss_residual_32 = last_training_loss(32, plain=False)

# %% tags=["nbval-ignore-output"]
rec.claim(
    "plain: 32 layers end with a higher training loss than 8",
    loss_plain_32 > loss_plain_8,
    p32=loss_plain_32,
    p8=loss_plain_8,
)
rec.claim(
    "with skips, 32 layers beat plain 8",
    loss_residual_32 < loss_plain_8,
    r32=loss_residual_32,
    p8=loss_plain_8,
)

# %% [markdown]
# The deeper plain network ends with the higher training loss, although it holds every layer of
# the shallow one and more: the degradation He et al. described. The same 32 layers with skip
# connections learn the training slices best of the three. Only the skips differ between the two
# 32-layer networks (`rl.models.resnet_thin` builds the plain one from ResNet's block with the
# addition removed), so the skips are what made the deep network trainable. A few thousand slices
# and three epochs are a short run; He et al. saw the same ordering after full training.
#
# ### Exercise 4 · Why a residual block can learn to do nothing
# Which sentence explains why adding a residual block can hardly make a network worse? Answer with
# a letter, as a string (`"a"`).

# %%
ex.residual_choices()
my_letter = ...
### BEGIN SOLUTION
my_letter = "b"
### END SOLUTION
ex.residual_identity.check(my_letter)
# ex.residual_identity.hint()
# ex.residual_identity.solution()

# %% [markdown]
# ## 4. ResNet-18, -34 and -50 on abdominal CT
#
# The number in a ResNet's name counts its weighted layers (convolutions and the final fully
# connected one). ResNet-18 and -34 stack blocks of two 3 x 3 convolutions; ResNet-50 uses
# **bottleneck** blocks: a 1 x 1 reduction, a 3 x 3 convolution, a 1 x 1 expansion, the same trick
# as GoogLeNet's. `rl.models.resnet` builds them with torchvision, the library most papers use. With
# ImageNet's first layer and 1000 classes they are exactly torchvision's networks:

# %%
for depth in (18, 34, 50):
    full_size = rl.models.resnet(depth, in_channels=3, num_classes=1000, small_images=False)
    for_ct = rl.models.resnet(depth, in_channels=1, num_classes=11)
    print(
        f"ResNet-{depth}: {rl.models.count_parameters(full_size) / 1e6:5.2f} M parameters "
        f"(ImageNet), {rl.models.count_parameters(for_ct) / 1e6:5.2f} M for 1-channel CT, "
        "11 organs"
    )

# %% [markdown]
# The versions for CT are smaller mostly because their last layer has 11 outputs instead of 1000.
#
# ImageNet's first layer (a 7 x 7 convolution with stride 2, then max pooling) shrinks the image
# four times before the first block: fine for 224-pixel photographs, harsh for 28-pixel slices
# (28 becomes 7). MedMNIST's authors therefore start with a 3 x 3 convolution and no pooling at 28
# pixels (`small_images=True`, the default). That multiplies the work per image by about 16, too
# much for a laptop in a lesson: in cpu mode we keep ImageNet's first layer and train on 1,500
# slices for three epochs; gpu mode uses the small-image layer, all 34,561 training slices and more
# epochs.

# %% tags=["nbval-ignore-output"]
n_organ = rl.config.pick(smoke=200, cpu=1500, gpu=len(organ.train[1]))
n_scored = rl.config.pick(smoke=300, cpu=2000, gpu=len(organ.test[1]))
EPOCHS_ORGAN = rl.config.pick(smoke=1, cpu=3, gpu=15)
SMALL_IMAGES = rl.config.pick(smoke=False, cpu=False, gpu=True)
organ_train = rl.data.subset(*organ.train, n_organ, seed=SEED)
organ_val = rl.data.subset(*organ.val, min(n_scored, len(organ.val[1])), seed=SEED)
organ_test = rl.data.subset(*organ.test, n_scored, seed=SEED)

organ_auc, organ_accuracy = {}, {}
for depth in (18, 34, 50):

    def build(depth=depth):
        """A fresh ResNet of this depth for the CT slices."""
        return rl.models.resnet(
            depth,
            in_channels=organ.n_channels,
            num_classes=organ.n_classes,
            small_images=SMALL_IMAGES,
        )

    scored = rl.study.train_and_score(
        build,
        organ_train,
        organ_val,
        organ_test,
        seed=SEED,
        epochs=EPOCHS_ORGAN,
        batch_size=64,
        lr=3e-3,
        schedule="onecycle",  # the learning rate rises, then falls (lesson 04)
        progress=False,
    )
    organ_auc[depth] = scored.test["auc"]
    organ_accuracy[depth] = scored.test["accuracy"]
    print(
        f"ResNet-{depth}: test AUC {organ_auc[depth]:.3f}, accuracy {organ_accuracy[depth]:.3f} "
        f"on {len(organ_test[1])} slices ({scored.history.total_seconds:.0f} s of training)"
    )

# %% tags=["nbval-ignore-output"]
best_auc = max(organ_auc.values())
best_depth = max(organ_auc, key=organ_auc.get)
spread = best_auc - min(organ_auc.values())
rec.claim(
    f"all three ResNets well above chance (AUC > 0.8) on {organ.name}",
    min(organ_auc.values()) > 0.8,
    lowest=min(organ_auc.values()),
)
rec.claim("the three depths lie within 0.05 AUC of each other", spread < 0.05, spread=spread)
print(f"best: ResNet-{best_depth}, AUC {best_auc:.3f}; MedMNIST v2's ResNet-18 (28): 0.997")

# %% [markdown]
# On OrganAMNIST, MedMNIST v2 reports for ResNet-18 at 28 pixels a test AUC of 0.997 and an
# accuracy of 0.935, and for ResNet-50 at 224 pixels 0.998 and 0.947 (Yang et al., Sci Data 2023,
# Table 3). Our numbers are lower, and not comparable: they trained on all 34,561 slices for 100
# epochs with the small-image first layer; in cpu mode we trained on 1,500 slices for three
# epochs and scored a sample of the test slices. Our ranking of the three depths rests on one short
# run each, one seed, 1,500 slices: a difference of a few hundredths of AUC between them is
# within what another seed could change (lesson 05). Here ResNet-18 came first and ResNet-50 last,
# 0.026 apart: with 1,500 slices and three epochs, the network with the most numbers to learn has
# had the least chance to learn them.
#
# The review makes the same point about depth with Korfiatis et al. (J Digit Imaging 2017), who
# compared ResNet-18, -34 and -50 for predicting a genetic marker (MGMT methylation) of
# glioblastoma from MRI: ResNet-50 did best *on their task and data*. That is a finding about one
# task, not a law that deeper is better; with little data a smaller network may do as well, and
# the only way to know is to compare on validation data of the task at hand.
#
# ## 5. The Texture CNN: what is present, not where
#
# A CNN for a lesion keeps the position of what it sees until late, and global pooling throws it
# away only at the end. Some diagnoses are about **texture**: the fine pattern of a whole region,
# not one object at one place. Liver fibrosis is one: with stage, the surface grows nodular and the
# parenchyma grows heterogeneous.
#
# The Texture CNN (Andrearczyk & Whelan, Pattern Recognit Lett 2016) takes the maps of its last
# convolutional layer and reduces each to one number, its **energy**: the mean of its squared
# values over the whole image. Energy says how strongly the pattern a filter detects is present,
# anywhere. The energies go to the fully connected layers. We compare it with the lesson CNN
# (global average pooling) on the fibrosis phantoms: liver slices in five stages, F0 to F4.

# %% tags=["nbval-ignore-output"]
fibrosis = rl.data.load("fibrosis")
EPOCHS_TEXTURE = rl.config.pick(smoke=1, cpu=5, gpu=20)
WIDTH_TEXTURE = rl.config.pick(smoke=8, cpu=16, gpu=32)
texture_builders = {
    "lesson CNN": rl.models.small_cnn,
    "Texture CNN": rl.models.texture_cnn,
}
texture_auc = {}
for name, builder in texture_builders.items():

    def build(builder=builder):
        """A fresh network of this kind for the fibrosis slices."""
        return builder(
            in_channels=fibrosis.n_channels, num_classes=fibrosis.n_classes, width=WIDTH_TEXTURE
        )

    scored = rl.study.train_and_score(
        build,
        fibrosis.train,
        fibrosis.val,
        fibrosis.test,
        seed=SEED,
        epochs=EPOCHS_TEXTURE,
        batch_size=64,
        progress=False,
    )
    texture_auc[name] = scored.test["auc"]
    n_params = rl.models.count_parameters(scored.model)
    print(f"{name:12} {n_params:>7,} parameters, test AUC {texture_auc[name]:.3f} (F0-F4)")

# %% tags=["nbval-ignore-output"]
auc_texture, auc_lesson = texture_auc["Texture CNN"], texture_auc["lesson CNN"]
rec.claim(
    "both read fibrosis stage well above chance (AUC > 0.75)",
    min(auc_texture, auc_lesson) > 0.75,
    lowest=min(auc_texture, auc_lesson),
)
rec.claim(
    "the two within 0.05 AUC",
    abs(auc_texture - auc_lesson) < 0.05,
    texture=auc_texture,
    lesson=auc_lesson,
)

# %% [markdown]
# On these phantoms the two networks do about equally well. Both end by throwing away position:
# the lesson CNN through global average pooling, the Texture CNN through energy pooling, so on a
# slice that shows liver texture the two designs differ less than their names suggest. The Texture
# CNN's idea matters most where position is misleading, e.g. a texture patch that could lie
# anywhere in the image. On real patients the review reports a deep-learning fibrosis score on
# gadoxetic-acid MRI (Yasaka et al., Radiology 2018) with AUCs of 0.84 to 0.85; lesson 10 comes
# back to it. Phantoms with exact stages are not patients, so the two results do not compare.
#
# ## 6. Ensembles: several networks, one answer
#
# An **ensemble** passes the same image through several trained networks and combines their
# outputs, most simply by averaging their class probabilities. Networks of different designs make
# partly different mistakes, so their average can rank cases better than either. Lakhani & Sundaram
# (Radiology 2017) combined AlexNet and GoogLeNet to detect pulmonary tuberculosis on chest
# radiographs: the ensemble reached an AUC of 0.99.
#
# We do the same on real chest radiographs (PneumoniaMNIST: children's films, normal or pneumonia;
# lesson 06) with our AlexNet-like and GoogLeNet-like networks, then ask the question a reader
# should ask: is the ensemble's gain larger than chance? The gain is measured on the *same* test
# films for both, so we use a **paired bootstrap**: draw the test films with replacement many
# times, and in each draw compute the ensemble's AUC minus the single network's AUC on exactly those
# films (lesson 06 introduced the bootstrap).

# %% tags=["nbval-ignore-output"]
chest = rl.data.load("pneumoniamnist")
NEGATIVE, POSITIVE = chest.label_names
n_chest = rl.config.pick(smoke=200, cpu=1000, gpu=len(chest.train[1]))
EPOCHS_CHEST = rl.config.pick(smoke=1, cpu=3, gpu=20)
chest_train = rl.data.subset(*chest.train, n_chest, seed=SEED)
chest_builders = {
    "AlexNet-like": rl.models.alexnet_small,
    "GoogLeNet-like": rl.models.googlenet_small,
}
members, chest_p = {}, {}
for name, builder in chest_builders.items():

    def build(builder=builder):
        """A fresh network of this kind for the chest films."""
        return builder(in_channels=chest.n_channels, num_classes=chest.n_classes)

    scored = rl.study.train_and_score(
        build,
        chest_train,
        chest.val,
        chest.test,
        seed=SEED,
        epochs=EPOCHS_CHEST,
        batch_size=64,
        progress=False,
    )
    members[name] = scored.model
    chest_p[name] = scored.outputs["test"][:, 1]  # probability of class 1 for each test film
    print(f"{name:15} test AUC {rl.metrics.auc(chest.test[1], chest_p[name]):.3f}")

# %% [markdown]
# `rl.models.Ensemble` wraps the trained networks into one model whose probabilities are the
# average of theirs; `rl.train.predict` runs it like any other model.

# %% tags=["nbval-ignore-output"]
ensemble = rl.models.Ensemble(list(members.values()))
p_ensemble = rl.train.predict(ensemble, chest.test[0])[:, 1].numpy()
y_chest = chest.test[1].numpy()
auc_ensemble = rl.metrics.auc(y_chest, p_ensemble)
auc_members = {name: rl.metrics.auc(y_chest, p) for name, p in chest_p.items()}
best_member = max(auc_members, key=auc_members.get)
print(f"ensemble test AUC {auc_ensemble:.3f}; best single network: {best_member}")


def auc_gain(labels, p_single, p_combined):
    """AUC of the combined probabilities minus AUC of the single network, on the same films."""
    return rl.metrics.auc(labels, p_combined) - rl.metrics.auc(labels, p_single)


n_boot = rl.config.pick(smoke=200, cpu=2000, gpu=2000)
gains = {}
for name, p_single in chest_p.items():
    gains[name] = rl.metrics.bootstrap_ci(
        auc_gain, y_chest, p_single, p_ensemble, n_boot=n_boot, seed=SEED
    )
    print(f"ensemble minus {name:15}: AUC gain {gains[name]}")

# %% tags=["nbval-ignore-output"]
worst = min(auc_members.values())
rec.claim(
    "the ensemble beats the weaker network",
    auc_ensemble > worst,
    ensemble=auc_ensemble,
    weaker=worst,
)
gain_best = gains[best_member]
includes_0 = gain_best.low <= 0 <= gain_best.high
print(f"the interval of the gain over {best_member} includes 0: {includes_0}")

# %% [markdown]
# The ensemble beats the weaker network, and the paired interval of that gain lies above zero. It
# does not beat the better network: its AUC is a few thousandths lower, and the interval of that
# difference includes zero, so on these test films the two cannot be told apart. Two networks of
# similar skill that make similar mistakes gain little from being averaged. The review's 0.99 comes
# from another disease (tuberculosis), mostly adult films at 256 x 256 pixels rather than 28, and
# networks pretrained on ImageNet, so it does not compare with our numbers. When a paper reports an ensemble, look for
# the interval of the gain over its best member, not two separate AUCs.
#
# ### Exercise 5 · Averaging two networks
# Write `my_ensemble(p1, p2)`: given two networks' probabilities for the same cases, arrays of shape
# (cases, classes), return the ensemble's probabilities by averaging.


# %%
def my_ensemble(p1, p2):
    """The mean of two networks' class probabilities, case by case and class by class."""
    ### BEGIN SOLUTION
    return (p1 + p2) / 2
    ### END SOLUTION


ex.ensemble_average.check(my_ensemble)
# ex.ensemble_average.hint()
# ex.ensemble_average.solution()

# %% [markdown]
# ## Summary
#
# - **AlexNet**: five convolutional, three max-pooling and three fully connected layers; most of
#   its parameters sit in the fully connected layers.
# - **GoogLeNet**: inception blocks of four parallel branches whose outputs are stacked; 1 x 1
#   convolutions reduce the channels before the 3 x 3 and 5 x 5 filters. For the review's block 3a
#   the 5 x 5 branch costs 12.4 M multiply-adds instead of 120.4 M.
# - **ResNet**: skip connections add each block's input to its output, so extra blocks can learn to
#   do nothing. Without them, our 32-layer plain network learned its training slices worse than an
#   8-layer one; with them, best of the three.
# - ResNet-18, -34 and -50 are one family; which depth is best depends on the task and the amount
#   of data (Korfiatis: 50 for theirs). Short runs on a few hundred slices cannot rank them.
# - The **Texture CNN** pools the energy of each last map: what patterns are present, not where.
# - An **ensemble** averages several networks' probabilities; judge its gain with a paired interval
#   over the same test cases.
#
# ## Questions
#
# 1. A paper uses a 5 x 5 convolution from 256 to 64 channels on a 32 x 32 map. Roughly how many
#    multiply-adds does a 1 x 1 reduction to 32 channels save?
#
# <details><summary>Answer</summary>
#
# Direct: 32 x 32 x 64 x 5 x 5 x 256, about 419 M multiply-adds. Reduced: 32 x 32 x 32 x 256
# (8.4 M) for the 1 x 1 convolution plus 32 x 32 x 64 x 5 x 5 x 32 (52.4 M) for the 5 x 5 one,
# about 61 M. The reduction saves about 358 M, roughly seven times less work, because the costly
# 5 x 5 filters now reach through 32 channels instead of 256.
#
# </details>
#
# 2. Why did the 32-layer plain network end with a higher training loss than the 8-layer one,
#    although it could in principle copy it?
#
# <details><summary>Answer</summary>
#
# Copying would need its extra layers to pass their input through unchanged, and a stack of
# convolutions, batch normalizations and ReLUs finds that identity only with difficulty; the signal
# and its gradient also pass through many more layers, so the optimiser makes slower progress. This
# is an optimisation problem, seen on the training loss itself, not overfitting. With skip
# connections the identity is the default (weights near zero), and the deep network trained best.
#
# </details>
#
# 3. A study compares ResNet-18, -34 and -50 on 300 patients and reports AUCs of 0.86, 0.87 and
#    0.89, concluding that "deeper networks are better for this task". What would you ask?
#
# <details><summary>Answer</summary>
#
# Whether the differences exceed what another random seed or another split would give: with a few
# hundred patients, AUCs a few hundredths apart are often within the noise. Ask for confidence
# intervals of the paired differences on the same test patients, results over several seeds, and
# whether the depth was chosen on validation data rather than the test set. Even then the result
# holds for this task and these data; it is not a general rule (Korfiatis's best depth was theirs).
#
# </details>
#
# 4. For which radiological question would you expect a Texture CNN to help more than an ordinary
#    CNN, and for which one less?
#
# <details><summary>Answer</summary>
#
# More where the diagnosis is a pattern spread over a region and its position does not matter:
# diffuse liver disease, interstitial lung disease on a lung patch, bone trabecular pattern. Less
# where position and shape are the point: a fracture line, a mass against the background, organ
# identification (OrganAMNIST), since energy pooling keeps only how strongly each pattern is
# present, not where or in what shape.
#
# </details>
#
# 5. An ensemble of two networks gives AUC 0.95 where each gives 0.94. Is the ensemble better?
#
# <details><summary>Answer</summary>
#
# Not shown by these numbers alone. Compute the difference on the same test cases with a paired
# bootstrap (or DeLong's test): if its interval includes zero, the gain cannot be told from chance,
# as in section 6. Also weigh the cost: two networks take twice the computation and are harder to
# explain and maintain. An ensemble helps most when its members make different mistakes.
#
# </details>
