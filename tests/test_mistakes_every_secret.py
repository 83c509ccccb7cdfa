"""A known mistake is caught by the hidden cases under every course secret, not only under lucky draws.

A mistake that some public or hidden case tells apart (its key in a case's ``wrong``) must be told
apart by the hidden cases of every secret, beyond what the exercise's tolerance forgives: a
student who makes it cannot escape by the draw. (Every lab but 14: see LABS.)
"""

from __future__ import annotations

import pytest

from autograder import checks
from autograder.checks.core import compare_values
from autograder.seeds import case_seed

LABS = tuple(lab for lab in checks.lab_ids() if lab != "14_tensorflow")
"""Lab 14 is left out for ``run_on_device``'s ``short_name``: its recorded value is the full device name marked
``form: short``, and the comparison recognises a short name in the student's string itself, so no value of it
differs from the expected one (tests/test_lab14_checks.py tests that mistake)."""
SECRETS = tuple(f"every-secret-{i}" for i in range(20))


def _told_apart(exercise, cases, key) -> bool:
    compare = exercise.compare or compare_values
    for case in cases:
        if key in case.wrong:
            try:
                if compare(case.wrong[key], case.expected, exercise) is not None:
                    return True
            except Exception:  # noqa: BLE001 - a value the comparison cannot read is told apart
                return True
    return False


@pytest.mark.parametrize("lab_id", LABS)
def test_every_known_mistake_is_caught_by_the_hidden_cases_of_every_secret(lab_id):
    lab = checks.load_lab(lab_id)
    public = lab.public_cases()
    draws = {secret: lab.hidden_cases(case_seed(lab_id, secret)) for secret in SECRETS}
    escaped = []
    for exercise in lab.exercises:  # the Keras exercises too: their values are NumPy twins
        for key in exercise.messages:
            if not any(key in case.wrong for case in public.get(exercise.name, [])) and not any(
                    key in case.wrong for drawn in draws.values() for case in drawn.get(exercise.name, [])):
                continue  # a cause its comparison names, with no mistake's value in the cases
            escaped += [f"{exercise.name}: {key} under {secret}" for secret, drawn in draws.items()
                        if not _told_apart(exercise, drawn.get(exercise.name, []), key)]
    assert escaped == []
