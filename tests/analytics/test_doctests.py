"""The examples in the analytics docstrings run and print what they say.

Run here rather than with ``--doctest-modules`` so that they run with every invocation of the
analytics tests (``pytest tests/analytics``) and nothing else in the repository is collected as
doctests; one test per module spreads them over ``pytest -n`` workers.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import soloist.analytics

MODULES = sorted(
    f"soloist.analytics.{info.name}" for info in pkgutil.iter_modules(soloist.analytics.__path__)
)
#: modules whose public API must be illustrated by examples that run
WITH_EXAMPLES = {
    "soloist.analytics.base",
    "soloist.analytics.bg_nbd",
    "soloist.analytics.datasets",
    "soloist.analytics.gamma_gamma",
    "soloist.analytics.metrics",
    "soloist.analytics.pareto_nbd",
    "soloist.analytics.rfm",
    "soloist.analytics.sbg",
}


def test_the_module_list_knows_every_module_with_examples() -> None:
    assert set(MODULES) >= WITH_EXAMPLES


@pytest.mark.parametrize("name", ["soloist.analytics", *MODULES])
def test_docstring_examples_run_and_print_what_they_show(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner()
    report = io.StringIO()
    for test in finder.find(module, name):
        runner.run(test, out=report.write)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, report.getvalue()
    if name in WITH_EXAMPLES:
        assert results.attempted > 0, f"{name} has no docstring examples"


def test_no_example_is_skipped() -> None:
    import inspect

    skipped = [
        name
        for name in ["soloist.analytics", *MODULES]
        if "+SKIP" in inspect.getsource(importlib.import_module(name))
    ]
    assert skipped == []
