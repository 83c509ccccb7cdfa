"""Grading a class on several machines: ``grade --shard K/N`` on each, then ``merge``.

A submission belongs to shard ``K`` of ``N`` by a stable hash of its ``STUDENT/LAB/FILE``
path, not by its position in the class, so adding or dropping a student moves no one
else. Every ``grade`` writes ``results.jsonl``, one full record of each
:class:`~autograder.grading.SubmissionResult`; a sharded one also writes ``shard.json``
(which share it graded, of which class). ``merge`` checks that the shards are exactly
``1..N`` of the same class, joins their records and renders every report again with the
same functions as a single run, so the merged folder is byte-identical to grading the
whole class at once.

The records are :mod:`autograder.records`; the reports are written by
:func:`autograder.writing.write_reports`, the same writer a single run uses.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

from autograder.grading import SubmissionResult
from autograder.records import RECORDS, RecordError, from_data, read_records, records_jsonl, to_data
from autograder.writing import Written, write_reports

__all__ = ["MANIFEST", "RECORDS", "MergeError", "class_fingerprint", "from_data", "load_shards", "merge", "parse_shard",
           "read_records", "records_jsonl", "secret_digest", "share", "shard_key", "shard_of", "to_data",
           "write_manifest"]

MANIFEST = "shard.json"

MergeError = RecordError
"""Shard outputs that do not make up one whole class (or records this grader cannot read)."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` as ``(K, N)``, with ``1 <= K <= N``."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard must be K/N with 1 <= K <= N, e.g. 2/8. Got {text!r} instead.")
    return int(match[1]), int(match[2])


def shard_key(student: str, lab_hint: str | None, path: Path) -> str:
    """The submission's name within the class, the same on every machine."""
    return f"{student}/{lab_hint or ''}/{Path(path).name}"


def shard_of(key: str, count: int) -> int:
    """The shard (1..count) that grades the submission named ``key``."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count + 1


def share(submissions, shard: tuple[int, int]):
    """The submissions that shard ``K`` of ``N`` grades, in their order."""
    k, n = shard
    return [s for s in submissions if shard_of(shard_key(s.student, s.lab_hint, s.path), n) == k]


def class_fingerprint(keys) -> str:
    """A digest of the whole class's submission names: shards of different classes do not merge."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def secret_digest(secret: str) -> str:
    """Which course secret a shard graded with, without writing the secret (hidden cases are drawn from it)."""
    return hashlib.sha256(f"autograder shard secret\0{secret}".encode()).hexdigest()[:16]


def write_manifest(out: Path, shard: tuple[int, int], graded: int, fingerprint: str, class_size: int,
                   secret: str) -> None:
    text = json.dumps({"shard": shard[0], "of": shard[1], "submissions": graded, "class_size": class_size,
                       "class": fingerprint, "secret": secret_digest(secret)}, indent=2, sort_keys=True)
    (out / MANIFEST).write_text(text + "\n", encoding="utf-8")


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise MergeError(f"{folder} is not the output of `grade --shard K/N` (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        return {key: manifest[key] for key in ("shard", "of", "submissions", "class_size", "class", "secret")}
    except (ValueError, KeyError, TypeError) as exc:
        raise MergeError(f"{path} is not a shard manifest ({exc})") from exc


def load_shards(folders: list[Path]) -> list[SubmissionResult]:
    """Every result of the shards in ``folders``, after checking that they are one whole class."""
    manifests = [(Path(f), _manifest(Path(f))) for f in folders]
    counts = {m["of"] for _, m in manifests}
    if len(counts) > 1:
        raise MergeError("the shards split the class differently: "
                         + ", ".join(f"{f} is {m['shard']}/{m['of']}" for f, m in manifests))
    if len({m["class"] for _, m in manifests}) > 1:
        raise MergeError("the shards graded different classes (different submissions were found): "
                         "run every shard on the same folders")
    if len({m["secret"] for _, m in manifests}) > 1:
        raise MergeError("the shards graded with different course secrets, so with different hidden cases: "
                         "give every shard the same $AUTOGRADER_SECRET")
    count = counts.pop()
    seen: dict[int, Path] = {}
    for folder, m in manifests:
        if m["shard"] in seen:
            raise MergeError(f"shard {m['shard']}/{count} given twice: {seen[m['shard']]} and {folder}")
        seen[m["shard"]] = folder
    missing = [k for k in range(1, count + 1) if k not in seen]
    if missing:
        raise MergeError(f"missing shard{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(f'{k}/{count}' for k in missing)}: every shard 1..{count} is needed")
    results = []
    for folder, m in manifests:
        records = read_records(folder / RECORDS) if (folder / RECORDS).is_file() else None
        if records is None or len(records) != m["submissions"]:
            found = "none" if records is None else len(records)
            raise MergeError(f"{folder}: shard {m['shard']}/{count} records {found} results of "
                             f"{m['submissions']} (did it finish?)")
        results += records
    twice = sorted(p for p, n in Counter(r.path for r in results).items() if n > 1)
    if twice:
        raise MergeError(f"graded in more than one shard: {', '.join(twice)}")
    if len(results) != manifests[0][1]["class_size"]:
        raise MergeError(f"the shards hold {len(results)} results of a class of {manifests[0][1]['class_size']}")
    return results


def merge(folders: list[Path], out: Path) -> Written:
    """Joins shard outputs into ``out``: the reports a single run over the whole class writes."""
    inside = [f for f in folders if Path(f).resolve() == out.resolve()]
    if inside:
        raise MergeError(f"--out {out} is one of the shards: merge into a folder of its own")
    return write_reports(load_shards(folders), out)
