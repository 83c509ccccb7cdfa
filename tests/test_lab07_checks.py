"""Lab 07's checks: the reference passes, real mistakes fail with their message, valid variants pass."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_fails_with, case_ids, first_failure

from autograder.checks import load_lab
from autograder.hidden import lab07 as ref
from autograder.hidden.lab07 import MLP, Dense, glorot_uniform, he_normal, mse_loss  # noqa: F401 - the notebook's names

# The probes look up a class's glorot_uniform and he_normal, and train's MLP, in the namespace they were defined
# in, as they find them in a student's notebook: the implementations below are defined beside the reference's.

LAB = "07_mlp"


# correct but different ---------------------------------------------------------------

def standardize_loops(values):
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return np.array([(v - mean) / std for v in values]), mean, std


def standardize_float32(values):
    x = np.asarray(values, dtype=np.float32)
    return (x - x.mean()) / x.std(), x.mean(), x.std()


def glorot_from_random(fan_in, fan_out, rng):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return (2 * rng.random((fan_in, fan_out)) - 1) * limit


def glorot_float32(fan_in, fan_out, rng):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def he_scipy(fan_in, fan_out, rng):
    from scipy import stats

    stddev = np.sqrt(2 / fan_in) / ref.TRUNCATION
    return stats.truncnorm.rvs(-2, 2, scale=stddev, size=(fan_in, fan_out), random_state=rng)


def he_scipy_frozen(fan_in, fan_out, rng):
    """A frozen truncnorm built on every call: correct, and about 100 times slower than rng.normal per call."""
    from scipy import stats

    stddev = np.sqrt(2 / fan_in) / ref.TRUNCATION
    return stats.truncnorm(-2, 2, loc=0, scale=stddev).rvs(size=(fan_in, fan_out), random_state=rng)


def he_standard_normal_loop(fan_in, fan_out, rng):
    """Redraws one value at a time from the standard normal, then scales."""
    z = np.empty(fan_in * fan_out)
    for i in range(z.size):
        value = rng.standard_normal()
        while abs(value) > 2:
            value = rng.standard_normal()
        z[i] = value
    return z.reshape(fan_in, fan_out) * np.sqrt(2 / fan_in) / ref.TRUNCATION


class DenseEinsum(ref.Dense):
    def forward(self, X):
        self.inputs = np.array(X)
        return np.einsum("ni,io->no", self.inputs, self.W) + self.b

    def backward(self, grad_out):
        self.dW = np.einsum("ni,no->io", self.inputs, grad_out)
        self.db = np.einsum("no->o", grad_out)
        return np.einsum("no,io->ni", grad_out, self.W)


class DenseFloat32(ref.Dense):
    def forward(self, X):
        self.X = np.asarray(X, dtype=np.float32)
        return self.X @ self.W.astype(np.float32) + self.b.astype(np.float32)

    def backward(self, grad_out):
        grad_out = np.asarray(grad_out, dtype=np.float32)
        self.dW, self.db = self.X.T @ grad_out, grad_out.sum(axis=0)
        return grad_out @ self.W.astype(np.float32).T


class ReluMask(ref.ReLU):
    def forward(self, X):
        self.mask = np.asarray(X) > 0
        return np.where(self.mask, X, 0.0)

    def backward(self, grad_out):
        return np.where(self.mask, grad_out, 0.0)


class ReluCachedOutput(ref.ReLU):
    """Keeps the output: max(0, x) > 0 exactly where x > 0, so the mask is the same."""

    def forward(self, X):
        self.out = np.maximum(X, 0)
        return self.out

    def backward(self, grad_out):
        return grad_out * (self.out > 0)


def mse_loss_square(y_pred, y):
    diff = np.subtract(y_pred, y)
    n = np.prod(np.shape(diff))
    return np.square(diff).sum() / n, diff * (2 / n)


class MLPBuiltDifferently(ref.MLP):
    """Builds the layers with a while loop, steps on anything that has a W, backward with indices."""

    def __init__(self, layer_sizes, rng):
        self.layers, i = [], 0
        while i < len(layer_sizes) - 1:
            last = i == len(layer_sizes) - 2
            self.layers.append(ref.Dense(layer_sizes[i], layer_sizes[i + 1], rng, init="glorot" if last else "he"))
            if not last:
                self.layers.append(ref.ReLU())
            i += 1

    def backward(self, grad):
        for i in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[i].backward(grad)
        return grad

    def step(self, learning_rate):
        for layer in self.layers:
            if hasattr(layer, "W"):
                layer.W -= learning_rate * layer.dW
                layer.b -= learning_rate * layer.db


class MLPUpdatesRightAfterEachBackward(ref.MLP):
    """Updating each layer right after its own backward call is harmless here: that backward has already
    computed the gradient it passes on with the old W. step() then only has to be called."""

    def backward(self, grad):
        self.pending = []
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            self.pending.append(layer)
        return grad


def train_while(mlp, X, y, learning_rate, epochs):
    history = np.zeros(epochs)
    epoch = 0
    while epoch < epochs:
        prediction = mlp.forward(X)
        history[epoch] = np.mean((prediction - y) ** 2)
        mlp.backward(2 * (prediction - y) / y.size)
        mlp.step(learning_rate)
        epoch += 1
    return list(history)


def gradient_check_vectorised(net, X, eps=1e-6, rng=None, symmetric=False):
    """Every parameter of every Dense (isinstance works: the check's layers subclass the notebook's Dense),
    the errors collected in one array; ``symmetric``: CS231n's denominator |a| + |n| floored at 1e-8."""
    rng = rng if rng is not None else np.random.default_rng(0)
    G = rng.normal(size=net.forward(X).shape)
    net.backward(G)
    errors = []
    for layer in [layer for layer in net.layers if isinstance(layer, Dense)]:
        for params, grads in ((layer.W, layer.dW), (layer.b, layer.db)):
            flat, numerical = params.reshape(-1), np.empty(params.size)
            for i in range(flat.size):
                keep = flat[i]
                flat[i] = keep + eps
                up = (G * net.forward(X)).sum()
                flat[i] = keep - eps
                numerical[i] = (up - (G * net.forward(X)).sum()) / (2 * eps)
                flat[i] = keep
            a = np.ravel(grads)
            size = np.maximum(np.abs(a) + np.abs(numerical), 1e-8) if symmetric else np.maximum.reduce(
                [np.abs(a), np.abs(numerical), np.full(a.shape, 1e-12)])
            errors.append(np.abs(a - numerical) / size)
    return float(np.concatenate(errors).max())


def gradient_check_eps_1e_5(net, X, eps=1e-5, rng=None):
    return ref.gradient_check(net, X, eps, rng)


def gradient_check_mean_of_errors(net, X, eps=1e-6, rng=None):
    """numpy-ml style: every relative error collected, their mean returned."""
    rng = np.random.default_rng(0) if rng is None else rng
    G = rng.standard_normal(net.forward(X).shape)
    net.backward(G)
    errors = []
    for layer in net.layers:
        for name in ("W", "b") if hasattr(layer, "W") else ():
            params, grads = getattr(layer, name), getattr(layer, "d" + name)
            for index in np.ndindex(params.shape):
                keep = params[index]
                params[index] = keep + eps
                up = np.sum(G * net.forward(X))
                params[index] = keep - eps
                n = (up - np.sum(G * net.forward(X))) / (2 * eps)
                params[index] = keep
                errors.append(abs(grads[index] - n) / max(abs(grads[index]), abs(n), 1e-12))
    return float(np.mean(errors))


def gradient_check_fresh_weighting(net, X, eps=1e-6, rng=None):
    """Its loss draws its random weighting on every call, as a loss function written once and reused would."""
    rng = np.random.default_rng(0) if rng is None else rng

    def loss():
        output = net.forward(X)
        return np.sum(rng.normal(size=output.shape) * output)

    output = net.forward(X)
    net.backward(rng.normal(size=output.shape))
    worst = 0.0
    for layer in [layer for layer in net.layers if hasattr(layer, "W")]:
        for params, grads in ((layer.W, layer.dW), (layer.b, layer.db)):
            for index in np.ndindex(params.shape):
                keep = params[index]
                params[index] = keep + eps
                up = loss()
                params[index] = keep - eps
                down = loss()
                params[index] = keep
                n = (up - down) / (2 * eps)
                worst = max(worst, abs(grads[index] - n) / max(abs(grads[index]), abs(n), 1e-12))
    return worst


def predict_minutes_loop(mlp, miles, x_stats, y_stats):
    out = []
    for m in miles:
        z = (float(m) - x_stats[0]) / x_stats[1]
        out.append(float(mlp.forward(np.array([[z]]))[0, 0]) * y_stats[1] + y_stats[0])
    return np.array(out)


CORRECT = [
    ("standardize", ref.standardize), ("standardize", standardize_loops), ("standardize", standardize_float32),
    ("glorot_uniform", ref.glorot_uniform), ("glorot_uniform", glorot_from_random),
    ("glorot_uniform", glorot_float32),
    ("he_normal", ref.he_normal), ("he_normal", he_scipy), ("he_normal", he_scipy_frozen),
    ("he_normal", he_standard_normal_loop),
    ("Dense", ref.Dense), ("Dense", DenseEinsum), ("Dense", DenseFloat32),
    ("ReLU", ref.ReLU), ("ReLU", ReluMask), ("ReLU", ReluCachedOutput),
    ("mse_loss", ref.mse_loss), ("mse_loss", mse_loss_square),
    ("MLP", ref.MLP), ("MLP", MLPBuiltDifferently),
    ("train", ref.train), ("train", train_while),
    ("gradient_check", ref.gradient_check), ("gradient_check", gradient_check_vectorised),
    ("gradient_check", gradient_check_eps_1e_5),
    ("predict_minutes", ref.predict_minutes), ("predict_minutes", predict_minutes_loop),
]


@pytest.mark.parametrize(("exercise", "implementation"), CORRECT, ids=case_ids(CORRECT))
def test_correct_implementation_passes(exercise, implementation):
    assert first_failure(LAB, exercise, implementation) is None


@pytest.mark.parametrize("exercise", ["glorot_uniform", "he_normal"])
@pytest.mark.parametrize("secret", [0, 1, 7, 123, 2027])
def test_initialiser_cases_pool_enough_draws_in_few_calls(exercise, secret):
    """Every kernel has 20 entries or more, so the probe's 500 calls pool 10,000 draws: a slow correct
    initialiser (a frozen truncnorm per call) pays for 500 calls a case, not 40,000 / (entries per kernel)."""
    from autograder.probes.lab07 import MAX_CALLS

    cases = [*load_lab(LAB).public_cases()[exercise], *ref.hidden_cases(np.random.default_rng(secret))[exercise]]
    assert all(fan_in * fan_out * MAX_CALLS >= 10_000 for fan_in, fan_out, _ in (c.args for c in cases))


def test_the_initialiser_probe_stops_after_its_calls():
    calls = []

    def counted(fan_in, fan_out, rng):
        calls.append(1)
        return ref.he_normal(fan_in, fan_out, rng)

    from autograder.probes.lab07 import MAX_CALLS, init_stats

    assert init_stats(counted, 4, 5, 0)["n"] == MAX_CALLS * 20
    assert len(calls) == MAX_CALLS + 1  # and one call with a fresh generator of the same seed


# real mistakes -------------------------------------------------------------------------

def _glorot(limit_of, draw="uniform"):
    def init(fan_in, fan_out, rng):
        limit = limit_of(fan_in, fan_out)
        if draw == "normal":
            return rng.normal(0, limit, size=(fan_in, fan_out))
        if draw == "one_sided":
            return rng.uniform(0, limit, size=(fan_in, fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))
    return init


def _he(std_of, truncate=True, rescale=True):
    def init(fan_in, fan_out, rng):
        stddev = std_of(fan_in, fan_out) / (ref.TRUNCATION if rescale else 1)
        W = rng.normal(0, stddev, size=(fan_in, fan_out))
        while truncate and (outside := np.abs(W) > 2 * stddev).any():
            W[outside] = rng.normal(0, stddev, size=outside.sum())
        return W
    return init


def glorot_global_random(fan_in, fan_out, rng):
    limit = np.sqrt(6 / (fan_in + fan_out))
    return np.random.uniform(-limit, limit, size=(fan_in, fan_out))


def glorot_reseeded(fan_in, fan_out, rng):
    return ref.glorot_uniform(fan_in, fan_out, np.random.default_rng(42))


def glorot_transposed(fan_in, fan_out, rng):
    return ref.glorot_uniform(fan_out, fan_in, rng)


def he_global_random(fan_in, fan_out, rng):
    return ref.he_normal(fan_in, fan_out, np.random.default_rng(np.random.randint(2**31)))


def he_uniform(fan_in, fan_out, rng):
    limit = np.sqrt(6 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


WRONG = [
    ("standardize", ref.STANDARDIZE_MISTAKES["sample_std"], "*sample* std"),
    ("standardize", ref.STANDARDIZE_MISTAKES["variance"], "divided by the variance"),
    ("standardize", ref.STANDARDIZE_MISTAKES["no_centering"], "subtract the mean"),
    ("glorot_uniform", _glorot(lambda i, o: np.sqrt(2 / (i + o)), "normal"), "Your draws are normal"),
    ("glorot_uniform", _glorot(lambda i, o: np.sqrt(2 / (i + o))), "Glorot's *standard deviation*"),
    ("glorot_uniform", _glorot(lambda i, o: np.sqrt(6 / i)), "Glorot averages the two fans"),
    ("glorot_uniform", _glorot(lambda i, o: 6 / (i + o)), "take its square root"),
    ("glorot_uniform", _glorot(lambda i, o: np.sqrt(6 / (i + o)), "one_sided"), "All your weights are positive"),
    ("glorot_uniform", glorot_global_random, "NumPy's global random state"),
    ("glorot_uniform", glorot_reseeded, "every call returns the same weights"),
    ("glorot_uniform", glorot_transposed, "shape (fan_out, fan_in)"),
    ("he_normal", _he(lambda i, o: np.sqrt(2 / i), truncate=False, rescale=False), "*truncated* normal"),
    ("he_normal", _he(lambda i, o: np.sqrt(2 / i), rescale=False), "cutting the tails"),
    ("he_normal", _he(lambda i, o: np.sqrt(2 / o)), "follows fan_out"),
    ("he_normal", _he(lambda i, o: np.sqrt(4 / (i + o))), "fan average of Glorot"),
    ("he_normal", _he(lambda i, o: 2 / i), "He's *variance*"),
    ("he_normal", he_uniform, "Your draws are uniform"),
    ("he_normal", he_global_random, "NumPy's global random state"),
    *[("Dense", cls, load_lab(LAB).exercise("Dense").messages[key]) for key, cls in ref.DENSE_MISTAKES.items()],
    *[("ReLU", cls, load_lab(LAB).exercise("ReLU").messages[key]) for key, cls in ref.RELU_MISTAKES.items()],
    *[("mse_loss", fn, load_lab(LAB).exercise("mse_loss").messages[key]) for key, fn in ref.MSE_MISTAKES.items()],
    *[("MLP", cls, load_lab(LAB).exercise("MLP").messages[key]) for key, cls in ref.MLP_MISTAKES.items()],
    *[("train", fn, load_lab(LAB).exercise("train").messages[key]) for key, fn in ref.TRAIN_MISTAKES.items()],
    *[("gradient_check", fn, load_lab(LAB).exercise("gradient_check").messages[key])
      for key, fn in ref.CHECKER_MISTAKES.items()],
    *[("predict_minutes", fn, load_lab(LAB).exercise("predict_minutes").messages[key])
      for key, fn in ref.PREDICT_MISTAKES.items()],
    ("gradient_check", lambda net, X, eps=1e-6, rng=None: gradient_check_vectorised(net, X, 1e-12, rng),
     "1e-12 or less"),
    ("gradient_check", lambda net, X, eps=1e-6, rng=None: gradient_check_vectorised(net, X, 1e-2, rng),
     "Your step is too large"),
    ("gradient_check", lambda net, X, eps=1e-6, rng=None: gradient_check_vectorised(net, X, eps, rng, True),
     "CS231n's rel_error"),
    ("gradient_check", gradient_check_mean_of_errors, "the *mean* of the entries' relative errors"),
    ("gradient_check", gradient_check_fresh_weighting, "draws a new G for every loss it evaluates"),
]


@pytest.mark.parametrize(("exercise", "implementation", "message"), WRONG, ids=case_ids(WRONG))
def test_mistake_fails_with_its_message(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


class DenseDoubledInputGradient(ref.Dense):
    def backward(self, grad_out):
        return 2 * super().backward(grad_out)


class ReluLeaky(ref.ReLU):
    def backward(self, grad_out):
        return grad_out * np.where(self.X > 0, 1.0, 0.01)


class MLPSkipsLastBias(ref.MLP):
    def step(self, learning_rate):
        super().step(learning_rate)
        self.layers[-1].b = self.layers[-1].b + learning_rate * self.layers[-1].db


def gradient_check_biases_only(net, X, eps=1e-6, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    G = rng.standard_normal(net.forward(X).shape)
    net.backward(G)
    worst = 0.0
    for layer in [layer for layer in net.layers if hasattr(layer, "W")]:
        for j in range(layer.b.size):
            keep = layer.b[j]
            layer.b[j] = keep + eps
            up = np.sum(G * net.forward(X))
            layer.b[j] = keep - eps
            numerical = (up - np.sum(G * net.forward(X))) / (2 * eps)
            layer.b[j] = keep
            worst = max(worst, abs(layer.db[j] - numerical) / max(abs(layer.db[j]), abs(numerical), 1e-12))
    return worst


_LAST_INPUT = {}


class DenseGlobalCache(ref.Dense):
    """Keeps forward's input in a module-level dict, as a student might to "avoid storing arrays on objects"."""

    def forward(self, X):
        _LAST_INPUT["X"] = np.asarray(X, dtype=float)
        return _LAST_INPUT["X"] @ self.W + self.b

    def backward(self, grad_out):
        self.dW, self.db = _LAST_INPUT["X"].T @ grad_out, grad_out.sum(axis=0)
        return grad_out @ self.W.T


class ReluClassCache(ref.ReLU):
    last = {}

    def forward(self, X):
        self.last["mask"] = np.asarray(X) > 0
        return np.where(self.last["mask"], X, 0.0)

    def backward(self, grad_out):
        return np.where(self.last["mask"], grad_out, 0.0)


class MLPClassLayers(ref.MLP):
    """``layers = []`` on the class, appended to in __init__: every MLP shares (and grows) one list."""

    layers = []

    def __init__(self, layer_sizes, rng):
        for i, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
            last = i == len(layer_sizes) - 2
            self.layers.append(ref.Dense(fan_in, fan_out, rng, init="glorot" if last else "he"))
            if not last:
                self.layers.append(ref.ReLU())


@pytest.mark.parametrize(("exercise", "implementation", "message"), [
    ("Dense", DenseGlobalCache, "Your Dense layers share what forward stored"),
    ("ReLU", ReluClassCache, "Your ReLU layers share their mask"),
], ids=["Dense-global", "ReLU-class-dict"])
def test_state_shared_between_instances_fails_in_the_exercise_that_owns_it(exercise, implementation, message):
    assert_fails_with(LAB, exercise, implementation, message)


def train_reversing_rows_in_place(mlp, X, y, learning_rate, epochs):
    """Reverses the rows of X and y together, in place: full-batch training is the same, the caller's data not."""
    X[:] = X[::-1].copy()
    y[:] = y[::-1].copy()
    return ref.train(mlp, X, y, learning_rate, epochs)


def test_a_train_that_changes_its_data_in_place_fails():
    assert_fails_with(LAB, "train", train_reversing_rows_in_place, "train changed X or y in place")


def test_an_mlp_whose_layer_list_lives_on_the_class_fails_its_own_check():
    assert first_failure(LAB, "MLP", MLPClassLayers) is not None


UNKNOWN = [
    ("Dense", DenseDoubledInputGradient),
    ("ReLU", ReluLeaky),
    ("MLP", MLPSkipsLastBias),
    ("he_normal", _he(lambda i, o: np.sqrt(3 / i))),
    ("mse_loss", lambda p, y: (float(np.mean(np.abs(p - y))), np.sign(p - y) / np.size(p))),
    ("gradient_check", lambda net, X, eps=1e-6, rng=None: 0.0),
    ("gradient_check", gradient_check_biases_only),
    ("predict_minutes", lambda mlp, miles, x_stats, y_stats: ref.predict_minutes(mlp, miles, x_stats, y_stats) + 1),
]


@pytest.mark.parametrize(("exercise", "implementation"), UNKNOWN, ids=case_ids(UNKNOWN))
def test_a_mistake_nobody_named_gets_no_cause(exercise, implementation):
    feedback = first_failure(LAB, exercise, implementation)
    assert feedback is not None, "a wrong implementation passed"
    named = [k for k, m in load_lab(LAB).exercise(exercise).messages.items() if m.replace("*", "") in feedback]
    assert named == []


# the published numbers and the network's gradients ---------------------------------------

def test_the_distances_statistics_are_the_course_errata():
    z, mean, std = ref.standardize(np.arange(1.0, 20.5, 0.5))
    assert (mean, round(std, 4), round(z[0], 4)) == (10.5, 5.6273, -1.6882)


def test_the_seven_mile_prediction_is_reproducible():
    from autograder import data

    table = data.load("bike_car_commutes")
    x, d_mean, d_std = ref.standardize(table["distance_miles"])
    t, t_mean, t_std = ref.standardize(table["time_minutes"])
    net = ref.MLP(list(ref.COMMUTE_SIZES), np.random.default_rng(ref.COMMUTE_SEED))
    history = ref.train(net, x[:, None], t[:, None], ref.COMMUTE_LEARNING_RATE, ref.COMMUTE_EPOCHS)
    seven = net.forward(np.array([[(7.0 - d_mean) / d_std]]))[0, 0] * t_std + t_mean
    assert round(seven, 2) == 37.10
    assert history[-1] < 1e-3 < history[0]


def test_the_reference_network_passes_a_full_gradient_check():
    """A random upstream gradient, points at least 1e-3 from every ReLU kink, every weight nudged by ±1e-6."""
    rng = np.random.default_rng(5)
    net = ref.MLP([2, 5, 4, 3], rng)
    for layer in net.layers[::2]:
        layer.b = rng.normal(scale=0.5, size=layer.b.shape)
    X, G = rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    pre = [layer.forward(a) for layer, a in zip(net.layers, [X])]
    a = X
    for layer in net.layers:
        if isinstance(layer, ref.ReLU):
            pre.append(np.abs(a).min())
        a = layer.forward(a)
    assert min(pre[1:]) > 1e-3
    net.forward(X)
    net.backward(G)
    for layer in net.layers[::2]:
        for params, grads in ((layer.W, layer.dW), (layer.b, layer.db)):
            numerical = np.zeros_like(params)
            for index in np.ndindex(params.shape):
                original = params[index]
                params[index] = original + 1e-6
                up = np.sum(G * net.forward(X))
                params[index] = original - 1e-6
                numerical[index] = (up - np.sum(G * net.forward(X))) / 2e-6
                params[index] = original
            np.testing.assert_allclose(grads, numerical, rtol=1e-6, atol=1e-8)


def test_hidden_cases_are_drawn_quickly():
    import time

    start = time.perf_counter()
    ref.hidden_cases(np.random.default_rng(123))
    assert time.perf_counter() - start < 1.0
