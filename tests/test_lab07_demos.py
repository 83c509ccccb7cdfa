"""The numbers lab 07's text states about its demos: the line against the network, the initialisers' spread.

NumPy only: the reference functions stand in for the student's, as they do in the solution notebook.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from autograder import data
from autograder.demos import lab07 as demos
from autograder.hidden import lab07 as ref

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def commutes():
    table = data.load("bike_car_commutes")
    return table["distance_miles"], table["time_minutes"]


@pytest.fixture(scope="module")
def fits(commutes):
    return demos.line_and_network(*commutes, ref.standardize, ref.MLP, ref.train, ref.predict_minutes)


@pytest.mark.parametrize(("which", "seven", "train_rmse", "held_out_rmse"), [
    (0, 36.37, 1.18, 1.45),
    (1, 37.10, 0.69, 0.95),
], ids=["line", "network"])
def test_the_numbers_the_text_gives(fits, which, seven, train_rmse, held_out_rmse):
    fit = fits[which]
    assert fit.seven == pytest.approx(seven, abs=0.005)
    assert fit.train_rmse == pytest.approx(train_rmse, abs=0.005)
    assert fit.held_out_rmse == pytest.approx(held_out_rmse, abs=0.005)


def test_the_network_is_the_notebooks_commute_network(commutes, fits):
    distances, times = commutes
    x, d_mean, d_std = ref.standardize(distances)
    t, t_mean, t_std = ref.standardize(times)
    net = ref.MLP(list(ref.COMMUTE_SIZES), np.random.default_rng(ref.COMMUTE_SEED))
    ref.train(net, x[:, None], t[:, None], ref.COMMUTE_LEARNING_RATE, ref.COMMUTE_EPOCHS)
    assert fits[1].seven == ref.predict_minutes(net, [7.0], (d_mean, d_std), (t_mean, t_std))[0]


def test_the_commutes_arch_above_the_line_in_the_middle_and_fall_below_at_the_ends(commutes, fits):
    distances, times = commutes
    above = times - np.interp(distances, fits[0].grid, fits[0].curve)
    middle = (distances > 5) & (distances < 15)
    assert above[middle].mean() > 0.5 and above.max() <= 2.0
    assert above[distances < 2.5].max() < 0 and above[distances > 18].max() < 0


def test_the_held_out_commutes_are_every_fourth():
    assert demos.held_out_mask(39).sum() == 10 and np.flatnonzero(demos.held_out_mask(9)).tolist() == [2, 6]


@pytest.mark.parametrize(("init", "std"), [(ref.glorot_uniform, 0.25), (ref.he_normal, np.sqrt(2 / 16))])
def test_the_initialisation_plot_draws_16_to_16_kernels(init, std):
    rng = np.random.default_rng(0)
    values = np.concatenate([init(16, 16, rng).ravel() for _ in range(200)])
    assert values.std() == pytest.approx(std, rel=0.02)


def test_the_plot_draws(commutes, fits):
    import matplotlib.pyplot as plt

    fig, (ax, residual_ax) = plt.subplots(1, 2)
    demos.plot_line_and_network(ax, residual_ax, *commutes, *fits)
    assert len(ax.lines) == 6 and len(residual_ax.lines) == 4
    plt.close(fig)
