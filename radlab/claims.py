"""Record what a lesson measures and what it claims; enforce the claims in cpu and gpu mode.

A lesson says what it shows ("three phases beat one phase") together with
the numbers that show it. In ``cpu`` and ``gpu`` mode a claim that its own
numbers do not support stops the lesson with :class:`ClaimNotSupported`, so
the course runner reports the lesson as failed. In ``smoke`` mode (tiny data,
a few steps) claims are recorded but not enforced.

When the course runner executes a lesson it sets ``RADLAB_CLAIMS_DIR``; the
record is then written there as ``<lesson>.claims.json`` beside the executed
notebook. In an interactive session nothing is written.

Example:
    >>> rec = lesson("demo")
    >>> rec.measure("auc_3_phases", 0.93)
    0.93
    >>> rec.claim("three phases beat one", 0.93 > 0.41, three=0.93, one=0.41)
    claim held: three phases beat one (three=0.93, one=0.41)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import config
from .checkpoints import atomic_write_text

__all__ = ["ClaimNotSupported", "Lesson", "lesson"]


class ClaimNotSupported(AssertionError):
    """A lesson claimed something that its own measured numbers do not show."""


def _plain(value):
    """Numbers from NumPy or torch as plain Python numbers, for JSON."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Lesson:
    """The numbers and claims of one lesson (see the module docstring)."""

    def __init__(self, name: str):
        self.name = name
        self.mode = config.mode()
        self.numbers: dict[str, object] = {}
        self.claims: list[dict] = []

    def measure(self, key: str, value, note: str = ""):
        """Record a measured number under ``key`` and return it unchanged."""
        self.numbers[key] = {"value": _plain(value), "note": note} if note else _plain(value)
        self.save()
        return value

    def claim(self, text: str, holds: bool, **numbers) -> None:
        """Record the claim ``text`` with the numbers behind it; enforce it outside smoke mode.

        The numbers are recorded too (as :meth:`measure` would), so one line both records what
        the lesson measured and checks what it says about it. Returns None, so that a claim at
        the end of a cell shows only its printed line; :attr:`claims` holds the record.
        """
        holds = bool(holds)
        numbers = {k: _plain(v) for k, v in numbers.items()}
        self.numbers.update(numbers)
        enforced = self.mode != "smoke"
        self.claims.append(
            {"claim": text, "holds": holds, "enforced": enforced, "numbers": numbers}
        )
        self.save()
        detail = ", ".join(f"{k}={_fmt(v)}" for k, v in numbers.items())
        detail = f" ({detail})" if detail else ""
        if holds:
            print(f"claim held: {text}{detail}")
        elif enforced:
            raise ClaimNotSupported(
                f"The lesson claims '{text}', but its own numbers do not show it{detail}. "
                f"Run mode {self.mode!r}: look at the cells above, or rerun with more data "
                "(RADLAB_MODE=gpu) before trusting this lesson's conclusion."
            )
        else:
            print(f"claim not shown in smoke mode (too little data; not enforced): {text}{detail}")

    def as_dict(self) -> dict:
        return {
            "lesson": self.name,
            "mode": self.mode,
            "numbers": self.numbers,
            "claims": self.claims,
        }

    def save(self) -> Path | None:
        """Write ``<lesson>.claims.json`` into ``RADLAB_CLAIMS_DIR`` when it is set."""
        folder = os.environ.get("RADLAB_CLAIMS_DIR", "").strip()
        if not folder:
            return None
        path = Path(folder) / f"{self.name}.claims.json"
        atomic_write_text(path, json.dumps(self.as_dict(), indent=2))  # never half a record
        return path


def lesson(name: str) -> Lesson:
    """Start the record of lesson ``name`` (for example ``"01_input_data"``)."""
    return Lesson(name)
