"""Lab 10's demos: the race on the narrow bowl, step-by-step parity with keras.optimizers, a model trained both ways.

The functions take the student's objects and functions as arguments and import TensorFlow only when they
need it (:func:`step_beside_keras`); they hold no update rule of the lab.
"""

from __future__ import annotations

import numpy as np

TARGET_LOSS = 1e-2  # the race's finish line, on f = ½(x² + 25y²) from (−4, 1), where f = 20.5


def bowl_losses(path, scale) -> np.ndarray:
    """f = ½ Σ scale·x² at every point of a path (steps + 1, d)."""
    return 0.5 * (np.asarray(path) ** 2) @ np.asarray(scale, dtype=float)


def steps_to(losses, target=TARGET_LOSS):
    """The first step whose loss is below ``target``, or None."""
    below = np.flatnonzero(np.asarray(losses) < target)
    return int(below[0]) if below.size else None


def plot_race(paths, scale):
    """The paths on the bowl's contours (left) and their loss against the step, on a log scale (right).

    Args:
        paths: a dict from a contestant's label to its path, an array (steps + 1, 2).
        scale: the bowl's curvatures, f = ½ Σ scale·x². Nothing is drawn while ``paths`` is empty.
    """
    import matplotlib.pyplot as plt

    if not paths:
        return

    grid_x, grid_y = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.5, 1.5, 200))
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    ax.contour(grid_x, grid_y, 0.5 * (scale[0] * grid_x ** 2 + scale[1] * grid_y ** 2),
               levels=np.geomspace(0.01, 40, 12), colors="0.75")
    for label, path in paths.items():
        losses = bowl_losses(path, scale)
        reached = steps_to(losses)
        finish = f"f < {TARGET_LOSS:g} at step {reached}" if reached is not None else f"f = {losses[-1]:.1e} at the end"
        (line,) = ax.plot(*path.T, ".-", markersize=3, label=f"{label}: {finish}")
        ax_loss.semilogy(losses, color=line.get_color())
    ax.plot(0, 0, "k*", markersize=12)
    ax.set(xlabel="x (the gentle direction)", ylabel=f"y ({scale[1] / scale[0]:g} times steeper)",
           title=f"{len(next(iter(paths.values()), [0])) - 1} steps on f = ½(x² + {scale[1]:g}y²)")
    ax.legend(fontsize=8, loc="lower right")
    ax_loss.axhline(TARGET_LOSS, color="0.6", linestyle=":")
    ax_loss.set(xlabel="step", ylabel="f (log scale)", title="The loss along each path (colours as on the left)")
    fig.tight_layout()
    plt.show()


def _moves(start, after):
    return [a - s for a, s in zip(after, start)]


def step_beside_keras(twins, steps=6, seed=3):
    """Steps each pair (yours, Keras's) on the same float64 weights and gradients; prints how close they stay.

    The gradient sequence has a zero gradient at the first step and one parameter's gradients of order 1e-6.
    Asserts that every parameter's moves agree within 1e-4 of its largest move (the float32 rounding that
    Keras applies to momentum, the betas and the weight decay stays below that).

    Args:
        twins: a dict from a label to (make_yours, make_keras), two functions of no argument.

    Returns:
        A dict from each label to the largest difference as a share of a parameter's largest move (None where
        your optimizer is not implemented yet).
    """
    import keras

    rng = np.random.default_rng(seed)
    start = [rng.normal(size=(2, 3)), rng.normal(size=(3,))]
    sequence = [[rng.normal(size=(2, 3)), 1e-6 * rng.normal(size=(3,))] for _ in range(steps)]
    sequence[0][0][:] = 0.0
    gaps = {}
    for label, (make_yours, make_keras) in twins.items():
        variables = [keras.Variable(p.copy(), dtype="float64") for p in start]
        twin = make_keras()
        for grads in sequence:
            twin.apply_gradients(zip(grads, variables))
        theirs = _moves(start, [v.numpy() for v in variables])
        try:
            mine, params = make_yours(), [p.copy() for p in start]
            for grads in sequence:
                mine.step(params, [g.copy() for g in grads])
        except NotImplementedError as missing:
            print(f"{label:44s} Keras moved the weights; implement {missing} to compare")
            gaps[label] = None
            continue
        ours = _moves(start, params)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.max(np.abs(b)),
                                       err_msg=f"{label}: your steps part from Keras's (see your class's check)")
        gaps[label] = max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours, theirs))
        print(f"{label:44s} {steps} steps as Keras's, differences up to {gaps[label]:.0e} of a move")
    return gaps


def numpy_training(optimizer, X, y, kernel, bias, steps):
    """Your NumPy optimizer on ŷ = X·kernel + bias, full batch, mean squared error: (losses, kernel, bias).

    The gradients are Lab 05's, 2/n·Xᵀ(ŷ − y) and 2·mean(ŷ − y); losses[k] is the loss before step k + 1.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    params, losses = [np.array(kernel, dtype=float), np.array([float(bias)])], []
    for _ in range(steps):
        error = X @ params[0] + params[1][0] - y
        losses.append(float(np.mean(error ** 2)))
        optimizer.step(params, [2 * X.T @ error / len(y), np.array([2 * np.mean(error)])])
    return np.array(losses), params[0], float(params[1][0])


def _gap(yours, theirs) -> float:
    """The largest difference between two runs' (losses, kernel, bias), each part relative to its largest value."""
    return max(float(np.max(np.abs(np.ravel(a) - np.ravel(b))) / max(float(np.max(np.abs(a))), 1e-300))
               for a, b in zip(yours, theirs))


def train_beside_keras(contestants, train, X, y, kernel, bias, steps):
    """Trains the same linear model with each of your NumPy optimizers and with ``train`` (your Keras loop).

    Plots both loss curves per optimizer, with the least-squares floor, and asserts that the Keras run
    stays within 1e-4 of yours, step by step (Keras's float32 rounding of momentum, the betas and the weight
    decay stays below that).

    Args:
        contestants: a dict from a label to a function of no argument that makes one of your optimizers.
        train: your Keras training function, called as train(optimizer, X, y, kernel, bias, steps).
        X, y, kernel, bias, steps: the model's data, its starting weights and the number of steps.

    Returns:
        A dict from each label to the largest difference between the two runs, relative to the largest
        value of each part (losses, kernel, bias).
    """
    import matplotlib.pyplot as plt

    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    design = np.column_stack([X, np.ones(len(y))])
    floor = float(np.mean((design @ np.linalg.lstsq(design, y, rcond=None)[0] - y) ** 2))
    runs = {}
    for label, make in contestants.items():  # every run first: an unfinished exercise draws no empty figure
        yours = numpy_training(make(), X, y, kernel, bias, steps)
        runs[label] = yours, [np.asarray(v, dtype=float) for v in train(make(), X, y, kernel, bias, steps)]
    fig, ax = plt.subplots(figsize=(9, 4))
    gaps = {}
    for label, (yours, theirs) in runs.items():
        (line,) = ax.semilogy(yours[0], label=label)
        ax.semilogy(theirs[0], "o", markersize=4, color=line.get_color(), fillstyle="none")
        for a, b in zip(yours, theirs):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * np.max(np.abs(a)),
                                       err_msg=f"{label}: the Keras run parts from your NumPy one")
        gaps[label] = _gap(yours, theirs)
    ax.axhline(floor, color="0.6", linestyle=":", label="least squares: the best a line can do")
    ax.set(xlabel="step", ylabel="mean squared error (log scale)",
           title=f"{steps} full-batch steps: your NumPy objects (lines) and their Keras twins (circles)")
    ax.legend(fontsize=8)
    plt.show()
    for label, gap in gaps.items():
        print(f"{label:30s} Keras and your NumPy object agree to {gap:.0e} of each value")
    return gaps


def plot_decay(no_decay, with_l2, decoupled):
    """Two weights' paths under Adam with L2 in the gradient (left) and AdamW (right); Adam alone dotted.

    Without decay the two weights share one path (Adam divides each gradient by its own size), drawn once.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, decayed, title in ((axes[0], with_l2, "Adam, L2 added to the gradient"),
                               (axes[1], decoupled, "AdamW, decay decoupled: the two lines coincide")):
        ax.plot(no_decay[:, 0], ":", color="0.5", label="no decay (both weights: one path)")
        ax.plot(decayed[:, 0], color="C0", linewidth=3, alpha=0.6, label="weight 0, large gradients")
        ax.plot(decayed[:, 1], "--", color="C1", label="weight 1, gradients 1000 times smaller")
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.set(xlabel="step", title=title)
    axes[0].set_ylabel("weight")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    plt.show()
