"""Lab 12 probes: dropout's masks, an early stopper driven through a scripted training, a Keras model's report.

``dropout_forward_run`` calls the student's ``dropout_forward`` with an injected mask (exact values)
or, for a random draw, on a large batch with a given generator, and reports what the draws look like
(the fraction kept, the value a kept unit gets, whether the generator decides the mask).
``dropout_backward_run`` reports the gradient and whether its zeros are exactly the dropped units.
``early_stopping_run`` plays a training loop with the student's ``EarlyStopping``: one scripted
validation loss per epoch, the weights changed in place every epoch as a real training does, and
reports the epoch at which the stopper stopped and whose weights training ended with.
``keras_report`` builds the student's Keras model and reports its inference output, its penalty and
its batch normalization's moving statistics after one training-mode call.
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
    another seed a different one, and whether a call without rng draws too.
    """
    if seed is None:
        output, returned_mask = dropout_forward(x, rate, training=training, mask=mask)
        return {"output": numeric_array(output), "mask": numeric_array(returned_mask)}
    batch = np.full(DRAW_SHAPE, float(x))
    first, first_mask = dropout_forward(batch.copy(), rate, rng=np.random.default_rng(seed))
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
    }


def dropout_backward_run(dropout_backward, grad_out, mask, rate):
    """``{"grad_in", "follows_mask", "zeroes_some"}``: the gradient, whether it is non-zero exactly on the kept
    units, and whether it has zeros at all.

    The case's upstream gradient has no zero, so a correct gradient is zero exactly where the mask drops.
    """
    mask = np.array(mask, dtype=bool)
    grad_in = numeric_array(dropout_backward(np.array(grad_out, dtype=float), mask.copy(), rate))
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
    """Drives ``EarlyStopping(**settings)`` through one training of ``len(val_losses)`` epochs at most.

    Calls ``on_train_begin()``, then per epoch ``on_epoch_end(epoch, val_loss, weights)`` (0-based epochs;
    ``weights`` is the same list of arrays every epoch, filled in place with epoch + 1 as a model's weights
    change while it trains), stopping at the first True; then ``on_train_end(weights)``.

    Returns:
        ``{"stopped_at": the epoch whose on_epoch_end returned True, or None; "weights_from": the epoch
        whose weights on_train_end returned (-1: not one epoch's weights)}``.
    """
    stopper = EarlyStopping(**settings)
    stopper.on_train_begin()
    weights = [np.zeros((2, 3)), np.zeros(3)]
    stopped_at = None
    for epoch, loss in enumerate(val_losses):
        for array in weights:
            array[...] = epoch + 1
        if stopper.on_epoch_end(epoch, float(loss), weights):
            stopped_at = epoch
            break
    final = stopper.on_train_end(weights)
    return {"stopped_at": stopped_at, "weights_from": _epoch_of(final, [(2, 3), (3,)], len(val_losses))}


def keras_report(keras_regularized_model, weights, l2, rate, X):
    """The student's model, as the grader's fresh process builds it, on X.

    Returns:
        ``{"layers": the layer classes in order, "inference": model(X, training=False), "penalty": the sum
        of model.losses, "moving_mean", "moving_variance": the BatchNormalization layer's after one call
        model(X, training=True) (None without one), "dtype": the inference output's dtype}``.
    """
    import keras

    from autograder.probes.keras_state import as_in_a_fresh_process

    with as_in_a_fresh_process():
        model = keras_regularized_model([np.array(w, dtype=float) for w in weights], l2, rate)
        X = np.array(X, dtype=float)
        inference = model(X, training=False)
        dtype = np.dtype(keras.backend.standardize_dtype(inference.dtype)).name
        penalty = float(sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses))
        model(X, training=True)
        norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
        moving = [keras.ops.convert_to_numpy(v) for v in (norms[0].moving_mean, norms[0].moving_variance)] if (
            norms) else [None, None]
    return {"layers": ", ".join(type(layer).__name__ for layer in model.layers),
            "inference": keras.ops.convert_to_numpy(inference), "penalty": penalty,
            "moving_mean": moving[0], "moving_variance": moving[1], "dtype": dtype}
