"""One readable training loop: ``fit`` trains a model on images in memory, ``predict`` applies it.

``fit`` moves the whole training set to the device once (the GPU when there
is one); every epoch the cases are shuffled with a seeded generator and cut
into minibatches by indexing, with no DataLoader and no worker processes.
After each epoch the model is scored on the validation cases, the best
weights are kept, and training can stop early when the validation score
stops improving. The same loop trains

- a classifier: labels ``(N,)`` class numbers, cross-entropy, scored by AUC;
- a segmentation: masks ``(N, H, W)`` class numbers per pixel, outputs
  ``(N, K, H, W)``, cross-entropy per pixel, scored by the mean foreground Dice;
- a regression: float targets, mean squared error, scored by the loss or ``"mae"``.

With ``checkpoint="runs/pneumonia.pt"`` the best weights and everything
needed to go on are written after every epoch (see :mod:`radlab.checkpoints`);
calling ``fit`` again with the same checkpoint continues an interrupted run
(kernel restart, Ctrl-C, crash) where it stopped and, on the CPU, ends with
the same weights as a run that was never interrupted. A finished run is
simply loaded again, so a notebook cell that trains re-runs in a second.
(Bit-identical resumes need the same device and the same number of CPU threads.)

The whole study on one data set (train, choose on validation, test once)
lives in :mod:`radlab.study`; ``python -m radlab.train`` runs it.

Under ``torchrun`` (several processes, :mod:`radlab.distributed`) the same
loop trains with ``DistributedDataParallel``: each process takes its part of
every minibatch, the gradients are averaged, every process validates the same
model, and only the first process prints and writes the checkpoint. Training
images may also stay on disk (:class:`radlab.memmap.MemmapImages`): each
minibatch is then read when it is needed.

Example:
    >>> import torch
    >>> from radlab.models import small_cnn
    >>> x = torch.rand(64, 1, 16, 16); y = (x.mean(dim=(1, 2, 3)) > 0.5).long()
    >>> history = fit(small_cnn(width=4), (x, y), (x, y), epochs=2, lr=1e-2, progress=False)
    >>> len(history.train_loss), history.metric
    (2, 'auc')
    >>> predict(small_cnn(width=4), x).shape
    torch.Size([64, 2])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from . import config, distributed, metrics
from .checkpoints import RunCheckpoint, RunParts

__all__ = ["History", "LoopState", "RunSettings", "fit", "predict", "task_of"]

OPTIMIZERS = {
    "sgd": torch.optim.SGD,  # plain SGD, fixed learning rate (no momentum), as in lesson 04
    "adagrad": torch.optim.Adagrad,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}
# the validation metrics each kind of task can use; "loss" and "mae" are better when lower
METRICS = {
    "classification": ("auc", "accuracy", "loss"),
    "segmentation": ("dice", "accuracy", "loss"),
    "regression": ("loss", "mae"),
}
LOWER_IS_BETTER = ("loss", "mae")


@dataclass
class History:
    """What happened in each epoch of ``fit`` (epochs are numbered from 1).

    Lists hold one value per epoch: ``train_loss`` (mean over the epoch),
    ``val_loss``, ``val_metric`` (the metric named in ``metric``), ``lr`` at
    the end of the epoch, ``seconds`` (training plus validation) and
    ``images_per_sec`` (training images per second of training).
    ``best_epoch`` is the epoch whose weights the model holds at the end when
    the best weights are restored: ``val_metric[best_epoch - 1]``.
    """

    metric: str = "auc"
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_sec: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    device: str = ""

    def as_dict(self) -> dict:
        """The history as plain Python lists and numbers (ready for JSON)."""
        return asdict(self)

    @property
    def total_seconds(self) -> float:
        """Seconds spent in all epochs together."""
        return float(sum(self.seconds))


@dataclass(frozen=True)
class RunSettings:
    """The settings of one ``fit`` call with every default filled in (see ``fit``'s arguments)."""

    epochs: int
    batch_size: int
    optimizer: str | torch.optim.Optimizer | Callable  # as given: a name, an optimizer, a function
    lr: float
    weight_decay: float
    schedule: str | Callable | None
    early_stopping: int | None
    restore_best: bool
    device: torch.device
    amp: bool
    channels_last: bool
    seed: int
    progress: bool

    @classmethod
    def resolve(cls, *, device, amp, channels_last, seed, **options) -> RunSettings:
        """Fill in the course's defaults for ``device``, ``amp``, ``channels_last`` and ``seed``."""
        dev = torch.device(device) if device is not None else config.device()
        amp = config.use_amp(dev) if amp is None else amp
        if channels_last is None:
            channels_last = config.use_channels_last(dev)
        seed = config.seed(seed)
        return cls(
            device=dev, amp=bool(amp), channels_last=bool(channels_last), seed=seed, **options
        )

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self) -> torch.autocast:
        """Mixed precision context: float16 on CUDA, bfloat16 elsewhere; a no-op when off."""
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.amp)

    def fingerprint(self, n_train: int) -> dict:
        """What a resumed run must share with the run that wrote the checkpoint (plain values)."""

        def name(obj):
            return obj if isinstance(obj, str) or obj is None else type(obj).__name__

        return {
            "n_train": n_train,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": name(self.optimizer),
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "schedule": name(self.schedule),
            "seed": self.seed,
        }


@dataclass
class LoopState:
    """Where a training run stands: its history, the best weights so far, the patience used up.

    ``best_epoch`` and ``best_score`` live in the history (they are part of what ``fit`` returns).
    """

    history: History
    best_weights: dict[str, torch.Tensor] | None = None  # a CPU copy of the best epoch's weights
    since_best: int = 0  # epochs without a better validation score
    finished: bool = False

    @property
    def best_epoch(self) -> int | None:
        return self.history.best_epoch

    @property
    def best_score(self) -> float | None:
        return self.history.best_score

    def improved(self, score: float, higher_is_better: bool) -> bool:
        """Whether ``score`` beats the best so far (always true while there is no usable best)."""
        best = self.best_score
        if best is None or math.isnan(best):
            return True  # the first epoch, or no validation: the latest weights are kept
        return score > best if higher_is_better else score < best

    def keep_if_best(
        self, model: nn.Module, epoch: int, score: float, higher_is_better: bool
    ) -> bool:
        """Copy the weights when ``score`` is the best so far; count the epoch otherwise."""
        if not self.improved(score, higher_is_better):
            self.since_best += 1
            return False
        self.history.best_epoch, self.history.best_score = epoch, score
        self.best_weights = {
            k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
        }
        self.since_best = 0
        return True

    def end_epoch(self, epoch: int, settings: RunSettings) -> bool:
        """Decide whether the run is finished after ``epoch`` (last epoch, or patience used up)."""
        patience = settings.early_stopping
        self.finished = epoch == settings.epochs or (
            patience is not None and self.since_best >= patience
        )
        self.history.stopped_early = self.finished and epoch < settings.epochs
        return self.finished

    def finish(self, model: nn.Module, restore_best: bool, progress: bool) -> History:
        """Put the best weights back (when asked) and return the history."""
        history = self.history
        if restore_best and self.best_weights is not None:
            model.load_state_dict(self.best_weights)
        if progress and history.best_epoch is not None:
            score = f"validation {history.metric} {history.best_score:.4f}"
            print(f"best epoch {history.best_epoch}: {score}")
        return history

    def as_checkpoint(self) -> dict:
        """The state as plain values and tensors, as a checkpoint stores it."""
        return {
            "history": self.history.as_dict(),
            "best_state": self.best_weights,
            "since_best": self.since_best,
            "finished": self.finished,
        }

    @classmethod
    def from_checkpoint(cls, saved: dict) -> LoopState:
        """The state stored by :meth:`as_checkpoint`."""
        return cls(
            History(**saved["history"]), saved["best_state"], saved["since_best"], saved["finished"]
        )


# ----------------------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train: tuple,
    val: tuple | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    optimizer: str | torch.optim.Optimizer | Callable = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    schedule: str | Callable | None = None,
    loss: Callable | None = None,
    augment: Callable | None = None,
    metric: str | Callable | None = None,
    early_stopping: int | None = None,
    restore_best: bool = True,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = True,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    seed: int | None = None,
    progress: bool = True,
    callback: Callable | None = None,
) -> History:
    """Train ``model`` on ``train = (images, targets)`` and score it on ``val`` after every epoch.

    Args:
        model: maps ``(N, C, H, W)`` images to ``(N, K)`` outputs (``(N, K, H, W)`` for masks).
        train: ``(x, y)``: float images ``(N, C, H, W)`` and targets: class numbers ``(N,)``,
            masks of class numbers ``(N, H, W)``, or floats for a regression. The images may
            also be images on disk (:class:`radlab.memmap.MemmapImages`, or any object with
            ``len(x)``, ``x.shape`` and ``x[case_numbers]`` -> float tensor): each minibatch
            is then read when needed and moved to the device.
        val: ``(x, y)`` validation cases, or ``None`` (no model selection).
        epochs: passes over the training set.
        batch_size: cases per minibatch; an epoch is ceil(N / batch_size) steps of nearly
            equal size (so no tiny last batch upsets batch normalization). Under ``torchrun``
            the total over all processes: each takes its part of every minibatch.
        optimizer: ``"adamw"``, ``"adam"``, ``"sgd"`` (plain, no momentum), ``"adagrad"``,
            a torch optimizer built on the model's parameters, or a function
            ``params -> optimizer``.
        lr: learning rate (the peak one with ``schedule="onecycle"``).
        weight_decay: L2 penalty (decoupled for AdamW).
        schedule: ``None`` (fixed rate), ``"onecycle"``, ``"cosine"``, or a function
            ``(optimizer, total_steps) -> scheduler``; stepped every batch.
        loss: a function ``(outputs, targets) -> loss``; default cross-entropy for class
            numbers (per pixel for masks), mean squared error for float targets.
        augment: a function applied to each training batch ``(B, C, H, W)``.
        metric: the validation score that picks the best epoch: classes ``"auc"`` (default),
            ``"accuracy"``; masks ``"dice"`` (default: mean foreground Dice), ``"accuracy"``;
            any task ``"loss"`` (the default for a regression or without ``val``), regression
            ``"mae"``; or a function ``(y_true, outputs) -> score``, higher is better (NumPy
            arrays in: probabilities for classes and masks, raw outputs for a regression).
        early_stopping: stop after this many epochs without a better validation score.
        restore_best: end with the weights of the best validation epoch.
        checkpoint: path for the best weights; the full state goes beside it as
            ``<name>.last.pt`` (:mod:`radlab.checkpoints`). ``None``: nothing is written.
        resume: continue from ``<name>.last.pt`` when it exists (a finished run is just
            loaded). ``False`` starts over and overwrites.
        device: where to train; default ``radlab.config.device()``.
        amp: mixed precision (float16 with a gradient scaler on CUDA, bfloat16 on the CPU);
            default ``radlab.config.use_amp``.
        channels_last: memory layout for convolutions; default ``radlab.config.use_channels_last``.
        seed: seeds shuffling, dropout and augmentation (default: the course seed,
            ``radlab.config.seed()``). The model's starting weights are the caller's business.
        progress: show a progress bar (one step per epoch); under ``torchrun`` only the
            first process shows it.
        callback: called as ``callback(epoch, history)`` after each epoch, once the
            checkpoint is written (e.g. to draw a live plot).

    Returns:
        A :class:`History`. The model is left on ``device``.
    """
    progress = progress and distributed.is_main()
    settings = RunSettings.resolve(
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        schedule=schedule,
        early_stopping=early_stopping,
        restore_best=restore_best,
        device=device,
        amp=amp,
        channels_last=channels_last,
        seed=seed,
        progress=progress,
    )
    cases = _Cases.on_device(train, val, settings)
    scoring = _Scoring.choose(loss, metric, cases)
    if early_stopping is not None and val is None:
        raise ValueError("early_stopping needs validation cases: pass val=(x_val, y_val).")
    trainer = _Trainer.build(model, settings, cases, scoring, augment)
    saver = RunCheckpoint.beside(checkpoint, settings.fingerprint(len(cases.x)))
    _seed_draws(settings.seed, epochs_done=0)  # dropout and augmentation draws
    state = LoopState(History(metric=scoring.name, device=str(settings.device)))
    if saver is not None and resume and saver.last.exists():
        state = LoopState.from_checkpoint(saver.restore(trainer.parts))
        _seed_draws(settings.seed, epochs_done=len(state.history.epoch), resumed=True)
        if state.finished:
            if progress:
                print(f"{saver.last} holds a finished run: loaded it (delete it to train again).")
            return state.finish(model, restore_best, progress=False)
    _train_epochs(trainer, state, saver, callback)
    return state.finish(model, restore_best, progress)


def _seed_draws(seed: int, epochs_done: int, resumed: bool = False) -> None:
    """Seed dropout and augmentation. One process (or rank 0): ``seed``, or on resume the
    random state saved in the checkpoint. Every other process gets draws of its own, from
    ``(seed, rank, epochs done)``: its images are others, so its noise should be too."""
    rank = distributed.rank()
    if rank == 0:
        if not resumed:
            torch.manual_seed(seed)
        return
    torch.manual_seed(int(np.random.SeedSequence([seed, rank, epochs_done]).generate_state(1)[0]))


def _train_epochs(
    trainer: _Trainer, state: LoopState, saver: RunCheckpoint | None, callback: Callable | None
) -> None:
    """The epochs from where ``state`` stands to the last one (or an early stop)."""
    settings, history = trainer.settings, state.history
    bar = _progress_bar(len(history.epoch), settings)
    for epoch in range(len(history.epoch) + 1, settings.epochs + 1):
        score = trainer.run_epoch(epoch, history)
        improved = state.keep_if_best(
            trainer.parts.model, epoch, score, trainer.scoring.higher_is_better
        )
        state.end_epoch(epoch, settings)
        if saver is not None and distributed.is_main():  # one writer: the first process
            saver.save(trainer.parts, state.as_checkpoint(), save_best=improved)
        bar.update(1)
        bar.set_postfix(_postfix(history))
        if callback is not None:
            callback(epoch, history)
        if state.finished:
            break
    bar.close()


# ----------------------------------------------------------------------------- the pieces fit uses


@dataclass(frozen=True)
class _Cases:
    """Training and validation cases as tensors on the training device (moved once)."""

    x: torch.Tensor  # (N, C, H, W) float
    y: torch.Tensor  # (N,) classes, (N, H, W) masks (int64), or float targets
    xv: torch.Tensor | None = None
    yv: torch.Tensor | None = None

    @classmethod
    def on_device(cls, train, val, settings: RunSettings) -> _Cases:
        x, y = _as_tensors(train, "train", settings)
        xv, yv = _as_tensors(val, "val", settings) if val is not None else (None, None)
        return cls(x, y, xv, yv)

    @property
    def task(self) -> str:
        return task_of(self.y)


def task_of(targets: torch.Tensor) -> str:
    """What the targets ask for: ``"regression"`` (floats), ``"segmentation"`` (masks
    ``(N, H, W)`` of class numbers) or ``"classification"`` (class numbers ``(N,)``)."""
    if targets.dtype.is_floating_point:
        return "regression"
    return "segmentation" if targets.ndim == 3 else "classification"


def _as_tensors(pair, name: str, settings: RunSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` as tensors on the device, with a clear error for the usual mistakes."""
    try:
        x, y = pair
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (images, labels), e.g. {name}=(x, y).") from None
    y = torch.as_tensor(y)
    if _on_disk(x):
        if len(x.shape) != 4 or len(x) != len(y):
            raise ValueError(
                f"{name} images must be (N, C, H, W) with one label per image; got images "
                f"{tuple(x.shape)} and labels {tuple(y.shape)}."
            )
        return x, (y.float() if y.dtype.is_floating_point else y.long()).to(settings.device)
    x = torch.as_tensor(x)
    if not x.dtype.is_floating_point:
        raise ValueError(
            f"The {name} images are {x.dtype} (raw pixel values); convert them to float in [0, 1] "
            "first, e.g. x.float() / 255."
        )
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(
            f"{name} images must be (N, C, H, W) with one label per image (a class, a mask or a "
            f"value); got images {tuple(x.shape)} and labels {tuple(y.shape)}."
        )
    y = y.float() if y.dtype.is_floating_point else y.long()
    return x.to(settings.device).contiguous(memory_format=settings.memory_format), y.to(
        settings.device
    )


def _on_disk(x) -> bool:
    """Whether ``x`` is images read a minibatch at a time (not a tensor or array in memory)."""
    return not isinstance(x, torch.Tensor | np.ndarray | list | tuple) and hasattr(x, "shape")


def _batch(x, idx: torch.Tensor, settings: RunSettings) -> torch.Tensor:
    """The images ``x[idx]`` on the device: indexed in place, or read from disk and moved."""
    return _to_device(x[idx.cpu()], settings) if _on_disk(x) else x[idx]


def _to_device(xb: torch.Tensor, settings: RunSettings) -> torch.Tensor:
    """Images on the training device in its memory layout (no copy when they are already)."""
    return xb.to(settings.device).contiguous(memory_format=settings.memory_format)


def _chunks(x, size: int):
    """``x`` in consecutive pieces of ``size`` images (read from disk one piece at a time)."""
    if not _on_disk(x):
        yield from x.split(size)
        return
    for start in range(0, len(x), size):
        yield x[start : start + size]


@dataclass(frozen=True)
class _Scoring:
    """The training loss and the validation metric that picks the best epoch."""

    loss: Callable  # (outputs, targets) -> loss
    metric: str | Callable  # a name in METRICS, or a function (y_true, outputs) -> score
    name: str
    higher_is_better: bool

    @classmethod
    def choose(cls, loss, metric, cases: _Cases) -> _Scoring:
        """The defaults for the task, and a plain error for a metric that does not fit it."""
        task = cases.task
        loss = loss or (_mse if task == "regression" else nn.functional.cross_entropy)
        if metric is None:
            metric = METRICS[task][0] if cases.xv is not None else "loss"
        if callable(metric):
            return cls(loss, metric, getattr(metric, "__name__", "metric"), True)
        if metric not in METRICS[task]:
            known = {m for names in METRICS.values() for m in names}
            what = "is not known" if metric not in known else f"does not fit a {task}"
            raise ValueError(
                f"metric={metric!r} {what}; for a {task} use one of {', '.join(METRICS[task])} "
                "or a function (y_true, outputs) -> score."
            )
        return cls(loss, metric, metric, metric not in LOWER_IS_BETTER)

    def score(self, y: np.ndarray, out: np.ndarray) -> float:
        """The metric on targets ``y`` and outputs ``out`` (probabilities for classes)."""
        if callable(self.metric):
            return float(self.metric(y, out))
        if self.metric == "auc":
            return metrics.auc(y, out)
        if self.metric == "accuracy":  # of the most probable class (per pixel for masks)
            return float((out.argmax(1) == y).mean())
        if self.metric == "dice":
            return float(np.mean(metrics.dice_per_class(y, out)))
        return float(np.abs(out.reshape(y.shape) - y).mean())  # "mae"


def _mse(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error with the target shaped like the outputs ((N,) vs (N, 1))."""
    return nn.functional.mse_loss(outputs.float(), target.view_as(outputs))


@dataclass
class _Trainer:
    """What one epoch needs: the settings, the cases, the scoring and the parts that train."""

    settings: RunSettings
    cases: _Cases
    scoring: _Scoring
    parts: RunParts
    augment: Callable | None  # applied to each training batch
    net: nn.Module | None = None  # what trains: the model, or its DistributedDataParallel wrapper

    @classmethod
    def build(
        cls, model: nn.Module, settings: RunSettings, cases: _Cases, scoring: _Scoring, augment
    ) -> _Trainer:
        """Move the model to the device; build its optimizer, schedule and gradient scaler."""
        model.to(settings.device, memory_format=settings.memory_format)
        opt = _make_optimizer(model, settings)
        sched = _make_schedule(opt, settings, settings.epochs * _steps_per_epoch(cases, settings))
        dev = settings.device  # float16 needs a gradient scaler, bfloat16 not
        scaler = torch.amp.GradScaler(dev.type, enabled=settings.amp and dev.type == "cuda")
        shuffler = torch.Generator().manual_seed(settings.seed)
        parts = RunParts(model, opt, sched, scaler, shuffler)
        return cls(settings, cases, scoring, parts, augment, _wrap(model, settings, cases))

    def run_epoch(self, epoch: int, history: History) -> float:
        """Train one epoch, validate, add the epoch's numbers to ``history``; return the score."""
        start = time.perf_counter()
        train_loss = self.train_one_epoch()
        train_seconds = time.perf_counter() - start
        val_loss, score = self.validate()
        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.val_loss.append(val_loss)
        history.val_metric.append(score)
        history.lr.append(float(self.parts.optimizer.param_groups[0]["lr"]))
        history.seconds.append(time.perf_counter() - start)
        history.images_per_sec.append(len(self.cases.x) / train_seconds)
        return score

    def train_one_epoch(self) -> float:
        """One pass over the shuffled training set; returns the mean training loss.

        Under ``torchrun`` every process draws the same order and the same minibatches and
        trains on its own part of each (:func:`radlab.distributed.shard`); the gradients are
        averaged over the processes, weighted by the cases each had, so that a step follows
        the mean loss over the whole minibatch, as in one process.
        """
        x, y, p = self.cases.x, self.cases.y, self.parts
        dev, world = self.settings.device, distributed.world_size()
        net = self.net or p.model
        order = torch.randperm(len(x), generator=p.shuffler).to(dev)
        net.train()
        total = torch.zeros((), device=dev)  # summed on the device: no GPU sync per step
        for batch in order.tensor_split(_steps_per_epoch(self.cases, self.settings)):
            idx = distributed.shard(batch) if world > 1 else batch
            xb, yb = _batch(x, idx, self.settings), y[idx]  # (B, C, H, W), (B,) or (B, H, W)
            if self.augment is not None:
                xb = self.augment(xb)
            with self.settings.autocast():
                batch_loss = self.scoring.loss(net(xb), yb)
            step_loss = batch_loss if world == 1 else batch_loss * (world * len(idx) / len(batch))
            p.optimizer.zero_grad(set_to_none=True)
            p.scaler.scale(step_loss).backward()
            p.scaler.step(p.optimizer)
            p.scaler.update()
            if p.scheduler is not None:
                p.scheduler.step()
            total += batch_loss.detach().float() * len(idx)
        distributed.broadcast_buffers(p.model)  # every process validates and saves one model
        return distributed.all_mean(total, len(x))

    def validate(self) -> tuple[float, float]:
        """Validation loss and score (NaN, NaN without validation cases).

        Under ``torchrun`` every process scores the whole validation split with the same
        weights, and all take the first process's numbers, so they decide alike.
        """
        return distributed.broadcast_value(self._validate())

    @torch.inference_mode()
    def _validate(self) -> tuple[float, float]:
        xv, yv = self.cases.xv, self.cases.yv
        if xv is None:
            return math.nan, math.nan
        self.parts.model.eval()
        with self.settings.autocast():  # (N, K) or (N, K, H, W) float32 on the device
            chunks = _chunks(xv, max(self.settings.batch_size, 256))
            outputs = torch.cat(
                [self.parts.model(_to_device(xb, self.settings)).float() for xb in chunks]
            )
        val_loss = float(self.scoring.loss(outputs, yv))
        if self.scoring.metric == "loss":
            return val_loss, val_loss
        probs = outputs if yv.dtype.is_floating_point else torch.softmax(outputs, dim=1)
        return val_loss, self.scoring.score(yv.cpu().numpy(), probs.cpu().numpy())


def _steps_per_epoch(cases: _Cases, settings: RunSettings) -> int:
    return math.ceil(len(cases.x) / settings.batch_size)


def _wrap(model: nn.Module, settings: RunSettings, cases: _Cases) -> nn.Module | None:
    """Under ``torchrun``: the model in ``DistributedDataParallel`` (it averages the gradients
    of the processes after each backward pass); ``None`` in a single process."""
    world = distributed.world_size()
    if world == 1:
        return None
    smallest = len(cases.x) // _steps_per_epoch(cases, settings)
    if smallest < world:
        raise ValueError(
            f"The smallest minibatch has {smallest} cases, fewer than the {world} processes: "
            f"use a batch size of at least {world} (the total over all processes)."
        )
    dev = settings.device
    if dev.type != "cuda":
        return nn.parallel.DistributedDataParallel(model)
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    return nn.parallel.DistributedDataParallel(model, device_ids=[index])


def _make_optimizer(model: nn.Module, settings: RunSettings) -> torch.optim.Optimizer:
    """An optimizer from its name, a built optimizer, or a function of the parameters."""
    optimizer = settings.optimizer
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(model.parameters())
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer={optimizer!r} is not known; use one of {', '.join(OPTIMIZERS)}."
        )
    return OPTIMIZERS[optimizer](
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )


def _make_schedule(opt: torch.optim.Optimizer, settings: RunSettings, total_steps: int):
    """A learning-rate scheduler stepped after every batch, or ``None``."""
    schedule = settings.schedule
    if schedule is None:
        return None
    if schedule == "onecycle":  # warm up to lr over the first 30 % of steps, then anneal to ~0
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=settings.lr, total_steps=max(total_steps, 2)
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    if callable(schedule):
        return schedule(opt, total_steps)
    raise ValueError(
        f"schedule={schedule!r} is not known; use None, 'onecycle', 'cosine' or a function."
    )


def _progress_bar(done: int, settings: RunSettings):
    """A notebook-aware progress bar over epochs."""
    from tqdm.auto import tqdm

    return tqdm(
        total=settings.epochs,
        initial=done,
        desc="epochs",
        unit="epoch",
        disable=not settings.progress,
        leave=False,
    )


def _postfix(history: History) -> dict:
    """The numbers shown beside the progress bar."""
    shown = {"train_loss": f"{history.train_loss[-1]:.4f}"}
    if not math.isnan(history.val_metric[-1]):
        shown[f"val_{history.metric}"] = f"{history.val_metric[-1]:.4f}"
    return shown


# ----------------------------------------------------------------------------- predict


def predict(
    model: nn.Module,
    x,
    *,
    batch_size: int = 512,
    device: str | torch.device | None = None,
    softmax: bool = True,
) -> torch.Tensor:
    """Class probabilities ``(N, K)`` (``(N, K, H, W)`` for masks) on the CPU for images ``x``.

    Args:
        model: a trained model (put in evaluation mode for the call).
        x: float images ``(N, C, H, W)``; they may live on any device, or on disk
            (:class:`radlab.memmap.MemmapImages`, read ``batch_size`` images at a time).
        batch_size: images per forward pass.
        device: where to compute; default: where the model's weights are.
        softmax: ``False`` returns the raw outputs (logits, or a regression value).
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.to(dev).eval()
    images = x if _on_disk(x) else torch.as_tensor(x)
    with torch.inference_mode():
        out = torch.cat([model(xb.to(dev)).float().cpu() for xb in _chunks(images, batch_size)])
    model.train(was_training)
    return torch.softmax(out, dim=1) if softmax else out


if __name__ == "__main__":
    from radlab.study import main

    raise SystemExit(main())
