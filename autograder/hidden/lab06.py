"""Lab 06 hidden checks: reference solutions, known mistakes and case generators."""

from __future__ import annotations

import numpy as np

from autograder.hidden import build_case

DISTANCES = np.arange(1.0, 20.5, 0.5)  # the 39 distances of the bike+car commutes (seed 000), miles
EXPLODING = (20.0, 93.0, 0.5, 2.0)  # the course's exploding step: d = 20, t = 93, W = 0.5, B = 2


def _text(values) -> str:
    text = np.array2string(np.asarray(values, dtype=float), precision=4, separator=", ", threshold=12)
    return " ".join(text.split())


def _float(x):
    return np.asarray(x, dtype=float)


EPSILON = 1e-7  # keras.config.epsilon(): a std below it is round-off of a constant feature


def _guard(std):
    """A constant feature (std below 1e-7: 0, or round-off such as np.std([0.1] * 7)) keeps std 1."""
    return np.where(std < EPSILON, 1.0, std)


# zscore_fit --------------------------------------------------------------------------

def zscore_fit(x_train):
    x = _float(x_train)
    return x.mean(axis=0), _guard(x.std(axis=0))


FIT_MISTAKES = {
    "ddof1": lambda x: (_float(x).mean(axis=0), _guard(_float(x).std(axis=0, ddof=1))),
    "no_axis": lambda x: (_float(x).mean() + 0 * _float(x).mean(axis=0), _guard(_float(x).std()) + 0 * _float(x).mean(
        axis=0)),
    "wrong_axis": lambda x: (_float(x).mean(axis=-1), _guard(_float(x).std(axis=-1))),
    "variance": lambda x: (_float(x).mean(axis=0), _guard(_float(x).var(axis=0))),
    "zero_std": lambda x: (_float(x).mean(axis=0), _float(x).std(axis=0)),
    "exact_zero": lambda x: (_float(x).mean(axis=0), np.where(_float(x).std(axis=0) == 0, 1.0, _float(x).std(axis=0))),
}


def _fit_case(x, label=None):
    x = _float(x)
    label = label or f"x_train of shape {x.shape} = {_text(x)}"
    return build_case(label, (x,), zscore_fit, FIT_MISTAKES)


# zscore_transform (both directions) --------------------------------------------------

def zscore_transform(x, mean, std, invert=False):
    x = _float(x)
    return x * std + mean if invert else (x - mean) / std


def _forward_mistake(wrong):
    """A mistake in the forward direction only: invert=True still undoes the transform."""
    def transform(x, mean, std, invert=False):
        return zscore_transform(x, mean, std, True) if invert else wrong(_float(x), mean, std)
    return transform


def _inverse_mistake(wrong):
    """A mistake in the way back only."""
    def transform(x, mean, std, invert=False):
        return wrong(_float(x), mean, std) if invert else zscore_transform(x, mean, std)
    return transform


TRANSFORM_MISTAKES = {
    "precedence": _forward_mistake(lambda x, mean, std: x - mean / std),
    "times_std": _forward_mistake(lambda x, mean, std: (x - mean) * std),
    "no_center": _forward_mistake(lambda x, mean, std: x / std),
    "transform_again": lambda x, mean, std, invert=False: zscore_transform(x, mean, std),
    "divided": _inverse_mistake(lambda z, mean, std: z / std + mean),
    "added_first": _inverse_mistake(lambda z, mean, std: (z + mean) * std),
}


def _stats_label(mean, std) -> str:
    return f"mean = {_text(mean)}, std = {_text(std)}"


def _transform_case(x, mean, std, label=None):
    """Standardizes, calling without ``invert`` (its default, False, is judged too)."""
    label = label or f"x = {_text(x)}, {_stats_label(mean, std)}"
    return build_case(label, (x, mean, std), zscore_transform, TRANSFORM_MISTAKES)


def _inverse_case(z, mean, std, label=None):
    label = (label or f"z = {_text(z)}, {_stats_label(mean, std)}") + ", invert=True"
    return build_case(label, (z, mean, std), zscore_transform, TRANSFORM_MISTAKES, {"invert": True})


# standardize_splits ------------------------------------------------------------------

def standardize_splits(x_train, x_test):
    mean, std = zscore_fit(x_train)
    return zscore_transform(x_train, mean, std), zscore_transform(x_test, mean, std)


def _with(stats, x_train, x_test):
    mean, std = stats
    return zscore_transform(x_train, mean, std), zscore_transform(x_test, mean, std)


SPLIT_MISTAKES = {
    "leakage": lambda tr, te: _with(zscore_fit(np.concatenate([_float(tr), _float(te)])), tr, te),
    "own_statistics": lambda tr, te: (_with(zscore_fit(tr), tr, tr)[0], _with(zscore_fit(te), te, te)[0]),
    "test_statistics": lambda tr, te: _with(zscore_fit(te), tr, te),
    "ddof1": lambda tr, te: _with(FIT_MISTAKES["ddof1"](tr), tr, te),
}


def _split_case(x_train, x_test, label=None):
    x_train, x_test = _float(x_train), _float(x_test)
    label = label or f"x_train = {_text(x_train)}, x_test = {_text(x_test)}"
    return build_case(label, (x_train, x_test), standardize_splits, SPLIT_MISTAKES)


# min_max_scale -----------------------------------------------------------------------

def min_max_scale(x_train, x):
    train = _float(x_train)
    low, high = train.min(axis=0), train.max(axis=0)
    return (_float(x) - low) / np.where(high == low, 1.0, high - low)


def _range(low, high):
    return np.where(high == low, 1.0, high - low)


MIN_MAX_MISTAKES = {
    "own_range": lambda tr, x: min_max_scale(x, x),
    "divided_by_max": lambda tr, x: (_float(x) - _float(tr).min(axis=0)) / _float(tr).max(axis=0),
    "no_shift": lambda tr, x: _float(x) / _range(_float(tr).min(axis=0), _float(tr).max(axis=0)),
    "no_axis": lambda tr, x: (_float(x) - _float(tr).min()) / _range(_float(tr).min(), _float(tr).max()),
}


def _min_max_case(x_train, x, label=None):
    label = label or f"x_train = {_text(x_train)}, x = {_text(x)}"
    return build_case(label, (x_train, x), min_max_scale, MIN_MAX_MISTAKES)


# train_line --------------------------------------------------------------------------

def train_line(x, y, w, b, learning_rate, epochs):
    x, y = _float(x), _float(y)
    history = []
    for _ in range(epochs):
        error = w * x + b - y
        history.append(np.mean(error ** 2))
        w, b = w - learning_rate * 2 * np.mean(error * x), b - learning_rate * 2 * np.mean(error)
    return w, b, np.array(history)


def _line_variant(gradient_scale=2.0, reduce=np.mean, after_update=False, sequential=False):
    def train(x, y, w, b, learning_rate, epochs):
        x, y = _float(x), _float(y)
        history = []
        for _ in range(epochs):
            error = w * x + b - y
            if not after_update:
                history.append(np.mean(error ** 2))
            w = w - learning_rate * gradient_scale * reduce(error * x)
            if sequential:
                error = w * x + b - y
            b = b - learning_rate * gradient_scale * reduce(error)
            if after_update:
                history.append(np.mean((w * x + b - y) ** 2))
        return w, b, np.array(history)
    return train


LINE_MISTAKES = {
    "after_update": _line_variant(after_update=True),
    "summed": _line_variant(reduce=np.sum),
    "no_two": _line_variant(gradient_scale=1.0),
    "sequential": _line_variant(sequential=True),
}


def _line_case(x, y, w, b, learning_rate, epochs, label=None):
    label = label or f"x = {_text(x)}, y = {_text(y)}"
    label += f", w = {w:g}, b = {b:g}, learning_rate = {learning_rate:g}, epochs = {epochs}"
    return build_case(label, (x, y, w, b, learning_rate, epochs), train_line, LINE_MISTAKES)


# diverged ----------------------------------------------------------------------------

def diverged(history, factor=10.0):
    history = _float(history)
    for epoch, loss in enumerate(history):
        if not np.isfinite(loss) or loss > factor * history[0]:
            return epoch
    return None


def _diverged_with(test, shift=0, last=False):
    def detect(history, factor=10.0):
        history = _float(history)
        found = [k for k, loss in enumerate(history) if test(history, k, loss, factor)]
        if not found:
            return None
        return (found[-1] if last else found[0]) + shift
    return detect


def _right(history, k, loss, factor):
    return not np.isfinite(loss) or loss > factor * history[0]


DIVERGED_MISTAKES = {
    "not_strict": _diverged_with(lambda h, k, loss, f: not np.isfinite(loss) or loss >= f * h[0]),
    "one_based": _diverged_with(_right, shift=1),
    "nan_missed": _diverged_with(lambda h, k, loss, f: loss > f * h[0]),
    "previous": _diverged_with(lambda h, k, loss, f: not np.isfinite(loss) or (k > 0 and loss > f * h[k - 1])),
    "last": _diverged_with(_right, last=True),
}


def _diverged_case(history, factor=None, label=None):
    """``factor=None`` leaves the argument out: the default, 10, is judged too."""
    history = _float(history)
    label = (label or f"history = {_text(history)}") + (
        ", default factor" if factor is None else f", factor = {factor:g}")
    kwargs = {} if factor is None else {"factor": factor}
    return build_case(label, (history,), diverged, DIVERGED_MISTAKES, kwargs)


# predict_minutes ---------------------------------------------------------------------

def zscore_inverse(z, mean, std):
    return zscore_transform(z, mean, std, invert=True)


def predict_minutes(distances, w, b, x_stats, y_stats):
    z = zscore_transform(distances, *x_stats)
    return zscore_inverse(w * z + b, *y_stats)


PREDICT_MISTAKES = {
    "not_denormalized": lambda d, w, b, xs, ys: w * zscore_transform(d, *xs) + b,
    "raw_input": lambda d, w, b, xs, ys: zscore_inverse(w * _float(d) + b, *ys),
    "swapped_stats": lambda d, w, b, xs, ys: zscore_inverse(w * zscore_transform(d, *ys) + b, *xs),
    "batch_stats": lambda d, w, b, xs, ys: zscore_inverse(w * zscore_transform(d, *zscore_fit(d)) + b, *ys),
}


def _predict_case(distances, w, b, x_stats, y_stats, label=None):
    label = label or f"distances = {_text(distances)}"
    label += (f", w = {w:g}, b = {b:g}, x_stats = ({x_stats[0]:g}, {x_stats[1]:g}), "
              f"y_stats = ({y_stats[0]:g}, {y_stats[1]:g})")
    return build_case(label, (_float(distances), w, b, tuple(x_stats), tuple(y_stats)), predict_minutes,
                      PREDICT_MISTAKES)


# gradient_scales ---------------------------------------------------------------------

def gradient_scales(factors):
    logs = np.log10(np.abs(_float(factors)))
    return np.cumsum(logs[::-1])[::-1]


SCALE_MISTAKES = {
    "underflow": lambda f: np.log10(np.abs(np.cumprod(_float(f)[::-1])[::-1])),
    "forward": lambda f: np.cumsum(np.log10(np.abs(_float(f)))),
    "natural_log": lambda f: np.cumsum(np.log(np.abs(_float(f)))[::-1])[::-1],
    "no_abs": lambda f: np.cumsum(np.log10(_float(f))[::-1])[::-1],
    "product": lambda f: np.cumprod(_float(f)[::-1])[::-1],
}


def _scales_case(factors, label=None):
    factors = _float(factors)
    label = label or f"{len(factors)} factors {_text(factors)}"
    return build_case(label, (factors,), gradient_scales, SCALE_MISTAKES)


# fit_normalized_model (Keras) --------------------------------------------------------

def _normalized_run(x_train, y_train, kernel, bias, learning_rate, epochs, x, rate_scale=1.0):
    """What fit does, in NumPy: full-batch SGD on the z-scores, each epoch's loss in minutes² before its step.

    The model's loss is var(y)·mean((ẑ − z_y)²) and its gradients are var(y) times those in z units: SGD
    with learning_rate / var(y) takes exactly the z-unit step of learning_rate (``rate_scale`` = var(y)
    is the step of an unscaled rate).
    """
    x_train, y_train, x = _float(x_train), _float(y_train), _float(x)
    x_mean, x_variance = x_train.mean(axis=0), x_train.var(axis=0)
    y_mean, y_variance = y_train.mean(), y_train.var()
    z, z_y = (x_train - x_mean) / np.sqrt(x_variance), (y_train - y_mean) / np.sqrt(y_variance)
    w, b = _float(kernel).reshape(-1).copy(), float(bias)
    history = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(epochs):
            error = z @ w + b - z_y
            history.append(y_variance * np.mean(error ** 2))
            step = learning_rate * rate_scale
            w, b = w - step * 2 * z.T @ error / len(z_y), b - step * 2 * np.mean(error)
        normalized = (x - x_mean) / np.sqrt(x_variance)
        output = (normalized @ w + b) * np.sqrt(y_variance) + y_mean
    return {"x_mean": x_mean, "x_variance": x_variance, "y_mean": np.array([y_mean]),
            "y_variance": np.array([y_variance]), "kernel": w, "bias": np.array([b]), "loss": np.array(history),
            "normalized": normalized, "output": output, "first": "Normalization",
            "last": "Normalization(invert=True)", "dtype": "float64"}


def fit_normalized_model(x_train, y_train, kernel, bias, learning_rate, epochs, x):
    """The probe's report for a right run, in NumPy (see autograder.probes.lab06.normalized_fit), with the
    loss history an unscaled learning rate would give, for the check to name that mistake."""
    report = _normalized_run(x_train, y_train, kernel, bias, learning_rate, epochs, x)
    unscaled = _normalized_run(x_train, y_train, kernel, bias, learning_rate, epochs, x,
                               rate_scale=float(_float(y_train).var()))
    return {**report, "unscaled_loss": unscaled["loss"]}


def _keras_case(x_train, y_train, kernel, bias, learning_rate, epochs, x, label):
    args = (_float(x_train), _float(y_train), _float(kernel), float(bias), float(learning_rate), int(epochs),
            _float(x))
    label += (f", kernel = {_text(np.ravel(kernel))}, bias = {bias:g}, learning_rate = {learning_rate:g}, "
              f"{epochs} epochs")
    return build_case(label, args, fit_normalized_model)


# the cases ---------------------------------------------------------------------------

def commute_times():
    from autograder import data

    return data.load("bike_car_commutes")["time_minutes"]


COMMUTES = "the 39 distances 1.0, 1.5, …, 20.0 miles"

EQUIVALENT_MUTANTS = {
    "diverged · drop_return · return None → pass": "a function that falls off its end returns None",
    # The Keras exercise's, found by `python -m autograder audit 06_normalization --tensorflow` (not audited by
    # default):
    ("fit_normalized_model · drop_statement · x_train, y_train = (np.asarray(x_train, dtype=float), "
     "np.asarray(y_train, dtype=float)) → pass"): "the docstring asks for float arrays, and every case hands "
    "float64 arrays: the conversion is a safety net",
    "fit_normalized_model · constant · 1 → 2": "reshape(-2, 1): NumPy takes any negative size as the unknown one, "
    "so it is reshape(-1, 1)",
    "fit_normalized_model · constant · 0 → 1": "verbose=1 prints a progress bar: output only, the same training",
}


def public_cases():
    """The worked numbers of the course (SEED_ERRATA.md, seed 000) and small examples."""
    times = commute_times()
    x_stats = (10.5, float(DISTANCES.std()))
    y_stats = (float(times.mean()), float(times.std()))
    two_features = np.column_stack([DISTANCES[::4], times[::4]])
    d, t, w, b = EXPLODING
    return {
        "zscore_fit": [_fit_case(DISTANCES, COMMUTES),
                       _fit_case([[1.0, 10.0, 0.1], [2.0, 30.0, 0.1], [6.0, 20.0, 0.1]],
                                 "x_train of shape (3, 3) = [[1, 10, 0.1], [2, 30, 0.1], [6, 20, 0.1]]: "
                                 "a constant third feature"),
                       _fit_case(np.full(7, 0.1), "seven commutes of 0.1 miles (np.std gives 1.4e-17, not 0)")],
        "zscore_transform": [_transform_case(DISTANCES, *x_stats, f"{COMMUTES}, mean = 10.5, std = 5.6273"),
                             _transform_case([[1.0, 10.0], [4.0, 40.0]], np.array([2.0, 20.0]),
                                             np.array([0.5, 10.0])),
                             _inverse_case([-1.6882, 0.0, 1.6882], 10.5, 5.6273),
                             _inverse_case([[1.0, -1.0], [0.5, 2.0]], np.array([2.0, 20.0]), np.array([0.5, 10.0]))],
        "standardize_splits": [_split_case(DISTANCES[DISTANCES <= 15], DISTANCES[DISTANCES > 15],
                                           "the distances up to 15 miles (train) and beyond (test)"),
                               _split_case(two_features[:7], two_features[7:],
                                           "two features (distance, time), 7 training rows and 3 test rows")],
        "min_max_scale": [_min_max_case(DISTANCES[DISTANCES <= 15], [1.0, 8.0, 15.0, 20.0],
                                        "range of the distances up to 15 miles, x = [1, 8, 15, 20]"),
                          _min_max_case([[1.0, 10.0], [3.0, 50.0], [2.0, 20.0]], [[2.0, 30.0], [5.0, 0.0]])],
        "train_line": [_line_case([d], [t], w, b, 0.01, 3, "the course's exploding step: d = [20], t = [93]"),
                       _line_case([-1.0, 0.0, 1.0], [1.0, 2.0, 4.0], 0.0, 0.0, 0.1, 5)],
        "diverged": [_diverged_case([6561.0, 323328.7, 2.0e7, np.inf]),
                     _diverged_case([4.0, 3.0, 20.0, 40.0, 41.0, 39.0], 10.0),
                     _diverged_case([5.0, 4.0, 3.0, 2.5]),
                     _diverged_case([1.0, 2.0, np.nan, 3.0], 5.0)],
        "predict_minutes": [_predict_case([1.0, 7.0, 20.0], 0.95, 0.0, x_stats, y_stats,
                                          "distances = [1, 7, 20] miles, the commute statistics")],
        "gradient_scales": [_scales_case([0.1] * 4, "four layers of 0.1 (the course's 0.1⁴)"),
                            _scales_case([0.25] * 10, "10 sigmoid layers at their steepest, 0.25"),
                            _scales_case([0.3] * 100, "100 layers of 0.3"),
                            _scales_case([0.25] * 600, "600 layers of 0.25"),
                            _scales_case([2.0, -0.5, 1.5, -0.8])],
        "fit_normalized_model": [
            _keras_case(DISTANCES[:, None], times, [[0.5]], 2.0, 0.1, 12, np.array([[1.0], [7.0], [20.0]]),
                        "the 39 commutes (miles → minutes), x = [[1], [7], [20]]"),
            _keras_case(np.column_stack([DISTANCES, np.sqrt(DISTANCES)]), times, [[0.25], [0.5]], -0.5, 0.05, 8,
                        np.array([[7.0, np.sqrt(7.0)], [12.0, np.sqrt(12.0)]]),
                        "the 39 commutes with two features (miles, √miles)")],
    }


def _features(rng, n, d, constant=None):
    """n rows of d features on different scales, rounded to quarters; column `constant` holds one value."""
    scales = rng.choice([1.0, 10.0, 100.0, 0.5], size=d)
    x = np.round(rng.normal(size=(n, d)) * scales * 4 + rng.uniform(-50, 50, size=d) * 4) / 4
    if constant is not None:
        x[:, constant] = np.round(rng.uniform(-20, 20) * 4) / 4
    return x


def _rounding_constant(rng):
    """A constant 1-D feature whose np.std is round-off (about 1e-17), not 0: `std == 0` misses it."""
    while True:
        x = np.full(int(rng.integers(3, 12)), np.round(rng.uniform(0.1, 9.9), 1))
        if x.std() > 0:
            return x


def _near_epsilon(rng):
    """Two features on either side of the guard: std 1.5e-7 (kept) and exactly 1e-7 (kept: below means <)."""
    centre = float(np.round(rng.uniform(-5, 5)))
    return np.array([[centre, -1e-7], [centre + 3e-7, 1e-7]])


def _diverging_history(rng):
    """A loss that falls a little, then grows by about ×3 an epoch: never ×factor from one epoch to the next."""
    epochs = int(rng.integers(7, 11))
    first = float(np.round(rng.uniform(1, 100), 2))
    growth = np.cumprod(np.r_[1.0, 0.9, rng.uniform(2.5, 3.5, size=epochs - 2)])
    return np.round(first * growth, 4)


def hidden_cases(rng):
    """Inputs drawn from ``rng``: the published answers alone cannot pass these."""
    n, d = int(rng.integers(5, 9)), int(rng.integers(2, 5))
    x = _features(rng, n, d, constant=int(rng.integers(0, d)))
    single = _features(rng, int(rng.integers(4, 8)), 1)
    line = np.round(rng.uniform(-5, 5, size=int(rng.integers(6, 12))), 2)
    test = _features(rng, int(rng.integers(2, 5)), d)
    mean, std = x.mean(axis=0), _guard(x.std(axis=0))
    history = _diverging_history(rng)
    factor = float(rng.choice([4.0, 8.0, 16.0, 32.0]))  # powers of 2: loss / first > factor rounds alike
    tie = history.copy()
    tie[3] = factor * tie[0]
    nan_at = history.copy()
    nan_at[2] = np.nan
    depth = int(rng.integers(400, 900))
    lr = float(np.round(rng.uniform(0.05, 0.2), 3))
    slope = float(np.round(rng.uniform(0.3, 3) * rng.choice([-1, 1]), 2))  # far from 0: the inputs matter
    intercept = float(np.round(rng.uniform(-3, 3), 2))
    targets = np.round(slope * line + intercept + rng.normal(scale=0.3, size=line.size), 3)
    x_stats = (float(np.round(rng.uniform(5, 15), 2)), float(np.round(rng.uniform(2, 8), 2)))
    y_stats = (float(np.round(rng.uniform(20, 60), 2)), float(np.round(rng.uniform(5, 30), 2)))
    kernel = np.round(rng.uniform(-1, 1, size=(d, 1)), 3)
    rows = int(rng.integers(34, 46))  # more than fit's default batch_size of 32: one batch must be asked for
    keras_x = _features(rng, rows + 3, d)
    return {
        "zscore_fit": [_fit_case(x), _fit_case(single), _fit_case(line), _fit_case(x[:1]),
                       _fit_case(np.full(int(rng.integers(2, 9)), x[0, 0]), "a constant 1-D feature"),
                       _fit_case(_rounding_constant(rng), "a constant 1-D feature whose np.std is round-off"),
                       _fit_case(_near_epsilon(rng), "a feature whose std is 1.5e-7 and one whose std is 1e-7")],
        "zscore_transform": [_transform_case(test, mean, std),
                             _transform_case(line.tolist(), float(line.mean()), float(line.std())),
                             _inverse_case(zscore_transform(test, mean, std), mean, std),
                             _inverse_case(line.tolist(), x_stats[0], x_stats[1])],
        "standardize_splits": [_split_case(x, test), _split_case(line[:-2], line[-2:]),
                               _split_case(single, single[:1] * 2)],
        "min_max_scale": [_min_max_case(x, test), _min_max_case(line[:-2].tolist(), line[-2:].tolist()),
                          _min_max_case(single, single[::-1] + 1)],
        "train_line": [_line_case(line, targets, slope, 0.0, lr, int(rng.integers(5, 12))),
                       _line_case(line[:1].tolist(), targets[:1].tolist(), 0.5, 2.0, lr, 3),
                       _line_case(line * 10, targets * 10, 0.5, 2.0, lr, 4)],
        "diverged": [_diverged_case(history, factor), _diverged_case(tie, factor),
                     _diverged_case(nan_at, factor), _diverged_case(history[:3], 1e6),
                     _diverged_case(np.r_[np.inf, history[1:]], factor)],
        "predict_minutes": [_predict_case(np.round(rng.uniform(1, 20, size=int(rng.integers(3, 7))), 1),
                                          slope, intercept, x_stats, y_stats),
                            _predict_case(np.array([float(np.round(rng.uniform(1, 20), 1))]), slope, intercept,
                                          x_stats, y_stats)],
        "gradient_scales": [_scales_case(np.round(rng.uniform(0.05, 0.25, size=depth), 3)),
                            _scales_case(np.round(rng.uniform(-1.5, 1.5, size=int(rng.integers(3, 8))), 2) + 2.0),
                            _scales_case(np.round(rng.uniform(0.5, 1.2, size=6), 2) * rng.choice([-1, 1], size=6)),
                            _scales_case([float(np.round(rng.uniform(0.1, 0.9), 2))])],
        "fit_normalized_model": [
            _keras_case(keras_x[:rows], np.round(rng.uniform(5, 90, size=rows), 2), kernel,
                        float(np.round(rng.uniform(-1, 1), 3)), float(rng.choice([0.05, 0.1, 0.2])),
                        int(rng.integers(6, 12)), keras_x[rows:], f"{d} features, {rows} training rows")],
    }
