"""Lab 08's experiments: He-initialised layers, a small MLP trained by plain SGD in NumPy, and their plots.

The notebook passes the student's activation functions in; nothing here names the Keras exercise. NumPy
only: the Keras side of each comparison is the student's own function, called from the notebook.
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


def train_steps(forward_and_slope, weights, X, y, learning_rate, steps, *, output_activation=False,
                reduce=np.mean):
    """Plain full-batch SGD on the squared error of an MLP, in NumPy: what a Keras training step computes.

    Args:
        forward_and_slope: z ↦ (activation(z), activation′(z)), used in every hidden layer (and in the
            output layer too when ``output_activation``; otherwise the output layer is linear).
        weights: [W1, b1, …, WL, bL], kernels of shape (fan_in, fan_out) as in Keras.
        X: the inputs, shape (n, d). y: the targets, shape (n, k).
        learning_rate: the SGD step. steps: how many steps.
        reduce: ``np.mean`` for the mean squared error (Keras's "mse"), ``np.sum`` for the sum.

    Returns:
        (losses, kernel_gradient_norms, weights): the loss before each step, shape (steps,); the Frobenius
        norm of each kernel's gradient at each step, shape (steps, L); the weights after the last step.
    """
    weights = [np.array(w, dtype=float) for w in weights]
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    layers = len(weights) // 2
    losses, norms = [], []
    for _ in range(steps):
        inputs, slopes, h = [], [], X
        for layer in range(layers):
            inputs.append(h)
            z = h @ weights[2 * layer] + weights[2 * layer + 1]
            if layer < layers - 1 or output_activation:
                h, slope = forward_and_slope(z)
                slopes.append(np.asarray(slope, dtype=float))
            else:
                h = z
                slopes.append(np.ones_like(z))
        error = h - y
        losses.append(float(reduce(error ** 2)))
        upstream = 2 * error / (error.size if reduce is np.mean else 1)
        gradients = [None] * len(weights)
        for layer in reversed(range(layers)):
            upstream = upstream * slopes[layer]
            gradients[2 * layer] = inputs[layer].T @ upstream
            gradients[2 * layer + 1] = upstream.sum(axis=0)
            upstream = upstream @ weights[2 * layer].T
        norms.append([float(np.linalg.norm(gradients[2 * layer])) for layer in range(layers)])
        weights = [w - learning_rate * g for w, g in zip(weights, gradients)]
    return np.array(losses), np.array(norms).reshape(steps, layers), weights


def plot_gradient_norms(ax, norms_by_activation, title):
    """One line per activation: the first step's kernel-gradient norm of each layer (log scale)."""
    for label, norms in norms_by_activation.items():
        norms = np.asarray(norms)
        ax.semilogy(np.arange(1, norms.shape[-1] + 1), norms[0], marker="o", label=label)
    ax.set(xlabel="layer (1 = next to the input)", ylabel="‖∂L/∂W‖ at the first step (log scale)", title=title)
    ax.legend()
