"""The examples in the workflow docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib
from types import ModuleType

import pytest

from tweenlab.workflow import activity, pay, states, tasks

# the package exports the function ``consensus``, which hides its module's name there
MODULES = [tasks, states, activity, pay, importlib.import_module("tweenlab.workflow.consensus")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
