"""Lab 12's network demo: its training harness does what fit does, so the notebook's curves are fit's curves.

``autograder.demos.lab12.train_curves`` runs each epoch as one compiled call instead of ``fit``'s per-epoch
bookkeeping. Here, in float64 and on the variants without random masks, its histories, final weights and
EarlyStopping's stop and restore equal ``fit(X, y, batch_size=len(X), validation_data=..., callbacks=...)``'s.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.demos import lab12 as demo

pytestmark = pytest.mark.usefixtures("float64_keras")

EPOCHS = 12


@pytest.fixture(scope="module")
def splits():
    return demo.curve_splits()


def fit_history(model, splits, epochs, callbacks=()):
    import keras

    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model.fit(splits["X_train"], splits["y_train"], batch_size=len(splits["X_train"]), epochs=epochs,
                     validation_data=(splits["X_val"], splits["y_val"]), callbacks=list(callbacks), shuffle=False,
                     verbose=0).history


@pytest.mark.parametrize("variant", ["no regularization", "L2", "batch norm"])
def test_the_harness_trains_as_fit_does(splits, variant):
    ours_model = demo.build_network(variant, hidden=16, dtype="float64")
    ours = demo.train_curves(ours_model, splits, epochs=EPOCHS)
    theirs_model = demo.build_network(variant, hidden=16, dtype="float64")
    theirs = fit_history(theirs_model, splits, EPOCHS)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-9)
    np.testing.assert_allclose(ours["val_loss"], theirs["val_loss"], rtol=1e-9)
    for mine, fits in zip(ours_model.get_weights(), theirs_model.get_weights()):
        np.testing.assert_allclose(mine, fits, rtol=1e-8, atol=1e-12)


def test_val_mse_is_val_loss_without_the_penalty(splits):
    model = demo.build_network("L2", hidden=16, dtype="float64")
    history = demo.train_curves(model, splits, epochs=3)
    assert all(loss > mse for loss, mse in zip(history["val_loss"], history["val_mse"]))
    np.testing.assert_allclose(history["val_mse"][-1], demo.mse(model, splits["X_val"], splits["y_val"]), rtol=1e-10)


def test_early_stopping_in_the_harness_stops_and_restores_as_in_fit(splits):
    import keras

    runs = []
    for train in (lambda model, stopper: demo.train_curves(model, splits, epochs=80, callbacks=[stopper]),
                  lambda model, stopper: fit_history(model, splits, 80, [stopper])):
        model = demo.build_network("no regularization", hidden=16, dtype="float64")
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        history = train(model, stopper)
        runs.append((stopper.stopped_epoch, len(history["val_loss"]), model.get_weights()))
    (ours_stop, ours_ran, ours_weights), (fit_stop, fit_ran, fit_weights) = runs
    assert 0 < ours_stop == fit_stop and ours_ran == fit_ran < 80
    for mine, fits in zip(ours_weights, fit_weights):
        np.testing.assert_allclose(mine, fits, rtol=1e-8, atol=1e-12)


def test_build_network_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="must be one of"):
        demo.build_network("weight decay")
