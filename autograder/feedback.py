"""One piece of feedback, rendered the same way everywhere: plain text and HTML.

A failure reads in the order a student needs it: the diagnosis (the likely cause and how
to fix it, or what differs, where and by how much), then the case, then what was
received and what was expected, each on a line of its own (a value of several lines
keeps its column). Terminals, ``feedback.md`` and Gradescope get :meth:`Feedback.text`; a
notebook gets :meth:`Feedback.html` (a ✓ / ✗ box, monospace values, left-aligned, the
entries where received and expected differ highlighted) with the text as its plain form.
Both are built from the same fields, so the words are the same in every form.

The box sets its own colours on every element JupyterLab's themes style (tables, rows,
cells, code), so it reads the same in the light and the dark theme: every colour pair in
:data:`PALETTE` is above WCAG's 4.5:1 (tested).

Everything shown may hold text that student code chose (an exception message, a
returned string): :func:`clean` makes it safe to write anywhere.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass

PALETTE = {
    "background": "#f6f8fa",  # the box
    "text": "#1f2328",
    "label": "#555f6b",  # case / received / expected
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "code": "#eaeef2",  # inline code's background
    "mark": "#fff0b3",  # a differing entry's background (text stays `text`)
    "traceback": "#ffffff",
}
_LABEL_WIDTH = 10
_MAX_HIGHLIGHT = 4_000  # characters of a value worth comparing token by token

# C0 and C1 controls (tab and newline kept) and the bidirectional overrides that can make
# text read differently from what it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# The markup that messages are written in: `code` and *emphasis* (never inside code: `x ** 2`).
_CODE = re.compile(r"`([^`\n]+)`")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^\s*](?:[^*\n]*?[^\s*])?)\*(?![\w*])")


def plain(text: str) -> str:
    """A message as plain text: its `code` and *emphasis* marks dropped (terminals and Gradescope show them raw)."""
    parts = _CODE.split(text)  # odd items are the insides of code spans
    return "".join(part if i % 2 else _EMPHASIS.sub(r"\1", part) for i, part in enumerate(parts))


_CODE_STYLE = (f"background:{PALETTE['code']};color:{PALETTE['text']};padding:0 .2em;border-radius:3px;"
               "font-family:monospace")


def _markup(text: str) -> str:
    """A message as HTML: escaped, with `code` in monospace and *emphasis* in italics."""
    parts = _CODE.split(clean(text))
    return "".join(f"<code style='{_CODE_STYLE}'>{html.escape(part)}</code>" if i % 2
                   else _EMPHASIS.sub(r"<em>\1</em>", html.escape(part)) for i, part in enumerate(parts))


_TOKEN = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\w+|\s+|[^\w\s]")
_MARK_STYLE = f"background:{PALETTE['mark']};color:{PALETTE['text']};font-weight:bold;padding:0"


def differing(received: str, expected: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Received and expected cut into tokens (numbers, words, marks), each with whether it differs from the
    other side: the entries and fields a highlight should point at."""
    a, b = _TOKEN.findall(received), _TOKEN.findall(expected)
    left = [[t, False] for t in a]
    right = [[t, False] for t in b]
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            for item in left[i1:i2] + right[j1:j2]:
                item[1] = not item[0].isspace()
    return [tuple(x) for x in left], [tuple(x) for x in right]


def _highlighted(tokens) -> str:
    return "".join(f"<mark style='{_MARK_STYLE}'>{html.escape(t)}</mark>" if differs else html.escape(t)
                   for t, differs in tokens)


def clean(text: str) -> str:
    """``text`` with lone surrogates and control characters escaped, so that any encoder accepts it."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}",
                       text)


@dataclass(frozen=True)
class Feedback:
    """What a student reads about one exercise.

    ``title`` is ``Lab NN · exercise``; ``diagnosis`` comes first; ``case``, ``received``
    and ``expected`` (already rendered) follow when they help; ``detail`` points at the
    first difference; ``traceback`` is the student's own frames.
    """

    title: str
    diagnosis: str
    passed: bool = False
    case: str | None = None
    received: str | None = None
    expected: str | None = None
    detail: str | None = None
    traceback: str = ""

    def rows(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in (("case", self.case), ("received", self.received),
                                                  ("expected", self.expected)) if value is not None]

    def text(self) -> str:
        """Plain text: the first line starts with the title (``✓`` before it when passed); a value of several
        lines keeps its column."""
        lines = [f"{'✓ ' if self.passed else ''}{self.title}: {plain(self.diagnosis)}"]
        indent = "\n" + " " * (2 + _LABEL_WIDTH)
        lines += [f"  {name + ':':<{_LABEL_WIDTH}}{indent.join(value.splitlines() or [''])}"
                  for name, value in self.rows()]
        if self.detail:
            lines.append(f"  {self.detail}")
        if self.traceback:
            lines += ["  " + line for line in self.traceback.splitlines()]
        return clean("\n".join(lines))

    def _cells(self) -> list[tuple[str, str]]:
        """The rows' values as HTML, the differing entries of received and expected highlighted."""
        cells = {name: html.escape(clean(value)) for name, value in self.rows()}
        if (self.received is not None and self.expected is not None and self.received != self.expected
                and len(self.received) + len(self.expected) <= _MAX_HIGHLIGHT):
            received, expected = differing(clean(self.received), clean(self.expected))
            cells["received"], cells["expected"] = _highlighted(received), _highlighted(expected)
        return list(cells.items())

    def html(self) -> str:
        """A box for a notebook, readable in JupyterLab's light and dark themes (see :data:`PALETTE`)."""
        e = lambda text: html.escape(clean(text))  # noqa: E731 - one local shorthand
        p = PALETTE
        border, mark = (p["passed"], "✓") if self.passed else (p["failed"], "✗")
        on_box = f"background:{p['background']};color:{p['text']}"
        cell = f"{on_box};text-align:left;vertical-align:top;border:none;padding:.05em .6em .05em 0"
        rows = "".join(f"<tr style='{on_box}'><th style='{cell};font-weight:normal;color:{p['label']};"
                       f"white-space:nowrap'>{name}</th><td style='{cell};font-family:monospace;"
                       f"white-space:pre-wrap'>{value}</td></tr>" for name, value in self._cells())
        extra = (f"<div style='{on_box};font-family:monospace;margin-top:.3em;white-space:pre-wrap'>"
                 f"{e(self.detail)}</div>") if self.detail else ""
        if self.traceback:
            extra += (f"<pre style='margin:.4em 0 0;padding:.3em;background:{p['traceback']};color:{p['text']};"
                      f"border:1px solid #d0d7de;text-align:left;white-space:pre-wrap'>{e(self.traceback)}</pre>")
        table = (f"<table style='{on_box};margin:.3em 0 0;border-collapse:collapse;width:auto'><tbody>{rows}"
                 "</tbody></table>") if rows else ""
        return (f"<div class='autograder-feedback' style='border:1px solid {border};border-left:6px solid {border};"
                f"{on_box};padding:.5em .8em;margin:.3em 0;line-height:1.4;text-align:left'>"
                f"<div style='{on_box}'><b style='color:{border}'>{mark}</b> <b>{e(self.title)}</b>: "
                f"{_markup(self.diagnosis)}</div>{table}{extra}</div>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text() if self.passed else "✗ " + self.text()
