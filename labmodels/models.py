"""The course's models as Keras 3 code, each the architecture of the lab that teaches it.

Every model is a ``keras.Sequential`` of ``keras.layers`` (no TensorFlow inside), so it runs on any
Keras backend. Each outputs what its lab's NumPy model outputs: a prediction for regression, a logit
for XOR, ten logits for the digits (the losses take ``from_logits=True``, as the labs' do).

| name | lab | layers |
|---|---|---|
| ``commute_line`` | 05 | Dense(1) on the raw miles, starting at the course's first guess w = 0.23, b = −0.15 |
| ``bike_car_mlp`` | 07 | 1 → 16 → 16 → 1, ReLU, He normal hidden kernels, Glorot uniform output, zero biases |
| ``xor_mlp`` | 09 | 2 → 4 (tanh) → 1 logit, kernels N(0, 1), zero biases |
| ``digits_mlp`` | 11 | 64 → 64 (ReLU) → 10 logits, Keras's default initializers |
| ``mnist_mlp`` | 11 | 784 → 128 → 64 → 10 logits, ReLU (109,386 parameters) |
| ``*_regularized`` | 12 | each hidden layer becomes lab 12's block Dense(ReLU, L2) → BatchNormalization → Dropout, |
| | | and the output Dense gets the L2 penalty too |

Example:
    >>> from labmodels import models
    >>> model = models.build("mnist_mlp")
    >>> model.count_params()
    109386
"""

from __future__ import annotations

from dataclasses import dataclass

NAMES = ("commute_line", "bike_car_mlp", "xor_mlp", "digits_mlp", "mnist_mlp",
         "bike_car_mlp_regularized", "digits_mlp_regularized", "mnist_mlp_regularized")
"""Every model ``build`` knows, in the order of the labs."""

TASKS = ("regression", "binary", "classification")


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and how the course trains it.

    Attributes:
        name: The model's name, one of ``NAMES``.
        task: ``"regression"``, ``"binary"`` (one logit) or ``"classification"`` (one logit per class).
        dataset: The ``labmodels.data`` name it trains on.
        loss: ``"mean_squared_error"``, ``"binary_crossentropy"`` or ``"sparse_categorical_crossentropy"``
            (the last two from logits).
        metrics: The metrics reported besides the loss: ``("mae",)`` or ``("accuracy",)``.
        epochs: The default number of epochs.
        batch_size: The default global batch size.
        learning_rate: The default learning rate.
        optimizer: ``"sgd"`` (plain gradient descent, labs 05–09) or ``"adam"`` (lab 11 on).
        lab: The lab that teaches it, e.g. ``"07_mlp"``.
        description: One line about it.
        layer_sizes: The widths, input first, e.g. ``(64, 64, 10)``.
        hidden_activation: ``"relu"`` or ``"tanh"``; None for a model without a hidden layer.
        l2: The L2 factor of every kernel (0 for the unregularized models).
        dropout_rate: The Dropout rate after each hidden block (0 for the unregularized models).
    """

    name: str
    task: str
    dataset: str
    loss: str
    metrics: tuple[str, ...]
    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str
    lab: str
    description: str
    layer_sizes: tuple[int, ...]
    hidden_activation: str | None = "relu"
    l2: float = 0.0
    dropout_rate: float = 0.0

    @property
    def regularized(self) -> bool:
        """Whether the model has lab 12's L2, batch normalization and dropout."""
        return self.name.endswith("_regularized")


COMMUTE_START = (0.23, -0.15)
"""The course's first guess for the commute line (seed 000): w = 0.23, b = −0.15."""

REGULARIZATION = {"bike_car_mlp": (1e-3, 0.1), "digits_mlp": (1e-3, 0.2), "mnist_mlp": (1e-4, 0.2)}
"""(l2, dropout rate) of each regularized variant. Lab 12 teaches the block, not these factors; they are
chosen so that the variant still trains in the base model's epochs (lab 12's demo value l2 = 0.01 and rate
0.5 would swamp a 39-point regression)."""

_BASE = {
    "commute_line": ModelSpec(
        "commute_line", "regression", "commutes", "mean_squared_error", ("mae",), 500, 4, 0.01, "sgd",
        "05_training_loop", "the line t = w·d + b through the four commutes, plain gradient descent",
        (1, 1), None),
    "bike_car_mlp": ModelSpec(
        "bike_car_mlp", "regression", "bike_car_commutes", "mean_squared_error", ("mae",), 1000, 39, 0.05, "sgd",
        "07_mlp", "a 1-16-16-1 ReLU network for the 39 bike and car commutes (standardized)", (1, 16, 16, 1)),
    "xor_mlp": ModelSpec(
        "xor_mlp", "binary", "xor", "binary_crossentropy", ("accuracy",), 1000, 4, 1.0, "sgd",
        "09_losses", "a 2-4-1 tanh network with one logit for XOR", (2, 4, 1), "tanh"),
    "digits_mlp": ModelSpec(
        "digits_mlp", "classification", "digits", "sparse_categorical_crossentropy", ("accuracy",), 6, 32, 5e-3,
        "adam", "11_minibatches", "a 64-64-10 ReLU network for scikit-learn's 8×8 digits", (64, 64, 10)),
    "mnist_mlp": ModelSpec(
        "mnist_mlp", "classification", "mnist", "sparse_categorical_crossentropy", ("accuracy",), 5, 128, 1e-3,
        "adam", "11_minibatches", "the 784-128-64-10 ReLU network for MNIST", (784, 128, 64, 10)),
}


def _regularized(base: ModelSpec) -> ModelSpec:
    l2, rate = REGULARIZATION[base.name]
    return ModelSpec(
        f"{base.name}_regularized", base.task, base.dataset, base.loss, base.metrics, base.epochs, base.batch_size,
        base.learning_rate, base.optimizer, "12_regularization",
        f"{base.name} with lab 12's L2 ({l2:g}), batch normalization and dropout ({rate:g}) in each hidden layer",
        base.layer_sizes, base.hidden_activation, l2, rate)


_SPECS = {**_BASE, **{f"{name}_regularized": _regularized(_BASE[name]) for name in REGULARIZATION}}


def spec(name: str) -> ModelSpec:
    """The description of the model ``name``.

    Args:
        name: One of ``NAMES``.

    Returns:
        Its ModelSpec.

    Raises:
        ValueError: For an unknown name; the message lists the known ones.
    """
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown model {name!r}: choose one of {', '.join(NAMES)}.") from None


def _is_mixed(policy) -> bool:
    return policy.compute_dtype != policy.variable_dtype


def build(name: str, *, seed: int = 0, dtype=None):
    """Builds the model ``name``, uncompiled, its weights drawn from ``seed``.

    Args:
        name: One of ``NAMES``.
        seed: The seed of every initializer (layer i draws with ``seed + i``) and of the Dropout masks, so
            the same seed gives the same weights in any process. Defaults to `0`.
        dtype: A Keras dtype policy or its name (``"float32"``, ``"float64"``, ``"mixed_float16"``,
            ``"mixed_bfloat16"``). Under a mixed policy the output layer computes in float32, so that the
            loss is taken in float32. Defaults to `None` (Keras's global policy, ``keras.config.dtype_policy()``).

    Returns:
        A built ``keras.Sequential`` named ``name``, whose inputs have the policy's variable dtype.

    Raises:
        ValueError: For an unknown name.

    Example:
        >>> build("digits_mlp", dtype="mixed_float16").layers[-1].compute_dtype
        'float32'
    """
    import keras

    chosen = spec(name)
    policy = keras.config.dtype_policy() if dtype is None else keras.dtype_policies.get(dtype)
    output_policy = "float32" if _is_mixed(policy) else policy
    sizes = chosen.layer_sizes
    layers = [keras.Input(shape=(sizes[0],), dtype=policy.variable_dtype)]
    regularizer = keras.regularizers.L2(chosen.l2) if chosen.l2 else None
    for i, width in enumerate(sizes[1:-1]):
        layers.append(keras.layers.Dense(width, activation=chosen.hidden_activation, dtype=policy,
                                         kernel_initializer=_hidden_initializer(name, seed + i),
                                         kernel_regularizer=regularizer, name=f"hidden_{i + 1}"))
        if chosen.regularized:
            layers.append(keras.layers.BatchNormalization(dtype=policy, name=f"batch_norm_{i + 1}"))
            layers.append(keras.layers.Dropout(chosen.dropout_rate, seed=seed + 100 + i, dtype=policy,
                                               name=f"dropout_{i + 1}"))
    last = len(sizes) - 2
    layers.append(keras.layers.Dense(sizes[-1], dtype=output_policy, kernel_regularizer=regularizer,
                                     kernel_initializer=_output_initializer(name, seed + last),
                                     bias_initializer=_output_bias(name), name="output"))
    return keras.Sequential(layers, name=name)


def _hidden_initializer(name: str, seed: int):
    import keras

    if name.startswith("bike_car_mlp"):
        return keras.initializers.HeNormal(seed=seed)  # lab 07's he_normal: truncated at 2 std
    if name.startswith("xor_mlp"):
        return keras.initializers.RandomNormal(stddev=1.0, seed=seed)  # lab 09's rng.normal(size=...)
    return keras.initializers.GlorotUniform(seed=seed)  # lab 11's Keras models keep Keras's default


def _output_initializer(name: str, seed: int):
    import keras

    if name == "commute_line":
        return keras.initializers.Constant(COMMUTE_START[0])
    if name.startswith("xor_mlp"):
        return keras.initializers.RandomNormal(stddev=1.0, seed=seed)
    return keras.initializers.GlorotUniform(seed=seed)


def _output_bias(name: str):
    import keras

    return keras.initializers.Constant(COMMUTE_START[1]) if name == "commute_line" else "zeros"


def parameter_count(name: str) -> int:
    """The number of weights of ``name`` (trainable and not: batch normalization's moving statistics count)."""
    chosen = spec(name)
    sizes = chosen.layer_sizes
    dense = sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    return dense + (4 * sum(sizes[1:-1]) if chosen.regularized else 0)


def compile_arguments(name: str, learning_rate: float | None = None) -> dict:
    """The ``model.compile`` keyword arguments the course trains ``name`` with.

    Args:
        name: One of ``NAMES``.
        learning_rate: The optimizer's step size. Defaults to `None` (the model's default).

    Returns:
        ``{"optimizer", "loss", "metrics"}``: a fresh optimizer (SGD or Adam), the loss (from logits for
        the classifiers) and the metrics (``mae``, or an accuracy named ``"accuracy"`` that thresholds the
        XOR logit at 0).
    """
    import keras

    chosen = spec(name)
    rate = chosen.learning_rate if learning_rate is None else learning_rate
    optimizer = (keras.optimizers.SGD if chosen.optimizer == "sgd" else keras.optimizers.Adam)(learning_rate=rate)
    if chosen.task == "regression":
        return {"optimizer": optimizer, "loss": keras.losses.MeanSquaredError(),
                "metrics": [keras.metrics.MeanAbsoluteError(name="mae")]}
    if chosen.task == "binary":
        return {"optimizer": optimizer, "loss": keras.losses.BinaryCrossentropy(from_logits=True),
                "metrics": [keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)]}
    return {"optimizer": optimizer, "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
