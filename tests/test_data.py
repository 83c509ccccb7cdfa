"""datasets/: the loader, the regeneration script, and the numbers the labs rely on."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from autograder import data, release

FOLDER = ROOT / "datasets"


def _same_table(committed: str, regenerated: str) -> bool:
    """The same header and cells; a number may differ by one unit in its last printed digit (another CPU's
    exp or log may put a value on the other side of a rounding boundary)."""
    a, b = [line.split(",") for line in committed.splitlines()], [line.split(",") for line in regenerated.splitlines()]
    if len(a) != len(b) or a[:1] != b[:1] or any(len(x) != len(y) for x, y in zip(a, b)):
        return False
    for x, y in zip((cell for row in a[1:] for cell in row), (cell for row in b[1:] for cell in row)):
        places = len(x.partition(".")[2])
        if x != y and not ("." in x and abs(float(x) - float(y)) <= 1.5 * 10.0**-places):
            return False
    return True


def test_regenerating_gives_the_same_tables(tmp_path):
    subprocess.run([sys.executable, str(FOLDER / "regenerate.py"), str(tmp_path)], check=True, timeout=60)
    regenerated = sorted(p.name for p in tmp_path.iterdir())
    assert regenerated == sorted(p.name for p in FOLDER.glob("*.csv"))
    for name in regenerated:
        committed, again = (FOLDER / name).read_text(encoding="utf-8"), (tmp_path / name).read_text(encoding="utf-8")
        assert _same_table(committed, again), f"{name}: run datasets/regenerate.py"


def test_tables_may_differ_by_one_unit_of_their_last_digit_and_nothing_else():
    assert _same_table("x,y\n1.25,3\n", "x,y\n1.25,3\n") and _same_table("x,y\n1.25,3\n", "x,y\n1.26,3\n")
    assert not _same_table("x,y\n1.25,3\n", "x,y\n1.27,3\n") and not _same_table("x,y\n1.25,3\n", "x,y\n1.25,4\n")
    assert not _same_table("x,y\n1.25,3\n", "x,z\n1.25,3\n") and not _same_table("x,y\n1.25,3\n", "x,y\n")


def test_every_file_is_described_in_the_readme():
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    for name in data.names():
        assert f"`{name}.csv`" in readme


def test_the_four_commutes():
    commutes = data.load("commutes")
    np.testing.assert_array_equal(commutes["distance_miles"], [1, 2, 3, 4])
    np.testing.assert_array_equal(commutes["time_minutes"], [6.96, 12.11, 16.77, 22.21])


def test_the_bike_car_commutes_keep_the_published_ends_and_get_faster_per_mile():
    commutes = data.load("bike_car_commutes")
    distances, times = commutes["distance_miles"], commutes["time_minutes"]
    np.testing.assert_array_equal(distances, np.arange(1.0, 20.5, 0.5))
    np.testing.assert_array_equal(times[[0, 1, -2, -1]], [6.96, 9.67, 90.39, 92.98])
    assert np.all(np.diff(times) > 0)
    per_mile = times / distances
    assert per_mile[:4].mean() > per_mile[-4:].mean() + 1.5  # nonlinear: a line through the origin does not fit


def test_the_five_weight_network_examples():
    np.testing.assert_array_equal(data.load("five_weight_network").to_numpy(), [[3, 2, 24], [1, 4, 14], [2, 1, 11]])


def test_historic_homes_gain_value_with_age():
    homes = data.load("property_prices")
    assert homes["bedrooms"].dtype == np.int64 and len(homes) == 60
    features = np.column_stack([homes.to_numpy("area_sqft", "bedrooms", "distance_to_city_miles", "age_years"),
                                np.maximum(homes["age_years"] - 100, 0), np.ones(len(homes))])
    coefficients, *_ = np.linalg.lstsq(features, homes["price_thousands"], rcond=None)
    age, historic = coefficients[3], coefficients[4]
    assert age < 0 < age + historic


def test_xor_and_exam_scores():
    table = data.load("xor").to_numpy()
    np.testing.assert_array_equal(table[:, 2], np.logical_xor(table[:, 0], table[:, 1]))
    exams = data.load("exam_scores")
    assert len(exams) == 8 and np.all((exams["exam_score"] >= 0) & (exams["exam_score"] <= 100))


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(FileNotFoundError, match="no dataset named 'commute'.*bike_car_commutes"):
        data.load("commute")


def test_an_unknown_column_lists_the_known_ones():
    with pytest.raises(KeyError, match="no column 'time'.*time_minutes"):
        data.load("commutes")["time"]


def test_a_missing_folder_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENVIRONMENT_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="datasets/ folder is missing: looked for .*nowhere"):
        data.load("commutes")


def test_datasets_is_a_folder_not_an_importable_package():
    assert not (FOLDER / "__init__.py").exists()
    probe = "import importlib.util, sys; spec = importlib.util.find_spec('datasets'); print(spec and spec.origin)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT / "labs", capture_output=True, text=True,
                            timeout=60, check=True)
    assert str(FOLDER) not in result.stdout


def test_the_student_bundle_loads_its_own_copy(tmp_path):
    bundle = release.build_bundle(ROOT, tmp_path / "student")
    script = "from autograder import data; print(data.folder()); print(len(data.load('commutes')))"
    env = {"PYTHONPATH": str(bundle), "PATH": ""}
    result = subprocess.run([sys.executable, "-c", script], cwd=bundle / "labs", env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(bundle / "datasets"), "4"]
