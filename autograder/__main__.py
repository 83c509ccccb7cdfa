"""``python -m autograder``: the CLI, or a clear message when run outside the course's environment."""

import importlib.util
import sys

# The CLI imports its dependencies lazily, inside each verb: without this probe, a Python that lacks
# them (the system python3) would only fail later, as "internal error: ModuleNotFoundError".
_REQUIRED = ("numpy", "nbformat")
_missing = [name for name in _REQUIRED if importlib.util.find_spec(name) is None]
if _missing:
    sys.stderr.write(f"error: this Python ({sys.executable}) lacks {', '.join(_missing)}: "
                     "use the course's environment: .venv/bin/python -m autograder …\n"
                     "(to create it: python3 -m venv .venv && .venv/bin/pip install -r requirements.txt -e .)\n")
    raise SystemExit(2)

from autograder.cli import main  # noqa: E402 - only once the environment is known to be complete

raise SystemExit(main())
