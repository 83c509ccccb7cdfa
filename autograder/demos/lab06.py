"""Lab 06's experiments: leakage measured on real fits, and gradients measured through a real deep network.

The notebook passes the student's functions in (``zscore_fit``, ``train_line``, …); nothing here names the
Keras exercise. NumPy only, except :func:`keras_gradient_norms`, which imports TensorFlow when called.
"""

from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda h: h * (1.0 - h)),
    "tanh": (np.tanh, lambda h: 1.0 - h ** 2),
}


# leakage -----------------------------------------------------------------------------

def leakage_scores(x, y, train_rows, test_rows, *, epochs, zscore_fit, zscore_transform, train_line,
                   learning_rate=0.1):
    """Test MSE (minutes²) of a line trained on z-scores: (statistics of the training rows, of all rows).

    Both runs start from w = b = 0 and take ``epochs`` full-batch steps on the *training* rows; only the
    statistics that turn miles and minutes into z-scores differ: the honest ones come from the training
    rows, the leaked ones from the training and the test rows together.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    scores = []
    for rows in (train_rows, np.concatenate([train_rows, test_rows])):
        x_stats, y_stats = zscore_fit(x[rows]), zscore_fit(y[rows])
        w, b, _ = train_line(zscore_transform(x[train_rows], *x_stats), zscore_transform(y[train_rows], *y_stats),
                             0.0, 0.0, learning_rate, epochs)
        predicted = zscore_transform(w * zscore_transform(x[test_rows], *x_stats) + b, *y_stats, invert=True)
        scores.append(float(np.mean((predicted - y[test_rows]) ** 2)))
    return tuple(scores)


def leakage_over_splits(x, y, *, splits, test_size, epochs, seed=0, **functions):
    """(honest, leaked) test MSEs over ``splits`` random train/test splits, an array of shape (splits, 2)."""
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(splits):
        order = rng.permutation(len(x))
        results.append(leakage_scores(x, y, order[test_size:], order[:test_size], epochs=epochs, **functions))
    return np.array(results)


# vanishing gradients through a real network -------------------------------------------

def deep_network(depth, width, *, inputs=1, seed=0):
    """Glorot-normal weights of a ``depth``-hidden-layer MLP inputs → width → … → width → 1, zero biases.

    Glorot (std √(2 / (fan_in + fan_out))) is Keras's default family, as in lab 07; a list of
    (kernel, bias) pairs, input side first.
    """
    rng = np.random.default_rng(seed)
    sizes = [inputs] + [width] * depth + [1]
    return [(rng.normal(scale=np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out)), np.zeros(fan_out))
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]


def gradient_norms(weights, x, y, activation="sigmoid"):
    """‖∂L/∂kernel‖ (Frobenius) of each layer, input side first, for the MSE of the MLP ``weights`` on (x, y).

    Hidden layers use ``activation``, the output layer none; backpropagation by hand in float64.
    """
    forward, slope = ACTIVATIONS[activation]
    h = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(-1, 1)
    inputs = []
    for k, (kernel, bias) in enumerate(weights):
        inputs.append(h)
        a = h @ kernel + bias
        h = a if k == len(weights) - 1 else forward(a)
    delta = 2.0 * (h - y) / len(y)  # ∂L/∂output of the MSE
    norms = []
    for k in range(len(weights) - 1, -1, -1):
        kernel = weights[k][0]
        norms.append(float(np.linalg.norm(inputs[k].T @ delta)))
        if k:
            delta = (delta @ kernel.T) * slope(inputs[k])
    return np.array(norms[::-1])


def keras_gradient_norms(weights, x, y, activation="sigmoid"):
    """The same norms from a float64 keras.Sequential with these weights and tf.GradientTape."""
    import keras
    import tensorflow as tf

    layers = [keras.layers.Dense(kernel.shape[1], activation=activation if k < len(weights) - 1 else None,
                                 dtype="float64") for k, (kernel, _) in enumerate(weights)]
    model = keras.Sequential([keras.Input(shape=(weights[0][0].shape[0],), dtype="float64"), *layers])
    for layer, pair in zip(layers, weights):
        layer.set_weights(list(pair))
    x = tf.constant(np.asarray(x, dtype=float).reshape(len(x), -1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - np.asarray(y, dtype=float).reshape(-1, 1)) ** 2)
    kernels = [layer.kernel for layer in layers]
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])


def plot_gradient_norms(ax, norms_by_activation, slope_per_layer=None):
    """log10 ‖∂L/∂kernel‖ per layer for each activation, with an optional reference slope (log10 per layer)."""
    for label, norms in norms_by_activation.items():
        layers = np.arange(1, len(norms) + 1)
        ax.plot(layers, np.log10(norms), marker=".", label=label)
    if slope_per_layer is not None:
        first = next(iter(norms_by_activation.values()))
        layers = np.arange(1, len(first) + 1)
        anchor = np.log10(first[-2])
        ax.plot(layers, anchor + slope_per_layer * (len(first) - 1 - layers), "k:",
                label="× 0.25 per layer (sigmoid's steepest slope)")
    ax.set(xlabel="layer (1 = input side)", ylabel="log10 ‖∂L/∂W‖",
           title="Gradients at initialisation, 20 hidden layers of 16")
    ax.legend()
