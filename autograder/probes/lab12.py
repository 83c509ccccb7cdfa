"""Lab 12 probes: dropout's masks, an early stopper driven through a scripted training, a Keras model's report.

``dropout_forward_run`` calls the student's ``dropout_forward`` with an injected mask (exact values)
or, for a random draw, on a large batch with a given generator, and reports what the draws look like
(the fraction kept, the value a kept unit gets, whether the generator decides the mask).
``dropout_backward_run`` reports the gradient and whether its zeros are exactly the dropped units.
``early_stopping_run`` plays a training loop with the student's ``EarlyStopping``: one scripted
validation loss per epoch, the weights changed in place every epoch as a real training does, and
reports the epoch at which the stopper stopped and whose weights training ended with.
``keras_fit_report`` trains with the student's ``keras_regularized_fit`` and reports the model's layers, its
Dropout rate, the histories, the weights fit ended with and the validation loss of the model it returned.
None holds a formula of the exercises: the grading process compares the reports with the reference's.
"""

from __future__ import annotations

import numpy as np

from autograder.probes import numeric_array

DRAW_SHAPE = (200, 250)  # 50,000 units: the kept fraction's standard error is at most 0.0023



def dropout_forward_run(dropout_forward, x, rate, training, mask, seed):
    """With ``seed`` None: ``{"output", "mask"}`` of ``dropout_forward(x, rate, training=..., mask=...)``, the
    inputs as the case gives them (arrays, or plain lists).

    With a ``seed``: draws on a (200, 250) batch of the value ``x`` with ``rng=np.random.default_rng(seed)``
    and reports ``kept_fraction``, ``kept_values`` (the smallest and largest non-zero output), whether the
    returned mask is where the output is non-zero, whether the same seed gives the same mask and
    another seed a different one, whether a call without rng draws too, and whether the batch passed
    in is unchanged (the unseeded path hands the case's own inputs, whose changes the grader sees).
    """
    if seed is None:
        output, returned_mask = dropout_forward(x, rate, training=training, mask=mask)
        return {"output": numeric_array(output), "mask": numeric_array(returned_mask)}
    batch = np.full(DRAW_SHAPE, float(x))
    given = batch.copy()
    first, first_mask = dropout_forward(given, rate, rng=np.random.default_rng(seed))
    unchanged = bool(np.array_equal(given, batch))
    again, _ = dropout_forward(batch.copy(), rate, rng=np.random.default_rng(seed))
    other, _ = dropout_forward(batch.copy(), rate, rng=np.random.default_rng(seed + 1))
    unseeded, _ = dropout_forward(batch.copy(), rate)
    first, again, other, unseeded = (np.asarray(a, dtype=float) for a in (first, again, other, unseeded))
    kept = first != 0
    values = first[kept]
    first_mask = numeric_array(first_mask)
    return {
        "kept_fraction": float(kept.mean()),
        "kept_values": (float(values.min()), float(values.max())) if values.size else (0.0, 0.0),
        "mask_is_kept_units": bool(first_mask is not None and first_mask.shape == kept.shape
                                   and np.array_equal(first_mask.astype(bool), kept)),
        "repeatable": bool(np.array_equal(first, again)),
        "seed_decides": bool(not np.array_equal(first, other)),
        "draws_without_rng": bool(unseeded.shape == first.shape and np.any(unseeded == 0) == np.any(first == 0)),
        "input_unchanged": unchanged,
    }


def dropout_backward_run(dropout_backward, grad_out, mask, rate):
    """``{"grad_in", "follows_mask", "zeroes_some"}``: the gradient, whether it is non-zero exactly on the kept
    units, and whether it has zeros at all.

    The case's upstream gradient has no zero, so a correct gradient is zero exactly where the mask drops.
    """
    # The student gets the case's own arrays, no copy, so that the grader sees a change made in place;
    # the probe keeps a copy of the mask for itself.
    kept = np.array(mask, dtype=bool)
    grad_in = numeric_array(dropout_backward(grad_out, mask, rate))
    mask = kept
    follows = grad_in is not None and grad_in.shape == mask.shape and bool(np.array_equal(grad_in != 0, mask))
    return {"grad_in": grad_in, "follows_mask": follows, "zeroes_some": bool(grad_in is not None and
                                                                            np.any(grad_in == 0))}


def _epoch_of(weights, shapes, epochs):
    """The epoch whose weights these are (the probe fills epoch e's weights with e + 1), else -1."""
    try:
        arrays = [np.asarray(w, dtype=float) for w in weights]
    except (TypeError, ValueError):
        return -1
    if [a.shape for a in arrays] != shapes:
        return -1
    values = {float(v) for a in arrays for v in a.ravel()}
    if len(values) != 1:
        return -1
    epoch = values.pop() - 1
    return int(epoch) if epoch in range(epochs) else -1


def early_stopping_run(EarlyStopping, settings, val_losses):
    """Drives ``EarlyStopping(**settings)`` through two trainings, and judges the second.

    The first training (three epochs whose losses lie far below ``val_losses``) leaves a best loss, a
    wait and best weights behind: the second starts with ``on_train_begin()``, which must reset them. In
    it, per epoch ``on_epoch_end(epoch, val_loss, weights)`` (0-based epochs; ``weights`` is the same list
    of arrays every epoch, filled in place with epoch + 1 as a model's weights change while it trains),
    stopping at the first True; then ``on_train_end(weights)``. A second stopper made with the same
    settings trains beside it, epoch by epoch, on other losses: state kept on the class, not the object,
    would mix the two.

    Returns:
        ``{"stopped_at": the epoch whose on_epoch_end returned True, or None; "weights_from": the epoch
        whose weights on_train_end returned (-1: not one epoch's weights)}``.
    """
    stopper, beside = EarlyStopping(**settings), EarlyStopping(**settings)
    low = float(np.min(val_losses)) - 10.0
    earlier = [np.zeros((2, 3)), np.zeros(3)]
    stopper.on_train_begin()
    for epoch, loss in enumerate((low + 2.0, low + 1.0, low)):
        for array in earlier:
            array[...] = 1000 + epoch
        stopper.on_epoch_end(epoch, loss, earlier)
    stopper.on_train_end(earlier)
    weights, other = [np.zeros((2, 3)), np.zeros(3)], [np.zeros((2, 3)), np.zeros(3)]
    stopper.on_train_begin()
    beside.on_train_begin()
    stopped_at = None
    for epoch, loss in enumerate(val_losses):
        for array in other:
            array[...] = 500 + epoch
        beside.on_epoch_end(epoch, low - 10.0 - epoch, other)
        for array in weights:
            array[...] = epoch + 1
        if stopper.on_epoch_end(epoch, float(loss), weights):
            stopped_at = epoch
            break
    final = stopper.on_train_end(weights)
    return {"stopped_at": stopped_at, "weights_from": _epoch_of(final, [(2, 3), (3,)], len(val_losses))}


def keras_fit_report(keras_regularized_fit, weights, l2, rate, X_train, y_train, X_val, y_val, learning_rate,
                     epochs, patience):
    """Trains with the student's ``keras_regularized_fit`` as the grader's fresh process would, and reports the run.

    Keras's random seed is set first (``keras.utils.set_random_seed(0)``), so that a run with dropout draws
    the same masks each time it is checked: the same submission gets the same report twice. Python's and
    NumPy's global generators, which that call reseeds too, are put back afterwards as the notebook had them.

    Returns:
        ``{"layers": the layer classes in order (a functional model's InputLayer left out), "rate": the first
        Dropout layer's rate (None without one),
        "dtype": the first weight's dtype, "loss", "val_loss": the History's lists (None where absent),
        "weights": model.get_weights() after fit, "returned_val_loss": the MSE of model(X_val, training=False)
        plus sum(model.losses), what Keras reports as val_loss for the model fit returned}``, or a sentence
        where the function did not return (model, history).
    """
    import random

    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    python_state, numpy_state = random.getstate(), np.random.get_state()  # set_random_seed reseeds both
    try:
        with as_in_a_fresh_process():
            keras.utils.set_random_seed(0)
            value = keras_regularized_fit([np.array(w, dtype=float) for w in weights], l2, rate,
                                          np.array(X_train, dtype=float), np.array(y_train, dtype=float),
                                          np.array(X_val, dtype=float), np.array(y_val, dtype=float),
                                          learning_rate, epochs, patience)
            if not (isinstance(value, (tuple, list)) and len(value) == 2 and isinstance(value[0], keras.Model)):
                return ("keras_regularized_fit must return (model, history): the trained keras.Sequential and "
                        "what model.fit returned")
            model, history = value
            logs = getattr(history, "history", history)
            logs = logs if isinstance(logs, dict) else {}
            found = [numeric_array(logs.get(key)) for key in ("loss", "val_loss")]
            arrays = model.get_weights()
            predictions = keras.ops.convert_to_numpy(model(np.array(X_val, dtype=float), training=False))
            penalty = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
            returned = float(np.mean((np.reshape(predictions, -1).astype(float)
                                      - np.asarray(y_val, dtype=float)) ** 2))
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    rates = [float(layer.rate) for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    layers = [type(layer).__name__ for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return {"layers": ", ".join(layers),
            "rate": rates[0] if rates else None, "dtype": np.dtype(arrays[0].dtype).name if arrays else "none",
            "loss": None if found[0] is None else found[0].astype(float).reshape(-1),
            "val_loss": None if found[1] is None else found[1].astype(float).reshape(-1),
            "weights": [np.asarray(a) for a in arrays], "returned_val_loss": returned + penalty}
