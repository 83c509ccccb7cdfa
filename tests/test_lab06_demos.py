"""Lab 06's demonstrations: the numbers its text states about leakage and the deep network hold."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from autograder.demos import lab06 as demo
from autograder.hidden import lab06 as ref

TIMES = ref.commute_times()
YOURS = {"zscore_fit": ref.zscore_fit, "zscore_transform": ref.zscore_transform, "train_line": ref.train_line}
ROWS = np.arange(len(ref.DISTANCES))
SHORT, LONG = ROWS[ref.DISTANCES <= 15], ROWS[ref.DISTANCES > 15]


def test_a_line_trained_to_the_end_is_blind_to_leaked_statistics():
    honest, leaked = demo.leakage_scores(ref.DISTANCES, TIMES, SHORT, LONG, epochs=500, **YOURS)
    assert honest == pytest.approx(7.32, abs=5e-3)
    assert leaked == pytest.approx(honest, rel=1e-9)


@pytest.mark.parametrize(("epochs", "honest", "leaked"), [(10, 5.92, 145.86), (20, 4.88, 13.59)])
def test_stopped_early_the_leaked_score_differs(epochs, honest, leaked):
    scores = demo.leakage_scores(ref.DISTANCES, TIMES, SHORT, LONG, epochs=epochs, **YOURS)
    np.testing.assert_allclose(scores, (honest, leaked), atol=5e-3)


def test_over_random_splits_the_leak_has_no_fixed_direction():
    splits = demo.leakage_over_splits(ref.DISTANCES, TIMES, splits=200, test_size=9, epochs=10, **YOURS)
    gap = splits[:, 1] - splits[:, 0]
    assert 0.3 < np.mean(gap < 0) < 0.5  # "lower in about 40 % of them"
    assert gap.max() > 10  # "sometimes much higher"


def test_the_deep_sigmoid_network_loses_about_five_per_layer():
    weights = demo.deep_network(depth=20, width=16, seed=0)
    x = (ref.DISTANCES - ref.DISTANCES.mean()) / ref.DISTANCES.std()
    y = (TIMES - TIMES.mean()) / TIMES.std()
    sigmoid, tanh = (demo.gradient_norms(weights, x, y, name) for name in ("sigmoid", "tanh"))
    assert 4.5 < (sigmoid[-2] / sigmoid[0]) ** (1 / 19) < 5.5
    assert sigmoid[-1] / sigmoid[0] > 1e13
    assert tanh.max() / tanh.min() < 2


def test_gradient_norms_match_finite_differences():
    weights = demo.deep_network(depth=3, width=4, seed=1)
    x, y = np.linspace(-1, 1, 5), np.linspace(0, 2, 5)

    def loss(kernel, k):
        changed = [(kernel if j == k else w, b) for j, (w, b) in enumerate(weights)]
        h = x.reshape(-1, 1)
        for j, (w, b) in enumerate(changed):
            h = h @ w + b if j == len(changed) - 1 else 1 / (1 + np.exp(-(h @ w + b)))
        return np.mean((h.ravel() - y) ** 2)

    for k, (kernel, _) in enumerate(weights):
        grad = np.zeros_like(kernel)
        for index in np.ndindex(kernel.shape):
            step = np.zeros_like(kernel)
            step[index] = 1e-6
            grad[index] = (loss(kernel + step, k) - loss(kernel - step, k)) / 2e-6
        assert demo.gradient_norms(weights, x, y)[k] == pytest.approx(np.linalg.norm(grad), rel=1e-6)


def test_the_demos_do_not_import_tensorflow():
    code = "import sys, autograder.demos.lab06; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
