"""Lab 14's checks in-process: the reference passes, correct variants pass, every named mistake gets its own
message, wrong code that matches no mistake gets no cause; Keras' global_clipnorm moves as the clipping does."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import first_failure, plain, untold_causes

from autograder import checks

LAB = "14_tensorflow"
ONE = (0,)  # one secret for the exercises that build models (seconds each): the public cases tell them apart too

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402 - after TensorFlow (conftest splits the CPU right after its import)

# the reference solutions (the notebook's), and correct variants -------------------------

def pairwise_distances(a, b):
    diff = a[:, None, :] - b[None, :, :]
    return tf.sqrt(tf.reduce_sum(diff * diff, axis=-1))


def pairwise_expanded_clamped(a, b):
    squared = (tf.reduce_sum(a * a, 1)[:, None] + tf.reduce_sum(b * b, 1)[None, :]
               - 2 * tf.matmul(a, b, transpose_b=True))
    return tf.sqrt(tf.maximum(squared, 0.0))


def pairwise_keras_ops(a, b):
    return keras.ops.sqrt(keras.ops.sum(keras.ops.square(keras.ops.expand_dims(a, 1) - keras.ops.expand_dims(b, 0)),
                                        axis=-1))


def pairwise_norm(a, b):
    return tf.norm(tf.expand_dims(a, 1) - tf.expand_dims(b, 0), axis=-1)


def mse_gradient_matrix(X1, theta, y):
    X1, theta, y = np.asarray(X1, dtype=float), np.asarray(theta, dtype=float), np.asarray(y, dtype=float)
    return 2.0 / len(y) * X1.T @ (X1 @ theta - y)


def tape_gradients(w, b, x, y):
    with tf.GradientTape() as tape:
        tape.watch(w)
        tape.watch(b)
        loss = tf.reduce_mean(tf.square(w * x + b - y))
    dw, db = tape.gradient(loss, [w, b])
    return dw, db


def tape_persistent(w, b, x, y):
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([w, b])
        loss = keras.ops.mean((w * x + b - y) ** 2)
    return tape.gradient(loss, w), tape.gradient(loss, b)


def train_step(model, optimizer, loss_fn, x, y):
    with tf.GradientTape() as tape:
        predictions = model(x, training=True)
        loss = loss_fn(y, predictions) + sum(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


def train_step_guarded_add_n(model, optimizer, loss_fn, x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
        if model.losses:
            loss += tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


@tf.function
def train_step_decorated(model, optimizer, loss_fn, x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + sum(model.losses)
    optimizer.apply(tape.gradient(loss, model.trainable_weights), model.trainable_weights)
    return loss


def clip_by_global_norm(grads, clip_norm):
    norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads]))
    scale = clip_norm / tf.maximum(norm, clip_norm)
    return [g * tf.cast(scale, g.dtype) for g in grads], norm


def clip_with_tf(grads, clip_norm):
    return tf.clip_by_global_norm(grads, clip_norm)


def input_pipeline(x, y, batch_size, training, seed):
    def normalise(image, label):
        return (tf.cast(image, tf.float32) / 255.0 - 0.1307) / 0.3081, label

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).map(normalise, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if training:
        dataset = dataset.shuffle(len(x), seed=seed)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def pipeline_global_seed(x, y, batch_size, training, seed):
    tf.random.set_seed(seed)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).map(
        lambda image, label: ((tf.cast(image, tf.float32) / 255.0 - 0.1307) / 0.3081, label)).cache()
    return (dataset.shuffle(len(x)) if training else dataset).batch(batch_size)


def pipeline_normalised_first(x, y, batch_size, training, seed):
    images = ((np.asarray(x, dtype=np.float32) / 255.0 - 0.1307) / 0.3081).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((images, y))
    if training:
        dataset = dataset.shuffle(10_000, seed=seed)
    return dataset.batch(batch_size).prefetch(1)


def mixed_precision_step(w, b, x, y, learning_rate, loss_scale):
    with tf.GradientTape() as tape:
        tape.watch([w, b])
        w16, b16, x16 = tf.cast(w, tf.float16), tf.cast(b, tf.float16), tf.cast(x, tf.float16)
        predictions = tf.linalg.matvec(x16, w16) + b16
        loss = tf.reduce_mean(tf.square(tf.cast(predictions, tf.float32) - y))
        scaled_loss = loss * loss_scale
    grads = tape.gradient(scaled_loss, [w, b])
    dw, db = (g / loss_scale for g in grads)
    return w - learning_rate * dw, b - learning_rate * db, loss


def mixed_with_variables(w, b, x, y, learning_rate, loss_scale):
    w, b = tf.Variable(w), tf.Variable(b)
    with tf.GradientTape() as tape:
        predictions = tf.squeeze(tf.cast(x, tf.float16) @ tf.cast(w, tf.float16)[:, None], -1) + tf.cast(b, tf.float16)
        loss = keras.ops.mean((keras.ops.cast(predictions, "float32") - y) ** 2)
        scaled = loss * loss_scale
    dw, db = (g / loss_scale for g in tape.gradient(scaled, [w, b]))
    w.assign_sub(learning_rate * dw)
    b.assign_sub(learning_rate * db)
    return w.read_value(), b.read_value(), loss


def run_on_device(device, a, b):
    with tf.device(device):
        product = tf.matmul(a, b)
    return product, product.device


def run_on_device_spec(device, a, b):
    with tf.device(device):
        product = a @ b
    return product, tf.DeviceSpec.from_string(product.device).to_string()


def run_checking_devices(device, a, b):
    wanted = tf.DeviceSpec.from_string(device)
    names = [d.name for d in tf.config.list_logical_devices()]
    exists = any(tf.DeviceSpec.from_string(n).device_type == wanted.device_type.upper()
                 and tf.DeviceSpec.from_string(n).device_index == wanted.device_index for n in names)
    with tf.device(device if exists else "/CPU:0"):
        product = a @ b
    return product, product.device


def _mirrored(per_example_reduce, loss_reduce=None, divide_by=None):
    def mirrored_train_step(strategy, model, optimizer, x, y, global_batch_size):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                squared = tf.square(y - model(x, training=True))
                loss = per_example_reduce(squared, global_batch_size if divide_by is None else divide_by(
                    global_batch_size, strategy))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.reduce(loss_reduce or tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    return mirrored_train_step


def _global_average(squared, size):
    return tf.nn.compute_average_loss(tf.reduce_mean(squared, axis=-1), global_batch_size=size)


def _sum_over_global(squared, size):
    return tf.reduce_sum(squared) / tf.cast(size * squared.shape[-1], squared.dtype)


mirrored_train_step = _mirrored(_global_average)


def _mirrored_per_example_keras(strategy, model, optimizer, x, y, global_batch_size):
    loss_fn = keras.losses.MeanSquaredError(reduction=None, dtype="float64")

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(loss_fn(y, model(x, training=True)), global_batch_size=global_batch_size)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    losses = strategy.experimental_local_results(strategy.run(replica_step, args=(x, y)))
    return tf.add_n(list(losses))


def _average_without_global(squared, size):
    return tf.nn.compute_average_loss(tf.reduce_mean(squared, axis=-1))


def _shape_times_replicas(squared, size):
    replicas = tf.distribute.get_replica_context().num_replicas_in_sync
    return tf.reduce_sum(tf.reduce_mean(squared, axis=-1)) / tf.cast(tf.shape(squared)[0] * replicas, squared.dtype)


def _mirrored_keras_loss(divide_by_replicas=False, dtype="float64", reduction="sum_over_batch_size"):
    """A Keras loss inside strategy.run. Its default reduction divides its mean by the replicas itself: right only
    for equal shares. With reduction="sum" the step divides by the global batch (float64, for the 1e-9)."""
    loss_fn = keras.losses.MeanSquaredError(dtype=dtype, reduction=reduction)

    def mirrored_train_step(strategy, model, optimizer, x, y, global_batch_size):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
                if reduction == "sum":
                    loss = loss / global_batch_size
                if divide_by_replicas:
                    loss = loss / strategy.num_replicas_in_sync
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_step, args=(x, y)), axis=None)
    return mirrored_train_step


CORRECT = [
    ("pairwise_distances", pairwise_distances, None),
    ("pairwise_distances", pairwise_expanded_clamped, None),
    ("pairwise_distances", pairwise_keras_ops, None),
    ("pairwise_distances", pairwise_norm, None),
    ("mse_gradient_matrix", mse_gradient_matrix, None),
    ("tape_gradients", tape_gradients, None),
    ("tape_gradients", tape_persistent, None),
    ("train_step", train_step, ONE),
    ("train_step", train_step_decorated, ONE),
    ("train_step", train_step_guarded_add_n, ONE),
    ("clip_by_global_norm", clip_by_global_norm, None),
    ("clip_by_global_norm", clip_with_tf, None),
    ("input_pipeline", input_pipeline, None),
    ("input_pipeline", pipeline_normalised_first, None),
    ("input_pipeline", pipeline_global_seed, None),
    ("mixed_precision_step", mixed_precision_step, None),
    ("mixed_precision_step", mixed_with_variables, None),
    ("run_on_device", run_on_device, None),
    ("run_on_device", run_checking_devices, None),
    ("run_on_device", run_on_device_spec, None),
    ("mirrored_train_step", mirrored_train_step, ONE),
    ("mirrored_train_step", _mirrored(_sum_over_global), ONE),
    ("mirrored_train_step", _mirrored_keras_loss(reduction="sum"), ONE),
    ("mirrored_train_step", _mirrored_per_example_keras, ONE),
]


@pytest.mark.parametrize(("exercise", "fn", "seeds"), CORRECT, ids=[f"{r[0]}-{r[1].__name__}-{i}"
                                                                   for i, r in enumerate(CORRECT)])
def test_a_correct_implementation_passes(exercise, fn, seeds):
    assert first_failure(LAB, exercise, fn, **({"seeds": seeds} if seeds else {})) is None


# the named mistakes, written as students write them -----------------------------------

def _tape_without_watch(w, b, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(w * x + b - y))
    return tuple(tape.gradient(loss, [w, b]))


def _tape_outside(w, b, x, y):
    loss = tf.reduce_mean(tf.square(w * x + b - y))
    with tf.GradientTape() as tape:
        tape.watch([w, b])
    return tuple(tape.gradient(loss, [w, b]))


def _tape_summed(w, b, x, y):
    with tf.GradientTape() as tape:
        tape.watch([w, b])
        loss = tf.reduce_sum(tf.square(w * x + b - y))
    return tuple(tape.gradient(loss, [w, b]))


def _tape_twice(w, b, x, y):
    with tf.GradientTape() as tape:
        tape.watch([w, b])
        loss = tf.reduce_mean(tf.square(w * x + b - y))
    return tape.gradient(loss, w), tape.gradient(loss, b)


def _step(training=True, penalty=True, numpy=False, add_n=False):
    def step(model, optimizer, loss_fn, x, y):
        with tf.GradientTape() as tape:
            predictions = model(x, training=True) if training else model(x)
            loss = loss_fn(y, predictions) + ((tf.add_n(model.losses) if add_n else sum(model.losses)) if penalty
                                              else 0.0)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss.numpy() if numpy else loss
    return step


def _clip_per_tensor(grads, clip_norm):
    norm = tf.linalg.global_norm(grads)
    return [tf.clip_by_norm(g, clip_norm) for g in grads], norm


def _clip_by_value(grads, clip_norm):
    return [tf.clip_by_value(g, -clip_norm, clip_norm) for g in grads], tf.linalg.global_norm(grads)


def _clip_always(grads, clip_norm):
    norm = tf.linalg.global_norm(grads)
    return [g * clip_norm / norm for g in grads], norm


def _pipeline(order="cache_shuffle_batch", scale=True, standardise=True, shuffle_eval=False, drop=False,
              buffer=None, reshuffle=True, seed_of=lambda seed: seed):
    def pipeline(x, y, batch_size, training, seed):
        def normalise(image, label):
            image = tf.cast(image, tf.float32) / (255.0 if scale else 1.0)
            return ((image - 0.1307) / 0.3081 if standardise else image), label

        dataset = tf.data.Dataset.from_tensor_slices((x, y)).map(normalise)
        shuffle = training or shuffle_eval
        size = buffer(batch_size) if buffer else len(x)
        if order == "batch_then_shuffle":
            dataset = dataset.batch(batch_size, drop_remainder=drop)
            return dataset.shuffle(len(x), seed=seed) if shuffle else dataset
        if order == "never":
            shuffle = False
        if order == "shuffle_then_cache" and shuffle:
            return dataset.shuffle(size, seed=seed).cache().batch(batch_size, drop_remainder=drop)
        dataset = dataset.cache()
        if shuffle:
            dataset = dataset.shuffle(size, seed=seed_of(seed), reshuffle_each_iteration=reshuffle)
        return dataset.batch(batch_size, drop_remainder=drop).prefetch(tf.data.AUTOTUNE)
    return pipeline


def _mixed_float32_only(w, b, x, y, learning_rate, loss_scale):
    with tf.GradientTape() as tape:
        tape.watch([w, b])
        loss = tf.reduce_mean(tf.square(tf.linalg.matvec(x, w) + b - y))
        scaled_loss = loss * loss_scale
    dw, db = (g / loss_scale for g in tape.gradient(scaled_loss, [w, b]))
    return w - learning_rate * dw, b - learning_rate * db, loss


def _mixed(scale=True, unscale=True, master16=False, scaled_loss=False):
    def step(w, b, x, y, learning_rate, loss_scale):
        with tf.GradientTape() as tape:
            tape.watch([w, b])
            w16, b16 = tf.cast(w, tf.float16), tf.cast(b, tf.float16)
            predictions = tf.linalg.matvec(tf.cast(x, tf.float16), w16) + b16
            loss = tf.reduce_mean(tf.square(tf.cast(predictions, tf.float32) - y))
            scaled = loss * loss_scale if scale else loss
        dw, db = tape.gradient(scaled, [w, b])
        if unscale and scale:
            dw, db = dw / loss_scale, db / loss_scale
        if master16:
            return w16 - tf.cast(learning_rate * dw, tf.float16), b16 - tf.cast(learning_rate * db, tf.float16), loss
        return w - learning_rate * dw, b - learning_rate * db, scaled if scaled_loss else loss
    return step


def _device_requested(device, a, b):
    with tf.device(device):
        return tf.matmul(a, b), device


def _device_ignored(device, a, b):
    product = tf.matmul(a, b)
    return product, product.device


def _device_short(device, a, b):
    with tf.device(device):
        product = tf.matmul(a, b)
    return product, product.device.split("device:")[-1]


def _device_logical_name(device, a, b):
    names = [d.name for d in tf.config.list_logical_devices()]
    wanted = tf.DeviceSpec.from_string(device)
    for name in names:
        spec = tf.DeviceSpec.from_string(name)
        if (spec.device_type, spec.device_index) == (wanted.device_type.upper(), wanted.device_index):
            with tf.device(name):
                return a @ b, name
    with tf.device("/CPU:0"):
        return a @ b, "/device:CPU:0"


def _device_of_input(device, a, b):
    with tf.device(device):
        product = tf.matmul(a, b)
    return product, a.device


def _device_strict(device, a, b):
    names = {d.name.lower().replace("/device:", "/") for d in tf.config.list_logical_devices()}
    if device.lower().replace("/device:", "/") not in names:
        raise ValueError(f"no device {device}")
    with tf.device(device):
        product = tf.matmul(a, b)
    return product, product.device


MISTAKES = [
    ("pairwise_distances", "squared", lambda a, b: tf.reduce_sum(tf.square(a[:, None] - b[None]), -1), None),
    ("pairwise_distances", "transposed", lambda a, b: pairwise_distances(b, a), None),
    ("pairwise_distances", "no_clamp", lambda a, b: tf.sqrt(tf.reduce_sum(a * a, 1)[:, None] + tf.reduce_sum(
        b * b, 1)[None, :] - 2 * tf.matmul(a, b, transpose_b=True)), None),
    ("pairwise_distances", "float32_always", lambda a, b: pairwise_distances(tf.cast(a, tf.float32),
                                                                             tf.cast(b, tf.float32)), None),
    ("mse_gradient_matrix", "matrix_summed", lambda X1, t, y: 2 * X1.T @ (X1 @ t - y), None),
    ("mse_gradient_matrix", "matrix_no_two", lambda X1, t, y: X1.T @ (X1 @ t - y) / len(y), None),
    ("mse_gradient_matrix", "matrix_sign", lambda X1, t, y: 2 / len(y) * X1.T @ (y - X1 @ t), None),
    ("tape_gradients", "no_watch", _tape_without_watch, None),
    ("tape_gradients", "loss_outside_tape", _tape_outside, None),
    ("tape_gradients", "tape_loss_summed", _tape_summed, None),
    ("tape_gradients", "non_persistent", _tape_twice, None),
    ("train_step", "no_training_flag", _step(training=False), ONE),
    ("train_step", "no_model_losses", _step(penalty=False), ONE),
    ("train_step", "numpy_in_graph", _step(numpy=True), ONE),
    ("train_step", "add_n_of_nothing", _step(add_n=True), ONE),
    ("clip_by_global_norm", "per_tensor", _clip_per_tensor, None),
    ("clip_by_global_norm", "by_value", _clip_by_value, None),
    ("clip_by_global_norm", "always_scale", _clip_always, None),
    ("input_pipeline", "shuffle_after_batch", _pipeline(order="batch_then_shuffle"), None),
    ("input_pipeline", "shuffled_evaluation", _pipeline(shuffle_eval=True), None),
    ("input_pipeline", "no_reshuffle", _pipeline(order="shuffle_then_cache"), None),
    ("input_pipeline", "no_reshuffle", _pipeline(reshuffle=False), None),
    ("input_pipeline", "never_shuffled", _pipeline(order="never"), None),
    ("input_pipeline", "small_buffer", _pipeline(buffer=lambda b: b), None),
    ("input_pipeline", "no_255", _pipeline(scale=False), None),
    ("input_pipeline", "only_255", _pipeline(standardise=False), None),
    ("input_pipeline", "remainder_dropped", _pipeline(drop=True), None),
    ("input_pipeline", "seed_ignored", _pipeline(seed_of=lambda seed: None), None),
    ("input_pipeline", "seed_constant", _pipeline(seed_of=lambda seed: 42), None),
    ("mixed_precision_step", "no_unscale", _mixed(unscale=False), None),
    ("mixed_precision_step", "no_loss_scaling", _mixed(scale=False), None),
    ("mixed_precision_step", "float16_master", _mixed(master16=True), None),
    ("mixed_precision_step", "scaled_loss_returned", _mixed(scaled_loss=True), None),
    ("run_on_device", "requested_name", _device_requested, None),
    ("run_on_device", "ignored_request", _device_ignored, None),
    ("run_on_device", "no_fallback", _device_strict, None),
    ("mirrored_train_step", "per_replica_mean", _mirrored(lambda s, size: tf.reduce_mean(s)), ONE),
    ("mirrored_train_step", "reduce_mean", _mirrored(_global_average, tf.distribute.ReduceOp.MEAN), ONE),
    ("mirrored_train_step", "replicas_counted_twice", _mirrored(
        _global_average, divide_by=lambda size, strategy: size * strategy.num_replicas_in_sync), ONE),
    ("mirrored_train_step", "equal_shares", _mirrored(_average_without_global), ONE),
    ("mirrored_train_step", "equal_shares", _mirrored(_shape_times_replicas), ONE),
    ("mirrored_train_step", "equal_shares", _mirrored_keras_loss(), ONE),
    ("mixed_precision_step", "float32_only", _mixed_float32_only, None),
    ("run_on_device", "short_name", _device_short, None),
    ("run_on_device", "short_name", _device_logical_name, None),
    ("run_on_device", "input_device", _device_of_input, None),
]


def test_every_message_has_a_mistake_here():
    lab = checks.load_lab(LAB)
    assert {(e.name, k) for e in lab.exercises for k in e.messages} == {(r[0], r[1]) for r in MISTAKES}


@pytest.mark.parametrize(("exercise", "key", "fn", "seeds"), MISTAKES,
                         ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(MISTAKES)])
def test_a_named_mistake_gets_exactly_its_own_message(exercise, key, fn, seeds):
    messages = checks.load_lab(LAB).exercise(exercise).messages
    feedback = first_failure(LAB, exercise, fn, **({"seeds": seeds} if seeds else {}))
    assert feedback is not None, f"{key} passed"
    assert plain(messages[key]) in feedback
    assert [k for k, m in messages.items() if k != key and plain(m) in feedback] == []


UNKNOWN = [
    ("pairwise_distances", lambda a, b: tf.reduce_sum(tf.abs(a[:, None] - b[None]), -1), None),  # Manhattan
    ("tape_gradients", lambda w, b, x, y: tuple(g * 0.5 for g in tape_gradients(w, b, x, y)), None),
    ("train_step", lambda m, o, f, x, y: train_step(m, o, f, x, y) * 2.0, ONE),
    ("clip_by_global_norm", lambda g, c: ([t * 0.5 for t in g], tf.linalg.global_norm(g)), None),
    ("input_pipeline", _pipeline(standardise=False, scale=False), None),
    ("mixed_precision_step", lambda *args: tuple(v * 1.5 for v in mixed_precision_step(*args)), None),
    ("run_on_device", lambda device, a, b: (tf.matmul(b, a, transpose_a=True, transpose_b=True), "/cpu:9"), None),
    ("mirrored_train_step", _mirrored(lambda s, size: tf.reduce_sum(s)), ONE),
    ("mirrored_train_step", _mirrored_keras_loss(divide_by_replicas=True), ONE),
]


@pytest.mark.parametrize(("exercise", "fn", "seeds"), UNKNOWN, ids=[f"{r[0]}-{i}" for i, r in enumerate(UNKNOWN)])
def test_a_mistake_nobody_named_gets_no_cause(exercise, fn, seeds):
    messages = checks.load_lab(LAB).exercise(exercise).messages
    feedback = first_failure(LAB, exercise, fn, **({"seeds": seeds} if seeds else {}))
    assert feedback is not None, "a wrong implementation passed"
    assert [k for k, m in messages.items() if plain(m) in feedback] == []


# parity with TensorFlow and Keras -----------------------------------------------------

def test_global_norm_clipping_moves_as_keras_global_clipnorm():
    """SGD(global_clipnorm=c) on two variables equals SGD after clip_by_global_norm, to float32 rounding."""
    start = [np.array([3.0, -4.0], dtype=np.float32), np.array([[12.0]], dtype=np.float32)]
    grads = [tf.constant([6.0, 8.0]), tf.constant([[24.0]])]
    keras_vars, ours = [tf.Variable(v) for v in start], [tf.Variable(v) for v in start]
    keras.optimizers.SGD(0.5, global_clipnorm=2.0).apply(grads, keras_vars)
    clipped, norm = clip_by_global_norm(grads, 2.0)
    keras.optimizers.SGD(0.5).apply(clipped, ours)
    reference, reference_norm = tf.clip_by_global_norm(grads, 2.0)
    assert float(norm) == pytest.approx(26.0) == float(reference_norm)
    for k, o, c, r in zip(keras_vars, ours, clipped, reference):
        np.testing.assert_allclose(k.numpy(), o.numpy(), rtol=1e-6)
        np.testing.assert_allclose(c.numpy(), r.numpy(), rtol=1e-6)


def test_a_keras_loss_left_in_float32_is_named_in_the_mirrored_step():
    feedback = first_failure(LAB, "mirrored_train_step", _mirrored_keras_loss(dtype=None, reduction="sum"), seeds=ONE)
    assert feedback is not None and 'MeanSquaredError(dtype="float64")' in feedback, feedback


def _float64_images(x, y, batch_size, training, seed):
    images = (np.asarray(x) / 255.0 - 0.1307) / 0.3081
    dataset = tf.data.Dataset.from_tensor_slices((images, y)).cache()
    if training:
        dataset = dataset.shuffle(len(x), seed=seed)
    return dataset.batch(batch_size)


def test_a_float32_gradient_breaks_the_float64_promise():
    def in_float32(X1, theta, y):
        X1, theta, y = (np.asarray(v, dtype=np.float32) for v in (X1, theta, y))
        return 2 / len(y) * X1.T @ (X1 @ theta - y)

    feedback = first_failure(LAB, "mse_gradient_matrix", in_float32)
    assert feedback is not None and "returned float32 numbers where the docstring promises float64" in feedback


def test_a_gradient_from_lists_and_loops_passes():
    def looped(X1, theta, y):
        n, p = len(X1), len(X1[0])
        residual = [sum(float(X1[i][j]) * float(theta[j]) for j in range(p)) - float(y[i]) for i in range(n)]
        return [2.0 / n * sum(float(X1[i][j]) * residual[i] for i in range(n)) for j in range(p)]

    assert first_failure(LAB, "mse_gradient_matrix", looped) is None


def test_a_float16_loss_breaks_the_float32_promise():
    def loss_in_float16(w, b, x, y, learning_rate, loss_scale):
        with tf.GradientTape() as tape:
            tape.watch([w, b])
            predictions = tf.linalg.matvec(tf.cast(x, tf.float16), tf.cast(w, tf.float16)) + tf.cast(b, tf.float16)
            loss = tf.reduce_mean(tf.square(predictions - tf.cast(y, tf.float16)))
            scaled = tf.cast(loss, tf.float32) * loss_scale
        dw, db = (g / loss_scale for g in tape.gradient(scaled, [w, b]))
        return w - learning_rate * dw, b - learning_rate * db, loss

    feedback = first_failure(LAB, "mixed_precision_step", loss_in_float16)
    assert feedback is not None and "the loss you returned is float16, expected float32" in feedback, feedback


def test_a_python_float_loss_passes():
    def float_loss(*args):
        w_new, b_new, loss = mixed_precision_step(*args)
        return w_new, b_new, float(loss)

    assert first_failure(LAB, "mixed_precision_step", float_loss) is None


def test_float64_images_are_told_by_their_dtype():
    feedback = first_failure(LAB, "input_pipeline", _float64_images)
    assert feedback is not None and "your images are float64, expected float32" in feedback, feedback


def test_labels_cast_are_told_by_their_dtype():
    def cast_labels(x, y, batch_size, training, seed):
        return input_pipeline(x, y, batch_size, training, seed).map(lambda i, label: (i, tf.cast(label, tf.int32)))

    feedback = first_failure(LAB, "input_pipeline", cast_labels)
    assert feedback is not None and "your labels are int32, expected int64" in feedback, feedback


def test_a_device_read_from_an_input_is_not_told_it_ran_elsewhere():
    messages = checks.load_lab(LAB).exercise("run_on_device").messages
    feedback = first_failure(LAB, "run_on_device", _device_of_input)
    assert feedback is not None and plain(messages["ignored_request"]) not in feedback, feedback


def test_the_mirrored_cases_split_their_batches_unevenly():
    from autograder.hidden.lab14 import replica_shares

    cases = [c for seed in (0, 1, 2, 3) for c in checks.load_lab(LAB).hidden_cases(seed)["mirrored_train_step"]]
    cases += checks.load_lab(LAB).public_cases()["mirrored_train_step"]
    for case in cases:
        shares = replica_shares(case.args[4])
        assert len(set(shares)) == 2, case.label
        assert {"equal_shares", "per_replica_mean", "replicas_counted_twice"} <= set(case.wrong)


CHOSEN_BY_THE_COMPARATOR = ()  # messages a compare returns itself, not matched against a mistake's values


@pytest.mark.parametrize("seed", range(8))
def test_every_named_cause_has_a_hidden_case_that_tells_it_under_every_secret(seed):
    assert untold_causes(LAB, seed, CHOSEN_BY_THE_COMPARATOR) == []


def test_a_float32_loss_in_the_mirrored_step_is_named_and_printed_apart():
    from autograder.checks.lab14 import _compare_mirrored

    expected = {"kernel": np.ones((2, 1)), "bias": np.zeros(1), "losses": [0.49164395], "replicas": 2}
    received = {**expected, "losses": [float(np.float32(0.49164395))]}
    reason = _compare_mirrored(received, expected, None)
    assert reason.startswith("the losses you returned agree with one device's only to float32's 7 digits")
    shown, wanted = reason.rsplit(": ", 1)[1].split(" instead of ")
    assert shown != wanted
