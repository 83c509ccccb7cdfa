"""What the GPU does for the course's models, measured through the command users run: ``python -m labmodels train``.

Usage: python benchmarks/gpu_check.py [--cpu-smoke] [--budget 400] [--out DIR]

Every training below is a separate ``python -m labmodels train ...`` process (its start-up included in the
wall time, not in its examples/s), on MNIST-shaped data: ``labmodels.data.synthetic_mnist``'s images tiled to
60,000, written as an ``mnist.npz`` and passed with ``--data`` (the GPU machines have no network). It prints,
and writes as ``gpu_check.json``, ``gpu_check.txt`` and a Markdown table ``gpu_check.md`` into ``--out``
(default ``$OUT`` when set, else ``./gpu_check_results/``):

1. the device (TensorFlow's name for each GPU, and ``nvidia-smi -L``);
2. ``mnist_mlp`` examples/s (the command's own figure: training steps only, the step's tracing left out) in
   float32, mixed_float16 and mixed_bfloat16, each twice: as the command runs by default (batch 512, op
   determinism on, so XLA off) and tuned (batch 4096, ``--steps-per-execution 16 --jit-compile on
   --nondeterministic``), with the GPU's utilisation sampled by ``nvidia-smi -lms 200`` during each; float32
   with the default flags and only ``--nondeterministic`` added (what op determinism, the default, costs);
   float32 on the CPU (GPUs hidden) for the speed-up;
3. whether the input keeps up: the tuned float32 run's utilisation, and ``--profile-batch`` writing a trace
   (TensorBoard's Profile tab shows the input's share of a step);
4. the time to 97 % validation accuracy of ``digits_mlp`` (``--validation-split 0.2``, one line per epoch read
   as it comes), from the process's start and from its first epoch line;
5. resume after a kill: a run SIGKILLed after its first checkpoint, started again, must say it resumed;
6. ``--strategy mirrored`` over every GPU (two logical CPUs with ``--cpu-smoke``), with a large batch and
   determinism off (``--steps-per-execution`` and ``--jit-compile on`` are refused under a strategy).

Every part is timed against ``--budget`` seconds and skipped with a note when too little is left (the shell
script allows 8 minutes). ``--cpu-smoke`` hides the GPUs and shrinks everything: the same commands on a CPU,
to test this script on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
SUMMARY = re.compile(r"^(\S+): test (accuracy [\d.]+ %|MAE \S+), ([\d,]+) examples/s \((.*)\)$")


class Utilisation:
    """GPU utilisation sampled every 200 ms by ``nvidia-smi`` while the ``with`` block runs."""

    def __init__(self, enabled: bool = True):
        self.samples: list[float] = []
        self._process = None
        self._enabled = enabled

    def __enter__(self):
        if not self._enabled or shutil.which("nvidia-smi") is None:
            return self
        query = ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"]
        self._process = subprocess.Popen(["nvidia-smi", "-i", "0", *query], stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for line in self._process.stdout:
            first = line.split(",")[0].strip().rstrip("%").strip()
            if first.replace(".", "", 1).isdigit():
                self.samples.append(float(first))

    def __exit__(self, *_):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
            self._reader.join(timeout=5)

    def summary(self, skip_seconds: float = 0.0) -> dict | None:
        """Mean and maximum utilisation in percent over the samples after ``skip_seconds`` (the process's
        start-up); None without nvidia-smi."""
        samples = self.samples[int(skip_seconds / 0.2):] or self.samples
        if not samples:
            return None
        return {"mean": round(statistics.fmean(samples), 1), "max": max(samples), "samples": len(samples)}


def _show(utilisation: dict | None) -> str:
    if utilisation is None:
        return "utilisation n/a"
    return f"GPU busy {utilisation['mean']:.0f} % mean, {utilisation['max']:.0f} % max"


def _mnist_file(folder: Path, examples: int) -> Path:
    """An ``mnist.npz`` of ``examples`` synthetic MNIST-shaped training images (uint8, 28×28), 10,000 test."""
    import numpy as np

    from labmodels import data

    (x, y), _ = data.synthetic_mnist()
    images = np.round(x * 255).astype(np.uint8).reshape(-1, 28, 28)
    labels = y.astype(np.uint8)
    repeats = -(-max(examples, 10_000) // len(images))
    tiled, tiled_labels = np.tile(images, (repeats, 1, 1)), np.tile(labels, repeats)
    path = folder / "mnist.npz"
    np.savez(path, x_train=tiled[:examples], y_train=tiled_labels[:examples], x_test=tiled[:10_000],
             y_test=tiled_labels[:10_000])
    return path


class Check:
    """The measurements, against one deadline; ``line`` prints and records."""

    def __init__(self, options, folder: Path):
        self.options = options
        self.folder = folder
        self.deadline = time.monotonic() + options.budget
        self.lines: list[str] = []
        self.results: dict = {"smoke": options.cpu_smoke, "runs": []}
        self.gpus: list[str] = []

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def environment(self, cpu: bool = False) -> dict:
        environment = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
        if cpu or self.options.cpu_smoke:
            environment["CUDA_VISIBLE_DEVICES"] = ""
        return environment

    def labmodels(self, *arguments: str, cpu: bool = False, timeout: float = 240) -> dict:
        """Runs ``python -m labmodels train ...``; its examples/s, wall seconds, output and utilisation."""
        command = [sys.executable, "-m", "labmodels", "train", *arguments]
        started = time.perf_counter()
        with Utilisation(enabled=not cpu) as sampled:
            done = subprocess.run(command, cwd=ROOT, env=self.environment(cpu), capture_output=True, text=True,
                                  timeout=min(timeout, max(self.left(), 10)))
        seconds = time.perf_counter() - started
        last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        matched = SUMMARY.match(last)
        run = {"command": "python -m labmodels train " + " ".join(arguments), "status": done.returncode,
               "seconds": round(seconds, 1), "last_line": last or done.stderr.strip()[-300:],
               "examples_per_second": int(matched.group(3).replace(",", "")) if matched else None,
               "utilisation": sampled.summary(skip_seconds=min(10.0, seconds / 3))}
        self.results["runs"].append(run)
        return run

    def device(self) -> None:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        self.gpus = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
        smi = "nvidia-smi not found: no utilisation figures"
        if shutil.which("nvidia-smi"):
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
            smi = listing.stdout.strip() or listing.stderr.strip()
        self.results["device"] = {"tensorflow": tf.__version__, "gpus": self.gpus, "nvidia_smi": smi}
        self.line(f"TensorFlow {tf.__version__}; GPUs: {', '.join(self.gpus) or 'none'}")
        self.line(f"nvidia-smi: {smi}")

    def configurations(self) -> dict:
        smoke = self.options.cpu_smoke
        default = ["--batch-size", "256" if smoke else "512"]
        tuned = ["--batch-size", "1024" if smoke else "4096", "--steps-per-execution", "4" if smoke else "16",
                 "--jit-compile", "on", "--nondeterministic"]
        return {"default": default, "tuned": tuned}

    def throughput(self, data_path: Path) -> None:
        smoke = self.options.cpu_smoke
        epochs = ["--epochs", "2", "--steps-per-epoch", "8"] if smoke else ["--epochs", "3"]
        base = ["mnist_mlp", "--data", str(data_path), "--validation-split", "0", "--quiet", *epochs]
        precisions = ("float32",) if smoke else PRECISIONS
        self.line(f"\nmnist_mlp examples/s ({' '.join(epochs)}; the command's own figure, tracing left out)")
        table = self.results["throughput"] = []
        plans = [(precision, name, flags, False) for precision in precisions
                 for name, flags in self.configurations().items()]
        # determinism's own cost: the default flags with only --nondeterministic added
        plans.insert(1, ("float32", "default, nondeterministic", [*self.configurations()["default"],
                                                                  "--nondeterministic"], False))
        if not smoke:
            plans.append(("float32", "default", self.configurations()["default"], True))
        for precision, name, flags, cpu in plans:
            if self.left() < 45:
                self.line(f"  {precision} {name}: skipped, {self.left():.0f} s of the budget left")
                continue
            run = self.labmodels(*base, "--precision", precision, *flags, cpu=cpu)
            where = "CPU" if cpu or smoke else "GPU"
            row = {"device": where, "precision": precision, "configuration": name, "flags": " ".join(flags),
                   "examples_per_second": run["examples_per_second"], "utilisation": run["utilisation"],
                   "status": run["status"]}
            table.append(row)
            speed = "failed: " + run["last_line"] if run["status"] else f"{run['examples_per_second']:>10,} examples/s"
            self.line(f"  {where} {precision:<15} {name:<26} {speed}; "
                      f"{_show(run['utilisation']) if where == 'GPU' else ''}")

    def input_profile(self, data_path: Path) -> None:
        if self.left() < 45:
            self.line(f"\ninput profile: skipped, {self.left():.0f} s of the budget left")
            return
        logs = self.folder / "profile_logs"
        steps = ["--epochs", "1", "--steps-per-epoch", "8"] if self.options.cpu_smoke else ["--epochs", "1"]
        run = self.labmodels("mnist_mlp", "--data", str(data_path), "--quiet", *steps, "--logdir", str(logs),
                             "--profile-batch", "3,5", *self.configurations()["default"])
        traces = sorted(str(path.relative_to(logs)) for path in logs.rglob("*.xplane.pb"))
        self.results["input_profile"] = {"status": run["status"], "traces": traces, "logdir": str(logs)}
        self.line(f"\ninput profile (--profile-batch 3,5): {len(traces)} trace file(s) under {logs}"
                  f"{'' if run['status'] == 0 else '; failed: ' + run['last_line']}")

    def time_to_accuracy(self, target: float = 0.97) -> None:
        if self.left() < 45:
            self.line(f"\ntime to {100 * target:.0f} %: skipped, {self.left():.0f} s of the budget left")
            return
        max_epochs = 3 if self.options.cpu_smoke else 200
        command = [sys.executable, "-m", "labmodels", "train", "digits_mlp", "--epochs", str(max_epochs),
                   "--validation-split", "0.2", "--early-stopping", "20"]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        first_epoch = reached = None
        epochs = 0
        best = 0.0
        try:
            for line in process.stdout:
                found = re.search(r"val_accuracy: ([\d.]+)", line)
                if not found:
                    continue
                epochs += 1
                now = time.perf_counter() - started
                first_epoch = first_epoch if first_epoch is not None else now
                best = max(best, float(found.group(1)))
                if best >= target:
                    reached = now
                    break
                if self.left() < 20:
                    break
        finally:
            process.kill()
            process.wait()
        self.results["time_to_accuracy"] = {"target": target, "seconds_from_start": reached, "epochs": epochs,
                                            "seconds_from_first_epoch": None if reached is None else
                                            round(reached - first_epoch, 1), "best_validation_accuracy": best}
        self.line(f"\ndigits_mlp, time to {100 * target:.0f} % validation accuracy (20 % of the training set held "
                  "out):")
        if reached is None:
            self.line(f"  not reached in {epochs} epochs (best {100 * best:.1f} %)")
        else:
            self.line(f"  {reached:.1f} s from the command's start, {reached - first_epoch:.1f} s after its first "
                      f"epoch; {epochs} epochs")

    def resume_after_kill(self, data_path: Path) -> None:
        if self.left() < 60:
            self.line(f"\nresume after a kill: skipped, {self.left():.0f} s of the budget left")
            return
        checkpoints = self.folder / "killed"
        latest = checkpoints / "latest.json"
        base = ["mnist_mlp", "--data", str(data_path), "--checkpoint-dir", str(checkpoints), "--quiet",
                "--steps-per-epoch", "8" if self.options.cpu_smoke else "40", *self.configurations()["default"]]
        killed = subprocess.Popen([sys.executable, "-m", "labmodels", "train", *base, "--epochs", "1000"], cwd=ROOT,
                                  env=self.environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + min(120, self.left() - 30)
        while not latest.is_file() and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        if not latest.is_file():
            self.results["resume"] = {"ok": False, "reason": "no checkpoint before the kill"}
            self.line("\nresume after a kill: no checkpoint was written before the kill")
            return
        epoch = json.loads(latest.read_text(encoding="utf-8"))["epoch"]
        run = self.labmodels(*base, "--epochs", str(epoch + 1))
        ok = run["status"] == 0 and f"resumed after epoch {epoch}" in run["last_line"]
        self.results["resume"] = {"ok": ok, "killed_after_epoch": epoch, "last_line": run["last_line"]}
        self.line(f"\nresume after a SIGKILL after epoch {epoch}: {'resumed' if ok else 'FAILED'}: {run['last_line']}")

    def mirrored(self, data_path: Path) -> None:
        if self.left() < 45:
            self.line(f"\nmirrored: skipped, {self.left():.0f} s of the budget left")
            return
        smoke = self.options.cpu_smoke
        split = ["--logical-cpus", "2"] if smoke or not self.gpus else []
        steps = ["--epochs", "2", "--steps-per-epoch", "8"] if smoke else ["--epochs", "3"]
        run = self.labmodels("mnist_mlp", "--data", str(data_path), "--quiet", "--validation-split", "0", *steps,
                             "--strategy", "mirrored", *split, "--batch-size", "1024" if smoke else "4096",
                             "--nondeterministic")
        self.results["mirrored"] = {"status": run["status"], "examples_per_second": run["examples_per_second"],
                                    "last_line": run["last_line"], "utilisation": run["utilisation"]}
        self.line(f"\n--strategy mirrored ({'2 logical CPUs' if split else f'{len(self.gpus)} GPU(s)'}), large batch: "
                  f"{run['last_line']}")

    def table(self) -> str:
        """The throughput as a Markdown table for README's GPU section."""
        device = ", ".join(self.gpus) or "GPU"
        rows = ["| device | precision | flags | examples/s | GPU busy (mean) |", "|---|---|---|---:|---:|"]
        for row in self.results.get("throughput", []):
            busy = f"{row['utilisation']['mean']:.0f} %" if row["utilisation"] else "n/a"
            speed = f"{row['examples_per_second']:,}" if row["examples_per_second"] else "failed"
            name = device if row["device"] == "GPU" else "CPU"
            rows.append(f"| {name} | {row['precision']} | `{row['flags']}` | {speed} | {busy} |")
        return "\n".join(rows) + "\n"


def parse(argv=None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="hide the GPUs, tiny sizes: a test of this script")
    parser.add_argument("--budget", type=float, default=400.0, help="seconds for all the measurements (default: 400)")
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
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as scratch:
        check = Check(options, Path(scratch))
        check.device()
        data_path = _mnist_file(Path(scratch), 4096 if options.cpu_smoke else 60_000)
        parts = (lambda: check.throughput(data_path), lambda: check.input_profile(data_path), check.time_to_accuracy,
                 lambda: check.resume_after_kill(data_path), lambda: check.mirrored(data_path))
        for part in parts:
            try:
                part()
            except Exception as error:  # noqa: BLE001 - one failed part must not lose the others' figures
                check.line(f"  failed: {type(error).__name__}: {str(error).splitlines()[0][:300]}")
                check.results.setdefault("errors", []).append(f"{type(error).__name__}: {error}"[:2000])
    check.results["seconds"] = round(time.monotonic() - started, 1)
    table = check.table()
    check.line("\n" + table)
    check.line(f"done in {check.results['seconds']:.0f} s; results in {out}: gpu_check.json, .txt and .md")
    (out / "gpu_check.json").write_text(json.dumps(check.results, indent=2) + "\n", encoding="utf-8")
    (out / "gpu_check.txt").write_text("\n".join(check.lines) + "\n", encoding="utf-8")
    (out / "gpu_check.md").write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
