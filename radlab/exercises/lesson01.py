"""Exercises of lesson 01 (input data): windows, Hounsfield units, channels, memory.

Used in the lesson as ``from radlab.exercises import lesson01 as ex``; see
:mod:`radlab.exercises` for how an exercise is checked.
"""

from __future__ import annotations

from . import Exercise


def _subdural_window(level, width) -> str | None:
    level, width = float(level), float(width)
    if width <= 0:
        return "a window's width is a positive number of HU (the span from black to white)."
    if width > 400:
        return (
            f"a width of {width:g} HU squeezes blood, brain and CSF into a few grey levels "
            "(that is a bone-like window). Make it narrower, a few hundred HU at most."
        )
    if width < 130:
        return (
            f"a width of {width:g} HU is the brain window: a thin subdural collection "
            "next to the bright skull turns white and merges with the bone. Widen it to "
            "about 150-300 HU so that blood, brain and bone stay apart."
        )
    if not 50 <= level <= 100:
        return (
            f"with the level at {level:g} HU the centre of the window is not where the "
            "grey levels are needed: acute blood reads about 50-90 HU and brain 20-45 HU. "
            "Put the level between them and the bone, around 60-100 HU."
        )
    return None


subdural_window = Exercise(
    "a window for a subdural haematoma",
    _subdural_window,
    hint=(
        "Acute blood is 50-90 HU, brain 20-45 HU, the skull over 700 HU. The standard brain "
        "window (level 40, width 80) makes a thin crescent of blood beside the skull as white "
        "as the bone. Which way should the width go, and where should the level sit?"
    ),
    solution=(
        "level, width = 75, 215   # the usual 'subdural' window (any level 50-100 HU with a\n"
        "                          # width of 130-300 HU separates blood from bone)"
    ),
    solved=(75, 215),
    wrong=[((40, 80), "brain window"), ((500, 2000), "bone-like"), ((0, 200), "level")],
    praise="A wider window than the brain window keeps a thin crescent of blood off the skull.",
)
