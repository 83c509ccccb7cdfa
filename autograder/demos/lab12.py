"""Lab 12's network demo: a network that overfits 15 noisy points, trained four ways and with early stopping.

``curve_splits`` draws the course's overfitting picture, y = sin(πx) + noise, as a training, a validation
and a test set; ``build_network`` makes a 1→128→128→1 network without regularization, with L2, with dropout
or with batch normalization; ``train_curves`` trains it as ``fit`` would (the same steps, losses and
callback calls, tested against ``fit`` in ``tests/test_lab12_demos.py``) but runs each epoch as one compiled
call, which keeps the notebook fast; ``plot_curves`` draws the
validation curves on one plot and the fitted curves beside them. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import numpy as np

VARIANTS = ("no regularization", "L2", "dropout", "batch norm")


def curve_splits(n_train: int = 15, n_val: int = 100, n_test: int = 100, noise: float = 0.3, seed: int = 12) -> dict:
    """Training, validation and test points of y = sin(πx) + noise (std ``noise``), x uniform in [−1, 1].

    The three sets are drawn apart: choices (which regularizer, when to stop) are made on the validation
    set, and the test set is read once at the end.
    """
    rng = np.random.default_rng(seed)
    splits = {}
    for name, size in (("train", n_train), ("val", n_val), ("test", n_test)):
        x = np.sort(rng.uniform(-1, 1, size=size))
        splits[f"X_{name}"], splits[f"y_{name}"] = x[:, None], np.sin(np.pi * x) + rng.normal(scale=noise, size=size)
    return splits


def build_network(variant: str, seed: int = 0, l2: float = 1e-3, rate: float = 0.2, momentum: float = 0.9,
                  hidden: int = 128, dtype: str = "float32"):
    """1 → hidden → hidden → 1 with ReLU, with the regularization ``variant`` names (one of VARIANTS): L2(l2) on
    every kernel, Dropout(rate) or BatchNormalization(momentum) after each hidden layer.

    The layers compute in ``dtype`` whatever ``keras.config.floatx()`` is (float32: the demo needs speed, not
    the parity digits of float64). ``seed`` fixes the initial weights and dropout's masks.
    """
    import keras

    if variant not in VARIANTS:
        raise ValueError(f"The 'variant' argument of build_network must be one of {VARIANTS}. Got {variant!r} instead.")
    keras.utils.set_random_seed(seed)
    penalty = keras.regularizers.L2(l2) if variant == "L2" else None
    layers = [keras.Input(shape=(1,), dtype=dtype)]
    for _ in range(2):
        layers.append(keras.layers.Dense(hidden, activation="relu", kernel_regularizer=penalty, dtype=dtype))
        if variant == "dropout":
            layers.append(keras.layers.Dropout(rate, dtype=dtype))
        if variant == "batch norm":
            layers.append(keras.layers.BatchNormalization(momentum=momentum, dtype=dtype))
    layers.append(keras.layers.Dense(1, kernel_regularizer=penalty, dtype=dtype))
    return keras.Sequential(layers)


def train_curves(model, splits: dict, epochs: int, learning_rate: float = 0.01, callbacks=()) -> dict:
    """Trains ``model`` with Adam on the mean squared error, one batch of all training rows per epoch, as
    ``fit(X_train, y_train, batch_size=len(X_train), validation_data=(X_val, y_val), callbacks=callbacks)`` would.

    Each epoch: one optimizer step on the loss ``fit`` minimizes (the MSE plus ``sum(model.losses)``, in training
    mode), then the validation loss in inference mode. The callbacks get ``on_train_begin``,
    ``on_epoch_end(epoch, logs)`` and ``on_train_end`` as in ``fit``; training stops when one sets
    ``model.stop_training``.

    Returns:
        ``{"loss": [...], "val_loss": [...]}``, one value per epoch run, as ``fit``'s History holds them (both
        include the L2 penalty, as Keras's do), and ``"val_mse"``, the validation loss without the penalty.
    """
    import keras
    import tensorflow as tf

    dtype = model.weights[0].dtype
    loss_fn = keras.losses.MeanSquaredError(dtype=dtype)
    optimizer = keras.optimizers.Adam(learning_rate)
    X, y = tf.constant(splits["X_train"], dtype=dtype), tf.constant(splits["y_train"], dtype=dtype)
    X_val, y_val = tf.constant(splits["X_val"], dtype=dtype), tf.constant(splits["y_val"], dtype=dtype)

    def losses(labels, inputs, training):
        loss = loss_fn(labels, model(inputs, training=training))
        return (loss + tf.add_n(model.losses) if model.losses else loss), loss

    @tf.function
    def epoch_step():
        with tf.GradientTape() as tape:
            loss = losses(y, X, True)[0]
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return (loss, *losses(y_val, X_val, False))

    history = {"loss": [], "val_loss": [], "val_mse": []}
    model.stop_training = False
    for callback in callbacks:
        callback.set_model(model)
        callback.on_train_begin()
    for epoch in range(epochs):
        loss, val_loss, val_mse = (float(value) for value in epoch_step())
        for key, value in (("loss", loss), ("val_loss", val_loss), ("val_mse", val_mse)):
            history[key].append(value)
        for callback in callbacks:
            callback.on_epoch_end(epoch, {"loss": loss, "val_loss": val_loss})
        if model.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end()
    return history


def moving_mean_gap(model, X) -> float:
    """How far the first BatchNormalization layer's moving mean lies from the mean of its input over ``X`` (the
    layers before it in inference mode): the mean gap over the features, in units of their mean standard deviation."""
    import keras

    index = next(i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.BatchNormalization))
    inputs = np.asarray(X, dtype=model.weights[0].dtype)
    for layer in model.layers[:index]:
        inputs = layer(inputs, training=False)
    inputs = keras.ops.convert_to_numpy(inputs)
    moving = keras.ops.convert_to_numpy(model.layers[index].moving_mean)
    return float(np.mean(np.abs(moving - inputs.mean(axis=0))) / np.mean(inputs.std(axis=0)))


def mse(model, X, y) -> float:
    """The model's mean squared error on (X, y) in inference mode."""
    import keras

    predictions = keras.ops.convert_to_numpy(model(np.asarray(X, dtype=model.weights[0].dtype), training=False))
    return float(np.mean((predictions[:, 0] - np.asarray(y)) ** 2))


def plot_curves(runs: dict, models: dict, splits: dict, stopped: dict | None = None, best_epoch: int | None = None):
    """Left: the validation MSE of each run on one plot (without the L2 penalty, so that the runs compare; the
    first run's training loss dashed), where early stopping stopped and the epoch it restored. Right: the
    curves the trained networks draw through the training points."""
    import keras
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for index, (name, history) in enumerate(runs.items()):
        epochs = np.arange(1, len(history["val_mse"]) + 1)
        left.plot(epochs, history["val_mse"], color=f"C{index}", label=f"{name}: validation")
        if index == 0:
            left.plot(epochs, history["loss"], color="C0", ls="--", lw=1, label=f"{name}: training")
    if stopped is not None:
        color = f"C{len(runs)}"  # the early-stopped network's colour on the right
        left.axvline(len(stopped["val_mse"]), color=color, ls=":", label="early stopping stopped")
        left.plot(best_epoch + 1, stopped["val_mse"][best_epoch], "*", color=color, ms=12,
                  label="best epoch, weights restored")
    left.set_yscale("log")
    left.set(xlabel="epoch", ylabel="mean squared error (log scale)", title="Validation curves")
    left.legend(fontsize=8)
    grid = np.linspace(-1, 1, 200)[:, None]
    right.plot(splits["X_train"][:, 0], splits["y_train"], "ko", ms=4, label="training points")
    right.plot(grid[:, 0], np.sin(np.pi * grid[:, 0]), color="gray", ls=":", label="sin(πx), the truth")
    for index, (name, model) in enumerate(models.items()):
        prediction = keras.ops.convert_to_numpy(model(grid.astype(model.weights[0].dtype), training=False))
        right.plot(grid[:, 0], prediction[:, 0], color=f"C{index}", label=name)
    right.set(xlabel="x", ylabel="y", title="What each network learned", ylim=(-2, 2))
    right.legend(fontsize=8)
    plt.show()
