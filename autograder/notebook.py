"""Reading a submitted notebook: tolerant parsing, lab recognition, definition extraction.

The grader never runs a notebook top to bottom. It keeps each code cell's top-level
imports, function and class definitions and UPPER_CASE constants, in cell order, so a
slow or broken demo cell cannot cost a student the points of a correct function.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder import checks

MAX_NOTEBOOK_BYTES = 50 * 1024**2
SKIPPED_IMPORTS = {"autograder", "IPython", "google"}
# Imported only if a graded function touches them: `import tensorflow` alone costs seconds.
LAZY_IMPORTS = {"tensorflow", "keras", "torch", "jax", "matplotlib", "seaborn", "pandas", "sklearn", "scipy", "tqdm"}
_CHECKER_CALL = re.compile(r"Checker\(\s*['\"]([0-9]{2}_[A-Za-z0-9_]+)['\"]\s*\)")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# `%magic` or `!command`, but not a continuation line that starts with `% b` (modulo) or `!= b`.
_LINE_MAGIC = re.compile(r"%(?![\s=])|!(?!=)")


class NotebookError(ValueError):
    """A notebook that cannot be read; the message is for the student."""


@dataclass(frozen=True)
class Chunk:
    """One top-level definition: its cell number, first line and source text."""

    cell: int
    line: int
    code: str

    def to_json(self) -> dict:
        return {"cell": self.cell, "line": self.line, "code": self.code}


@dataclass(frozen=True)
class Notebook:
    """A parsed submission: its code cells, metadata and reading notes."""

    path: Path
    code_cells: tuple[str, ...]
    metadata: dict
    notes: tuple[str, ...] = ()


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def read(path: Path) -> Notebook:
    """Parses ``path`` as a Jupyter notebook (nbformat 3 or 4), tolerating what it can."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"the notebook is {size / 1024**2:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 1024**2} MB "
                                "limit: clear its outputs (Edit → Clear All Outputs) and submit again")
        raw = path.read_bytes()
    except OSError as exc:
        raise NotebookError(f"the notebook could not be opened: {exc.strerror}") from None
    notes = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        notes.append("the file is not valid UTF-8; unreadable characters were replaced")
    if not text.strip():
        raise NotebookError("the notebook file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"the file is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                            "Was it edited in a text editor or cut short? Download it again from Jupyter.") from None
    except RecursionError:
        raise NotebookError("the file is not valid notebook JSON (nested too deeply). "
                            "Download it again from Jupyter.") from None
    if not isinstance(data, dict):
        raise NotebookError("the file is JSON but not a notebook (no cells)")
    if isinstance(data.get("cells"), list):
        cells = data["cells"]
        key = "source"
    elif (isinstance(data.get("worksheets"), list) and data["worksheets"] and isinstance(data["worksheets"][0], dict)
          and isinstance(data["worksheets"][0].get("cells", []), list)):
        cells = data["worksheets"][0].get("cells", [])
        key = "input"
        notes.append("an old notebook format (nbformat 3) was read")
    else:
        raise NotebookError("the file is JSON but not a notebook (no cells)")
    code = tuple(_text(c.get(key)) for c in cells if isinstance(c, dict) and c.get("cell_type") == "code")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return Notebook(path=path, code_cells=code, metadata=metadata, notes=tuple(notes))


def identify_lab(notebook: Notebook) -> str | None:
    """The lab a notebook belongs to, from its content first and its name last."""
    known = checks.lab_ids()
    tagged = notebook.metadata.get("autograder")
    if isinstance(tagged, dict) and tagged.get("lab") in known:
        return tagged["lab"]
    for source in notebook.code_cells:
        match = _CHECKER_CALL.search(source)
        if match and match.group(1) in known:
            return match.group(1)
    defined = {name for source in notebook.code_cells for name in re.findall(r"^def\s+(\w+)", source, re.M)}
    overlap = {lab_id: len(defined & {e.name for e in checks.load_lab(lab_id).exercises}) for lab_id in known}
    best = max(overlap, key=overlap.get, default=None)
    if best and overlap[best] > 0:
        return best
    for part in (notebook.path.stem, notebook.path.parent.name):
        for lab_id in known:
            if part == lab_id or part.startswith(lab_id.split("_")[0] + "_"):
                return lab_id
    return None


def _strip_magics(source: str) -> str:
    lines = source.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return ""
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if _LINE_MAGIC.match(stripped):
            kept.append(line[: len(line) - len(stripped)] + "pass")
        else:
            kept.append(line)
    return "\n".join(kept)


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Import):
        return all(a.name.split(".")[0] not in SKIPPED_IMPORTS for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] not in SKIPPED_IMPORTS
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) and _CONSTANT.match(t.id) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and bool(_CONSTANT.match(node.target.id)) and node.value is not None
    return False


def _segment(lines: list[str], node: ast.stmt) -> tuple[int, str]:
    """The first line and source of ``node``, without statements sharing its lines after a `;`."""
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators])
    picked = [line.encode() for line in lines[start - 1: node.end_lineno]]
    picked[-1] = picked[-1][: node.end_col_offset]  # ast's columns count UTF-8 bytes
    if not decorators:
        picked[0] = picked[0][node.col_offset:]
    return start, b"\n".join(picked).decode()


def extract_definitions(notebook: Notebook) -> tuple[list[Chunk], list[str]]:
    """The top-level definitions of every code cell, and notes on cells that were skipped."""
    chunks, notes = [], []
    for number, source in enumerate(notebook.code_cells, start=1):
        code = _strip_magics(source)
        if not code and source.strip():
            notes.append(f"code cell {number} starts with a cell magic (%%…), so the grader skipped it: "
                         "move definitions you want graded to a plain cell")
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            notes.append(f"code cell {number} has a syntax error (line {exc.lineno}: {exc.msg}); "
                         "its definitions were skipped")
            continue
        except (ValueError, RecursionError, MemoryError):
            notes.append(f"code cell {number} could not be parsed; its definitions were skipped")
            continue
        lines = code.split("\n")
        for node in tree.body:
            if not _keep(node):
                continue
            start, text = _segment(lines, node)
            chunks.append(Chunk(cell=number, line=start, code=_lazy_import(node) or text))
    return chunks, notes


def _root(name: str | None) -> str:
    return (name or "").split(".")[0]


def _lazy_import(node: ast.stmt) -> str | None:
    """For an import of a heavy package, code binding the same names to lazy proxies.

    The sandbox defines ``__lazy_module__(name, load)`` and ``__lazy_from__(module, attr)``,
    which import on first use; any other import is kept as written.
    """
    if isinstance(node, ast.Import) and any(_root(a.name) in LAZY_IMPORTS for a in node.names):
        return "; ".join(
            (f"import {a.name}" + (f" as {a.asname}" if a.asname else "")) if _root(a.name) not in LAZY_IMPORTS
            else f"{a.asname} = __lazy_module__({a.name!r}, {a.name!r})" if a.asname
            else f"{_root(a.name)} = __lazy_module__({_root(a.name)!r}, {a.name!r})"
            for a in node.names)
    if isinstance(node, ast.ImportFrom) and _root(node.module) in LAZY_IMPORTS:
        if any(a.name == "*" for a in node.names):
            return None
        return "; ".join(f"{a.asname or a.name} = __lazy_from__({node.module!r}, {a.name!r})" for a in node.names)
    return None
