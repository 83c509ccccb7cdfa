"""Lab 14's demos: Keras's dynamic loss scale on a mixed-precision model, and Keras losses under a strategy.

TensorFlow and Keras are imported inside the functions (the notebook has started them quietly by then).
"""

from __future__ import annotations

import numpy as np

COMMUTE_DISTANCES = [1.0, 2.0, 3.0, 4.0]
COMMUTE_TIMES = [6.96, 12.11, 16.77, 22.21]


def loss_scale_run(steps: int = 40, growth_steps: int = 4, learning_rate: float = 0.01) -> dict:
    """Trains the commute line as a ``mixed_float16`` ``Dense(1)`` with ``LossScaleOptimizer(SGD)``, step by step.

    The loop is the custom step of a mixed-precision model: ``optimizer.scale_loss(loss)`` before
    ``tape.gradient``, ``optimizer.apply(grads)`` after (it unscales them, or skips the step).

    Args:
        steps: How many steps. Defaults to `40`.
        growth_steps: ``LossScaleOptimizer``'s ``dynamic_growth_steps``. Defaults to `4` (Keras's is 2000).
        learning_rate: The inner SGD's step size. Defaults to `0.01`.

    Returns:
        ``{"scale": the loss scale each step used, "finite": whether its gradients were finite, "moved":
        whether the weights changed, "loss": the float32 loss before the step, "compute_dtype",
        "variable_dtype": the layer's}``, arrays of length ``steps`` and two strings.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    layer = keras.layers.Dense(1, dtype="mixed_float16")
    model = keras.Sequential([keras.Input((1,)), layer])
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate),
                                                    dynamic_growth_steps=growth_steps)
    x, y = tf.constant(np.c_[COMMUTE_DISTANCES], tf.float32), tf.constant(np.c_[COMMUTE_TIMES], tf.float32)
    loss_fn = keras.losses.MeanSquaredError()
    record = {"scale": [], "finite": [], "moved": [], "loss": []}
    for _ in range(steps):
        record["scale"].append(float(optimizer.scale_loss(tf.constant(1.0))))
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
            scaled = optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        before = [v.numpy().copy() for v in model.trainable_variables]
        optimizer.apply(grads, model.trainable_variables)
        record["finite"].append(all(bool(np.all(np.isfinite(g.numpy()))) for g in grads))
        record["moved"].append(any(not np.array_equal(b, v.numpy()) for b, v in zip(before,
                                                                                    model.trainable_variables)))
        record["loss"].append(float(loss))
    run = {key: np.array(values) for key, values in record.items()}
    return {**run, "compute_dtype": layer.compute_dtype, "variable_dtype": layer.kernel.dtype}


def plot_loss_scale(run: dict):
    """The loss scale of each step (skipped steps marked) beside the loss, from :func:`loss_scale_run`."""
    import matplotlib.pyplot as plt

    steps = np.arange(1, len(run["scale"]) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 3.5))
    left.step(steps, run["scale"], where="mid", label="loss scale")
    left.plot(steps[~run["finite"]], run["scale"][~run["finite"]], "rx", markersize=9,
              label="inf/NaN gradients: step skipped, scale halved")
    left.set_yscale("log", base=2)
    left.set_xlabel("step")
    left.set_ylabel("loss scale")
    left.set_title("The loss scale: halved on overflow, doubled after good steps")
    left.legend(fontsize=8)
    right.plot(steps, run["loss"])
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("MSE (float32)")
    right.set_title("The loss (mixed_float16): flat while steps are skipped")
    plt.tight_layout()
    plt.show()


def replica_losses(strategy, y_true, y_pred) -> dict:
    """One global batch of (targets, predictions) split over ``strategy``'s replicas; three losses per replica.

    Returns:
        ``{"keras": keras.losses.MeanSquaredError()(y, p) on each replica, "keras_sum": the same loss with
        reduction="sum" divided by the global batch size, "average":
        tf.nn.compute_average_loss of the per-example losses with the global batch size, "own_mean": each
        replica's mean over its own examples, "one_device": the Keras loss outside any strategy, "in_scope":
        the Keras loss called under ``strategy.scope()`` outside ``strategy.run``}``, floats and lists.
    """
    import keras
    import tensorflow as tf

    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    global_batch = len(y_true)
    mse = keras.losses.MeanSquaredError(dtype="float64")
    mse_sum = keras.losses.MeanSquaredError(reduction="sum", dtype="float64")
    dataset = tf.data.Dataset.from_tensor_slices((y_true, y_pred)).batch(global_batch)

    @tf.function
    def run(batch):
        def replica(t, p):
            per_example = tf.reduce_mean(tf.square(t - p), axis=-1)
            average = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            return mse(t, p), mse_sum(t, p) / global_batch, average, tf.reduce_mean(per_example)
        return strategy.run(replica, args=batch)

    results = run(next(iter(strategy.experimental_distribute_dataset(dataset))))
    keras_loss, keras_sum, average, own = ([float(v) for v in strategy.experimental_local_results(t)]
                                           for t in results)
    with strategy.scope():
        in_scope = float(mse(y_true, y_pred))
    return {"keras": keras_loss, "keras_sum": keras_sum, "average": average, "own_mean": own,
            "one_device": float(mse(y_true, y_pred)), "in_scope": in_scope}
