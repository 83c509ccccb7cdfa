"""Lab 07 probes: build the student's layers and networks, run them, and report plain data.

Each probe makes the student's object from the case's inputs, sets the weights the case gives
(so that every implementation computes on the same numbers), calls forward, backward and step,
and reports what came out. Initialisers are judged by their statistics over many draws from one
``np.random.Generator``. The probes hold no formula of a layer: the grading process compares
their reports with the reference's (``autograder.checks.lab07``).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.probes import numeric_array

MIN_SAMPLES = 40_000  # enough draws that a std is known to ~0.4 % and a bound is reached
# At most this many calls: a correct initialiser built on scipy.stats.truncnorm costs ~0.2–1 ms a call, so
# pooling 40,000 draws from kernels of 20 entries would take seconds. The cases' kernels have 20 entries
# or more, so at least 10,000 draws are pooled (a std known to ~0.6 %, well inside the check's 3 %).
MAX_CALLS = 500


def _shape(value):
    array = numeric_array(value)
    return None if array is None else tuple(int(n) for n in array.shape)


def init_stats(init, fan_in, fan_out, seed, samples=MIN_SAMPLES, calls=MAX_CALLS):
    """Calls ``init(fan_in, fan_out, rng)`` with one generator until ``samples`` numbers are drawn, ``calls`` at most.

    Returns:
        ``{"shape", "rng_used", "repeatable", "fresh", "n", "mean", "std", "max_abs"}``: the first draw's
        shape; whether the call advanced ``rng``; whether a new generator of the same seed gives the
        same first draw; whether the second draw differs from the first; and the pooled statistics.
        Or a string saying why the draws could not be read.
    """
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    first = numeric_array(init(fan_in, fan_out, rng))
    if first is None:
        return "the initialiser did not return an array of numbers"
    rng_used = rng.bit_generator.state != state
    draws = [first.astype(np.float64).ravel()]
    total = first.size
    second = None
    while total < samples and len(draws) < calls:
        draw = numeric_array(init(fan_in, fan_out, rng))
        if draw is None or draw.shape != first.shape:
            return "the initialiser returned arrays of different shapes on repeated calls"
        second = draw if second is None else second
        draws.append(draw.astype(np.float64).ravel())
        total += draw.size
    again = numeric_array(init(fan_in, fan_out, np.random.default_rng(seed)))
    pooled = np.concatenate(draws)
    if not np.all(np.isfinite(pooled)):
        return "the initialiser returned NaN or infinity"
    return {
        "shape": _shape(first),
        "rng_used": bool(rng_used),
        "repeatable": bool(again is not None and again.shape == first.shape and np.array_equal(again, first)),
        "fresh": bool(second is None or not np.array_equal(second, first)),
        "n": int(pooled.size),
        "mean": float(pooled.mean()),
        "std": float(pooled.std()),
        "max_abs": float(np.max(np.abs(pooled))),
    }


def _error(step: str, exc: Exception) -> tuple[str, str]:
    return f"{step} raised {type(exc).__name__}", str(exc).splitlines()[0][:200] if str(exc) else ""


def _initialisers(cls):
    """The student's glorot_uniform and he_normal, looked up where their class was defined."""
    namespace = getattr(getattr(cls, "__init__", None), "__globals__", {})
    return namespace.get("glorot_uniform"), namespace.get("he_normal")


def _same_draw(layer_w, init, fan_in, fan_out, seed) -> bool:
    if not callable(init):
        return False
    drawn = numeric_array(init(fan_in, fan_out, np.random.default_rng(seed)))
    w = numeric_array(layer_w)
    return bool(drawn is not None and w is not None and drawn.shape == w.shape and np.array_equal(drawn, w))


def dense(Dense, fan_in, fan_out, seed, W, b, X, upstream):
    """Builds ``Dense(fan_in, fan_out, rng)``, sets W and b, runs forward(X) and backward(upstream).

    Returns:
        A dict: the shapes of W and b as built, whether W is ``glorot_uniform(fan_in, fan_out, rng)``
        (and, with ``init="he"``, ``he_normal``'s) from the same seed, whether b starts at zeros; then,
        with the case's W and b, the output, the returned input gradient, dW and db, and whether
        backward left W and b as they were. ``error`` names a step that raised.
    """
    glorot, he = _initialisers(Dense)
    layer = Dense(fan_in, fan_out, np.random.default_rng(seed))
    he_layer = Dense(fan_in, fan_out, np.random.default_rng(seed), init="he")
    report = {
        "W_shape": _shape(getattr(layer, "W", None)),
        "b_shape": _shape(getattr(layer, "b", None)),
        "glorot_init": _same_draw(getattr(layer, "W", None), glorot, fan_in, fan_out, seed),
        "he_init": _same_draw(getattr(he_layer, "W", None), he, fan_in, fan_out, seed),
        "b_zero": bool(numeric_array(getattr(layer, "b", None)) is not None and not np.any(layer.b)),
        "output": None, "grad_in": None, "dW": None, "db": None, "weights_kept": True, "error": None,
        "detail": "",
    }
    layer.W, layer.b = np.array(W, dtype=float), np.array(b, dtype=float)
    try:
        report["output"] = numeric_array(layer.forward(np.array(X, dtype=float)))
        step = "backward"
        kept = layer.W.copy(), layer.b.copy()
        report["grad_in"] = numeric_array(layer.backward(np.array(upstream, dtype=float)))
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the step that failed is part of the report
        report["error"], report["detail"] = _error("forward" if report["output"] is None else step, exc)
        return report
    report["dW"], report["db"] = numeric_array(getattr(layer, "dW", None)), numeric_array(getattr(layer, "db", None))
    report["weights_kept"] = bool(_shape(layer.W) == kept[0].shape and np.array_equal(layer.W, kept[0])
                                  and _shape(layer.b) == kept[1].shape and np.array_equal(layer.b, kept[1]))

    def interleaved():
        first, second = (Dense(fan_in, fan_out, np.random.default_rng(seed)) for _ in range(2))
        first.W, first.b = np.array(W, dtype=float), np.array(b, dtype=float)
        second.W, second.b = np.array(W, dtype=float) + 1.0, np.array(b, dtype=float) - 1.0
        output = first.forward(np.array(X, dtype=float))
        second.forward(np.array(X, dtype=float) + 1.0)
        grad_in = first.backward(np.array(upstream, dtype=float))
        return output, grad_in, getattr(first, "dW", None), getattr(first, "db", None)

    report["per_instance"] = _same_as_alone(interleaved, report, ("output", "grad_in", "dW", "db"))
    return report


def _same_as_alone(run, report, keys) -> bool:
    """Whether ``run()`` (the student's objects used in turn with a second instance) gives, bit for bit,
    the report's values of the object used alone: state kept on the class or in a global would not."""
    try:
        values = [numeric_array(v) for v in run()]
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - a second instance that breaks the first is not per-instance state
        return False
    return all(v is not None and report[k] is not None and v.shape == report[k].shape and np.array_equal(v, report[k])
               for v, k in zip(values, keys))


def relu(ReLU, X, upstream):
    """``ReLU().forward(X)`` and ``backward(upstream)``: ``{"output", "grad_in", "per_instance"}``.

    ``per_instance``: whether two ReLU objects used in turn (the first's forward, the second's forward on
    −X − 1, the first's backward) give the first the same output and gradient as when used alone.
    """
    layer = ReLU()
    output = numeric_array(layer.forward(np.array(X, dtype=float)))
    report = {"output": output, "grad_in": numeric_array(layer.backward(np.array(upstream, dtype=float)))}

    def interleaved():
        first, second = ReLU(), ReLU()
        out = first.forward(np.array(X, dtype=float))
        second.forward(-np.array(X, dtype=float) - 1.0)
        return out, first.backward(np.array(upstream, dtype=float))

    report["per_instance"] = _same_as_alone(interleaved, report, ("output", "grad_in"))
    return report


def _layer_name(layer) -> str:
    return type(layer).__name__


def _flat(arrays) -> np.ndarray | None:
    arrays = [numeric_array(a) for a in arrays]
    if any(a is None for a in arrays):
        return None
    return np.concatenate([a.astype(np.float64).ravel() for a in arrays]) if arrays else np.zeros(0)


def _build(MLP, layer_sizes, seed, weights):
    """The student's network from ``seed``, what its construction showed, then the case's weights set."""
    net = MLP(list(layer_sizes), np.random.default_rng(seed))
    layers = list(getattr(net, "layers", []))
    dense_layers = [layer for layer in layers if hasattr(layer, "W")]
    kernels = [numeric_array(layer.W) for layer in dense_layers]
    glorot, he = _initialisers(MLP)
    rng = np.random.default_rng(seed)
    in_order = len(dense_layers) == len(layer_sizes) - 1 and callable(glorot) and callable(he)
    for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        if not in_order:
            break
        drawn = numeric_array((glorot if i == len(layer_sizes) - 2 else he)(fan_in, fan_out, rng))
        in_order = drawn is not None and kernels[i] is not None and drawn.shape == kernels[i].shape and bool(
            np.array_equal(drawn, kernels[i]))
    identical = any(a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)
                    for i, a in enumerate(kernels) for b in kernels[i + 1:])
    for layer, (W, b) in zip(dense_layers, weights):
        layer.W, layer.b = np.array(W, dtype=float), np.array(b, dtype=float)
    built = {"layers": ", ".join(_layer_name(layer) for layer in layers), "drawn_in_order": bool(in_order),
             "identical_kernels": bool(identical)}
    return net, layers, dense_layers, built


def mlp(MLP, layer_sizes, seed, weights, X, upstream, learning_rate):
    """Builds ``MLP(layer_sizes, rng)``, sets the case's weights, runs forward, backward and step.

    Returns:
        A dict: the layer types in order, whether the kernels are the student's ``he_normal`` (hidden
        layers) and ``glorot_uniform`` (output layer) drawn in order from one generator, whether two
        kernels came out identical; with the case's weights: the output, the input gradient, the order
        in which the layers' backward methods ran (indices into ``layers``), whether backward left the
        weights alone, every dW and db (flattened in layer order), and every W and b after
        ``step(learning_rate)``. ``error`` names a step that raised.
    """
    net, layers, dense_layers, report = _build(MLP, layer_sizes, seed, weights)
    report.update({"output": None, "grad_in": None, "backward_order": (), "weights_kept": True,
                   "gradients": None, "after_step": None, "error": None, "detail": ""})
    order = []

    def recording(index, method):
        def backward(*args, **kwargs):
            order.append(index)
            return method(*args, **kwargs)
        return backward

    originals = {}
    step = "forward"
    try:
        report["output"] = numeric_array(net.forward(np.array(X, dtype=float)))
        before = _flat([a for layer in dense_layers for a in (layer.W, layer.b)])
        for index, layer in enumerate(layers):
            originals[index] = layer.backward
            layer.backward = recording(index, layer.backward)
        step = "backward"
        report["grad_in"] = numeric_array(net.backward(np.array(upstream, dtype=float)))
        for index, method in originals.items():
            layers[index].backward = method
        originals = {}
        now = _flat([a for layer in dense_layers for a in (layer.W, layer.b)])
        report["weights_kept"] = bool(before is not None and now is not None and np.array_equal(before, now))
        report["gradients"] = _flat([getattr(layer, name, None) for layer in dense_layers for name in ("dW", "db")])
        step = "step"
        net.step(learning_rate)
        report["after_step"] = _flat([a for layer in dense_layers for a in (layer.W, layer.b)])
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the step that failed is part of the report
        report["error"], report["detail"] = _error(step, exc)
    finally:
        for index, method in originals.items():
            layers[index].backward = method
        report["backward_order"] = tuple(order)
    report["per_instance"] = report["error"] is None and _mlp_alone(MLP, layer_sizes, seed, weights, X, upstream,
                                                                    report)
    return report


def _mlp_alone(MLP, layer_sizes, seed, weights, X, upstream, report) -> bool:
    """Two networks built and used in turn: the first's forward, a second network's forward on X + 1, the
    first's backward. A layer list or a cache kept on the class would change the first one's numbers."""
    def interleaved():
        first, _, first_dense, _ = _build(MLP, layer_sizes, seed, weights)
        second, _, second_dense, _ = _build(MLP, layer_sizes, seed, [(np.array(W, dtype=float) + 0.5, b)
                                                                   for W, b in weights])
        output = first.forward(np.array(X, dtype=float))
        second.forward(np.array(X, dtype=float) + 1.0)
        grad_in = first.backward(np.array(upstream, dtype=float))
        return output, grad_in, _flat([getattr(layer, name, None) for layer in first_dense for name in ("dW", "db")])

    return _same_as_alone(interleaved, report, ("output", "grad_in", "gradients"))


def train_run(train, layer_sizes, seed, weights, X, y, learning_rate, epochs):
    """Runs ``train`` on the student's own MLP (from ``train``'s namespace) with the case's weights.

    Returns:
        ``{"history", "weights", "inputs_kept"}``: what train returned, as an array, every W and b
        afterwards (flattened in layer order), and whether X and y were left as they came; or a string
        where train's namespace has no MLP.
    """
    MLP = getattr(train, "__globals__", {}).get("MLP")
    if not callable(MLP):
        return "train's notebook defines no MLP class: write MLP above first"
    net, _, dense_layers, _ = _build(MLP, layer_sizes, seed, weights)
    inputs = np.array(X, dtype=float), np.array(y, dtype=float)
    history = train(net, *inputs, learning_rate, epochs)
    return {"history": numeric_array(history),
            "weights": _flat([a for layer in dense_layers for a in (layer.W, layer.b)]),
            "inputs_kept": bool(np.array_equal(inputs[0], np.asarray(X, dtype=float))
                                and np.array_equal(inputs[1], np.asarray(y, dtype=float)))}


def keras_run(keras_train, weights, X, y, learning_rate, epochs):
    """Calls the student's Keras training as the grader's fresh process would, and reads the run.

    Keras's float type is float32 while it runs, as in the grader, whatever the notebook set: the
    run is float64 only when the student's function makes it so. Beside it, the student's own NumPy
    ``MLP`` and ``train`` (from the same notebook) train from the same weights, when they run.

    Returns:
        ``{"history", "weights", "steps", "dtype", "numpy_history"}``: the losses fit recorded, every
        kernel and bias after training (flattened in layer order), the optimizer's step count, the
        weights' dtype, and the student's NumPy loss history (None where it cannot run); or a string
        saying why the run could not be read.
    """
    from autograder.probes.keras_state import as_in_a_fresh_process  # imports Keras: TensorFlow exercises only

    with as_in_a_fresh_process():
        value = keras_train([(np.array(W, dtype=float), np.array(b, dtype=float)) for W, b in weights],
                            np.array(X, dtype=float), np.array(y, dtype=float), learning_rate, epochs)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return "keras_train must return (model, history): the trained model and what model.fit returned"
    model, history = value
    losses = history.history.get("loss") if isinstance(getattr(history, "history", None), dict) else history
    try:
        trained = [np.asarray(a) for a in model.get_weights()]
        steps = int(np.asarray(model.optimizer.iterations))
    except (AttributeError, TypeError, ValueError):
        return "the first value returned is not a compiled, trained Keras model: return (model, history)"
    return {"history": numeric_array(losses), "weights": _flat(trained), "steps": steps,
            "dtype": np.dtype(trained[0].dtype).name if trained else None,
            "numpy_history": _own_numpy_history(keras_train, weights, X, y, learning_rate, epochs)}


def _own_numpy_history(fn, weights, X, y, learning_rate, epochs):
    """The loss history of the notebook's own MLP and train from the same weights, or None."""
    namespace = getattr(fn, "__globals__", {})
    MLP, train = namespace.get("MLP"), namespace.get("train")
    if not (callable(MLP) and callable(train)):
        return None
    sizes = [np.shape(weights[0][0])[0]] + [np.shape(W)[1] for W, _ in weights]
    try:
        net, _, _, _ = _build(MLP, sizes, 0, weights)
        with np.errstate(all="ignore"):
            return numeric_array(train(net, np.array(X, dtype=float), np.array(y, dtype=float), learning_rate,
                                       epochs))
    except Exception:  # noqa: BLE001 - an unfinished NumPy network only means there is nothing to compare
        return None


# The gradient checker's test networks ------------------------------------------------------------
# Small networks whose backward is right or deliberately wrong. They are not this lab's layers: a
# linear map computed with einsum, an elementwise square and a "cap" min(z, 1) (a ReLU turned
# around, its kink at 1), enough to show whether a checker tells a right backward from a wrong one.

def _base(namespace, name):
    """The student's own class ``name`` (so that isinstance(layer, Dense) holds for our layers), else object."""
    cls = namespace.get(name)
    return cls if isinstance(cls, type) else object


def _probe_layers(namespace):
    dense_base = _base(namespace, "Dense")

    class Linear(dense_base):
        """Y = X·W + b, computed with einsum; ``bug`` names a deliberately wrong backward."""

        def __init__(self, W, b, bug=""):  # noqa: D107 - the parent's constructor is not called
            self.W, self.b, self.bug = np.array(W, dtype=float), np.array(b, dtype=float), bug

        def forward(self, X):
            self.seen = np.array(X, dtype=float)
            return np.einsum("nk,kj->nj", self.seen, self.W) + self.b

        def backward(self, grad_out):
            upstream = np.ones_like(grad_out) if self.bug == "no_upstream" else np.asarray(grad_out, dtype=float)
            slope = np.einsum("nk,nj->kj", self.seen, upstream)
            self.dW = slope.T if self.bug == "transposed" else slope
            self.db = np.einsum("nj->j", upstream) * (2.0 if self.bug == "bias" else 1.0)
            return np.einsum("nj,kj->nk", upstream, self.W)

        def __repr__(self):
            return f"Linear({self.W.shape[0]} → {self.W.shape[1]}{', ' + self.bug if self.bug else ''})"

    class Square:
        """Y = Z², elementwise."""

        def forward(self, Z):
            self.seen = np.array(Z, dtype=float)
            return self.seen * self.seen

        def backward(self, grad_out):
            return 2.0 * self.seen * np.asarray(grad_out, dtype=float)

        def __repr__(self):
            return "Square()"

    class Cap:
        """Y = min(Z, 1), elementwise; ``bug="wrong_side"`` passes the gradient above the kink instead of below."""

        def __init__(self, bug=""):
            self.bug = bug

        def forward(self, Z):
            self.seen = np.array(Z, dtype=float)
            return np.minimum(self.seen, 1.0)

        def backward(self, grad_out):
            passes = self.seen > 1.0 if self.bug == "wrong_side" else self.seen < 1.0
            return np.where(passes, np.asarray(grad_out, dtype=float), 0.0)

        def __repr__(self):
            return f"Cap({self.bug})" if self.bug else "Cap()"

    return {"linear": Linear, "square": Square, "cap": Cap}


class ProbeNet:
    """A network of the probe's layers with an MLP's interface: layers, forward, backward."""

    def __init__(self, layers):
        self.layers = layers

    def forward(self, X):
        return functools.reduce(lambda inputs, layer: layer.forward(inputs), self.layers, X)

    def backward(self, grad):
        return functools.reduce(lambda upstream, layer: layer.backward(upstream), reversed(self.layers), grad)

    def __repr__(self):
        return "ProbeNet(" + ", ".join(repr(layer) for layer in self.layers) + ")"


def probe_net(spec, namespace=None):
    """Builds a ProbeNet from data: a list of ("linear", W, b, bug), ("square",) or ("cap", bug)."""
    kinds = _probe_layers(namespace or {})
    return ProbeNet([kinds[item[0]](*item[1:]) for item in spec])


def checker_run(gradient_check, spec, X, eps, seed):
    """Calls the student's ``gradient_check`` on one of the probe's networks (eps and rng left out where None).

    Returns:
        ``{"error", "drawn_once"}``: the largest relative error it reported, as a float (NaN and infinity
        kept), and whether it drew from ``rng`` exactly as much as one ``rng.standard_normal(output.shape)``
        (None where rng is left at its default); or a string saying why the error could not be read.
    """
    namespace = getattr(gradient_check, "__globals__", {})
    net = probe_net(spec, namespace)
    kwargs = {} if eps is None else {"eps": float(eps)}
    if seed is not None:
        kwargs["rng"] = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        error = gradient_check(net, np.array(X, dtype=float), **kwargs)
    try:
        error = float(error)
    except (TypeError, ValueError):
        return f"gradient_check returned {type(error).__name__}, expected one float"
    drawn_once = None
    if seed is not None:
        once = np.random.default_rng(seed)
        once.standard_normal(np.shape(probe_net(spec).forward(np.array(X, dtype=float))))
        drawn_once = bool(kwargs["rng"].bit_generator.state == once.bit_generator.state)
    return {"error": error, "drawn_once": drawn_once}


def predict_run(predict_minutes, spec, miles, x_stats, y_stats):
    """``predict_minutes`` with a small fixed network of the probe's layers: what it returned, as an array."""
    net = probe_net(spec, getattr(predict_minutes, "__globals__", {}))
    return numeric_array(predict_minutes(net, miles, x_stats, y_stats))
