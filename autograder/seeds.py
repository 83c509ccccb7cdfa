"""Where hidden cases get their randomness: a per-course secret, so grading is repeatable.

The same course secret and lab always draw the same hidden inputs (the same submission
gets the same report twice), while students, who never see the secret, cannot predict
them. The secret comes from ``$AUTOGRADER_SECRET``, from a file named on the command line
(``grade --secret-file PATH``), or from the file ``.autograder_secret`` at the course root,
created on first use with mode 0600 — never from the command line itself, which every
process on the machine can read in ``/proc/PID/cmdline``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

SECRET_FILE = ".autograder_secret"
MAX_SECRET_BYTES = 4096


class SecretError(ValueError):
    """A secret file that cannot or must not be used; the message is for the instructor."""


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


def read_secret_file(path: Path) -> str:
    """The course secret held in ``path``, refused unless only its owner can read or change it.

    Args:
        path: a regular file holding the secret on its first line (surrounding whitespace is ignored).

    Returns:
        The secret.

    Raises:
        SecretError: if the file is missing, not a regular file, empty, over 4 KiB, not UTF-8,
            or (on POSIX) readable or writable by its group or others.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: a FIFO named by mistake must not hang the run before fstat refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise SecretError(f"the secret file {path} could not be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretError(f"the secret file {path} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise SecretError(f"the secret file {path} has mode {stat.S_IMODE(info.st_mode):04o}: others could read "
                              f"or change the course secret. Run `chmod 600 {path}` and try again.")
        data = handle.read(MAX_SECRET_BYTES + 1)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretError(f"the secret file {path} is over {MAX_SECRET_BYTES} bytes: is it the right file?")
    try:
        secret = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"the secret file {path} is not UTF-8 text") from None
    if not secret:
        raise SecretError(f"the secret file {path} is empty")
    return secret


def case_seed(lab_id: str, secret: str | None = None, student: str = "") -> int:
    """The seed of ``lab_id``'s hidden cases for ``student`` under ``secret`` (default: the course secret).

    Each student draws other inputs, so an answer harvested from one student's feedback
    is worth nothing to another; the same student, lab and secret always draw the same
    ones, so a regrade gives the same report.
    """
    secret = course_secret() if secret is None else secret
    digest = hashlib.sha256(f"{secret}\0{lab_id}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
