"""The instructor's class report: ``report.html`` (plots inline) and ``report.md`` beside it.

Per lab: the score distribution and each exercise's pass rate (plots and tables), every
outcome counted per exercise (passed; wrong with a named cause or without; raised; crashed;
timed out; not implemented; missing: :data:`autograder.grading.OUTCOMES`), the
misconceptions the grader named most often per exercise. Notebooks that could not be run
(unreadable, another lab's, refused) are counted apart, never as failing every exercise.
Last, the submissions that need a human look: those that could not be run or were
refused, and those with an exercise that crashed or timed out.

The HTML is one self-contained file: matplotlib's SVG inline, no script, no external
file, so it opens from disk in any browser. Both renderings are pure functions of the
results with no timestamps (matplotlib's SVG ids are salted with a fixed string and its
date is dropped), so grading the same class twice, or in shards that are merged
(:mod:`autograder.merge`), writes byte-identical reports. Every student-derived string
(names, file names, messages) is escaped.
"""

from __future__ import annotations

import html as html_escaping
import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from autograder import checks
from autograder.grading import SubmissionResult

MOST_FREQUENT = 5
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; }
figure { margin: 0.5rem 0; }
figure svg { max-width: 100%; height: auto; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
"""


COUNTED = ("passed", "named", "wrong", "raised", "crashed", "timed_out", "not_implemented", "missing")
"""The outcomes counted per exercise, in the tables' order (a submission that was not run is counted apart)."""
_HEADINGS = {"passed": "passed", "named": "wrong, named cause", "wrong": "wrong, no named cause",
             "raised": "raised", "crashed": "crashed", "timed_out": "timed out",
             "not_implemented": "not implemented", "missing": "missing"}
LOOK = ("crashed", "timed_out")
"""Exercise outcomes that put a submission in the table of those that need a human look."""


def outcome(exercise) -> str:
    """The exercise's outcome (records from before outcomes were recorded: from its score and cause)."""
    recorded = getattr(exercise, "outcome", None)
    if recorded:
        return recorded
    return "passed" if exercise.passed else ("named" if getattr(exercise, "cause", None) else "wrong")


@dataclass(frozen=True)
class _ExerciseStats:
    name: str
    points: int
    passed: int
    graded: int
    causes: tuple[tuple[str, str, int], ...]  # (key, message, count), most frequent first
    outcomes: tuple[int, ...] = ()  # per COUNTED

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class _LabStats:
    lab: str
    title: str
    max_score: int
    scores: tuple[int, ...]
    exercises: tuple[_ExerciseStats, ...]
    not_run: int = 0


def _order(results) -> list[SubmissionResult]:
    return sorted(results, key=lambda r: (r.student, r.lab or "", r.path))


def _lab_stats(lab_id: str, rows: list[SubmissionResult]) -> _LabStats:
    lab = checks.load_lab(lab_id)
    run = [r for r in rows if not r.error]
    exercises = []
    for spec in lab.exercises:
        verdicts = [e for r in run for e in r.exercises if e.name == spec.name]
        counts = Counter(key for e in verdicts if (key := getattr(e, "cause", None)) is not None)
        causes = tuple((key, spec.messages.get(key, key), n)
                       for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST_FREQUENT])
        kinds = Counter(outcome(e) for e in verdicts)
        graded = len(run)  # a run submission without this exercise's verdict counts as missing it
        kinds["missing"] += graded - len(verdicts)
        exercises.append(_ExerciseStats(spec.name, spec.points, kinds["passed"], graded, causes,
                                        tuple(kinds[k] for k in COUNTED)))
    return _LabStats(lab_id, lab.title, sum(e.points for e in lab.exercises), tuple(sorted(r.score for r in run)),
                     tuple(exercises), len(rows) - len(run))


def _stats(results) -> list[_LabStats]:
    labs = sorted({r.lab for r in results if r.lab is not None})
    return [_lab_stats(lab, [r for r in results if r.lab == lab]) for lab in labs]


def _unrun(results) -> list[SubmissionResult]:
    return [r for r in _order(results) if r.error]


def _why_look(result: SubmissionResult) -> str:
    """Why a submission needs a human look, or "" when it does not."""
    if result.error:
        return result.error
    parts = []
    for kind in LOOK:
        names = [e.name for e in result.exercises if outcome(e) == kind]
        if names:
            parts.append(f"{_HEADINGS[kind]}: {', '.join(names)}")
    return "; ".join(parts)


def _to_look_at(results) -> list[tuple[SubmissionResult, str]]:
    return [(r, why) for r in _order(results) if (why := _why_look(r))]


def _file_name(result: SubmissionResult) -> str:
    return result.path.replace("\\", "/").rsplit("/", 1)[-1]


def _svg(draw, salt: str) -> str:
    """A matplotlib figure drawn by ``draw(axes)``, as an inline ``<svg>`` element."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": f"class-report/{salt}", "svg.fonttype": "none",
                                "font.size": 9}):
        figure = Figure(figsize=(4.6, 2.6))
        FigureCanvasSVG(figure)
        draw(figure.add_subplot())
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):].strip()


def _distribution_plot(stats: _LabStats) -> str:
    counts = Counter(stats.scores)

    def draw(ax):
        points = range(stats.max_score + 1)
        ax.bar(list(points), [counts.get(p, 0) for p in points], color="#4c72b0", width=0.8)
        ax.set_xlabel("points")
        ax.set_ylabel("submissions")
        ax.set_title(f"{stats.lab}: score distribution")
        ax.set_xlim(-0.6, stats.max_score + 0.6)
        ax.yaxis.get_major_locator().set_params(integer=True)

    return _svg(draw, f"{stats.lab}/distribution")


def _pass_rate_plot(stats: _LabStats) -> str:
    def draw(ax):
        names = [e.name for e in stats.exercises][::-1]
        rates = [100 * e.rate for e in stats.exercises][::-1]
        ax.barh(names, rates, color="#55a868")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of submissions passing")
        ax.set_title(f"{stats.lab}: pass rate per exercise")

    return _svg(draw, f"{stats.lab}/pass-rates")


def _summary_line(results) -> str:
    return (f"{len(results)} submissions graded; {len(_unrun(results))} could not be run or were refused; "
            f"{len(_to_look_at(results))} need a human look.")


def _score_summary(stats: _LabStats) -> str:
    apart = (f"; {stats.not_run} more could not be run (counted apart, not in these numbers)"
             if stats.not_run else "")
    if not stats.scores:
        return f"no submission ran{apart}"
    mean = statistics.fmean(stats.scores)
    median = statistics.median(stats.scores)
    return (f"{len(stats.scores)} submissions ran; mean {mean:.2f}, median {median:g}, "
            f"min {stats.scores[0]}, max {stats.scores[-1]} of {stats.max_score} points{apart}")


def html(results) -> str:
    """The class report as one self-contained HTML page."""
    results = _order(results)
    esc = html_escaping.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
             "<title>Class report</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
             "<h1>Class report</h1>", f"<p>{esc(_summary_line(results))}</p>"]
    for stats in _stats(results):
        parts += [f'<section id="lab-{esc(stats.lab)}">', f"<h2>{esc(stats.lab)} — {esc(stats.title)}</h2>",
                  f"<p>{esc(_score_summary(stats))}</p>",
                  '<div class="plots">', f"<figure>{_distribution_plot(stats)}</figure>",
                  f"<figure>{_pass_rate_plot(stats)}</figure>", "</div>",
                  "<h3>Outcomes per exercise</h3>",
                  '<table class="pass-rates"><thead><tr><th>exercise</th><th>points</th><th>passed</th>'
                  "<th>rate</th>" + "".join(f"<th>{_HEADINGS[k]}</th>" for k in COUNTED[1:])
                  + "</tr></thead><tbody>"]
        parts += [f'<tr><td>{esc(e.name)}</td><td class="num">{e.points}</td>'
                  f'<td class="num">{e.passed} / {e.graded}</td><td class="num">{100 * e.rate:.0f} %</td>'
                  + "".join(f'<td class="num">{n}</td>' for n in e.outcomes[1:]) + "</tr>"
                  for e in stats.exercises]
        parts += ["</tbody></table>", "<h3>Most frequent misconceptions</h3>"]
        named = [(e, cause) for e in stats.exercises for cause in e.causes]
        if named:
            parts.append('<table class="misconceptions"><thead><tr><th>exercise</th><th>misconception</th>'
                         "<th>submissions</th></tr></thead><tbody>")
            parts += [f'<tr><td>{esc(e.name)}</td><td><code>{esc(key)}</code>: {esc(message)}</td>'
                      f'<td class="num">{count}</td></tr>' for e, (key, message, count) in named]
            parts.append("</tbody></table>")
        else:
            parts.append("<p>No failure of this lab was traced to a known misconception.</p>")
        parts.append("</section>")
    parts.append('<section id="not-run"><h2>Submissions that need a human look</h2>'
                 "<p>Notebooks that could not be run or were refused, and those with an exercise that crashed or "
                 "timed out.</p>")
    look = _to_look_at(results)
    if look:
        parts.append('<table class="not-run"><thead><tr><th>student</th><th>lab</th><th>file</th><th>why</th>'
                     "</tr></thead><tbody>")
        parts += [f"<tr><td>{esc(r.student)}</td><td>{esc(r.lab or 'unknown')}</td><td>{esc(_file_name(r))}</td>"
                  f"<td>{esc(why)}</td></tr>" for r, why in look]
        parts.append("</tbody></table>")
    else:
        parts.append("<p>Every submission ran, and no exercise crashed or timed out.</p>")
    parts += ["</section>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


# Inside a table cell only inline markup matters: emphasis, code, links, images, strikethrough, cell breaks.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


def _md(text: str) -> str:
    """Student-derived text made inert in Markdown: no markup, no HTML, no table breaks."""
    text = " ".join(str(text).split())
    return html_escaping.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


def _text_histogram(stats: _LabStats) -> list[str]:
    counts = Counter(stats.scores)
    width = len(str(stats.max_score))
    return [f"{p:>{width}} | {'█' * counts.get(p, 0)} {counts.get(p, 0) or ''}".rstrip()
            for p in range(stats.max_score + 1)]


def markdown(results) -> str:
    """The class report in Markdown, the histogram drawn in text."""
    results = _order(results)
    lines = ["# Class report", "", _summary_line(results), ""]
    for stats in _stats(results):
        lines += [f"## {stats.lab} — {stats.title}", "", _score_summary(stats), "", "Score distribution "
                  "(points | submissions):", "", "```", *_text_histogram(stats), "```", "",
                  "| exercise | points | passed | rate | " + " | ".join(_HEADINGS[k] for k in COUNTED[1:]) + " |",
                  "| --- | ---: | ---: | ---: |" + " ---: |" * (len(COUNTED) - 1)]
        lines += [f"| `{e.name}` | {e.points} | {e.passed} / {e.graded} | {100 * e.rate:.0f} % | "
                  + " | ".join(str(n) for n in e.outcomes[1:]) + " |" for e in stats.exercises]
        lines += ["", "Most frequent misconceptions:", ""]
        named = [(e, cause) for e in stats.exercises for cause in e.causes]
        if named:
            lines += ["| exercise | misconception | submissions |", "| --- | --- | ---: |"]
            lines += [f"| `{e.name}` | `{key}`: {_md(message)} | {count} |"
                      for e, (key, message, count) in named]
        else:
            lines.append("No failure of this lab was traced to a known misconception.")
        lines.append("")
    lines += ["## Submissions that need a human look", "",
              "Notebooks that could not be run or were refused, and those with an exercise that crashed or timed out.",
              ""]
    look = _to_look_at(results)
    if look:
        lines += ["| student | lab | file | why |", "| --- | --- | --- | --- |"]
        lines += [f"| {_md(r.student)} | `{r.lab or 'unknown'}` | {_md(_file_name(r))} | {_md(why)} |"
                  for r, why in look]
    else:
        lines.append("Every submission ran, and no exercise crashed or timed out.")
    return "\n".join(lines) + "\n"
