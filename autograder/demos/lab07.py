"""Lab 07's harness: the least-squares line against the trained network, on the commutes and on held-out ones.

The notebook passes the student's own functions in (``standardize``, ``MLP``, ``train``,
``predict_minutes``); nothing here imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIZES = (1, 16, 16, 1)  # the notebook's commute network: MLP([1, 16, 16, 1], np.random.default_rng(7))
SEED = 7
LEARNING_RATE = 0.05
EPOCHS = 1000
HELD_OUT_EVERY = 4  # every 4th commute (1.5, 3.5, …, 19.5 miles) is held out of the second fit


@dataclass(frozen=True)
class Fit:
    """One model's answers in minutes: on a grid, at 7 miles, and its RMS errors."""

    name: str
    grid: np.ndarray
    curve: np.ndarray
    seven: float
    train_rmse: float
    held_out_rmse: float

    def __repr__(self):
        return (f"{self.name}: 7 miles → {self.seven:.2f} min; RMS error {self.train_rmse:.2f} min on its "
                f"training commutes, {self.held_out_rmse:.2f} min on held-out ones")


def _rmse(predicted, actual) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))


def held_out_mask(n: int) -> np.ndarray:
    """True for the commutes kept out of training: every ``HELD_OUT_EVERY``-th, starting with the third."""
    return np.arange(n) % HELD_OUT_EVERY == 2


def line_and_network(distances, times, standardize, MLP, train, predict_minutes, grid=None):
    """Fits the least-squares line and trains the network, each twice: on every commute, and without the held-out ones.

    The curves, the 7-mile answers and the training errors come from the fits on every commute (the
    notebook's network); the held-out errors from the second fits, which never saw those commutes
    (their standardization statistics come from the training commutes only).

    Args:
        distances, times: the commutes, arrays of shape (n,).
        standardize, MLP, train, predict_minutes: the notebook's functions.
        grid: the distances to draw the curves at. Defaults to 96 points from 1 to 20 miles.

    Returns:
        (line, network): two ``Fit``s.
    """
    distances, times = np.asarray(distances, dtype=float), np.asarray(times, dtype=float)
    grid = np.linspace(1, 20, 96) if grid is None else np.asarray(grid, dtype=float)
    held_out = held_out_mask(len(distances))

    def line(rows):
        slope, intercept = np.polyfit(distances[rows], times[rows], 1)
        return lambda miles: slope * np.asarray(miles, dtype=float) + intercept

    def network(rows):
        x, d_mean, d_std = standardize(distances[rows])
        t, t_mean, t_std = standardize(times[rows])
        net = MLP(list(SIZES), np.random.default_rng(SEED))
        train(net, x[:, None], t[:, None], LEARNING_RATE, EPOCHS)
        return lambda miles: predict_minutes(net, np.asarray(miles, dtype=float), (d_mean, d_std), (t_mean, t_std))

    fits = []
    for name, fit in (("least-squares line", line), ("network", network)):
        everything, kept_apart = fit(np.ones(len(distances), dtype=bool)), fit(~held_out)
        fits.append(Fit(name, grid, everything(grid), float(everything([7.0])[0]),
                        _rmse(everything(distances), times),
                        _rmse(kept_apart(distances[held_out]), times[held_out])))
    return tuple(fits)


def plot_line_and_network(ax, residual_ax, distances, times, line: Fit, network: Fit):
    """The commutes, the line and the network's curve with their 7-mile answers; then what the line misses.

    ``ax`` gets the fits in minutes; ``residual_ax`` the same minus the line, where the bend shows.
    """
    distances, times = np.asarray(distances, dtype=float), np.asarray(times, dtype=float)
    held_out = held_out_mask(len(distances))
    on_line = np.interp(distances, line.grid, line.curve)
    for axes, minus in ((ax, 0.0), (residual_ax, on_line)):
        shown = times - minus
        axes.plot(distances[~held_out], shown[~held_out], "o", color="C0", label="commutes")
        axes.plot(distances[held_out], shown[held_out], "o", mfc="none", color="C0",
                  label="held out of the second fits")
    for fit, color in ((line, "C2"), (network, "C1")):
        ax.plot(fit.grid, fit.curve, color=color,
                label=f"{fit.name}: RMS {fit.train_rmse:.2f} min (held out {fit.held_out_rmse:.2f})")
        ax.plot([7.0], [fit.seven], "*", color=color, markersize=13, label=f"7 miles: {fit.seven:.2f} min")
        residual_ax.plot(fit.grid, fit.curve - line.curve, color=color, label=fit.name)
    ax.set(xlabel="distance (miles)", ylabel="time (minutes)", title="The line and the network, in minutes")
    ax.legend(fontsize=8, loc="upper left")
    residual_ax.set(xlabel="distance (miles)", ylabel="minutes above the line",
                    title="What the line misses, in minutes")
    residual_ax.legend(fontsize=8)
