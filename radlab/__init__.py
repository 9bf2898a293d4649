"""radlab: the helper package behind the course "Deep learning with CNNs in radiology".

Use it as ``import radlab as rl``; each idea lives in one module:

================== ===================================================================
``rl.config``      run mode (smoke / cpu / gpu), device, seed, data root
``rl.dicom``       read DICOM, Hounsfield units, window/level presets, series
``rl.data``        MedMNIST data sets (card, checksum, tensors), stand-ins, patient splits
``rl.phantoms``    synthetic CT phantoms in HU with exact ground truth
``rl.ct_physics``  CT noise and dose, reconstruction kernels, slice thickness
``rl.transforms``  batched augmentation, image and mask moved together
``rl.models``      the small lesson CNN and the review's architectures
``rl.metrics``     sensitivity, ROC/AUC, PPV/NPV, Dice, c-index, bootstrap
``rl.train``       ``fit`` and ``predict``: one readable training loop
``rl.checkpoints`` atomic files; checkpoints that resume an interrupted run
``rl.distributed`` training on several processes under torchrun (gloo on CPUs, NCCL on GPUs)
``rl.memmap``      images read from disk a minibatch at a time (sets larger than memory)
``rl.study``       train, choose on validation, test once (``python -m radlab.train``)
``rl.plot``        figures with their window in the title
``rl.widgets``     interactive viewers (thin wrappers over ``rl.plot``)
``rl.claims``      a lesson's measured numbers and the claims they support
``rl.pixelwise``   networks that answer with an image: FCN, U-Net, SegNet, RED-CNN
``rl.transfer``    pretrained weights from the cache, a grey first layer, freezing layers
``rl.saliency``    Grad-CAM maps; the randomization sanity check (Adebayo 2018)
``rl.radiomics``   first-order and GLCM texture features, a scikit-learn classifier
``rl.exercises``   the lessons' exercises, which check themselves (lesson01, lesson02, ...)
``rl.course``      run the lessons headless; student copies; the speed check
``rl.site``        build the course website (Jupyter Book 1.x, works offline)
================== ===================================================================

Modules load on first use, so ``import radlab`` itself is instant.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_MODULES = (
    "config",
    "claims",
    "dicom",
    "data",
    "phantoms",
    "ct_physics",
    "transforms",
    "models",
    "pixelwise",
    "transfer",
    "saliency",
    "radiomics",
    "metrics",
    "train",
    "checkpoints",
    "distributed",
    "memmap",
    "study",
    "plot",
    "widgets",
    "course",
    "site",
    "exercises",
)
_SHORTCUTS = {"window": "dicom", "WINDOWS": "dicom", "seed_everything": "config"}

__all__ = [*_MODULES, *_SHORTCUTS]


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _SHORTCUTS:
        return getattr(importlib.import_module(f".{_SHORTCUTS[name]}", __name__), name)
    raise AttributeError(f"module 'radlab' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
