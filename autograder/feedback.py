"""One piece of feedback, rendered the same way everywhere: plain text and HTML.

A failure reads in the order a student needs it: the diagnosis (the likely cause and how
to fix it, or what differs, where and by how much), then the case, then what was
received and what was expected, each on a line of its own. Terminals, ``feedback.md``
and Gradescope get :meth:`Feedback.text`; a notebook gets :meth:`Feedback.html` (a ✓ / ✗
box, dark text on a light background, monospace values) with the text as its plain
form. Both are built from the same fields, so the words are the same in every form.

Everything shown may hold text that student code chose (an exception message, a
returned string): :func:`clean` makes it safe to write anywhere.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

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


def _markup(text: str) -> str:
    """A message as HTML: escaped, with `code` in monospace and *emphasis* in italics."""
    parts = _CODE.split(clean(text))
    return "".join(f"<code>{html.escape(part)}</code>" if i % 2 else _EMPHASIS.sub(r"<em>\1</em>", html.escape(part))
                   for i, part in enumerate(parts))


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
        """Plain text: the first line starts with the title (``✓`` before it when passed)."""
        lines = [f"{'✓ ' if self.passed else ''}{self.title}: {plain(self.diagnosis)}"]
        lines += [f"  {name + ':':<10}{value}" for name, value in self.rows()]
        if self.detail:
            lines.append(f"  {self.detail}")
        if self.traceback:
            lines += ["  " + line for line in self.traceback.splitlines()]
        return clean("\n".join(lines))

    def html(self) -> str:
        """A box for a notebook: dark text on a light grey (about 15:1), the coloured marks above 4.5:1."""
        e = lambda text: html.escape(clean(text))  # noqa: E731 - one local shorthand
        border, mark = ("#1a7f37", "✓") if self.passed else ("#cf222e", "✗")
        rows = "".join(f"<tr><th style='text-align:left;padding:0 1em 0 0;font-weight:normal;color:#57606a'>"
                       f"{name}</th><td style='font-family:monospace;white-space:pre-wrap'>{e(value)}</td></tr>"
                       for name, value in self.rows())
        extra = f"<div style='font-family:monospace;margin-top:.3em'>{e(self.detail)}</div>" if self.detail else ""
        if self.traceback:
            extra += (f"<pre style='margin:.4em 0 0;padding:.3em;background:#ffffff;color:#1f2328;"
                      f"border:1px solid #d0d7de'>{e(self.traceback)}</pre>")
        table = f"<table style='margin-top:.3em;border-collapse:collapse'>{rows}</table>" if rows else ""
        return (f"<div class='autograder-feedback' style='border:1px solid {border};border-left:6px solid {border};"
                f"background:#f6f8fa;color:#1f2328;padding:.5em .8em;margin:.3em 0;line-height:1.4'>"
                f"<div><b style='color:{border}'>{mark}</b> <b>{e(self.title)}</b>: {_markup(self.diagnosis)}</div>"
                f"{table}{extra}</div>")

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text() if self.passed else "✗ " + self.text()
