"""Writes the course's small CSV files; run `python datasets/regenerate.py` from anywhere.

Every file is a pure function of the constants below and of one fixed seed, so running
this again gives byte-identical files (tests/test_data.py checks it). The README beside
this script says where each number comes from.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

SEED = 2026
HERE = Path(__file__).resolve().parent

# The course material's four-commute example, and the published ends of its 39-commute table.
COMMUTES = ((1.0, 6.96), (2.0, 12.11), (3.0, 16.77), (4.0, 22.21))
BIKE_CAR_ENDS = {1.0: 6.96, 1.5: 9.67, 19.5: 90.39, 20.0: 92.98}
BIKE_CAR_NOISE_MINUTES = 0.8
EXAM_RESULTS_WEIGHTS = (1.2, 0.9)  # per hour of study, per hour of sleep


def _table(header: tuple[str, ...], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def commutes() -> str:
    return _table(("distance_miles", "time_minutes"), ((f"{d:.1f}", f"{t:.2f}") for d, t in COMMUTES))


def bike_car_commutes(rng: np.random.Generator) -> str:
    """39 commutes of 1.0, 1.5, …, 20.0 miles: a power law t = a·d^p (p < 1: faster per mile on long
    trips, when the car replaces the bike) fitted to the four published ends, plus noise between them."""
    distances = np.arange(2, 41) / 2
    ends = np.array(sorted(BIKE_CAR_ENDS.items()))
    p, log_a = np.polyfit(np.log(ends[:, 0]), np.log(ends[:, 1]), 1)
    times = np.exp(log_a) * distances**p + rng.normal(0.0, BIKE_CAR_NOISE_MINUTES, distances.size)
    for distance, published in BIKE_CAR_ENDS.items():
        times[distances == distance] = published
    return _table(("distance_miles", "time_minutes"), ((f"{d:.1f}", f"{t:.2f}") for d, t in zip(distances, times)))


def five_weight_network() -> str:
    return _table(("x1", "x2", "y"), ((3, 2, 24), (1, 4, 14), (2, 1, 11)))


def property_prices(rng: np.random.Generator, count: int = 60) -> str:
    """Synthetic homes: price falls with distance and age, except that homes over 100 years old are
    historic and gain value with age (a ReLU-shaped bonus), as the course material describes."""
    area = rng.integers(60, 301, count) * 10
    bedrooms = np.clip(np.round(area / 600 + rng.normal(0, 0.7, count)), 1, 6).astype(int)
    distance = np.round(rng.uniform(0.5, 30.0, count), 1)
    age = rng.integers(0, 151, count)
    price = (40 + 0.12 * area + 12 * bedrooms - 3.5 * distance - 0.9 * age + 2.8 * np.maximum(age - 100, 0)
             + rng.normal(0, 15, count))
    rows = zip(area, bedrooms, (f"{d:.1f}" for d in distance), age, (f"{p:.1f}" for p in price))
    return _table(("area_sqft", "bedrooms", "distance_to_city_miles", "age_years", "price_thousands"), rows)


def exam_scores(rng: np.random.Generator, count: int = 8) -> str:
    """Eight students: study hours, sleep hours and a quiz score (out of 10) → exam score (out of 100)."""
    study = np.round(rng.uniform(0.5, 10.0, count), 1)
    sleep = np.round(rng.uniform(4.0, 9.0, count), 1)
    quiz = rng.integers(2, 11, count)
    exam = np.clip(20 + 4.5 * study + 3.0 * sleep + 2.0 * quiz + rng.normal(0, 4, count), 0, 100)
    rows = zip((f"{s:.1f}" for s in study), (f"{s:.1f}" for s in sleep), quiz, (f"{e:.0f}" for e in exam))
    return _table(("study_hours", "sleep_hours", "quiz_score", "exam_score"), rows)


def exam_results(rng: np.random.Generator, count: int = 100) -> str:
    """A hundred students: study and sleep hours → passed (1) or failed (0), drawn from a logistic model.

    P(pass) = σ(1.2·(study − 5) + 0.9·(sleep − 6.75)): an hour of study is worth a little more than an
    hour of sleep, and the 50 % line runs through the middle of the class. Its own generator, so that
    adding it changed no other file.
    """
    study = np.round(rng.uniform(0.0, 10.0, count), 1)
    sleep = np.round(rng.uniform(4.0, 9.5, count), 1)
    logit = EXAM_RESULTS_WEIGHTS[0] * (study - 5.0) + EXAM_RESULTS_WEIGHTS[1] * (sleep - 6.75)
    passed = (rng.uniform(0.0, 1.0, count) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    rows = zip((f"{s:.1f}" for s in study), (f"{s:.1f}" for s in sleep), passed)
    return _table(("study_hours", "sleep_hours", "passed"), rows)


def xor() -> str:
    return _table(("x1", "x2", "y"), ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)))


def render() -> dict[str, str]:
    """The content of every file, by name. One generator, drawn from in this order: keep the order
    (files added later draw from generators of their own)."""
    rng = np.random.default_rng(SEED)
    return {
        "commutes.csv": commutes(),
        "bike_car_commutes.csv": bike_car_commutes(rng),
        "five_weight_network.csv": five_weight_network(),
        "property_prices.csv": property_prices(rng),
        "exam_scores.csv": exam_scores(rng),
        "xor.csv": xor(),
        "exam_results.csv": exam_results(np.random.default_rng(SEED + 9)),
    }


def main(destination: Path = HERE) -> None:
    for name, text in render().items():
        (destination / name).write_text(text, encoding="utf-8", newline="")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
