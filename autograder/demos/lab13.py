"""Lab 13's training demos: a range test on a network, and one network trained under three schedules.

The network is the commute model of lab 07 (1 → 16 → 16 → 1, ReLU) in float64, on the bike+car commutes
as z-scores. Everything is seeded, so Run All draws the same curves every time on a given machine.
TensorFlow is imported inside the functions: the lab's NumPy part never pays for it.
"""

from __future__ import annotations

import numpy as np


def commute_splits(commutes, validation=10, seed=0):
    """(x_train, y_train, x_val, y_val) as z-scores with the training split's statistics, shapes (n, 1)."""
    x, y = np.asarray(commutes["distance_miles"], float), np.asarray(commutes["time_minutes"], float)
    order = np.random.default_rng(seed).permutation(len(x))
    train, val = order[validation:], order[:validation]
    x_mean, x_std, y_mean, y_std = x[train].mean(), x[train].std(), y[train].mean(), y[train].std()
    scale = lambda v, m, s: ((v - m) / s)[:, None]  # noqa: E731
    return (scale(x[train], x_mean, x_std), scale(y[train], y_mean, y_std),
            scale(x[val], x_mean, x_std), scale(y[val], y_mean, y_std))


def commute_network(seed=0):
    """A fresh float64 1 → 16 → 16 → 1 ReLU network; the same seed gives the same initial weights."""
    import keras

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])


def range_test(x, y, learning_rates, batch_size=8, seed=0):
    """One mini-batch SGD step per rate of ``learning_rates`` (growing), from a fresh network.

    Returns each step's mini-batch loss (before its update) as a float64 array; inf once the loss overflows.
    """
    import keras
    import tensorflow as tf

    model = commute_network(seed)
    optimizer = keras.optimizers.SGD(learning_rate=float(learning_rates[0]))
    loss_fn = keras.losses.MeanSquaredError()
    rows = np.random.default_rng(seed)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    losses = []
    for rate in learning_rates:
        optimizer.learning_rate.assign(float(rate))
        batch = rows.choice(len(x), size=batch_size, replace=False)
        loss = float(step(tf.constant(x[batch]), tf.constant(y[batch])))
        losses.append(loss if np.isfinite(loss) else np.inf)
        if not np.isfinite(loss):
            break
    return np.array(losses + [np.inf] * (len(learning_rates) - len(losses)))


def steepest_descent_rate(learning_rates, losses, window=5):
    """The course notes' rule: the rate where the loss falls fastest per decade of the rate.

    The slope is read off the log of the losses (before the first one that is not finite), smoothed by a
    centred moving average of ``window`` steps, against the log of the rate.
    """
    finite = np.isfinite(losses)
    stop = int(np.argmin(finite)) if not finite.all() else len(losses)
    log_losses = np.log(np.asarray(losses[:stop], dtype=float))
    padded = np.pad(log_losses, window // 2, mode="edge")
    smooth = np.convolve(padded, np.ones(window) / window, mode="valid")
    slope = np.gradient(smooth, np.log(learning_rates[:stop]))
    return float(learning_rates[int(np.argmin(slope))])


def _rate_log(rates):
    """A callback that appends the optimizer's rate (a schedule's or a callback's) to ``rates`` after each epoch."""
    import keras

    class RateLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    return RateLog()


def train_three_ways(splits, learning_rate, epochs=150, batch_size=8, warmup_epochs=10, seed=0):
    """The same network from the same weights, trained by SGD with a constant rate, with a warmup and a cosine
    (peak ``learning_rate``, down to 1 % of it at the last step), and with ReduceLROnPlateau on the validation loss.

    Returns {name: {"loss": ..., "val_loss": ..., "learning_rate": ...}}, one value per epoch each.
    """
    import keras

    x_train, y_train, x_val, y_val = splits
    steps_per_epoch = -(-len(x_train) // batch_size)
    total = epochs * steps_per_epoch
    warmup = warmup_epochs * steps_per_epoch
    plans = {
        "constant rate": (learning_rate, []),
        "warmup + cosine": (keras.optimizers.schedules.CosineDecay(
            0.0, total - warmup, alpha=0.01, warmup_target=learning_rate, warmup_steps=warmup), []),
        "reduce on plateau": (learning_rate, [keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=3, min_delta=1e-4, cooldown=2, min_lr=learning_rate / 100)]),
    }
    runs = {}
    for name, (rate, callbacks) in plans.items():
        model = commute_network(seed)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss="mse")
        rates = []
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                            validation_data=(x_val, y_val), callbacks=[*callbacks, _rate_log(rates)])
        runs[name] = {"loss": np.array(history.history["loss"]), "val_loss": np.array(history.history["val_loss"]),
                      "learning_rate": np.array(rates)}
    return runs


def plot_three_ways(runs):
    """Validation loss (top) and learning rate (bottom) of each run, epoch by epoch."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(2, 1))
    for i, (name, run) in enumerate(runs.items()):
        epochs = np.arange(1, len(run["loss"]) + 1)
        top.plot(epochs, run["val_loss"], color=f"C{i}", label=f"{name}: validation")
        top.plot(epochs, run["loss"], color=f"C{i}", ls=":", lw=1, label=f"{name}: training")
        bottom.plot(epochs, run["learning_rate"], color=f"C{i}")
    top.set(yscale="log", ylabel="loss (MSE of z-scores)", title="One network, one initialisation, three schedules")
    bottom.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    top.legend(fontsize=8)
    plt.show()
