"""Every ``>>>`` example in a lab's docstrings prints what it says, under the NumPy the course installs.

A student copies a docstring's example into a cell and compares: ``0.5`` where NumPy 2 prints
``np.float64(0.5)`` teaches them that their function is wrong. The examples run against the reference
solutions, defined as the grader defines them (top-level definitions only, NumPy ones only: a TensorFlow
definition's examples are the lab's Keras tests' business).
"""

from __future__ import annotations

import doctest

import pytest
from conftest import solution_notebook

from autograder import checks, notebook
from autograder.sandbox.child import _LazyFrom, _LazyModule


def _examples(lab_id: str):
    """(name, docstring test) for each definition of the solution whose docstring holds an example."""
    chunks, _ = notebook.extract_definitions(notebook.read(solution_notebook(lab_id)))
    namespace = {"__name__": f"lab_{lab_id}", "__lazy_module__": _LazyModule, "__lazy_from__": _LazyFrom}
    for chunk in chunks:
        if chunk.profile == "numpy":
            exec(compile(chunk.code, f"{lab_id} cell {chunk.cell}", "exec"), namespace)  # noqa: S102 (our solutions)
    finder = doctest.DocTestFinder(recurse=True)
    found = []
    for name, value in list(namespace.items()):
        if callable(value) and getattr(value, "__module__", None) == namespace["__name__"]:
            for test in finder.find(value, name, globs=dict(namespace)):
                if test.examples:
                    found.append((test.name, test))
    return found


@pytest.mark.parametrize("lab_id", checks.lab_ids())
def test_docstring_examples_print_what_they_say(lab_id):
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    failures = []
    for name, test in _examples(lab_id):
        messages = []
        runner.run(test, out=messages.append, clear_globs=False)
        if messages:
            failures.append(f"{name}:\n{''.join(messages)}")
    assert not failures, "\n".join(failures)
