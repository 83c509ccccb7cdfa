"""Reading a submitted notebook: tolerant parsing, lab recognition, definition extraction.

The grader never runs a notebook top to bottom. It keeps each code cell's top-level
imports, function and class definitions and UPPER_CASE constants, in cell order, so a
slow or broken demo cell cannot cost a student the points of a correct function.
"""

from __future__ import annotations

import ast
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from autograder import checks

# Memory is bounded by input size times a per-shape factor, measured on Python 3.11: json.loads
# costs up to ~64 bytes per value (`[[],[],...]`, `{"a":0},...`) and ast.parse up to ~730 bytes
# per character of code (`f()` lines). Hence a file cap, a cap on the JSON values a file may
# hold (its `,:[{` bytes; outside strings only when text outputs hold many), and caps on code
# per cell and in all: a reading peaks under ~250 MB whatever the file holds, where an 8 MB
# cell used to take 4 GB.
MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_JSON_VALUES = 2_000_000
MAX_CELL_CHARS = 100_000
MAX_CODE_CHARS = 500_000
MAX_CODE_CELLS = 2_000
SKIPPED_IMPORTS = {"autograder", "IPython", "google"}
# The public modules a lab's own code may use (its data, its plots), inside the sandbox too.
STUDENT_MODULES = {"autograder.data", "autograder.plotting"}
# Imported only if a graded function touches them: `import tensorflow` alone costs seconds.
LAZY_IMPORTS = {"tensorflow", "keras", "torch", "jax", "matplotlib", "seaborn", "pandas", "sklearn", "scipy", "tqdm"}
_CHECKER_CALL = re.compile(r"Checker\(\s*['\"]([0-9]{2}_[A-Za-z0-9_]+)['\"]\s*\)")
_CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]*$")
# `%magic` or `!command`, but not a continuation line that starts with `% b` (modulo) or `!= b`.
_LINE_MAGIC = re.compile(r"%(?![\s=])|!(?!=)")
# A JSON string, or the rest of the file after an unclosed one: every `"` starts a match that
# succeeds, so stripping strings is linear even for `"\"\"\"…` with no end.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.S)
_MAX_QUOTES_TO_STRIP = 1_000_000
# Parsing holds the GIL, so grading threads gain nothing by parsing at once; one at a time keeps
# the process's peak at one reading's, whatever --jobs is. It is also required: CPython 3.11's AST
# constructor, run in two threads at once, can fail with "AST constructor recursion depth mismatch"
# (gh-106905). Every ast.parse of this process takes this lock.
_PARSING = threading.Lock()


class NotebookError(ValueError):
    """A notebook that cannot be read; the message is for the student."""


@dataclass(frozen=True)
class Chunk:
    """One top-level definition: its cell number, first line and source text.

    ``profile`` is ``"tensorflow"`` for a definition that needs TensorFlow as soon as it
    is defined (a class built on ``keras.layers.Layer``, a ``@tf.function``, a constant
    that builds a model): only the grader's TensorFlow child defines it, so that the
    NumPy children never import TensorFlow.
    """

    cell: int
    line: int
    code: str
    profile: str = "numpy"

    def to_json(self) -> dict:
        return {"cell": self.cell, "line": self.line, "code": self.code, "profile": self.profile}


@dataclass(frozen=True)
class Notebook:
    """A parsed submission: its code cells, the metadata the grader uses and reading notes.

    ``metadata`` keeps only ``{"autograder": {"lab": ...}}``: the rest of a hostile file's
    metadata could hold a hundred megabytes for as long as the submission is graded.
    """

    path: Path
    code_cells: tuple[str, ...]
    metadata: dict
    notes: tuple[str, ...] = ()


def _values_at_most(raw: bytes) -> int:
    """At least the number of JSON values and keys in ``raw``: each follows a `[`, `{`, `,` or `:`."""
    return sum(raw.count(c) for c in (b",", b":", b"[", b"{"))


def _size(source) -> int:
    if isinstance(source, list):
        return sum(len(s) for s in source if isinstance(s, str))
    return len(source) if isinstance(source, str) else 0


def _text(source) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _numbers(cells: list[int]) -> str:
    shown = ", ".join(map(str, cells[:10]))
    return shown + (f" and {len(cells) - 10} more" if len(cells) > 10 else "")


def _code_cells(cells: list, key: str, notes: list[str]) -> tuple[str, ...]:
    """The code cells' sources; a cell over the caps becomes "" (so numbering holds) with a note."""
    code, too_large, over_total, total = [], [], [], 0
    for cell in cells:
        if not (isinstance(cell, dict) and cell.get("cell_type") == "code"):
            continue
        if len(code) == MAX_CODE_CELLS:
            notes.append(f"the notebook has more than {MAX_CODE_CELLS:,} code cells; the grader read the first "
                         f"{MAX_CODE_CELLS:,} and skipped the rest")
            break
        size = _size(cell.get(key))
        if size > MAX_CELL_CHARS:
            too_large.append(len(code) + 1)
            code.append("")
        elif total + size > MAX_CODE_CHARS:
            over_total.append(len(code) + 1)
            code.append("")
        else:
            total += size
            code.append(_text(cell.get(key)))
    if too_large:
        notes.append(f"code cell{'s' if len(too_large) > 1 else ''} {_numbers(too_large)} "
                     f"{'hold' if len(too_large) > 1 else 'holds'} more than {MAX_CELL_CHARS:,} characters, "
                     "the limit for one cell, so the grader skipped "
                     f"{'them' if len(too_large) > 1 else 'it'}: keep data out of code cells "
                     "(load it from a file) and split long code into several cells")
    if over_total:
        notes.append(f"the notebook holds more than {MAX_CODE_CHARS:,} characters of code in all, so the grader "
                     f"skipped code cell{'s' if len(over_total) > 1 else ''} {_numbers(over_total)}: "
                     "remove code the lab does not need")
    return tuple(code)


def read(path: Path) -> Notebook:
    """Parses ``path`` as a Jupyter notebook (nbformat 3 or 4), tolerating what it can."""
    with _PARSING:
        return _read(Path(path))


def _read(path: Path) -> Notebook:
    try:
        with path.open("rb") as handle:
            # Read one byte past the cap rather than trust stat(): the size is what was read.
            raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        raise NotebookError(f"the notebook could not be opened: {exc.strerror}") from None
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the notebook is over the {MAX_NOTEBOOK_BYTES // 1024**2} MB limit: clear its "
                            "outputs (Edit → Clear All Outputs) and submit again")
    # Stripping strings costs ~200 bytes per string: only for files with few (long) strings.
    if _values_at_most(raw) > MAX_JSON_VALUES and (raw.count(b'"') > _MAX_QUOTES_TO_STRIP
                                                   or _values_at_most(_JSON_STRING.sub(b"", raw)) > MAX_JSON_VALUES):
        raise NotebookError(f"the notebook holds more than {MAX_JSON_VALUES:,} JSON values, the limit: clear its "
                            "outputs (Edit → Clear All Outputs), keep data out of code cells and submit again")
    notes = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        notes.append("the file is not valid UTF-8; unreadable characters were replaced")
    del raw
    if not text or text.isspace():  # not strip(): it would copy the whole text
        raise NotebookError("the notebook file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"the file is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                            "Was it edited in a text editor or cut short? Download it again from Jupyter.") from None
    except RecursionError:
        raise NotebookError("the file is not valid notebook JSON (nested too deeply). "
                            "Download it again from Jupyter.") from None
    del text
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
    code = _code_cells(cells, key, notes)
    metadata = _lab_metadata(data.get("metadata"))
    return Notebook(path=path, code_cells=code, metadata=metadata, notes=tuple(notes))


def _lab_metadata(metadata) -> dict:
    tagged = metadata.get("autograder") if isinstance(metadata, dict) else None
    lab = tagged.get("lab") if isinstance(tagged, dict) else None
    return {"autograder": {"lab": lab}} if isinstance(lab, str) and len(lab) <= 100 else {}


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
        return all(a.name in STUDENT_MODULES or a.name.split(".")[0] not in SKIPPED_IMPORTS for a in node.names)
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if module == "autograder":
            return node.level == 0 and all(f"autograder.{a.name}" in STUDENT_MODULES for a in node.names)
        return node.level == 0 and (module in STUDENT_MODULES or module.split(".")[0] not in SKIPPED_IMPORTS)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) and _CONSTANT.match(t.id) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and bool(_CONSTANT.match(node.target.id)) and node.value is not None
    return False


def _segment(lines: list[bytes], node: ast.stmt) -> tuple[int, str]:
    """The first line and source of ``node``, without statements sharing its lines after a `;`.

    ``lines`` are the cell's lines in UTF-8, as ast's columns count bytes. Only the node's own
    span is copied: thousands of `A = 1;` on one long line must not copy that line each time.
    """
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators])
    first = 0 if decorators else node.col_offset
    if start == node.end_lineno:
        return start, lines[start - 1][first:node.end_col_offset].decode()
    last = node.end_lineno - 1
    picked = [lines[start - 1][first:], *lines[start:last], lines[last][: node.end_col_offset]]
    return start, b"\n".join(picked).decode()


def extract_definitions(notebook: Notebook) -> tuple[list[Chunk], list[str]]:
    """The top-level definitions of every code cell, and notes on cells that were skipped."""
    chunks, notes, tensorflow_names = [], [], set()
    for number, source in enumerate(notebook.code_cells, start=1):
        code = _strip_magics(source)
        if not code and source.strip():
            notes.append(f"code cell {number} starts with a cell magic (%%…), so the grader skipped it: "
                         "move definitions you want graded to a plain cell")
            continue
        try:
            with _PARSING:
                tree = ast.parse(code)
        except SyntaxError as exc:
            notes.append(f"code cell {number} has a syntax error (line {exc.lineno}: {exc.msg}); "
                         "its definitions were skipped")
            continue
        except (ValueError, RecursionError, MemoryError):
            notes.append(f"code cell {number} could not be parsed; its definitions were skipped")
            continue
        lines = code.encode().split(b"\n")
        for node in tree.body:
            if not _keep(node):
                continue
            start, text = _segment(lines, node)
            tensorflow_names |= _tensorflow_names(node)
            profile = "tensorflow" if _needs_tensorflow(node, tensorflow_names) else "numpy"
            chunks.append(Chunk(cell=number, line=start, code=_lazy_import(node) or text, profile=profile))
    return chunks, notes


TENSORFLOW_ROOTS = {"tensorflow", "keras", "tf_keras"}


def _tensorflow_names(node: ast.stmt) -> set[str]:
    """The names an import binds to TensorFlow or Keras (``tf``, ``keras``, ``layers``, ``Dense``…)."""
    if isinstance(node, ast.Import):
        return {a.asname or _root(a.name) for a in node.names if _root(a.name) in TENSORFLOW_ROOTS}
    if isinstance(node, ast.ImportFrom) and _root(node.module) in TENSORFLOW_ROOTS:
        return {a.asname or a.name for a in node.names}
    return set()


def _needs_tensorflow(node: ast.stmt, names: set[str]) -> bool:
    """Whether defining ``node`` evaluates one of ``names``: a base class, a decorator, a default, a value."""
    if not names or isinstance(node, (ast.Import, ast.ImportFrom)):
        return False
    if isinstance(node, ast.ClassDef):
        evaluated = [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        evaluated = [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]
    else:
        evaluated = [node]
    return any(isinstance(n, ast.Name) and n.id in names for e in evaluated for n in ast.walk(e))


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


def _is_stub_body(body: list[ast.stmt], name: str) -> bool:
    """``[docstring] raise NotImplementedError("name")``: what the release leaves in a solution cell.

    Only that exact stub: its outcome, and so its feedback, is known without running it.
    """
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
            body[0].value.value, str):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].cause is not None:
        return False
    raised = body[0].exc
    return (isinstance(raised, ast.Call) and isinstance(raised.func, ast.Name)
            and raised.func.id == "NotImplementedError" and not raised.keywords and len(raised.args) == 1
            and isinstance(raised.args[0], ast.Constant) and raised.args[0].value == name)


def _mentions(tree: ast.AST, name: str) -> int:
    """How often ``name`` occurs in ``tree``: as a name, an attribute, an argument, an import or inside a string.

    Inside a string it counts as a whole word: ``"mirrored_train_step"`` does not name ``train_step``.
    """
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name or isinstance(node, ast.Attribute) and node.attr == name:
            count += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            count += 1
        elif isinstance(node, ast.arg) and node.arg == name or isinstance(node, ast.keyword) and node.arg == name:
            count += 1
        elif isinstance(node, ast.alias) and name in (node.name.split(".")[-1], node.asname):
            count += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            count += 1
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            count += len(re.findall(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", node.value))
    return count


def untouched_stubs(chunks: list[Chunk], names: set[str]) -> set[str]:
    """The ``names`` whose only trace in ``chunks`` is the release's stub, left as it was.

    Such a function raises NotImplementedError whatever the other definitions do: it is
    defined once, at the top level, without decorators, with a body that only raises, and
    its name occurs nowhere else (not as a name, an attribute, an import, nor inside a
    string that ``exec`` or ``globals()[...]`` could use). The grader then need not start a
    TensorFlow child to learn it. A submission that builds the name some other way (from
    pieces of strings) is graded as a stub: only its author can lose by it.
    """
    if not names:
        return set()
    trees = []
    for chunk in chunks:
        try:
            with _PARSING:  # CPython's AST constructor is not safe to run in two threads (gh-106905)
                trees.append(ast.parse(chunk.code))
        except SyntaxError:
            return set()  # the child reports it; do not guess
    found = set()
    for name in names:
        defs = [node for tree in trees for node in tree.body
                if isinstance(node, ast.FunctionDef) and node.name == name]
        if (len(defs) == 1 and not defs[0].decorator_list and _is_stub_body(defs[0].body, name)
                and sum(_mentions(tree, name) for tree in trees) == _mentions(defs[0], name)):
            found.add(name)
    return found
