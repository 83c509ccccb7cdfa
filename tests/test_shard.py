"""Grading a class in shards (`grade --shard K/N`) and merging them gives one run's reports, byte for byte."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, copy_small_class

from autograder import batch, cli, merge
from autograder.batch import Submission
from autograder.grading import SubmissionResult

SHARDS = 3


def _grade(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Five submissions of the example class graded once whole and once as 3 shards, each by the real CLI."""
    work = tmp_path_factory.mktemp("sharded")
    copy_small_class(work / "submitted")
    whole = _grade(work, "grade", "submitted", "--out", "whole", "--jobs", "2")
    assert whole.returncode == 0, whole.stderr
    for k in range(1, SHARDS + 1):
        shard = _grade(work, "grade", "submitted", "--out", f"shard{k}", "--jobs", "2", "--shard", f"{k}/{SHARDS}")
        assert shard.returncode == 0, shard.stderr
    return work


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _submissions(names) -> list[Submission]:
    return [Submission(Path(f"submitted/{name}/01_gradient_descent/01_gradient_descent.ipynb"), name,
                       "01_gradient_descent") for name in names]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_submission_is_in_exactly_one_shard(count):
    submissions = _submissions(f"student{i:03}" for i in range(200))
    shares = [merge.share(submissions, (k, count)) for k in range(1, count + 1)]
    assert sorted(s.student for share in shares for s in share) == [s.student for s in submissions]
    assert all(len(share) > 200 / count / 2 for share in shares)  # a hash, not all in one shard


def test_adding_a_student_moves_no_one_else():
    before = _submissions(f"student{i:03}" for i in range(100))
    after = _submissions(["aaron", *(s.student for s in before)])
    for k in range(1, 5):
        assert [s.student for s in merge.share(after, (k, 4)) if s.student != "aaron"] == \
               [s.student for s in merge.share(before, (k, 4))]


def test_merged_shards_are_byte_identical_to_one_run(graded):
    whole = _files(graded / "whole")
    shard_sizes = [len(merge.read_records(graded / f"shard{k}" / merge.RECORDS)) for k in range(1, SHARDS + 1)]
    assert sum(shard_sizes) == len(merge.read_records(graded / "whole" / merge.RECORDS)) == 5
    assert sorted(shard_sizes)[-2] > 0, "the example class should spread over at least two shards"
    merged = _grade(graded, "merge", *(f"shard{k}" for k in range(1, SHARDS + 1)), "--out", "merged")
    assert merged.returncode == 0, merged.stderr
    assert "merged 3 shards" in merged.stdout
    assert set(_files(graded / "merged")) == set(whole)
    assert {"grades.csv", "report.html", "report.md", "results.jsonl", "ben/01_gradient_descent/feedback.md",
            "ada/02_gradient_checking/results.json"} <= set(whole)
    for name, content in whole.items():
        assert _files(graded / "merged")[name] == content, name
    assert "ada,01_gradient_descent,14,14" in whole["grades.csv"].decode()


@pytest.mark.parametrize(("shards", "message"), [
    (["shard1", "shard3"], "missing shard 2/3: every shard 1..3 is needed"),
    (["shard1", "shard2", "shard3", "shard2"], "shard 2/3 given twice: shard2 and shard2"),
    (["shard1"], "missing shards 2/3, 3/3"),
])
def test_missing_or_duplicated_shards_are_refused(graded, shards, message, tmp_path):
    result = _grade(graded, "merge", *shards, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"error: {message}" in result.stderr
    assert not (tmp_path / "out").exists()


def test_merging_into_a_shard_is_refused(graded):
    before = _files(graded / "shard1")
    result = _grade(graded, "merge", "shard1", "shard2", "shard3", "--out", "shard1")
    assert result.returncode == 2
    assert "error: --out shard1 is one of the shards: merge into a folder of its own" in result.stderr
    assert _files(graded / "shard1") == before


def test_a_copied_shard_is_refused_as_graded_twice(graded, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(graded / "shard2", copy)
    result = _grade(graded, "merge", "shard1", "shard2", "shard3", str(copy), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"shard 2/3 given twice: shard2 and {copy}" in result.stderr


def test_a_shard_with_an_empty_share_still_writes_its_manifest(graded, tmp_path):
    submissions = batch.discover([graded / "submitted"])
    empty = next(k for k in range(1, 8) if not merge.share(submissions, (k, 7)))
    result = _grade(graded, "grade", "submitted", "--out", str(tmp_path / "empty"), "--shard", f"{empty}/7")
    assert result.returncode == 0, result.stderr
    assert f"shard {empty}/7: 0 of 5 submissions" in result.stderr
    assert (tmp_path / "empty" / merge.RECORDS).read_text() == ""
    assert '"submissions": 0' in (tmp_path / "empty" / merge.MANIFEST).read_text()


def test_shards_graded_with_different_secrets_are_refused(graded, tmp_path):
    other = _grade(graded, "grade", "submitted", "--out", str(tmp_path / "other"), "--shard", f"2/{SHARDS}",
                   AUTOGRADER_SECRET="another-course-secret")
    assert other.returncode == 0, other.stderr
    result = _grade(graded, "merge", "shard1", str(tmp_path / "other"), "shard3", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "different course secrets" in result.stderr
    assert "another-course-secret" not in (tmp_path / "other" / merge.MANIFEST).read_text()


def test_an_unfinished_shard_is_refused(graded, tmp_path):
    unfinished = tmp_path / "unfinished"
    shutil.copytree(graded / "shard2", unfinished)
    (unfinished / merge.RECORDS).unlink()
    result = _grade(graded, "merge", "shard1", str(unfinished), "shard3", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "shard 2/3 records none results of" in result.stderr


def test_a_folder_that_is_not_a_shard_is_refused(graded, tmp_path):
    result = _grade(graded, "merge", "shard1", "whole", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "whole is not the output of `grade --shard K/N`" in result.stderr


def test_records_round_trip_through_the_serialisation(graded):
    text = (graded / "whole" / merge.RECORDS).read_text(encoding="utf-8")
    results = merge.read_records(graded / "whole" / merge.RECORDS)
    assert all(isinstance(r, SubmissionResult) for r in results)
    assert any(r.error for r in results) and any(r.exercises for r in results)
    assert merge.records_jsonl(results) == text


@dataclass(frozen=True)
class _Part:
    name: str
    cause: str | None = None
    weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class _Whole:
    parts: tuple[_Part, ...]
    labels: dict[str, int] = field(default_factory=dict)
    note: str | None = None


def test_any_frozen_dataclass_tree_round_trips():
    value = _Whole((_Part("a", "sum_instead_of_mean", (0.1, 2.5)), _Part("b")), {"x": 1}, None)
    assert merge.from_data(_Whole, merge.to_data(value)) == value


def test_a_record_with_an_unknown_field_is_refused():
    with pytest.raises(merge.MergeError, match="fields this grader does not know: colour"):
        merge.from_data(_Part, {"name": "a", "colour": "red"})


@pytest.mark.parametrize("shard", ["0/3", "4/3", "3", "a/b", "-1/2", "1/0"])
def test_a_bad_shard_is_a_usage_error(shard, capsys):
    assert cli.main(["grade", str(ROOT / "examples" / "submitted"), f"--shard={shard}"]) == 2
    assert f"--shard must be K/N with 1 <= K <= N, e.g. 2/8. Got {shard!r} instead." in capsys.readouterr().err


def _file(path: Path) -> None:
    path.write_text("not a folder")


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))


@pytest.mark.parametrize(("make", "kind"), [
    (_file, "exists and is a file"),
    (os.mkfifo, "exists and is a FIFO"),
    (_socket, "exists and is a socket"),
    (lambda p: os.symlink(p.parent / "nowhere", p), "is a broken symbolic link"),
])
def test_grade_refuses_an_out_path_that_is_not_a_folder(make, kind, capsys):
    # A short folder: a socket's path must fit in 108 bytes.
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        make(out)
        assert cli.main(["grade", str(ROOT / "examples" / "submitted"), "--out", str(out)]) == 2
        assert f"error: --out must be a folder; {out} {kind}." in capsys.readouterr().err


def test_grade_refuses_an_out_path_inside_a_file(tmp_path, capsys):
    (tmp_path / "grades").write_text("not a folder")
    assert cli.main(["grade", str(ROOT / "examples" / "submitted"), "--out", str(tmp_path / "grades" / "x")]) == 2
    assert f"{tmp_path / 'grades' / 'x'} is inside a file." in capsys.readouterr().err
