"""Where hidden cases get their randomness: a per-course secret, so grading is repeatable.

The same course secret and lab always draw the same hidden inputs (the same submission
gets the same report twice), while students, who never see the secret, cannot predict
them. The secret comes from ``$AUTOGRADER_SECRET`` or from the file
``.autograder_secret`` at the course root, created on first use with mode 0600.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

SECRET_FILE = ".autograder_secret"


def course_root(start: Path | None = None) -> Path:
    """The nearest folder holding ``nbgrader_config.py`` above ``start`` (default: cwd),
    else the folder that holds this package."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    return Path(__file__).resolve().parents[1]


def course_secret(root: Path | None = None) -> str:
    """The course secret: ``$AUTOGRADER_SECRET``, or the secret file, created if missing."""
    if os.environ.get("AUTOGRADER_SECRET"):
        return os.environ["AUTOGRADER_SECRET"]
    path = (root or course_root()) / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


def case_seed(lab_id: str, secret: str | None = None) -> int:
    """The seed of ``lab_id``'s hidden cases under ``secret`` (default: the course secret)."""
    secret = course_secret() if secret is None else secret
    digest = hashlib.sha256(f"{secret}\0{lab_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
