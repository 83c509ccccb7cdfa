"""What the GPU does for the course's models: the measurements ``benchmarks/gpu_check.sh`` runs.

Usage: python benchmarks/gpu_check.py [--cpu-smoke] [--budget 420] [--out DIR]

Prints, and writes as ``gpu_check.json`` and ``gpu_check.txt`` into ``--out`` (default ``$OUT`` when set,
else ``./gpu_check_results/``):

1. the device (TensorFlow's name for the GPU, and ``nvidia-smi -L``);
2. examples/s of the MNIST MLP (``labmodels`` ``mnist_mlp`` on synthetic MNIST-shaped data, the package's
   ``tf.data`` pipeline, batch 512) in float32, mixed_float16 and mixed_bfloat16 on the GPU, and float32 on
   the CPU for the speed-up; GPU utilisation sampled by ``nvidia-smi ... -lms 200`` during each timed run;
3. the time to 97 % test accuracy of the digits MLP on the 8×8 digits (1,437 training images);
4. whether the input pipeline starves the GPU: steps/s of the cached, prefetched pipeline against one
   batch already in memory repeated (no input work at all), with the utilisation of each.

Every part is timed against ``--budget`` seconds and skipped with a note when too little is left, so that
the whole check ends in time (the shell script allows 8 minutes). ``--cpu-smoke`` hides the GPUs and
shrinks everything, to test this script in seconds on a machine without one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


class Utilisation:
    """GPU utilisation sampled every 200 ms by ``nvidia-smi`` while the ``with`` block runs."""

    def __init__(self):
        self.samples: list[float] = []
        self._process = None

    def __enter__(self):
        if shutil.which("nvidia-smi") is None:
            return self
        query = ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"]
        command = ["nvidia-smi", "-i", "0", *query]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for line in self._process.stdout:
            first = line.split(",")[0].strip().rstrip("%").strip()  # GPU 0 when there are several lines
            if first.replace(".", "", 1).isdigit():
                self.samples.append(float(first))

    def __exit__(self, *_):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
            self._reader.join(timeout=5)

    def summary(self) -> dict | None:
        """Mean and maximum utilisation in percent, and the number of samples; None without nvidia-smi."""
        if not self.samples:
            return None
        mean = round(statistics.fmean(self.samples), 1)
        return {"mean": mean, "max": max(self.samples), "samples": len(self.samples)}


def _show(utilisation: dict | None) -> str:
    if utilisation is None:
        return "utilisation n/a"
    mean, top, count = utilisation["mean"], utilisation["max"], utilisation["samples"]
    return f"GPU utilisation mean {mean:.0f} %, max {top:.0f} % ({count} samples)"


class Check:
    """The measurements, against one deadline; ``line`` prints and records."""

    def __init__(self, options):
        self.options = options
        self.deadline = time.monotonic() + options.budget
        self.lines: list[str] = []
        self.results: dict = {"smoke": options.cpu_smoke}

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def device(self) -> str | None:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
        smi = "nvidia-smi not found: no utilisation figures"
        if shutil.which("nvidia-smi"):
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
            smi = listing.stdout.strip() or listing.stderr.strip()
        self.results["device"] = {"tensorflow": tf.__version__, "gpus": names, "nvidia_smi": smi}
        self.line(f"TensorFlow {tf.__version__}; GPUs: {', '.join(names) or 'none'}")
        self.line(f"nvidia-smi: {smi}")
        return "/GPU:0" if gpus else None

    def mnist_throughput(self, gpu: str | None) -> None:
        import keras
        import numpy as np
        import tensorflow as tf

        from labmodels import data, models

        examples, batch, epochs = (2048, 256, 1) if self.options.cpu_smoke else (60_000, 512, 3)
        (x, y), _ = data.load("synthetic_mnist")
        repeats = -(-examples // len(x))
        x, y = np.tile(x, (repeats, 1))[:examples], np.tile(y, repeats)[:examples]
        runs = [(gpu, precision) for precision in PRECISIONS] if gpu else []
        runs.append(("/CPU:0", "float32"))
        self.line(f"\nmnist_mlp, {examples:,} examples, batch {batch}, {epochs} timed epochs after one warm-up epoch")
        table = self.results["mnist_mlp"] = []
        for device, precision in runs:
            if self.left() < 60:
                self.line(f"  {device} {precision}: skipped, {self.left():.0f} s of the budget left")
                continue
            keras.utils.set_random_seed(0)
            with tf.device(device):
                model = models.build("mnist_mlp", seed=0, dtype=precision)
                arguments = models.compile_arguments("mnist_mlp")
                if precision == "mixed_float16":
                    arguments["optimizer"] = keras.optimizers.LossScaleOptimizer(arguments["optimizer"])
                model.compile(**arguments)
                pipeline = data.pipeline(x, y, batch, training=True, seed=0)
                model.fit(pipeline, epochs=1, verbose=0, shuffle=False)
                with Utilisation() as sampled:
                    started = time.perf_counter()
                    history = model.fit(pipeline, epochs=epochs, verbose=0, shuffle=False)
                    seconds = time.perf_counter() - started
            row = {"device": device, "precision": precision, "examples_per_second": round(epochs * examples / seconds),
                   "final_loss": round(float(history.history["loss"][-1]), 4), "utilisation": sampled.summary()}
            table.append(row)
            self.line(f"  {device} {precision:<15} {row['examples_per_second']:>10,} examples/s; "
                      f"loss {row['final_loss']}; {_show(row['utilisation']) if device != '/CPU:0' else ''}")
        speeds = {(row["device"], row["precision"]): row["examples_per_second"] for row in table}
        cpu = speeds.get(("/CPU:0", "float32"))
        for device, precision in speeds:
            if device != "/CPU:0" and cpu:
                ratio = speeds[device, precision] / cpu
                self.results.setdefault("speed_up_over_cpu", {})[precision] = round(ratio, 2)
                self.line(f"  speed-up over the CPU, {precision}: {ratio:.1f}×")

    def time_to_accuracy(self, gpu: str | None, target: float = 0.97) -> None:
        import keras
        import tensorflow as tf

        from labmodels import data, models

        max_epochs = 3 if self.options.cpu_smoke else 300
        (x, y), (x_test, y_test) = data.load("digits")
        device = gpu or "/CPU:0"
        self.line(f"\ndigits_mlp on the 8×8 digits ({len(x):,} training, {len(x_test)} test images), {device}: "
                  f"time to {100 * target:.0f} % test accuracy")
        keras.utils.set_random_seed(0)
        reached, accuracy, epoch = None, 0.0, 0
        with tf.device(device):
            model = models.build("digits_mlp", seed=0)
            model.compile(**models.compile_arguments("digits_mlp"))
            training = data.pipeline(x, y, 32, training=True, seed=0)
            testing = data.pipeline(x_test, y_test, 360, training=False)
            started = time.perf_counter()
            while epoch < max_epochs and self.left() > 30:
                epoch += 1
                model.fit(training, epochs=1, verbose=0, shuffle=False)
                accuracy = float(model.evaluate(testing, verbose=0, return_dict=True)["accuracy"])
                if accuracy >= target:
                    reached = time.perf_counter() - started
                    break
        self.results["time_to_accuracy"] = {"target": target, "seconds": reached, "epochs": epoch,
                                            "test_accuracy": round(accuracy, 4), "device": device}
        if reached is None:
            self.line(f"  not reached in {epoch} epochs (test accuracy {100 * accuracy:.1f} %)")
        else:
            self.line(f"  {reached:.1f} s, {epoch} epochs (test accuracy {100 * accuracy:.1f} %, compile included)")

    def starvation(self, gpu: str | None) -> None:
        import keras
        import numpy as np
        import tensorflow as tf

        from labmodels import data, models

        device = gpu or "/CPU:0"
        examples, batch, steps = (2048, 256, 8) if self.options.cpu_smoke else (60_000, 512, 600)
        if self.left() < 60:
            self.line(f"\ninput pipeline: skipped, {self.left():.0f} s of the budget left")
            return
        (x, y), _ = data.load("synthetic_mnist")
        repeats = -(-examples // len(x))
        x, y = np.tile(x, (repeats, 1))[:examples], np.tile(y, repeats)[:examples]
        keras.utils.set_random_seed(0)
        self.line(f"\ninput pipeline on {device}: mnist_mlp, batch {batch}, {steps} steps each")
        rows = self.results["input_pipeline"] = {}
        with tf.device(device):
            model = models.build("mnist_mlp", seed=0)
            model.compile(**models.compile_arguments("mnist_mlp"))
            sources = {
                "cached prefetched tf.data pipeline": data.pipeline(x, y, batch, training=True, seed=0).repeat(),
                "one in-memory batch, repeated": tf.data.Dataset.from_tensors((x[:batch], y[:batch])).repeat(),
            }
            for name, source in sources.items():
                model.fit(source, epochs=1, steps_per_epoch=max(2, steps // 10), verbose=0, shuffle=False)
                with Utilisation() as sampled:
                    started = time.perf_counter()
                    model.fit(source, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
                    seconds = time.perf_counter() - started
                rows[name] = {"steps_per_second": round(steps / seconds, 1), "utilisation": sampled.summary()}
                self.line(f"  {name:<36} {steps / seconds:>8.1f} steps/s; {_show(sampled.summary())}")
        pipeline, memory = (rows[name]["steps_per_second"] for name in sources)
        ratio = pipeline / memory
        verdict = "the pipeline keeps up" if ratio >= 0.9 else "the pipeline starves the device"
        rows["ratio"], rows["verdict"] = round(ratio, 2), verdict
        self.line(f"  pipeline / in-memory: {ratio:.2f}: {verdict}")


def parse(argv=None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="hide the GPUs, tiny sizes: a test of this script")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all the measurements (default: 420)")
    parser.add_argument("--out", help="results folder (default: $OUT, else ./gpu_check_results)")
    options = parser.parse_args(argv)
    if options.budget <= 0:
        parser.error(f"--budget must be positive. Got {options.budget}.")
    return options


def main(argv=None) -> int:
    options = parse(argv)
    if options.cpu_smoke:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    out = Path(options.out or os.environ.get("OUT") or "gpu_check_results")
    out.mkdir(parents=True, exist_ok=True)
    from autograder.tensorflow_start import start_quietly

    start_quietly()
    check = Check(options)
    started = time.monotonic()
    gpu = check.device()
    if gpu is None:
        check.line("no GPU visible to TensorFlow: the CPU figures only")
    for part in (check.mnist_throughput, check.time_to_accuracy, check.starvation):
        try:
            part(gpu)
        except Exception as error:  # noqa: BLE001 - one failed part must not lose the others' figures
            check.line(f"  {part.__name__} failed: {type(error).__name__}: {str(error).splitlines()[0][:300]}")
            check.results.setdefault("errors", {})[part.__name__] = f"{type(error).__name__}: {error}"[:2000]
    check.results["seconds"] = round(time.monotonic() - started, 1)
    check.line(f"\ndone in {check.results['seconds']:.0f} s; results in {out}/gpu_check.json and gpu_check.txt")
    (out / "gpu_check.json").write_text(json.dumps(check.results, indent=2) + "\n", encoding="utf-8")
    (out / "gpu_check.txt").write_text("\n".join(check.lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
