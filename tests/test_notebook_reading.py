"""Reading submissions: tolerant parsing, definition extraction and lab recognition."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, release_notebook, solution_notebook

from autograder import checks, notebook
from autograder.notebook import Notebook, NotebookError, extract_definitions, identify_lab, read

LABS = ["01_gradient_descent", "02_gradient_checking"]


def notebook_json(*sources, metadata=None) -> dict:
    """An nbformat 4 notebook whose code cells hold ``sources`` (each a str or a list of lines)."""
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s}
             for s in sources]
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def cells(*sources) -> Notebook:
    """A parsed notebook made directly of code cell sources."""
    return Notebook(path=notebook.Path("cells.ipynb"), code_cells=tuple(sources), metadata={})


def codes(*sources) -> list[str]:
    chunks, _ = extract_definitions(cells(*sources))
    return [chunk.code for chunk in chunks]


def without_lab_metadata(lab: str) -> dict:
    data = json.loads(release_notebook(lab).read_text(encoding="utf-8"))
    data["metadata"].pop("autograder", None)
    return data


def without_checker_calls(data: dict) -> dict:
    for cell in data["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = text.replace("Checker(", "Helper(")
    return data


# read ------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["list", "str"])
def test_read_returns_code_cells_in_order_whatever_the_source_style(write_notebook, style):
    sources = ["import numpy as np\n", "def f(x):\n    return 2 * x\n"]
    as_style = [s.splitlines(keepends=True) if style == "list" else s for s in sources]
    parsed = read(write_notebook(notebook_json(*as_style)))
    assert parsed.code_cells == tuple(sources)
    assert parsed.notes == ()


def test_read_keeps_only_code_cells(write_notebook):
    data = notebook_json("x = 1\n")
    data["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": "def g(): pass"},
                      {"cell_type": "raw", "metadata": {}, "source": "def h(): pass"},
                      "not a cell", {"cell_type": "code", "source": ["y = 2\n", 3, None]}]
    assert read(write_notebook(data)).code_cells == ("x = 1\n", "y = 2\n")


def test_read_returns_the_notebook_metadata(write_notebook):
    parsed = read(write_notebook(notebook_json("", metadata={"autograder": {"lab": "02_gradient_checking"}})))
    assert parsed.metadata == {"autograder": {"lab": "02_gradient_checking"}}


@pytest.mark.parametrize("metadata", [
    {"autograder": {"lab": "01_gradient_descent", "extra": [1] * 100}, "kernelspec": {"name": "python3"}},
    {"autograder": {"lab": ["01_gradient_descent"]}},
    {"autograder": {"lab": "x" * 101}},
    {"autograder": "01_gradient_descent"},
], ids=["extra_keys", "lab_a_list", "lab_too_long", "autograder_a_string"])
def test_read_keeps_only_the_lab_tag_of_the_metadata(write_notebook, metadata):
    parsed = read(write_notebook(notebook_json("", metadata=metadata)))
    tag = metadata["autograder"].get("lab") if isinstance(metadata["autograder"], dict) else None
    assert parsed.metadata == ({"autograder": {"lab": tag}} if isinstance(tag, str) and len(tag) <= 100 else {})


def test_read_replaces_metadata_that_is_not_an_object(write_notebook):
    data = notebook_json("")
    data["metadata"] = ["not", "a", "dict"]
    assert read(write_notebook(data)).metadata == {}


@pytest.mark.parametrize("lab", LABS)
def test_read_solution_notebook_finds_every_exercise(lab):
    parsed = read(solution_notebook(lab))
    text = "\n".join(parsed.code_cells)
    assert parsed.notes == ()
    assert parsed.metadata["autograder"]["lab"] == lab
    assert all(f"def {e.name}(" in text for e in checks.load_lab(lab).exercises)


def test_read_nbformat_3_uses_the_input_of_the_first_worksheet(write_notebook):
    data = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
            "worksheets": [{"cells": [{"cell_type": "code", "language": "python", "input": ["def f(x):\n",
                                                                                            "    return x\n"]},
                                      {"cell_type": "markdown", "source": "text"},
                                      {"cell_type": "code", "language": "python", "input": "X = 1"}]}]}
    parsed = read(write_notebook(data))
    assert parsed.code_cells == ("def f(x):\n    return x\n", "X = 1")
    assert parsed.metadata == {}  # only the lab tag would be kept
    assert parsed.notes == ("an old notebook format (nbformat 3) was read",)


def test_read_accepts_a_utf8_byte_order_mark(write_notebook):
    raw = b"\xef\xbb\xbf" + json.dumps(notebook_json("NAME = 'Zoë'\n"), ensure_ascii=False).encode()
    parsed = read(write_notebook(raw))
    assert parsed.code_cells == ("NAME = 'Zoë'\n",)
    assert parsed.notes == ()


def test_read_non_utf8_bytes_with_a_note(write_notebook):
    raw = json.dumps(notebook_json("NAME = 'Zo\u00eb'\n"), ensure_ascii=False).encode("latin-1")
    parsed = read(write_notebook(raw))
    assert parsed.code_cells == ("NAME = 'Zo\ufffd'\n",)
    assert parsed.notes == ("the file is not valid UTF-8; unreadable characters were replaced",)


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xef\xbb\xbf"], ids=["empty", "whitespace", "bom_only"])
def test_read_empty_file_is_refused(write_notebook, content):
    with pytest.raises(NotebookError, match="^the notebook file is empty$"):
        read(write_notebook(content))


@pytest.mark.parametrize(("content", "position"), [
    ('{"cells": [', "line 1, column 12"),
    ('{\n  "cells": [,\n]}', "line 2, column 13"),
    ('{"cells": [],}', "line 1, column 14"),
], ids=["cut_short", "stray_comma_line_2", "trailing_comma"])
def test_read_invalid_json_names_the_line_and_column(write_notebook, content, position):
    with pytest.raises(NotebookError, match=rf"not valid notebook JSON \({position}: "):
        read(write_notebook(content))


def test_read_deeply_nested_json_is_refused_with_a_message(write_notebook):
    with pytest.raises(NotebookError, match="not valid notebook JSON"):
        read(write_notebook("[" * 100_000))


@pytest.mark.parametrize("content", [
    "[]", '[{"cells": []}]', "42", '"cells"', "null", '{"metadata": {}}', '{"cells": "abc"}', '{"worksheets": []}',
    '{"worksheets": [["cell"]]}', '{"worksheets": ["text"]}', '{"worksheets": [{"cells": 5}]}',
], ids=["list", "list_of_notebook", "number", "string", "null", "dict_without_cells", "cells_not_a_list",
        "no_worksheets", "worksheet_a_list", "worksheet_a_string", "worksheet_cells_not_a_list"])
def test_read_json_that_is_not_a_notebook_is_refused(write_notebook, content):
    with pytest.raises(NotebookError, match=r"^the file is JSON but not a notebook \(no cells\)$"):
        read(write_notebook(content))


def test_read_file_over_the_size_limit_is_refused(write_notebook, monkeypatch):
    path = write_notebook(notebook_json("x = 1\n" * 1000))
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", path.stat().st_size - 1)
    with pytest.raises(NotebookError, match="over the .* limit: clear its outputs"):
        read(path)


def test_read_file_at_the_size_limit_is_read(write_notebook, monkeypatch):
    path = write_notebook(notebook_json("x = 1\n"))
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", path.stat().st_size)
    assert read(path).code_cells == ("x = 1\n",)


def test_read_missing_file_is_refused(tmp_path):
    with pytest.raises(NotebookError, match="could not be opened: No such file or directory"):
        read(tmp_path / "missing.ipynb")


# limits: what a hostile notebook can cost the grading process ---------------------------

def test_read_counts_what_it_read_not_what_stat_says(write_notebook, monkeypatch):
    path = write_notebook(notebook_json("x = 1\n" * 1000))
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 100)
    with pytest.raises(NotebookError, match="over the 0 MB limit: clear its outputs"):
        read(path)


@pytest.mark.parametrize("outputs", [[[[]] * 200], [[{"a": 0}] * 70], [["ab"] * 200], [list(range(200))]],
                         ids=["empty_lists", "small_dicts", "short_strings", "numbers"])
def test_read_refuses_a_notebook_with_too_many_json_values(write_notebook, monkeypatch, outputs):
    data = notebook_json("def f(x):\n    return x\n")
    data["cells"][0]["outputs"] = outputs
    monkeypatch.setattr(notebook, "MAX_JSON_VALUES", 200)
    with pytest.raises(NotebookError, match=r"more than 200 JSON values, the limit: clear its outputs"):
        read(write_notebook(data))


@pytest.mark.parametrize("text", ["1, 2: [3] {4}, " * 100, '\\"[1, 2]\\", ' * 100],
                         ids=["punctuation", "escaped_quotes"])
def test_read_does_not_count_punctuation_inside_strings_as_values(write_notebook, monkeypatch, text):
    data = notebook_json("def f(x):\n    return x\n")
    data["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [text]}]
    monkeypatch.setattr(notebook, "MAX_JSON_VALUES", 200)
    assert read(write_notebook(data)).code_cells == ("def f(x):\n    return x\n",)


@pytest.mark.parametrize("content", ['{"cells": [], "x": "' + '\\"' * 300, '{"cells": [], "x": "' + ',' * 300 + '\\'],
                         ids=["escaped_quotes", "trailing_backslash"])
def test_read_refuses_an_unclosed_string_as_invalid_json(write_notebook, monkeypatch, content):
    monkeypatch.setattr(notebook, "MAX_JSON_VALUES", 200)
    with pytest.raises(NotebookError, match="not valid notebook JSON"):
        read(write_notebook(content))


@pytest.mark.parametrize("style", ["list", "str"])
def test_read_skips_a_cell_over_the_cell_limit_and_keeps_the_others(write_notebook, monkeypatch, style):
    huge = "X = 1\n" * 100
    sources = ["def f(x):\n    return x\n", huge.splitlines(keepends=True) if style == "list" else huge,
               "def g(x):\n    return x\n"]
    monkeypatch.setattr(notebook, "MAX_CELL_CHARS", len(huge) - 1)
    parsed = read(write_notebook(notebook_json(*sources)))
    assert parsed.code_cells == (sources[0], "", sources[2])
    assert parsed.notes == (f"code cell 2 holds more than {len(huge) - 1:,} characters, the limit for one cell, so "
                            "the grader skipped it: keep data out of code cells (load it from a file) and split "
                            "long code into several cells",)
    chunks, _ = extract_definitions(parsed)
    assert [(c.cell, c.code.split("(")[0]) for c in chunks] == [(1, "def f"), (3, "def g")]


def test_read_skips_cells_past_the_total_code_limit_with_one_note(write_notebook, monkeypatch):
    sources = ["A = 1\n", "B = 22\n", "C = 333\n", "D = 4\n"]
    monkeypatch.setattr(notebook, "MAX_CODE_CHARS", 15)
    parsed = read(write_notebook(notebook_json(*sources)))
    assert parsed.code_cells == ("A = 1\n", "B = 22\n", "", "")
    assert parsed.notes == ("the notebook holds more than 15 characters of code in all, so the grader skipped code "
                            "cells 3, 4: remove code the lab does not need",)


def test_read_lists_at_most_ten_skipped_cells(write_notebook, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_CELL_CHARS", 3)
    parsed = read(write_notebook(notebook_json(*["X = 1\n"] * 13)))
    assert "code cells 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 3 more hold more than 3 characters" in parsed.notes[0]


def test_read_keeps_only_the_first_code_cells_over_the_cell_count_limit(write_notebook, monkeypatch):
    monkeypatch.setattr(notebook, "MAX_CODE_CELLS", 2)
    parsed = read(write_notebook(notebook_json("A = 1\n", "B = 2\n", "C = 3\n")))
    assert parsed.code_cells == ("A = 1\n", "B = 2\n")
    assert parsed.notes == ("the notebook has more than 2 code cells; the grader read the first 2 and skipped "
                            "the rest",)


def test_extract_splits_thousands_of_statements_on_one_line():
    source = "".join(f"A{i} = {i}; " for i in range(5000)) + "ü = 'ü'; Z = 'é'"
    kept = codes(source)
    assert kept[:2] == ["A0 = 0", "A1 = 1"]
    assert kept[-2:] == ["A4999 = 4999", "Z = 'é'"]
    assert len(kept) == 5001


HOSTILE = {  # shape: (notebook, whether read refuses it)
    "an_8_mb_code_cell": (lambda: notebook_json("def f(x):\n    return x\n", "f()\n" * 2 * 1024**2), False),
    "a_50_mb_output": (lambda: {**notebook_json("def f(x):\n    return x\n"), "outputs": ["a" * 50 * 1024**2]}, True),
    "empty_lists_at_the_value_limit": (lambda: {**notebook_json("x = 1\n"),
                                                "outputs": [[]] * ((notebook.MAX_JSON_VALUES - 100) // 2)}, False),
    "small_dicts_at_the_value_limit": (lambda: {**notebook_json("x = 1\n"),
                                                "outputs": [{"a": 0}] * (notebook.MAX_JSON_VALUES // 3 - 100)}, False),
    "empty_lists_over_the_value_limit": (lambda: {**notebook_json("x = 1\n"),
                                                  "outputs": [[]] * notebook.MAX_JSON_VALUES}, True),
    "punctuation_in_text_at_the_size_limit": (lambda: {**notebook_json("x = 1\n"),
                                                       "outputs": [",:[{" * (notebook.MAX_NOTEBOOK_BYTES // 4 - 100)]},
                                              False),
    "many_strings_to_strip": (lambda: {**notebook_json("x = 1\n"),
                                       "outputs": [",,,,,"] * (notebook._MAX_QUOTES_TO_STRIP // 2 - 100)}, False),
    "short_strings_over_the_value_limit": (lambda: {**notebook_json("x = 1\n"),
                                                    "outputs": ["ab"] * notebook.MAX_JSON_VALUES}, True),
    # One character beyond U+FFFF makes Python store every character of that text in 4 bytes.
    "wide_text_at_the_size_limit": (lambda: {**notebook_json("x = 1\n"),
                                             "outputs": ["\U0001F600" + "a" * (notebook.MAX_NOTEBOOK_BYTES - 500)]},
                                    False),
    "code_at_the_code_limit": (lambda: notebook_json(
        *["f()\n" * (notebook.MAX_CELL_CHARS // 4)] * (notebook.MAX_CODE_CHARS // notebook.MAX_CELL_CHARS)), False),
}
PEAK_SCRIPT = """
import sys
from pathlib import Path
from autograder import notebook
def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024
try:
    parsed = notebook.read(Path(sys.argv[1]))
    notebook.identify_lab(parsed)
    notebook.extract_definitions(parsed)
    refused = False
except notebook.NotebookError:
    refused = True
print(refused, peak_mb())
"""


@pytest.mark.skipif(not notebook.Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize("shape", HOSTILE)
def test_reading_a_hostile_notebook_stays_under_400_mb(tmp_path, shape):
    path = tmp_path / "hostile.ipynb"
    build, refused = HOSTILE[shape]
    path.write_text(json.dumps(build(), ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True,
                          check=True, timeout=120, cwd=ROOT)
    was_refused, peak = done.stdout.split()
    assert was_refused == str(refused)
    assert int(peak) < 400, f"reading peaked at {peak} MB"


# extract_definitions ---------------------------------------------------------------------

KEPT = {
    "import": "import numpy as np",
    "import_from": "from math import sqrt, pi",
    "function": "def f(x):\n    return x + 1",
    "async_function": "async def f():\n    return 1",
    "class": "class Model:\n    size = 3\n\n    def forward(self, x):\n        return x",
    "constant": "LEARNING_RATE = 0.1",
    "private_constant": "_SEED = 0",
    "chained_constants": "A = B = 2",
    "annotated_constant": "NUM_STEPS: int = 100",
    "constant_over_lines": "SIZES = [\n    4,\n    5,\n]",
}


@pytest.mark.parametrize("name", sorted(KEPT))
def test_extract_keeps_top_level_definition(name):
    assert codes(KEPT[name] + "\n") == [KEPT[name]]


DROPPED = {
    "call": "train(model)",
    "print": "print('hello')",
    "lowercase_assignment": "learning_rate = 0.1",
    "mixed_case_assignment": "Learning_Rate = 0.1",
    "tuple_assignment": "A, B = 1, 2",
    "augmented_constant": "A += 1",
    "annotation_without_value": "NUM_STEPS: int",
    "attribute_assignment": "np.X = 1",
    "for_loop": "for i in range(3):\n    X = i",
    "while_loop": "while False:\n    pass",
    "if_block": "if True:\n    import os",
    "try_block": "try:\n    import os\nexcept ImportError:\n    pass",
    "with_block": "with open('f') as fh:\n    pass",
    "expression": "1 + 1",
    "relative_import": "from . import helpers",
    "assert": "assert f(1) == 2",
}


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_extract_drops_top_level_statement(name):
    assert codes(DROPPED[name] + "\n") == []


@pytest.mark.parametrize("statement", ["import autograder", "from autograder.check_cells import Checker"])
def test_extract_drops_imports_of_the_grader(statement):
    assert codes(statement + "\n") == []


@pytest.mark.parametrize(("statement", "lazy"), [
    ("import tensorflow as tf", "tf = __lazy_module__('tensorflow', 'tensorflow')"),
    ("import keras", "keras = __lazy_module__('keras', 'keras')"),
    ("import tensorflow.keras.layers", "tensorflow = __lazy_module__('tensorflow', 'tensorflow.keras.layers')"),
    ("from tensorflow import keras", "keras = __lazy_from__('tensorflow', 'keras')"),
    ("from keras.optimizers import SGD as sgd", "sgd = __lazy_from__('keras.optimizers', 'SGD')"),
    ("import matplotlib.pyplot as plt", "plt = __lazy_module__('matplotlib.pyplot', 'matplotlib.pyplot')"),
    ("import numpy as np, tensorflow as tf", "import numpy as np; tf = __lazy_module__('tensorflow', 'tensorflow')"),
])
def test_extract_makes_heavy_imports_lazy(statement, lazy):
    assert codes(statement + "\n") == [lazy]


def test_lazy_imports_load_only_when_a_graded_function_uses_them():
    from autograder.sandbox import runner

    source = ("import tensorflow as tf\nimport matplotlib.pyplot as plt\nimport sys\n"
              "def loaded(x):\n    return [m in sys.modules for m in ('tensorflow', 'matplotlib')]\n"
              "def plots(x):\n    plt.figure()\n    return 'matplotlib' in sys.modules\n")
    chunks, _ = extract_definitions(cells(source))
    case = {"args": {"$tuple": [1]}, "kwargs": {"$dict": []}}
    report = runner.run([c.to_json() for c in chunks],
                        [runner.Task("loaded", "loaded", (case,)), runner.Task("plots", "plots", (case,))],
                        hidden_paths=[])
    assert report.outcomes["loaded"][0]["value"] == [False, False]
    assert report.outcomes["plots"][0]["value"] is True


@pytest.mark.parametrize("statement", ["import kerasutils", "from tensorflowish import x", "import autograders"])
def test_extract_keeps_imports_that_only_share_a_prefix(statement):
    assert codes(statement) == [statement]


def test_extract_keeps_decorators_with_their_function():
    source = "import functools\n\n@functools.lru_cache\n@staticmethod\ndef f(x):\n    return x\n"
    chunks, _ = extract_definitions(cells(source))
    assert chunks[1].code == "@functools.lru_cache\n@staticmethod\ndef f(x):\n    return x"
    assert chunks[1].line == 3


def test_extract_records_cell_and_line_of_each_definition():
    chunks, _ = extract_definitions(cells("X = 1\n", "print(1)\n\n\ndef f():\n    pass\n"))
    assert [(c.cell, c.line) for c in chunks] == [(1, 1), (2, 4)]


def test_extract_keeps_definitions_around_dropped_statements():
    source = ("import numpy as np\nnp.random.seed(0)\ndata = np.ones(3)\nSCALE = 2\nprint(data)\n"
              "def f(x):\n    return x\n")
    assert codes(source) == ["import numpy as np", "SCALE = 2", "def f(x):\n    return x"]


@pytest.mark.parametrize(("source", "kept"), [
    ("import numpy as np; np.random.seed(0)", ["import numpy as np"]),
    ("X = 1; run_training()", ["X = 1"]),
    ("print('start'); Y = 'é'; print('end')", ["Y = 'é'"]),
    ("def f(): return 1; print('in the body')", ["def f(): return 1; print('in the body')"]),
], ids=["import_then_call", "constant_then_call", "calls_around_constant", "one_line_function_body"])
def test_extract_drops_calls_sharing_a_line_with_a_definition(source, kept):
    assert codes(source + "\n") == kept


@pytest.mark.parametrize("magic", ["%matplotlib inline", "!pip install x", "%load_ext autoreload", "! ls -l",
                                   "%time X = f(1)"])
def test_extract_tolerates_line_magics(magic):
    assert codes(f"{magic}\nimport numpy as np\n{magic}\ndef f(x):\n    return x\n") == [
        "import numpy as np", "def f(x):\n    return x"]


def test_extract_tolerates_a_line_magic_inside_a_function():
    assert codes("def f():\n    !ls\n    return 1\n") == ["def f():\n    pass\n    return 1"]


@pytest.mark.parametrize("source", [
    "def f(a, b):\n    return (\n        a\n        != b\n    )",
    "def f(a, b):\n    return (a\n            % b)",
    "X = (1\n     % 2)",
], ids=["not_equal_continuation", "modulo_continuation", "modulo_continuation_in_constant"])
def test_extract_keeps_operators_that_start_a_continuation_line(source):
    assert codes(source + "\n") == [source]


@pytest.mark.parametrize("cell_magic", ["%%time", "%%capture output", "\n%%timeit", "%%bash"])
def test_extract_skips_cells_run_by_a_cell_magic_with_a_note(cell_magic):
    chunks, notes = extract_definitions(cells(f"{cell_magic}\ndef f():\n    pass\n", "def g():\n    pass\n"))
    assert [c.code for c in chunks] == ["def g():\n    pass"]
    assert len(notes) == 1 and notes[0].startswith("code cell 1 starts with a cell magic")


def test_extract_skips_a_cell_with_a_syntax_error_and_keeps_the_others():
    chunks, notes = extract_definitions(cells("def f(x):\n    return x\n", "def g(x):\n    return x +\n",
                                              "def h(x):\n    return x\n"))
    assert [(c.cell, c.code.split("(")[0]) for c in chunks] == [(1, "def f"), (3, "def h")]
    assert len(notes) == 1
    assert notes[0].startswith("code cell 2 has a syntax error (line 2: ")
    assert notes[0].endswith("its definitions were skipped")


@pytest.mark.parametrize("source", [
    "X = " + "-" * 100_000 + "1",
    "X = " + "[" * 5000 + "]" * 5000,
    "X = " + "a + " * 50_000 + "a",
    "def f():\n" + "".join(" " * i + "if x:\n" for i in range(1, 200)) + " " * 200 + "pass",
    'X = "\ud800"',
], ids=["deep_unary", "deep_brackets", "long_sum", "deep_indentation", "lone_surrogate"])
def test_extract_skips_a_cell_the_parser_cannot_take_and_keeps_the_others(source):
    chunks, notes = extract_definitions(cells("def f(x):\n    return x\n", source, "def h(x):\n    return x\n"))
    assert [(c.cell, c.code.split("(")[0]) for c in chunks] == [(1, "def f"), (3, "def h")]
    assert len(notes) == 1 and notes[0].startswith("code cell 2 ")
    assert notes[0].endswith("its definitions were skipped")


def test_extract_keeps_every_definition_of_a_name_in_cell_order():
    chunks, _ = extract_definitions(cells("def f():\n    return 1\n", "X = 1\n", "def f():\n    return 2\n",
                                          "def f():\n    return 3\n"))
    assert [(c.cell, c.code) for c in chunks if c.code.startswith("def f")] == [
        (1, "def f():\n    return 1"), (3, "def f():\n    return 2"), (4, "def f():\n    return 3")]


def test_extract_handles_windows_line_endings():
    assert [c.splitlines()[0] for c in codes("import os\r\ndef f():\r\n    return 1\r\n")] == ["import os", "def f():"]


@pytest.mark.parametrize("path", [solution_notebook, release_notebook], ids=["solution", "release"])
@pytest.mark.parametrize("lab", LABS)
def test_extract_from_a_real_notebook_defines_every_exercise_and_no_grader_code(lab, path):
    chunks, notes = extract_definitions(read(path(lab)))
    defined = [c.code.split("(")[0].removeprefix("def ") for c in chunks if c.code.startswith("def ")]
    assert notes == []
    assert {e.name for e in checks.load_lab(lab).exercises} <= set(defined)
    assert not any("autograder" in c.code or c.code.startswith(("import tensorflow", "import keras", "check("))
                   for c in chunks)


def test_chunk_to_json_is_plain_data():
    chunks, _ = extract_definitions(cells("\nX = 1\n"))
    assert [c.to_json() for c in chunks] == [{"cell": 1, "line": 2, "code": "X = 1", "profile": "numpy"}]


# identify_lab ----------------------------------------------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_identify_lab_from_metadata_beats_the_folder_name(write_notebook, lab):
    other = LABS[1 - LABS.index(lab)]
    path = write_notebook(notebook_json("", metadata={"autograder": {"lab": lab}}), lab=other, name=f"{other}.ipynb")
    assert identify_lab(read(path)) == lab


@pytest.mark.parametrize("tag", [{"lab": "99_unknown"}, {"lab": ["01_gradient_descent"]}, "01_gradient_descent"],
                         ids=["unknown_lab", "lab_a_list", "tag_a_string"])
def test_identify_lab_ignores_unusable_metadata(write_notebook, tag):
    path = write_notebook(notebook_json("", metadata={"autograder": tag}), lab="misc", name="notes.ipynb")
    assert identify_lab(read(path)) is None


@pytest.mark.parametrize("call", ['Checker("02_gradient_checking")', "Checker( '02_gradient_checking' )",
                                  'check = Checker("02_gradient_checking")'])
def test_identify_lab_from_a_checker_call(write_notebook, call):
    path = write_notebook(notebook_json("import numpy as np\n", f"{call}\n"), lab="01_gradient_descent",
                          name="01_gradient_descent.ipynb")
    assert identify_lab(read(path)) == "02_gradient_checking"


def test_identify_lab_ignores_a_checker_call_of_an_unknown_lab(write_notebook):
    path = write_notebook(notebook_json('Checker("99_unknown")\n'), lab="misc", name="notes.ipynb")
    assert identify_lab(read(path)) is None


@pytest.mark.parametrize(("functions", "lab"), [
    (["central_difference"], "01_gradient_descent"),
    (["gradient_descent_1d", "grid_search", "helper"], "01_gradient_descent"),
    (["relative_error"], "02_gradient_checking"),
    (["gradient_descent", "gradient_check", "central_difference"], "02_gradient_checking"),
])
def test_identify_lab_from_function_names(write_notebook, functions, lab):
    sources = [f"def {name}(x):\n    return x\n" for name in functions]
    path = write_notebook(notebook_json(*sources), lab="misc", name="notes.ipynb")
    assert identify_lab(read(path)) == lab


@pytest.mark.parametrize(("folder", "name", "lab"), [
    ("misc", "01_gradient_descent.ipynb", "01_gradient_descent"),
    ("misc", "02_my_attempt.ipynb", "02_gradient_checking"),
    ("02_gradient_checking", "homework.ipynb", "02_gradient_checking"),
    ("01_lab", "final version (2).ipynb", "01_gradient_descent"),
])
def test_identify_lab_from_the_file_or_folder_name_last(write_notebook, folder, name, lab):
    path = write_notebook(notebook_json("x = 1\n", "def helper():\n    pass\n"), lab=folder, name=name)
    assert identify_lab(read(path)) == lab


@pytest.mark.parametrize(("folder", "name"), [("misc", "notes.ipynb"), ("homework", "99_other.ipynb"),
                                              ("1_gradient", "lab01.ipynb")])
def test_identify_lab_returns_none_for_an_unrelated_notebook(write_notebook, folder, name):
    path = write_notebook(notebook_json("import numpy as np\n", "def helper(x):\n    return x\n"),
                          lab=folder, name=name)
    assert identify_lab(read(path)) is None


@pytest.mark.parametrize("source", [solution_notebook, release_notebook], ids=["solution", "release"])
@pytest.mark.parametrize("lab", LABS)
def test_identify_lab_recognises_a_renamed_real_notebook(tmp_path, lab, source):
    path = tmp_path / "my_homework" / "my_homework.ipynb"
    path.parent.mkdir()
    shutil.copy(source(lab), path)
    assert identify_lab(read(path)) == lab


@pytest.mark.parametrize("lab", LABS)
def test_identify_lab_recognises_a_renamed_real_notebook_without_metadata(write_notebook, lab):
    path = write_notebook(without_lab_metadata(lab), lab="my_homework", name="my_homework.ipynb")
    assert identify_lab(read(path)) == lab


@pytest.mark.parametrize("lab", LABS)
def test_identify_lab_recognises_a_renamed_real_notebook_without_metadata_or_checker(write_notebook, lab):
    path = write_notebook(without_checker_calls(without_lab_metadata(lab)), lab="my_homework",
                          name="my_homework.ipynb")
    assert identify_lab(read(path)) == lab


THREADS_PEAK_SCRIPT = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from autograder import notebook
def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024
def grade_reading(path):
    parsed = notebook.read(Path(path))
    return len(notebook.extract_definitions(parsed)[0])
with ThreadPoolExecutor(max_workers=6) as pool:
    counts = list(pool.map(grade_reading, [sys.argv[1]] * 6))
print(counts == [0] * 6, peak_mb())
"""


@pytest.mark.skipif(not notebook.Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_grading_threads_reading_hostile_notebooks_at_once_peak_as_one_reading(tmp_path):
    # One reading of this file peaks near 160 MB; six threads parsing at once reached 320 MB.
    path = tmp_path / "hostile.ipynb"
    path.write_text(json.dumps(HOSTILE["small_dicts_at_the_value_limit"][0]()), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", THREADS_PEAK_SCRIPT, str(path)], capture_output=True, text=True,
                          check=True, timeout=120, cwd=ROOT)
    all_read, peak = done.stdout.split()
    assert all_read == "True"
    assert int(peak) < 250, f"reading peaked at {peak} MB"


def test_a_solution_with_an_8_mb_cell_still_earns_full_marks(write_notebook):
    from autograder import batch
    from autograder.grading import GradingOptions, grade_notebook

    data = json.loads(solution_notebook(LABS[0]).read_text(encoding="utf-8"))
    data["cells"].insert(1, notebook_json("f()\n" * 2 * 1024**2)["cells"][0])
    path = write_notebook(data)
    result = grade_notebook(path, "student", GradingOptions(secret="tests-secret",
                                                            hidden_paths=batch.secret_paths(ROOT, [path], None)))
    assert result.score == result.max_score == checks.load_lab(LABS[0]).max_score
    assert any("holds more than 100,000 characters" in note for note in result.notes)


def test_every_parse_of_the_grading_process_holds_the_parsing_lock(monkeypatch):
    """CPython's AST constructor can fail in two threads at once ("AST constructor recursion depth mismatch",
    gh-106905): `grade --jobs N` reads and inspects notebooks in N threads, so each ast.parse takes one lock."""
    import ast

    real_parse, unlocked = ast.parse, []

    def parse(*args, **kwargs):
        if not notebook._PARSING.locked():
            unlocked.append(args[0][:40])
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(notebook.ast, "parse", parse)
    path = solution_notebook("05_training_loop")
    chunks, _ = extract_definitions(read(path))
    notebook.untouched_stubs(chunks, {"keras_train"})
    assert chunks and unlocked == []
