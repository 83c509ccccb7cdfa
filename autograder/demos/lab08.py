"""Lab 08's experiments: He-initialised layers and the plot of gradient norms through depth.

Nothing here names the Keras exercise or trains a network: the runs are the student's own
keras_train_steps, called from the notebook (the NumPy training the grader compares them with is
hidden, ``autograder.hidden.lab08.train_steps``). NumPy only.
"""

from __future__ import annotations

import math

import numpy as np

TRUNCATION = 0.87962566103423978  # the std of a standard normal truncated at ±2 (Keras's constant)


def he_normal(fan_in, fan_out, rng):
    """A (fan_in, fan_out) kernel drawn as Keras's HeNormal draws it (and lab 07's he_normal).

    A normal truncated at two of its standard deviations (draws beyond are redrawn), scaled so that the
    kept values have std √(2 / fan_in): keras.initializers.HeNormal is VarianceScaling(scale=2.0,
    mode="fan_in", distribution="truncated_normal"), whose stddev is √(2 / fan_in) / 0.8796….
    """
    stddev = math.sqrt(2.0 / fan_in) / TRUNCATION
    kernel = rng.normal(0.0, stddev, size=(fan_in, fan_out))
    outside = np.abs(kernel) > 2 * stddev
    while outside.any():
        kernel[outside] = rng.normal(0.0, stddev, size=int(outside.sum()))
        outside = np.abs(kernel) > 2 * stddev
    return kernel


def he_network(sizes, rng, bias_scale=0.0):
    """Keras's weight list [W1, b1, …, WL, bL] for the layer sizes ``sizes``: He kernels, biases N(0, bias_scale)."""
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weights += [he_normal(fan_in, fan_out, rng), rng.normal(scale=bias_scale, size=fan_out) if bias_scale
                    else np.zeros(fan_out)]
    return weights


def plot_gradient_norms(ax, norms_by_activation, title):
    """One line per activation: the first step's kernel-gradient norm of each layer (log scale)."""
    for label, norms in norms_by_activation.items():
        norms = np.asarray(norms)
        ax.semilogy(np.arange(1, norms.shape[-1] + 1), norms[0], marker="o", label=label)
    ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖ at the first step (log scale)", title=title)
    ax.legend()
