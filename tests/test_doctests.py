"""Every radlab module's docstring examples run and give what they show (one runner)."""

import doctest
import importlib
import pkgutil

import pytest

import radlab

ALL_MODULES = sorted(
    m.name for m in pkgutil.iter_modules(radlab.__path__) if not m.name.startswith("_")
)

# Modules whose docstrings hold examples: each must run at least one, so that an example lost
# (or a docstring the runner no longer finds) fails here instead of passing with nothing run.
WITH_EXAMPLES = [
    "checkpoints",
    "claims",
    "config",
    "data",
    "deid",
    "dicom",
    "distributed",
    "exercises",
    "memmap",
    "metrics",
    "models",
    "phantoms",
    "pixelwise",
    "plot",
    "radiomics",
    "saliency",
    "study",
    "train",
    "transforms",
    "transfer",
    "widgets",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_the_list_of_modules_with_examples_is_complete():
    assert set(WITH_EXAMPLES) <= set(ALL_MODULES)
    for name in set(ALL_MODULES) - set(WITH_EXAMPLES):
        module = importlib.import_module(f"radlab.{name}")
        found = doctest.DocTestFinder().find(module)
        assert not any(t.examples for t in found), (
            f"radlab.{name} has examples: add it to WITH_EXAMPLES"
        )


@pytest.mark.parametrize("name", ALL_MODULES)
def test_docstring_examples(name, monkeypatch, tmp_path, one_torch_thread):
    # the examples must not depend on (or write into) the caller's environment
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RADLAB_CLAIMS_DIR", raising=False)
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    module = importlib.import_module(f"radlab.{name}")
    result = doctest.testmod(module, optionflags=FLAGS, report=True)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples of radlab.{name} failed (see above)"
    )
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"radlab.{name} should have docstring examples"
    assert list(tmp_path.iterdir()) == [], "the examples left files behind"
