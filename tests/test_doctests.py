"""Examples in losskit's docstrings run, and print what they say."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import losskit

MODULES = ["losskit", *sorted(
    info.name for info in pkgutil.walk_packages(losskit.__path__, prefix="losskit.")
    if info.name.split(".")[-1] not in ("__main__",)
)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    with np.printoptions(legacy="1.25"):
        flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        result = doctest.testmod(module, optionflags=flags)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_there_are_examples_to_run() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(len(test.examples) for name in MODULES
                   for test in finder.find(importlib.import_module(name)))
    assert examples >= 5, f"only {examples} docstring examples found"
