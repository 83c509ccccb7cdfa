"""Training throughput of the MNIST MLP: ``fit`` on NumPy arrays against the package's ``tf.data`` path.

Usage: python benchmarks/input_pipeline.py [--rounds 5] [--examples 8192] [--batch-size 128] [--jit]

Both paths train the same model (``labmodels.models.build("mnist_mlp")``, 784 → 128 → 64 → 10, Adam) on
the same synthetic MNIST-shaped data (``labmodels.data.synthetic_mnist``, tiled to ``--examples`` rows):

- *NumPy*: ``model.fit(x, y, batch_size=..., shuffle=True)``, arrays handed to Keras every epoch (Keras
  slices and shuffles them itself);
- *tf.data*: ``labmodels.data.pipeline`` (from_tensor_slices → cache → shuffle → batch → prefetch,
  AUTOTUNE) handed to ``fit``, the compiled ``tf.function`` step; ``--jit`` also compiles it with XLA.

Each path first runs one epoch that traces and compiles its step (not timed); then the rounds alternate
the paths, one epoch each, and the medians of examples per second are printed with their ratio. Timings
on a shared machine are noisy: compare the ratio, not the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer. Got {text!r}.")
    return value


def parse(argv=None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=_positive, default=5, help="timed epochs per path (default: 5)")
    parser.add_argument("--examples", type=_positive, default=8192, help="training rows (default: 8192)")
    parser.add_argument("--batch-size", type=_positive, default=128, help="examples per step (default: 128)")
    parser.add_argument("--jit", action="store_true", help="compile the tf.data path's step with XLA too")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    options = parse(argv)
    from autograder.tensorflow_start import start_quietly

    devices = start_quietly()
    import keras
    import numpy as np

    from labmodels import data, models

    (x, y), _ = data.load("synthetic_mnist")
    repeats = -(-options.examples // len(x))
    x, y = np.tile(x, (repeats, 1))[: options.examples], np.tile(y, repeats)[: options.examples]

    def compiled(jit: bool):
        keras.utils.set_random_seed(0)
        model = models.build("mnist_mlp", seed=0)
        model.compile(**models.compile_arguments("mnist_mlp"), jit_compile=jit)
        return model

    numpy_model, pipeline_model = compiled(False), compiled(options.jit)
    pipeline = data.pipeline(x, y, options.batch_size, training=True, seed=0)
    paths = {
        "NumPy arrays": lambda: numpy_model.fit(x, y, batch_size=options.batch_size, shuffle=True, verbose=0),
        "tf.data pipeline": lambda: pipeline_model.fit(pipeline, shuffle=False, verbose=0),  # it shuffles
    }
    for run in paths.values():
        run()  # traces and compiles the step; the cache fills
    speeds = {name: [] for name in paths}
    for _ in range(options.rounds):
        for name, run in paths.items():
            started = time.perf_counter()
            run()
            speeds[name].append(len(x) / (time.perf_counter() - started))
    print(f"mnist_mlp, {len(x):,} synthetic MNIST-shaped examples, batch {options.batch_size}, "
          f"{options.rounds} interleaved epochs per path, on {', '.join(devices)}"
          f"{' (tf.data path with XLA)' if options.jit else ''}")
    medians = {name: statistics.median(values) for name, values in speeds.items()}
    for name, median in medians.items():
        spread = f"{min(speeds[name]):,.0f}–{max(speeds[name]):,.0f}"
        print(f"  {name:<18} {median:>10,.0f} examples/s (median; range {spread})")
    ratio = medians["tf.data pipeline"] / medians["NumPy arrays"]
    print(f"  ratio tf.data / NumPy: {ratio:.2f}")


if __name__ == "__main__":
    main()
