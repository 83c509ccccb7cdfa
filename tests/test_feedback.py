"""Feedback a student can read: layout, compact values, causes named only when they are the cause, hidden cases."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from autograder import calls, checks, report
from autograder.checks.core import NOT_IMPLEMENTED, Case, Exercise, Lab, compare_numbers, format_value
from autograder.feedback import PALETTE, Feedback, clean, differing, plain
from autograder.grading import ExerciseResult, SubmissionResult
from autograder.hidden import lab01 as ref

LAB = Lab(id="99_demo", title="Demo", hidden_module="", exercises=(
    Exercise(name="double", points=2, summary="2x", messages={
        "square": "You squared x: double it instead (2 * x).",
        "triple": "You tripled x: multiply by 2, not 3.",
    }),
    Exercise(name="train", points=1, summary="calls predict"),
    Exercise(name="Value", points=1, summary="a class"),
))
DOUBLE = LAB.exercise("double")


def cases(*xs, hidden=False):
    """Cases of `double`, with the values of its two known mistakes where they differ from 2x."""
    made = []
    for x in xs:
        wrong = {k: v for k, v in (("square", x * x), ("triple", 3 * x)) if v != 2 * x}
        made.append(Case(label=f"x = {x}", args=(x,), expected=2.0 * x, wrong=wrong, hidden=hidden))
    return made


def verdict(fn, case_list, exercise=DOUBLE, **options):
    return calls.judge_all(LAB, exercise, case_list, (calls.run_case(fn, c) for c in case_list), **options)


# layout and values --------------------------------------------------------------------

def test_a_failure_reads_diagnosis_then_case_then_received_then_expected():
    text = verdict(lambda x: x * x, cases(3.0, 5.0)).feedback.text()
    assert text.splitlines() == [
        "Lab 99 · double: You squared x: double it instead (2 * x). (2 of 2 cases fail.)",
        "  case:     x = 3.0",
        "  received: 9",
        "  expected: 6",
    ]


def test_long_arrays_are_compact_one_line_lists():
    trajectory = 3 * 1.2 ** np.arange(11)
    assert format_value(trajectory, digits=4) == "[3, 3.6, 4.32, …, 18.58]"
    assert format_value(trajectory.astype(np.float32), digits=4) == "[3, 3.6, 4.32, …, 18.58] (float32)"


def test_the_first_difference_is_shown_in_long_arrays_at_the_precision_that_tells_it_apart():
    expected = np.linspace(0.0, 1.0, 20)
    received = expected.copy()
    received[9] += 1e-7  # beyond rtol = 1e-7, and invisible at six significant digits
    case = Case(label="twenty points", expected=expected)
    text = verdict(lambda: received, [case]).feedback.text()
    first, _, received_line, expected_line = text.splitlines()
    assert first.startswith("Lab 99 · double: your values first differ at index 9: 0.4736843 instead of "
                            "0.4736842 (off by +1e-07")
    assert received_line == "  received: [0, 0.05263158, 0.1052632, …, 0.4210526, 0.4736843, 0.5263158, …, 1]"
    assert expected_line == "  expected: [0, 0.05263158, 0.1052632, …, 0.4210526, 0.4736842, 0.5263158, …, 1]"
    assert "\n" not in format_value(np.arange(100.0).reshape(10, 10))


@pytest.mark.parametrize(("value", "text"), [
    (10**400, "100000000000…000000 (401 digits)"),
    (-(10**40) - 7, "-100000000000…000007 (41 digits)"),
    (2**62, "4611686018427387904"),
    ((1.5,), "(1.5,)"),
    ("a" * 300, repr("a" * 200 + "…")),
])
def test_values_are_shown_exactly_and_briefly(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize(("received", "expected", "same"), [
    (10**400, 10**400, True),
    (10**400 + 1, 10**400, False),
    (np.int64(2**62), 2**62, True),
    (1e300, 10**400, False),
    (float("inf"), 10**400, False),
    (1e75, 10**75, True),  # within rtol: exact ints are compared through fractions, never through float overflow
])
def test_ints_beyond_a_float_are_compared_exactly(received, expected, same):
    assert (compare_numbers(received, expected, DOUBLE) is None) is same


def test_a_huge_int_answer_gets_feedback_not_an_exception():
    case = Case(label="huge", expected=10**400)
    text = verdict(lambda: 10**400 + 10**390, [case]).feedback.text()
    assert "received: 100000000010…000000 (401 digits)" in text and "off by +100000000000…000000 (391 digits)" in text


def test_an_exception_while_judging_a_case_becomes_that_cases_message():
    def explode(received, expected, exercise):
        raise RecursionError("the comparison broke")

    exercise = Exercise(name="double", points=2, summary="", compare=explode)
    result = verdict(lambda x: 2 * x, cases(1.0), exercise=exercise)
    assert "the grader could not compare what your function returned" in result.feedback.text()


# causes -------------------------------------------------------------------------------

def test_a_mistake_matched_on_every_case_is_named():
    result = verdict(lambda x: 3 * x, cases(2.0, 3.0, 0.0))
    assert result.cause == "triple" and "You tripled x" in result.feedback.text()


def test_a_value_that_matches_a_mistake_on_one_case_only_names_no_cause():
    # At x = 3 squaring gives 9, and so does this function, which squares nothing at x = 5.
    result = verdict(lambda x: 9.0 if x == 3.0 else 2 * x + 1, cases(3.0, 5.0))
    text = result.feedback.text()
    assert result.cause is None and "squared" not in text and "tripled" not in text
    assert text.startswith("Lab 99 · double: your value is off by +3, 50 % of the expected value")


def test_two_mistakes_no_case_tells_apart_are_left_unnamed():
    both = [Case(label="x = 1", args=(1.0,), expected=2.0, wrong={"square": 3.0, "triple": 3.0})]
    result = verdict(lambda x: 3.0, both)
    assert result.cause is None and "x = 1" in result.feedback.text()


def test_a_mistake_that_gives_the_right_answer_on_a_case_must_pass_it_too():
    # square(2) = 4 = 2·2, so that case tells squaring apart only by passing it.
    result = verdict(lambda x: x * x + (x == 2.0), cases(3.0, 2.0))
    assert result.cause is None


LAB01 = checks.load_lab("01_gradient_descent")
KNOWN = [(exercise, key) for exercise, mistakes in (
    ("central_difference", ref.CENTRAL_MISTAKES), ("gradient_descent_1d", ref.DESCENT_MISTAKES),
    ("classify_trajectory", ref.CLASSIFY_MISTAKES), ("descend_from_starts", ref.STARTS_MISTAKES),
    ("grid_search", ref.GRID_MISTAKES), ("count_combinations", ref.COUNT_MISTAKES)) for key in mistakes]


def lab01_cases(exercise):
    found = list(LAB01.public_cases()[exercise])
    for seed in range(3):
        found += LAB01.hidden_cases(seed)[exercise]
    return found


@pytest.mark.parametrize(("exercise", "key"), KNOWN, ids=[f"{e}-{k}" for e, k in KNOWN])
def test_every_known_lab01_mistake_gets_exactly_its_own_message(exercise, key):
    mistakes = {"central_difference": ref.CENTRAL_MISTAKES, "gradient_descent_1d": ref.DESCENT_MISTAKES,
                "classify_trajectory": ref.CLASSIFY_MISTAKES, "descend_from_starts": ref.STARTS_MISTAKES,
                "grid_search": ref.GRID_MISTAKES, "count_combinations": ref.COUNT_MISTAKES}[exercise]
    spec = LAB01.exercise(exercise)
    found = lab01_cases(exercise)
    result = calls.judge_all(LAB01, spec, found, (calls.run_case(mistakes[key], c) for c in found))
    assert result.cause == key, result.feedback.text()
    text = result.feedback.text()
    assert plain(spec.messages[key]) in text
    assert [k for k, message in spec.messages.items() if plain(message) in text] == [key]


# stubs ----------------------------------------------------------------------------------

def test_the_exercises_own_stub_is_not_implemented_yet():
    def double(x):
        raise NotImplementedError("double")

    assert verdict(double, cases(1.0)).feedback.text() == f"Lab 99 · double: {NOT_IMPLEMENTED}"


def test_a_stub_called_by_the_exercise_is_named():
    def predict(x):
        raise NotImplementedError("predict")

    def train(x):
        return predict(x)

    text = verdict(train, cases(1.0), exercise=LAB.exercise("train")).feedback.text()
    assert text.startswith("Lab 99 · train: train called predict, which is still a stub: finish predict first")
    assert "not implemented yet" not in text


def test_a_method_stub_is_named_with_its_class():
    class Value:
        def __init__(self, x):
            raise NotImplementedError("Value.__init__")

    text = verdict(Value, cases(1.0), exercise=LAB.exercise("Value")).feedback.text()
    assert text == f"Lab 99 · Value: Value.__init__ is {NOT_IMPLEMENTED}"


def test_a_not_implemented_error_with_another_name_is_not_called_a_stub_of_this_exercise():
    def double(x):
        raise NotImplementedError("triple")  # copied from another stub and left behind

    text = verdict(double, cases(1.0)).feedback.text()
    assert text.startswith("Lab 99 · double: double raised NotImplementedError('triple'), the stub line of triple")
    assert "not implemented yet" not in text


def test_a_not_implemented_error_of_the_students_own_is_reported_as_such():
    def double(x):
        raise NotImplementedError("negative inputs are not supported")

    text = verdict(double, cases(1.0)).feedback.text()
    assert "raised NotImplementedError('negative inputs are not supported')" in text
    assert "not implemented yet" not in text


# hidden cases ---------------------------------------------------------------------------

def test_hidden_case_feedback_names_the_diagnosis_but_not_the_expected_value():
    hidden = cases(7.25, hidden=True)
    plain_wrong = verdict(lambda x: x + 1.5, hidden).feedback.text()
    assert "expected:" not in plain_wrong
    assert "14.5" not in plain_wrong and "received: 8.75" in plain_wrong and "x = 7.25" in plain_wrong
    named = verdict(lambda x: 3 * x, hidden).feedback.text()
    assert "You tripled x" in named and "14.5" not in named


def test_show_hidden_values_shows_them_after_the_deadline():
    text = verdict(lambda x: x + 1.5, cases(7.25, hidden=True), show_hidden_values=True).feedback.text()
    assert "expected: 14.5" in text and "off by -5.75" in text


def test_drawn_hidden_cases_are_marked_hidden_and_public_ones_are_not():
    assert all(c.hidden for cs in LAB01.hidden_cases(0).values() for c in cs)
    assert not any(c.hidden for cs in LAB01.public_cases().values() for c in cs)
    case = LAB01.hidden_cases(0)["central_difference"][0]
    assert Case.from_json(json.loads(json.dumps(case.to_json()))).hidden


def test_a_failure_never_lists_the_inputs_of_other_cases():
    found = lab01_cases("central_difference")
    result = calls.judge_all(LAB01, LAB01.exercise("central_difference"), found,
                             (calls.run_case(lambda f, x, h=1e-5: 0.0, c) for c in found))
    text = result.feedback.text()
    assert found[0].label in text
    assert not [c.label for c in found[1:] if c.label in text]


# student text and the forms -------------------------------------------------------------

HOSTILE = "boom \ud800 \x1b[31mred\x1b[0m \x00 \u202e"


def test_student_text_with_lone_surrogates_and_controls_is_written_everywhere(tmp_path):
    def double(x):
        raise ValueError(HOSTILE)

    feedback = verdict(double, cases(1.0)).feedback
    result = SubmissionResult(HOSTILE, "01_gradient_descent", "x.ipynb",
                              (ExerciseResult("double", 0, 2, feedback.text()),), notes=(HOSTILE,))
    for text in (report.text(result), report.gradescope_json(result), report.feedback_markdown(result),
                 report.grades_csv([result]), feedback.html()):
        (tmp_path / "out.txt").write_text(text, encoding="utf-8")
        assert not re.search("[\ud800-\udfff\x00\x1b\u202e]", text)
    assert "boom \\ud800 \\x1b[31mred" in feedback.text()


def test_plain_text_has_no_markup_and_html_renders_it():
    box = Feedback("Lab 99 · double", "use `np.argmin`, not the *largest* <loss>", case="x < 1", received="1",
                   expected="2")
    assert box.text().splitlines()[0] == "Lab 99 · double: use np.argmin, not the largest <loss>"
    html = box.html()
    assert re.search(r"<code style='[^']*'>np\.argmin</code>", html) and "<em>largest</em>" in html
    assert "&lt;loss&gt;" in html
    assert "font-family:monospace" in html and "✗" in html and "x &lt; 1" in html


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG 2's contrast ratio of two #rrggbb colours."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# What JupyterLab's themes give the elements of rendered HTML (.jp-RenderedHTMLCommon, theme variables resolved):
# the page, the text, tables' text, odd rows and code, light and dark. An element that sets none of its own gets these.
THEMES = {
    "light": {"page": "#ffffff", "text": "#212121", "color": {"table": "#212121", "code": "#212121"},
              "background": {"tr": "#ffffff", "code": "#eeeeee", "pre": "#ffffff"}},
    "dark": {"page": "#111111", "text": "#dedede", "color": {"table": "#dedede", "code": "#dedede"},
             "background": {"tr": "#111111", "code": "#424242", "pre": "#111111"}},
}


class _Painted(HTMLParser):
    """Every text run of an HTML fragment with the colour it is drawn in and the background behind it, in a theme."""

    VOID = {"br", "img", "hr", "meta"}

    def __init__(self, theme: dict):
        super().__init__()
        self.theme = theme
        self.stack = [("", theme["text"], theme["page"], {})]
        self.runs: list[tuple[str, str, str, str]] = []  # (tag, text, colour, background)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        style = {}
        for declaration in (dict(attrs).get("style") or "").split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                style[name.strip()] = value.strip()
        _, colour, background, _ = self.stack[-1]
        background = (style.get("background") or style.get("background-color")
                      or self.theme["background"].get(tag) or background)
        colour = style.get("color") or self.theme["color"].get(tag) or colour
        self.elements.append((tag, style))
        if tag not in self.VOID:
            self.stack.append((tag, colour, background, style))

    def handle_endtag(self, tag):
        if tag not in self.VOID and len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data):
        if data.strip():
            tag, colour, background, _ = self.stack[-1]
            self.runs.append((tag, data, colour, background))


HTML_BOXES = [
    Feedback("Lab 99 · double", "use `np.argmin`, not the *largest* <loss>", passed=False,
             case="x = [[1, 2],\n     [3, 4]]", received="{'dW': [1, 2], 'db': [1.5]}",
             expected="{'dW': [1, 2], 'db': [3]}", detail="db: first difference at index 0",
             traceback='  File "<cell 3>", line 2, in double\n    raise ValueError'),
    Feedback("Lab 99 · double", "all 12 cases pass", passed=True),
]


@pytest.mark.parametrize("theme", sorted(THEMES))
@pytest.mark.parametrize("box", HTML_BOXES, ids=["failed", "passed"])
def test_every_text_of_the_box_reads_at_4_5_to_1_in_jupyterlabs_light_and_dark_themes(box, theme):
    painted = _Painted(THEMES[theme])
    painted.feed(box.html())
    assert len(painted.runs) >= (8 if not box.passed else 2)
    for tag, text, colour, background in painted.runs:
        assert contrast(colour, background) >= 4.5, (theme, tag, text, colour, background)


def test_the_palette_pairs_are_above_4_5_to_1():
    p = PALETTE
    for colour, background in [("text", "background"), ("label", "background"), ("passed", "background"),
                               ("failed", "background"), ("text", "code"), ("text", "mark"), ("text", "traceback")]:
        assert contrast(p[colour], p[background]) >= 4.5, (colour, background)


def test_the_box_tables_are_left_aligned_and_keep_a_values_lines():
    painted = _Painted(THEMES["dark"])
    painted.feed(HTML_BOXES[0].html())
    cells = [style for tag, style in painted.elements if tag in ("th", "td")]
    assert len(cells) == 6
    assert all(style["text-align"] == "left" and style["vertical-align"] == "top" for style in cells)
    assert all(style["white-space"] == "pre-wrap" for tag, style in painted.elements if tag == "td")
    assert [style["margin"] for tag, style in painted.elements if tag == "table"] == [".3em 0 0"]  # not centred


def test_the_differing_entry_is_highlighted_and_nothing_else():
    painted = _Painted(THEMES["light"])
    painted.feed(HTML_BOXES[0].html())
    assert [text for tag, text, _, _ in painted.runs if tag == "mark"] == ["1.5", "3"]
    received, expected = differing("(0.25, [1, 2, 7], 'ok')", "(0.25, [1, 2, 8], 'ok')")
    assert [t for t, differs in received if differs] == ["7"] and [t for t, differs in expected if differs] == ["8"]


def test_a_value_of_several_lines_keeps_its_column_in_text():
    lines = HTML_BOXES[0].text().splitlines()
    assert lines[1:3] == ["  case:     x = [[1, 2],", "                 [3, 4]]"]


def test_clean_keeps_ordinary_text_and_newlines():
    assert clean("ŷ − y\n\tx² ✓") == "ŷ − y\n\tx² ✓"


READS_THE_OTHER_CASES = '''import sys
def central_difference(f, x, h=1e-5):
    frame, found = sys._getframe(1), None
    while frame is not None:
        task = frame.f_locals.get("task")
        if isinstance(task, dict) and "cases" in task:
            found = task["cases"]
        frame = frame.f_back
    raise ValueError(str(found)[:480])
'''


def test_a_public_case_cannot_read_the_inputs_of_the_hidden_cases(write_notebook):
    from conftest import ROOT, replace_function, solution_notebook

    from autograder import batch
    from autograder.grading import GradingOptions, grade_notebook

    solution = json.loads(solution_notebook("01_gradient_descent").read_text())
    path = write_notebook(replace_function(solution, "central_difference", READS_THE_OTHER_CASES))
    options = GradingOptions(secret="tests-secret", hidden_paths=batch.secret_paths(ROOT, [path.parents[2]], None))
    result = grade_notebook(path, "student", options, "01_gradient_descent")
    feedback = next(e.feedback for e in result.exercises if e.name == "central_difference")
    assert "your code raised ValueError" in feedback
    assert "coefficients" not in feedback, feedback  # how the codec writes every case's polynomial
