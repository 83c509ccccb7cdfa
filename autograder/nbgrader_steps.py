"""What this course adds to nbgrader's own pipeline, loaded by ``nbgrader_config.py``.

Two things are ours: naming the exercise in every stub, and clearing the hidden checks
from the feedback that ``nbgrader generate_feedback`` writes. nbgrader replaces each
solution region with ``raise NotImplementedError()``; :class:`NameStubs` runs right after
and writes the enclosing function's name into it, so a student (and the grader) sees
``NotImplementedError: central_difference``.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    GetGrades,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    NbGraderPreprocessor,
    SaveCells,
)

STDERR_NOISE = (
    r"(?m)^(\s*[IWEF]\d{4} \d\d:\d\d:\d\d|.*(tensorflow|TensorFlow|absl|oneDNN|cuda|CUDA|XLA|TF-TRT|cuDNN|cuBLAS)"
    r"|WARNING: All log messages before absl|.*\w+Warning: )"
)
_SCOPE = re.compile(r"^(\s*)(def|class)\s+(\w+)\s*[(:]")
_STUB = re.compile(r"^(\s*)raise NotImplementedError\(\)\s*$")


def name_stubs(source: str) -> str:
    """Replaces each bare ``raise NotImplementedError()`` by one naming its function.

    A method's stub names its class too: ``NotImplementedError("Value.backward")``.
    """
    lines, scopes = source.split("\n"), []  # (indent, name) of the enclosing classes and functions
    for i, line in enumerate(lines):
        match = _SCOPE.match(line)
        if match:
            indent = len(match.group(1))
            scopes = [scope for scope in scopes if scope[0] < indent] + [(indent, match.group(3))]
        stub = _STUB.match(line)
        if stub and scopes:
            indent = len(stub.group(1))
            names = [name for depth, name in scopes if depth < indent]
            if names:
                lines[i] = f'{stub.group(1)}raise NotImplementedError("{".".join(names)}")'
    return "\n".join(lines)


class NameStubs(NbGraderPreprocessor):
    """Names the exercise in the stubs that ClearSolutions leaves in solution cells."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = name_stubs(cell.source)
        return cell, resources


GENERATE_ASSIGNMENT_PREPROCESSORS = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    ClearSolutions,
    NameStubs,
    ClearOutput,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

# nbgrader's own chain (GetGrades, CSSHTMLHeaderPreprocessor) with the hidden checks' code
# cleared first: the autograded notebook has them back in its check cells (nbgrader#917).
GENERATE_FEEDBACK_PREPROCESSORS = [
    ClearHiddenTests,
    GetGrades,
    CSSHTMLHeaderPreprocessor,
]
