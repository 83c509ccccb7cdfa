"""The functions that checks hand to student code, built from data.

A check that calls ``central_difference(f, x)`` cannot send ``f`` across a process
boundary as code, so it sends a :class:`~autograder.encoding.FunctionSpec` (a name and
numbers) and both sides build the same callable from this catalogue. The catalogue holds
only textbook functions and their exact derivatives: nothing here is an exercise answer.
"""

from __future__ import annotations

import numpy as np

from autograder.encoding import FunctionSpec


def _as_output(value):
    """Returns a Python float for a 0-d result and an array otherwise."""
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


def polynomial(coefficients):
    """p(x) = c0 + c1·x + c2·x² + …, evaluated elementwise (Horner's rule)."""
    coefficients = [float(c) for c in coefficients]

    def p(x):
        x = np.asarray(x, dtype=float)
        total = np.zeros_like(x)
        for c in reversed(coefficients):
            total = total * x + c
        return _as_output(total)

    return p


def polynomial_derivative(coefficients):
    """The exact derivative of :func:`polynomial` with the same coefficients."""
    return polynomial([k * c for k, c in enumerate(coefficients)][1:] or [0.0])


def sine(amplitude, frequency, phase):
    """a·sin(ω·x + φ)."""
    return lambda x: _as_output(amplitude * np.sin(frequency * np.asarray(x, dtype=float) + phase))


def sine_derivative(amplitude, frequency, phase):
    """The exact derivative of :func:`sine`."""
    return lambda x: _as_output(
        amplitude * frequency * np.cos(frequency * np.asarray(x, dtype=float) + phase))


def bowl(matrix, center, offset=0.0):
    """f(x) = ½ (x − c)ᵀ A (x − c) + offset for a symmetric positive-definite A."""
    A, c = np.asarray(matrix, dtype=float), np.asarray(center, dtype=float)

    def f(x):
        d = np.asarray(x, dtype=float) - c
        return float(0.5 * d @ A @ d + offset)

    return f


def bowl_gradient(matrix, center, bug_coordinate=-1, bug_scale=1.0):
    """∇f = A (x − c); with ``bug_coordinate`` ≥ 0 that entry is scaled by ``bug_scale``.

    The buggy variant is what a gradient checker must catch.
    """
    A, c = np.asarray(matrix, dtype=float), np.asarray(center, dtype=float)

    def grad(x):
        g = A @ (np.asarray(x, dtype=float) - c)
        if bug_coordinate >= 0:
            g[bug_coordinate] *= bug_scale
        return g

    return grad


def squared_error_one_weight(x, y):
    """Cost of a one-weight model ŷ = w·x on one example: (y − w·x)²."""
    return lambda w: _as_output((y - np.asarray(w, dtype=float) * x) ** 2)


CATALOGUE = {
    "polynomial": polynomial,
    "polynomial_derivative": polynomial_derivative,
    "sine": sine,
    "sine_derivative": sine_derivative,
    "bowl": bowl,
    "bowl_gradient": bowl_gradient,
    "squared_error_one_weight": squared_error_one_weight,
}


def build(spec: FunctionSpec):
    """Returns the callable that ``spec`` names."""
    try:
        factory = CATALOGUE[spec.name]
    except KeyError:
        raise ValueError(f"unknown function {spec.name!r} in a check case") from None
    return factory(**dict(spec.params))


def materialize(value):
    """Replaces every FunctionSpec inside ``value`` (lists, tuples, dicts) by its callable."""
    if isinstance(value, FunctionSpec):
        return build(value)
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value
