"""Stand-ins keep the structure a lesson needs: a model can learn from them, and they repeat.

The learners here are deliberately simple (nearest class mean, least squares), so a pass says
the classes differ in the data, not that some model is clever.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from course_lib.data import standins


def nearest_mean_accuracy(x_train, y_train, x_test, y_test) -> float:
    classes = np.unique(y_train)
    means = np.stack([x_train[y_train == c].mean(axis=0) for c in classes])
    distances = ((x_test[:, None, :] - means[None]) ** 2).sum(-1)
    return float((classes[distances.argmin(1)] == y_test).mean())


def multi_hot(sequences, size: int) -> np.ndarray:
    out = np.zeros((len(sequences), size), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        out[row, [w for w in sequence if w < size]] = 1
    return out / np.maximum(out.sum(1, keepdims=True), 1)


def test_digits_and_clothing_are_learnable_and_repeat():
    for make, floor in ((standins.digits, 0.7), (standins.clothing, 0.7)):
        (x_train, y_train), (x_test, y_test) = make(n_train=2000, n_test=500)
        flat = [x.reshape(len(x), -1).astype(np.float32) / 255 for x in (x_train, x_test)]
        assert nearest_mean_accuracy(flat[0], y_train, flat[1], y_test) > floor
        (again, _), _ = make(n_train=2000, n_test=500)
        assert np.array_equal(again, x_train)
        assert 0.05 < (x_train > 0).mean() < 0.6  # ink on a dark background, like the real sets


def test_reviews_carry_sentiment_and_newswires_carry_topics():
    reviews = standins.imdb_raw(n_train=1500, n_test=500)
    x_train, x_test = multi_hot(reviews["x_train"], 2000), multi_hot(reviews["x_test"], 2000)
    assert nearest_mean_accuracy(x_train, reviews["y_train"], x_test, reviews["y_test"]) > 0.8
    wires = standins.reuters_raw(n=3000)
    x, y = multi_hot(wires["x"], 6000), wires["y"]
    majority = np.bincount(y).max() / len(y)
    assert nearest_mean_accuracy(x[:2400], y[:2400], x[2400:], y[2400:]) > majority + 0.2
    assert np.bincount(y)[3] == np.bincount(y).max()  # "earn" leads, as in the real set


def test_housing_prices_follow_the_features():
    x, y = standins.housing()
    assert x.shape == (506, 13) and y.shape == (506,) and 5 <= y.min() and y.max() <= 50
    design = np.column_stack([x, np.ones(len(x))])
    weights, *_ = np.linalg.lstsq(design[:404], y[:404], rcond=None)
    assert np.abs(design[404:] @ weights - y[404:]).mean() < 4.0
    columns = dict(zip(standins.BOSTON_COLUMNS, x.T, strict=True))
    assert np.corrcoef(columns["RM"], y)[0, 1] > 0.4 > -0.4 > np.corrcoef(columns["LSTAT"], y)[0, 1]


def test_jena_csv_has_daily_and_yearly_cycles(tmp_path: Path):
    path = tmp_path / "jena.csv"
    assert standins.write_jena_csv(path, days=366) == 366 * 144
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    assert tuple(header) == standins.JENA_COLUMNS and len(rows) == 366 * 144
    assert rows[0][0] == "01.01.2009 00:10:00" and rows[143][0] == "02.01.2009 00:00:00"
    temperature = np.array([float(r[2]) for r in rows])
    hours = np.array([int(r[0][11:13]) for r in rows])
    by_hour = np.array([temperature[hours == h].mean() for h in range(24)])
    assert by_hour.max() - by_hour.min() > 4 and 12 <= by_hour.argmax() <= 17
    january, july = temperature[: 31 * 144].mean(), temperature[181 * 144: 212 * 144].mean()
    assert july - january > 12
    pressure = np.array([float(r[1]) for r in rows])
    assert 950 < pressure.min() and pressure.max() < 1030


def test_sentence_pairs_follow_the_grammar():
    pairs = standins.sentence_pairs()
    assert pairs == standins.sentence_pairs() and len(set(pairs)) == len(pairs) > 3000
    translations = dict(pairs)
    assert translations["She wants the red house."] == "Ella quiere la casa roja."
    assert translations["We do not have the small book."] == "Nosotros no tenemos el libro pequeño."
    assert translations["I like the cat."] == "Me gusta el gato."


def test_newswire_topics_survive_the_quick_profiles_500_word_vocabulary():
    """Chapter 04 keeps num_words=500 in the quick profile (index = rank + 3, so ranks < 497).
    The topic words must be inside it, or the topics, and the bottleneck lesson, vanish."""
    wires = standins.reuters_raw(n=3000)
    low, high = standins.REUTERS_TOPIC_RANKS
    assert high + 3 <= 500
    x, y = multi_hot([[rank + 3 for rank in wire] for wire in wires["x"]], 500), wires["y"]
    majority = np.bincount(y).max() / len(y)
    assert nearest_mean_accuracy(x[:2400], y[:2400], x[2400:], y[2400:]) > majority + 0.2


def test_jena_pressure_announces_part_of_tomorrows_temperature(tmp_path: Path):
    # What chapter 09's lessons rest on: multi-day anomalies that the pressure shows about
    # JENA_LEAD_HOURS before the temperature does, plus a part nothing announces.
    path = tmp_path / "jena.csv"
    standins.write_jena_csv(path, days=240)
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(1, 2))
    daily = table.reshape(240, 144, 2).mean(axis=1)
    pressure, temperature = daily[:, 0], daily[:, 1] - np.convolve(daily[:, 1], np.ones(31) / 31, "same")
    pressure, temperature = pressure[15:-15], temperature[15:-15]  # away from the smoothing's edges
    day_after = np.corrcoef(pressure[:-1], temperature[1:])[0, 1]
    same_day = np.corrcoef(pressure[1:], temperature[1:])[0, 1]
    assert day_after < same_day < 0 and day_after < -0.4
    persistence = np.abs(table[144:, 1] - table[:-144, 1]).mean()
    assert 1.5 < persistence < 3.5  # a day-ahead "same as now" forecast errs by a few degrees
