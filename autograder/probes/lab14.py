"""Lab 14 probes: hand the student's TensorFlow code tensors, models and strategies; report NumPy data.

Every probe of this lab builds what the exercise's docstring promises (tensors of the case's dtype,
a float64 Keras model, an SGD optimizer, a ``tf.data`` pass, a two-replica ``MirroredStrategy``
over ``/cpu:0`` and ``/cpu:1``), calls the student's function and turns what came back into NumPy
arrays, floats and strings. They judge nothing and hold no answer: the grading process compares
the reports with what ``autograder.hidden.lab14`` computes in NumPy. TensorFlow is imported inside
each probe: the module itself is plain Python, like every probe module.
"""

from __future__ import annotations

import numpy as np

from autograder.probes import numeric_array

NON_PERSISTENT = "RuntimeError: a non-persistent GradientTape was asked for a second set of gradients"
NUMPY_IN_GRAPH = "AttributeError: .numpy() was called while tf.function traced the step (a symbolic tensor)"
ADD_N_OF_NOTHING = "ValueError: tf.add_n was given an empty list (a model without regularizers has no model.losses)"
DEVICES = ("/cpu:0", "/cpu:1")  # the grader's TensorFlow child splits its CPU in two logical devices


def _tf():
    import tensorflow as tf

    return tf


def _numpy(value):
    """A tensor, variable or array as a NumPy array (dtype kept); None stays None."""
    if value is None:
        return None
    if hasattr(value, "numpy") and callable(value.numpy):
        try:
            value = value.numpy()
        except Exception:  # noqa: BLE001 - what cannot be read is judged as it came
            return value
    array = numeric_array(value)
    return array if array is not None else value


def _float(value):
    array = _numpy(value)
    if isinstance(array, np.ndarray) and array.size == 1:
        return float(array.reshape(()))
    return array


def pairwise(pairwise_distances, a, b):
    """``pairwise_distances(tf.constant(a), tf.constant(b))`` as a NumPy array of the dtype it had."""
    tf = _tf()
    return _numpy(pairwise_distances(tf.constant(a), tf.constant(b)))


def tape(tape_gradients, w, b, x, y, kind):
    """Calls ``tape_gradients(w, b, x, y)`` with w and b as float64 ``tf.constant``s or ``tf.Variable``s (``kind``).

    Returns:
        ``{"dw", "db": floats (None where the student returned None), "error": "" or NON_PERSISTENT}``.
    """
    tf = _tf()
    make = tf.Variable if kind == "variable" else tf.constant
    w, b = make(np.float64(w)), make(np.float64(b))
    try:
        result = tape_gradients(w, b, tf.constant(x, dtype=tf.float64), tf.constant(y, dtype=tf.float64))
    except RuntimeError as exc:
        if "non-persistent" in str(exc):
            return {"dw": None, "db": None, "error": NON_PERSISTENT}
        raise
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {"dw": _float(result), "db": None, "error": "expected a pair (dL/dw, dL/db)"}
    return {"dw": _float(result[0]), "db": _float(result[1]), "error": ""}


def _names(model):
    return [v.path.rsplit("/", 1)[-1] for v in model.variables]


def train_steps(train_step, weights, x_batches, y_batches, l2, learning_rate):
    """Runs ``tf.function(train_step)(model, optimizer, loss_fn, x, y)`` once per batch.

    The model is float64: ``BatchNormalization`` (Keras' defaults) on the inputs, then
    ``Dense(k, kernel_regularizer=keras.regularizers.L2(l2))`` (no regularizer where ``l2`` is None, so that
    ``model.losses`` is empty); its weights are ``weights``
    (gamma, beta, moving mean, moving variance, kernel, bias). The optimizer is
    ``keras.optimizers.SGD(learning_rate)``, the loss ``keras.losses.MeanSquaredError(dtype="float64")``.

    Returns:
        ``{"losses": what each step returned, "gamma", "beta", "moving_mean", "moving_variance", "kernel",
        "bias": the weights after the last step, "error": "", NUMPY_IN_GRAPH or ADD_N_OF_NOTHING}``.
    """
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    tf = _tf()
    with as_in_a_fresh_process():
        d, k = np.shape(weights[4])
        model = keras.Sequential([keras.Input(shape=(d,), dtype="float64"),
                                  keras.layers.BatchNormalization(dtype="float64"),
                                  keras.layers.Dense(k, dtype="float64", kernel_regularizer=None if l2 is None
                                                     else keras.regularizers.L2(l2))])
        model.set_weights([np.array(w, dtype=np.float64) for w in weights])
        optimizer = keras.optimizers.SGD(learning_rate)
        loss_fn = keras.losses.MeanSquaredError(dtype="float64")
        step = tf.function(train_step)
        losses = []
        for x, y in zip(x_batches, y_batches):
            try:
                losses.append(_float(step(model, optimizer, loss_fn, tf.constant(x), tf.constant(y))))
            except NotImplementedError:  # raised while tracing, with autograph's text: raise the stub's own
                train_step(model, optimizer, loss_fn, tf.constant(x), tf.constant(y))
                raise
            except AttributeError as exc:
                if "numpy" not in str(exc):
                    raise
                return {"losses": [], "error": NUMPY_IN_GRAPH}
            except ValueError as exc:
                if "at least one Tensor" not in str(exc) or model.losses:
                    raise
                return {"losses": [], "error": ADD_N_OF_NOTHING}
        values = dict(zip(("gamma", "beta", "moving_mean", "moving_variance", "kernel", "bias"),
                          (v.numpy() for v in model.variables)))
    return {"losses": losses, **values, "error": ""}


def clip(clip_by_global_norm, grads, clip_norm):
    """``clip_by_global_norm([tf.constant(g) for g in grads], clip_norm)`` as ``{"clipped": [arrays], "norm"}``."""
    tf = _tf()
    result = clip_by_global_norm([tf.constant(g) for g in grads], clip_norm)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {"clipped": _numpy(result), "norm": None}
    clipped, norm = result
    clipped = [_numpy(g) for g in clipped] if isinstance(clipped, (tuple, list)) else _numpy(clipped)
    return {"clipped": clipped, "norm": _float(norm)}


def pipeline(input_pipeline, x, y, batch_size, training, seed, epochs=3):
    """Iterates ``input_pipeline(x, y, batch_size, training, seed)`` ``epochs`` times.

    ``y`` holds distinct labels 0 … n−1, so a label tells which example a row is.

    Returns:
        ``{"n", "batch_size", "epochs": [{"x": the labels in the order they came (the example of every
        row), "y": the same, "sizes": the batches' sizes, "error"}], "images": each epoch's images by
        label (n, …) as float64 (NaN for a label that never came), "dtype": the images' dtype, "label_dtype":
        the labels' dtype (those of the last batch), "repeatable": whether a second pipeline made with the same
        seed gave the first epoch's order again, "seed_matters": whether one made with seed + 1 gave another}``.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        dataset = input_pipeline(x, y, batch_size, training, seed)
        again, other = (input_pipeline(x, y, batch_size, training, s) for s in (seed, seed + 1))
    n = len(y)
    report = {"n": n, "batch_size": int(batch_size), "epochs": [], "images": [], "dtype": "", "label_dtype": ""}
    for _pass in range(epochs):
        labels, sizes, images, error = [], [], np.full((n, *np.shape(x)[1:]), np.nan), ""
        for count, item in enumerate(dataset):
            if count > 10 * n:
                error = "more batches in one epoch than examples: does the dataset repeat?"
                break
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                error = f"an element was a {type(item).__name__}, not a pair (images, labels)"
                break
            batch_x, batch_y = _numpy(item[0]), _numpy(item[1])
            report["dtype"] = str(getattr(batch_x, "dtype", type(batch_x).__name__))
            report["label_dtype"] = str(getattr(batch_y, "dtype", type(batch_y).__name__))
            batch_labels = [int(v) for v in np.asarray(batch_y).ravel()]
            labels += batch_labels
            sizes.append(len(batch_labels))
            for label, image in zip(batch_labels, np.asarray(batch_x, dtype=np.float64)):
                if 0 <= label < n and np.shape(image) == images.shape[1:]:
                    images[label] = image
        report["epochs"].append({"x": np.array(labels, dtype=np.int64), "y": np.array(labels, dtype=np.int64),
                                 "sizes": np.array(sizes, dtype=np.int64), "error": error})
        report["images"].append(images)
    first = [int(v) for v in report["epochs"][0]["x"]]
    report["repeatable"] = _first_order(again, n) == first
    report["seed_matters"] = _first_order(other, n) != first
    return report


def _first_order(dataset, n):
    """The labels of one pass over ``dataset`` (at most 10·n batches), in the order they came."""
    labels = []
    for count, item in enumerate(dataset):
        if count > 10 * n or not isinstance(item, (tuple, list)) or len(item) != 2:
            break
        labels += [int(v) for v in np.asarray(_numpy(item[1])).ravel()]
    return labels


def mixed(mixed_precision_step, w, b, x, y, learning_rate, loss_scale):
    """Calls ``mixed_precision_step(w, b, x, y, learning_rate, loss_scale)`` on float32 tensors.

    Returns:
        ``{"update_w": w − w_new, "update_b": b − b_new (float64), "loss": the loss returned,
        "dtype", "b_dtype", "loss_dtype": the dtypes of w_new, b_new and the loss (a type's name for what is no
        array)}``.
    """
    tf = _tf()
    result = mixed_precision_step(tf.constant(w), tf.constant(np.float32(b)), tf.constant(x), tf.constant(y),
                                  learning_rate, loss_scale)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        return {"update_w": _numpy(result), "update_b": None, "loss": None, "dtype": ""}
    dtypes = {"b_dtype": _dtype_name(result[1]), "loss_dtype": _dtype_name(result[2])}
    w_new, b_new, loss = (_numpy(v) for v in result)
    dtype = str(getattr(w_new, "dtype", type(w_new).__name__))
    try:
        update_w = np.asarray(w, dtype=np.float64) - np.asarray(w_new, dtype=np.float64)
        update_b = float(np.float64(b) - np.asarray(b_new, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return {"update_w": w_new, "update_b": b_new, "loss": _float(loss), "dtype": dtype, **dtypes}
    return {"update_w": update_w, "update_b": update_b, "loss": _float(loss), "dtype": dtype, **dtypes}


def _dtype_name(value) -> str:
    """"float32" for a tensor, variable or array of that dtype; the type's name ("float") for what has none."""
    name = getattr(getattr(value, "dtype", None), "name", None)
    return name if isinstance(name, str) else type(value).__name__


def placement(run_on_device, device, a, b):
    """Calls ``run_on_device(device, a, b)``.

    Returns:
        ``{"product": the product as an array, "device": the device name returned, "present": whether this
        machine has ``device``, "error": "" or, where it has not, the exception raised instead of falling back,
        "ran_on": the returned product tensor's own ``.device`` (None for what is no tensor)}``.
    """
    tf = _tf()
    try:
        wanted = tf.DeviceSpec.from_string(device)
        present = any(tf.DeviceSpec.from_string(d.name).device_type == wanted.device_type.upper()
                      and tf.DeviceSpec.from_string(d.name).device_index == wanted.device_index
                      for d in tf.config.list_logical_devices())
    except ValueError:
        present = False
    try:
        result = run_on_device(device, tf.constant(a), tf.constant(b))
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - failing on a missing device is what the report says
        if present:
            raise
        return {"product": None, "device": "", "present": present, "error": f"{type(exc).__name__}: {exc}"[:200],
                "ran_on": None}
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {"product": _numpy(result), "device": "", "present": present, "error": "", "ran_on": None}
    where, ran_on = result[1], getattr(result[0], "device", None)
    return {"product": _numpy(result[0]), "device": where if isinstance(where, str) else repr(where)[:200],
            "present": present, "error": "", "ran_on": ran_on if isinstance(ran_on, str) else None}


_STRATEGY = []


def _strategy():
    """One MirroredStrategy per process: making one costs a few hundred milliseconds."""
    if not _STRATEGY:
        tf = _tf()
        _STRATEGY.append(tf.distribute.MirroredStrategy(list(DEVICES)))
    return _STRATEGY[0]


def mirrored(mirrored_train_step, kernel, bias, x, y, global_batch_size, learning_rate):
    """Runs the student's step over ``x, y`` in global batches on a two-replica MirroredStrategy.

    Under ``strategy.scope()`` the probe builds a float64 ``Dense(k)`` with ``kernel, bias`` and
    ``keras.optimizers.SGD(learning_rate)``; the batches come from
    ``strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size))``
    and each is passed to ``tf.function(mirrored_train_step)(strategy, model, optimizer, x_batch, y_batch,
    global_batch_size)``.

    Returns:
        ``{"losses": what each call returned, "kernel", "bias": the weights after the last step, "replicas"}``.
    """
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    tf = _tf()
    strategy = _strategy()
    with as_in_a_fresh_process():
        with strategy.scope():
            d, k = np.shape(kernel)
            model = keras.Sequential([keras.Input(shape=(d,), dtype="float64"),
                                      keras.layers.Dense(k, dtype="float64")])
            model.set_weights([np.array(kernel, dtype=np.float64), np.array(bias, dtype=np.float64)])
            optimizer = keras.optimizers.SGD(learning_rate)
        dataset = tf.data.Dataset.from_tensor_slices((np.asarray(x, dtype=np.float64),
                                                      np.asarray(y, dtype=np.float64))).batch(global_batch_size)
        step, losses = tf.function(mirrored_train_step), []
        for bx, by in strategy.experimental_distribute_dataset(dataset):
            try:
                losses.append(_float(step(strategy, model, optimizer, bx, by, global_batch_size)))
            except NotImplementedError:  # raised while tracing, with autograph's text: raise the stub's own
                mirrored_train_step(strategy, model, optimizer, bx, by, global_batch_size)
                raise
        kernel_after, bias_after = (v.numpy() for v in model.trainable_variables)
    return {"losses": losses, "kernel": kernel_after, "bias": bias_after,
            "replicas": int(strategy.num_replicas_in_sync)}
