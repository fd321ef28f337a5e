"""Generated stand-ins: same schema, dtypes and shapes as the real data, with learnable structure.

They exist so that a notebook still runs where no real data can be had (offline, quick
profile, ``COURSE_ALLOW_STANDINS=1``). Each generator is deterministic: the same call gives
the same data on every machine. Each keeps a class structure a model can learn, so a lesson's
mechanics still show, but none of their figures says anything about the real task, which is
why the loaders announce them with a banner every time.

* digits: strokes of the ten digits, slanted, scaled, shifted and blurred (MNIST's shapes);
* clothing: filled silhouettes of Fashion-MNIST's ten classes with texture;
* reviews as word indices: a Zipf-distributed vocabulary plus positive and negative words;
* newswires: 46 topics, each with its own characteristic words among the 500 most frequent
  (overlapping between topics) and an uneven topic frequency;
* housing: 13 features in the real ranges and a price that depends on them plus noise;
* Jena weather: daily and yearly cycles, multi-day pressure systems that move the temperature
  about a day later, a second multi-day anomaly nothing announces, hour-scale noise and the
  14 real columns, the others derived from temperature, humidity and pressure by the usual
  physical formulas;
* cat and dog pictures: drawn faces (pointed ears and whiskers vs. floppy ears and muzzle);
* review text: sentences with positive or negative words; sentence pairs: a small English
  grammar and its Spanish translation (gender, conjugation, adjective after the noun).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SEED = 1234

# --------------------------------------------------------------------------------------------
# images drawn from shapes


def _strokes_distance(points: np.ndarray, strokes: np.ndarray) -> np.ndarray:
    """Distance from each of ``points`` (B, P, 2) to the nearest of ``strokes`` (B, S, 2, 2)."""
    px, py = points[..., 0], points[..., 1]
    best = np.full(px.shape, np.inf, dtype=np.float32)
    for s in range(strokes.shape[1]):
        x0, y0 = strokes[:, s, 0, 0:1], strokes[:, s, 0, 1:2]
        dx, dy = strokes[:, s, 1, 0:1] - x0, strokes[:, s, 1, 1:2] - y0
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
        ex, ey = px - x0 - t * dx, py - y0 - t * dy
        np.minimum(best, ex * ex + ey * ey, out=best)
    return np.sqrt(best)


def _inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule: which of ``points`` (B, P, 2) lie inside ``polygon`` (K, 2)."""
    x, y = points[..., 0:1], points[..., 1:2]
    xi, yi = polygon[:, 0], polygon[:, 1]
    xj, yj = np.roll(xi, 1), np.roll(yi, 1)
    crosses = (yi > y) != (yj > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
    return ((crosses & (x < x_cross)).sum(-1) % 2) == 1


def _grid(size: int) -> np.ndarray:
    coords = (np.arange(size) + 0.5) / size
    xs, ys = np.meshgrid(coords, coords)
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)  # (P, 2), x right, y down


def _random_warps(rng: np.random.Generator, n: int, slant: float, shift: float,
                  scale: tuple[float, float]) -> np.ndarray:
    """Inverse affine maps (n, 3, 2): image coordinates -> shape coordinates."""
    s = rng.uniform(*scale, size=n)
    k = rng.uniform(-slant, slant, size=n)
    dx, dy = rng.uniform(-shift, shift, size=(2, n))
    warps = np.zeros((n, 3, 2))
    warps[:, 0, 0] = 1 / s
    warps[:, 1, 0] = k / s
    warps[:, 1, 1] = 1 / s
    warps[:, 2, 0] = 0.5 - (0.5 + dx) / s - k * (0.5 + dy) / s
    warps[:, 2, 1] = 0.5 - (0.5 + dy) / s
    return warps


def _apply(warps: np.ndarray, grid: np.ndarray) -> np.ndarray:
    homogeneous = np.concatenate([grid, np.ones((len(grid), 1))], axis=1)  # (P, 3)
    return np.matmul(homogeneous, warps)  # (P, 3) @ (B, 3, 2) -> (B, P, 2)


def _blur(images: np.ndarray) -> np.ndarray:
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    total = sum(padded[:, 1 + dy: padded.shape[1] - 1 + dy, 1 + dx: padded.shape[2] - 1 + dx]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return 0.5 * images + 0.5 * total / 9


_P = {"TL": (0.25, 0.12), "TR": (0.75, 0.12), "ML": (0.25, 0.5), "MR": (0.75, 0.5),
      "BL": (0.25, 0.88), "BR": (0.75, 0.88)}
_DIGITS = {
    0: [("TL", "TR"), ("TR", "BR"), ("BR", "BL"), ("BL", "TL")],
    1: [((0.55, 0.12), (0.55, 0.88)), ((0.38, 0.28), (0.55, 0.12))],
    2: [("TL", "TR"), ("TR", "MR"), ("MR", "BL"), ("BL", "BR")],
    3: [("TL", "TR"), ("TR", "BR"), ((0.4, 0.5), "MR"), ("BL", "BR")],
    4: [("TL", "ML"), ("ML", "MR"), ((0.7, 0.12), (0.7, 0.88))],
    5: [("TR", "TL"), ("TL", "ML"), ("ML", "MR"), ("MR", "BR"), ("BR", "BL")],
    6: [("TR", "TL"), ("TL", "BL"), ("BL", "BR"), ("BR", "MR"), ("MR", "ML")],
    7: [("TL", "TR"), ("TR", (0.45, 0.88))],
    8: [("TL", "TR"), ("TR", "BR"), ("BR", "BL"), ("BL", "TL"), ("ML", "MR")],
    9: [("MR", "ML"), ("ML", "TL"), ("TL", "TR"), ("TR", "BR"), ("BR", "BL")],
}


def _digit_strokes() -> np.ndarray:
    table = np.zeros((10, 5, 2, 2), dtype=np.float32)
    for digit, strokes in _DIGITS.items():
        resolved = [[_P[p] if isinstance(p, str) else p for p in stroke] for stroke in strokes]
        resolved += [resolved[-1]] * (5 - len(resolved))
        table[digit] = np.array(resolved)
    return table


def digits(n_train: int = 6000, n_test: int = 1000, seed: int = SEED) -> tuple[tuple, tuple]:
    """MNIST-shaped stand-in: ``((x_train, y_train), (x_test, y_test))``, uint8 28x28 images."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    grid, table = _grid(28), _digit_strokes()
    images = np.empty((n, 28, 28), dtype=np.float32)
    for start in range(0, n, 1000):
        batch = slice(start, min(start + 1000, n))
        size = batch.stop - batch.start
        warps = _random_warps(rng, size, slant=0.3, shift=0.08, scale=(0.7, 0.95))
        points = _apply(warps, grid).astype(np.float32)
        distance = _strokes_distance(points, table[labels[batch]]) * 28
        thickness = rng.uniform(1.0, 2.2, size=(size, 1))
        ink = np.clip(thickness - distance + 0.5, 0, 1)
        images[batch] = ink.reshape(size, 28, 28)
    images = _blur(images) * rng.uniform(0.85, 1.0, size=(n, 1, 1))
    pixels = np.clip(images * 255, 0, 255).astype(np.uint8)
    return (pixels[:n_train], labels[:n_train]), (pixels[n_train:], labels[n_train:])


_CLOTHES = {  # Fashion-MNIST's classes as polygons in a unit box (x right, y down)
    0: [[(0.3, 0.15), (0.42, 0.12), (0.58, 0.12), (0.7, 0.15), (0.92, 0.3), (0.82, 0.42),
         (0.72, 0.36), (0.72, 0.9), (0.28, 0.9), (0.28, 0.36), (0.18, 0.42), (0.08, 0.3)]],
    1: [[(0.3, 0.06), (0.7, 0.06), (0.74, 0.94), (0.56, 0.94), (0.5, 0.35), (0.44, 0.94),
         (0.26, 0.94)]],
    2: [[(0.3, 0.12), (0.7, 0.12), (0.88, 0.25), (0.95, 0.85), (0.8, 0.85), (0.74, 0.4),
         (0.74, 0.9), (0.26, 0.9), (0.26, 0.4), (0.2, 0.85), (0.05, 0.85), (0.12, 0.25)]],
    3: [[(0.4, 0.06), (0.6, 0.06), (0.62, 0.35), (0.82, 0.94), (0.18, 0.94), (0.38, 0.35)]],
    4: [[(0.28, 0.06), (0.72, 0.06), (0.9, 0.2), (0.97, 0.92), (0.82, 0.92), (0.76, 0.45),
         (0.76, 0.96), (0.24, 0.96), (0.24, 0.45), (0.18, 0.92), (0.03, 0.92), (0.1, 0.2)]],
    5: [[(0.05, 0.7), (0.2, 0.45), (0.3, 0.68), (0.45, 0.45), (0.55, 0.68), (0.7, 0.45),
         (0.8, 0.64), (0.95, 0.6), (0.95, 0.75), (0.05, 0.78)]],
    6: [[(0.3, 0.12), (0.45, 0.12), (0.5, 0.24), (0.55, 0.12), (0.7, 0.12), (0.88, 0.25),
         (0.93, 0.8), (0.8, 0.8), (0.74, 0.4), (0.74, 0.9), (0.26, 0.9), (0.26, 0.4),
         (0.2, 0.8), (0.07, 0.8), (0.12, 0.25)]],
    7: [[(0.05, 0.55), (0.35, 0.47), (0.55, 0.32), (0.7, 0.36), (0.95, 0.56), (0.95, 0.75),
         (0.05, 0.75)]],
    8: [[(0.15, 0.35), (0.85, 0.35), (0.9, 0.9), (0.1, 0.9)],
        [(0.3, 0.36), (0.35, 0.12), (0.65, 0.12), (0.7, 0.36), (0.62, 0.36), (0.6, 0.2),
         (0.4, 0.2), (0.38, 0.36)]],
    9: [[(0.22, 0.08), (0.55, 0.08), (0.58, 0.5), (0.95, 0.66), (0.95, 0.92), (0.05, 0.92),
         (0.12, 0.55)]],
}


def clothing(n_train: int = 6000, n_test: int = 1000, seed: int = SEED) -> tuple[tuple, tuple]:
    """Fashion-MNIST-shaped stand-in: uint8 28x28 silhouettes of the ten classes."""
    rng = np.random.default_rng(seed + 1)
    n = n_train + n_test
    labels = rng.permutation(np.arange(n) % 10).astype(np.uint8)
    grid = _grid(28)
    images = np.zeros((n, 28 * 28), dtype=np.float32)
    for start in range(0, n, 1000):
        batch = slice(start, min(start + 1000, n))
        size = batch.stop - batch.start
        points = _apply(_random_warps(rng, size, slant=0.05, shift=0.05, scale=(0.85, 1.0)),
                        grid)
        for label, polygons in _CLOTHES.items():
            rows = np.flatnonzero(labels[batch] == label)
            if rows.size == 0:
                continue
            mask = np.zeros((rows.size, grid.shape[0]), dtype=bool)
            for polygon in polygons:
                mask |= _inside(points[rows], np.array(polygon))
            images[batch.start + rows] = mask
    shade = rng.uniform(0.35, 1.0, size=(n, 1))
    texture = 1 + 0.25 * rng.standard_normal((n, 28 * 28)).astype(np.float32)
    stripes = np.where(rng.random((n, 1)) < 0.3,
                       0.8 + 0.2 * np.sin(np.arange(28 * 28) // 28 * rng.uniform(0.5, 2, (n, 1))),
                       1.0)
    images = _blur((images * shade * texture * stripes).reshape(n, 28, 28))
    pixels = np.clip(images * 255, 0, 255).astype(np.uint8)
    return (pixels[:n_train], labels[:n_train]), (pixels[n_train:], labels[n_train:])


# --------------------------------------------------------------------------------------------
# word-index sequences

_COMMON = (
    "the and a of to is in it this that was as for with movie but film on not you are his have "
    "he be one all at by an they who so from like her or just about out if has what some there "
    "can more when very up no time even my would which only story really see their had we were "
    "me well than much been get bad will also into people other great because how first its "
    "most him don't made then them way make could any too after characters think watch films "
    "two many seen being acting never plot little where best love life did know show ever does"
).split()
_POSITIVE = (
    "wonderful superb brilliant moving charming delightful gripping beautiful masterful "
    "touching stunning excellent hilarious clever witty tender luminous riveting heartfelt "
    "magnificent engaging inventive graceful radiant thrilling poignant fresh vivid warm "
    "splendid terrific compelling sublime playful rousing elegant lovely smart joyous "
    "powerful haunting assured nuanced dazzling uplifting marvelous affecting sharp fun"
).split()
_NEGATIVE = (
    "awful dull tedious clumsy boring dreadful lifeless bland incoherent stale painful "
    "pointless shallow sloppy tiresome wooden forgettable muddled annoying lazy hollow "
    "laughable predictable clunky dismal flat grating sluggish messy weak inept garish "
    "pretentious plodding cheap ugly overlong silly limp soulless unfunny drab trite "
    "mediocre waste worst terrible horrible mess disappointing"
).split()
_SYLLABLES = ("ka", "lo", "mi", "ren", "sto", "va", "qui", "dor", "pe", "tal", "nu", "gri",
              "bel", "so", "fra", "mun", "ze", "hol", "ti", "wa", "cor", "an", "pli", "es")


def vocabulary(size: int) -> list[str]:
    """``size`` distinct words: common English ones first, then made-up ones."""
    words = list(dict.fromkeys(_COMMON + _POSITIVE + _NEGATIVE))
    n_syllables = len(_SYLLABLES)
    index = 0
    seen = set(words)
    while len(words) < size:
        value, parts = index, []
        while True:  # index in base len(_SYLLABLES), at least two syllables
            parts.append(_SYLLABLES[value % n_syllables])
            value //= n_syllables
            if value == 0 and len(parts) >= 2:
                break
        word = "".join(parts)
        if word not in seen:
            seen.add(word)
            words.append(word)
        index += 1
    return words[:size]


def _word_ranks(words: list[str], chosen: list[str]) -> np.ndarray:
    position = {word: rank + 1 for rank, word in enumerate(words)}
    return np.array([position[word] for word in chosen])


def _zipf(rng: np.random.Generator, size: int, vocabulary_size: int) -> np.ndarray:
    ranks = np.arange(1, vocabulary_size + 1)
    weights = 1.0 / (ranks + 2.7) ** 1.07
    return rng.choice(ranks, size=size, p=weights / weights.sum())


def _split_lengths(tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    pieces = np.split(tokens, np.cumsum(lengths)[:-1])
    out = np.empty(len(pieces), dtype=object)
    out[:] = [piece.tolist() for piece in pieces]
    return out


IMDB_VOCABULARY = 20_000


def imdb_raw(n_train: int = 5000, n_test: int = 5000, seed: int = SEED) -> dict[str, Any]:
    """Reviews as raw word ranks (1 = most frequent), like the arrays inside ``imdb.npz``."""
    rng = np.random.default_rng(seed + 2)
    words = vocabulary(IMDB_VOCABULARY)
    positive, negative = _word_ranks(words, _POSITIVE), _word_ranks(words, _NEGATIVE)
    n = n_train + n_test
    labels = (np.arange(n) % 2)[rng.permutation(n)].astype(np.int64)
    lengths = np.clip(rng.lognormal(5.1, 0.55, size=n), 20, 1200).astype(int)
    tokens = _zipf(rng, int(lengths.sum()), IMDB_VOCABULARY)
    owner = np.repeat(np.arange(n), lengths)
    sentiment = rng.random(tokens.size) < 0.06
    agrees = rng.random(tokens.size) < 0.8
    favourable = np.where(agrees, labels[owner] == 1, labels[owner] == 0)
    picks_pos = positive[rng.integers(0, positive.size, tokens.size)]
    picks_neg = negative[rng.integers(0, negative.size, tokens.size)]
    tokens = np.where(sentiment, np.where(favourable, picks_pos, picks_neg), tokens)
    sequences = _split_lengths(tokens, lengths)
    return {"x_train": sequences[:n_train], "y_train": labels[:n_train],
            "x_test": sequences[n_train:], "y_test": labels[n_train:]}


def word_index(size: int) -> dict[str, int]:
    """A word index like Keras's JSON files (word -> rank, 1 = most frequent)."""
    return {word: rank + 1 for rank, word in enumerate(vocabulary(size))}


REUTERS_TOPICS = 46
REUTERS_VOCABULARY = 12_000


#: Ranks the topic words are drawn from: inside the 500 most frequent words (chapter 04's quick
#: profile keeps ``num_words=500``, and indices are ranks + 3), past the commonest few dozen.
#: Drawn from ranks up to 6,000 instead, about 94% of them became the out-of-vocabulary index
#: at ``num_words=500`` and the topics were nearly unlearnable there.
REUTERS_TOPIC_RANKS = (20, 480)
REUTERS_TOPIC_WORDS = 40
REUTERS_TOPICAL_SHARE = 0.10


def reuters_raw(n: int = 5000, seed: int = SEED) -> dict[str, Any]:
    """Newswires as raw word ranks with 46 topics, like the arrays inside ``reuters.npz``.

    Each topic has 40 characteristic words among ranks 20-479, shared in part with other topics
    (46 x 40 draws from 460 ranks), and one word in ten of a newswire is one of its topic's; the
    rest follows a Zipf law over 12,000 words. So the topics survive ``num_words=500`` and are
    learnable, yet many topics overlap: a 64-unit hidden layer separates them far better than a
    4-unit one, as with the real data (chapter 04's bottleneck lesson).
    """
    rng = np.random.default_rng(seed + 3)
    order = np.concatenate([[3, 4], rng.permutation([t for t in range(46) if t not in (3, 4)])])
    weights = np.empty(REUTERS_TOPICS)
    weights[order] = 1.0 / (np.arange(REUTERS_TOPICS) + 1.0) ** 1.25
    topics = rng.choice(REUTERS_TOPICS, size=n, p=weights / weights.sum()).astype(np.int64)
    low, high = REUTERS_TOPIC_RANKS
    characteristic = np.stack([
        rng.choice(np.arange(low, high), size=REUTERS_TOPIC_WORDS, replace=False)
        for _ in range(REUTERS_TOPICS)
    ])
    lengths = np.clip(rng.lognormal(4.6, 0.6, size=n), 12, 900).astype(int)
    tokens = _zipf(rng, int(lengths.sum()), REUTERS_VOCABULARY)
    owner = np.repeat(np.arange(n), lengths)
    topical = rng.random(tokens.size) < REUTERS_TOPICAL_SHARE
    topic_words = characteristic[topics[owner], rng.integers(0, REUTERS_TOPIC_WORDS, tokens.size)]
    tokens = np.where(topical, topic_words, tokens)
    return {"x": _split_lengths(tokens, lengths), "y": topics}


# --------------------------------------------------------------------------------------------
# tables

BOSTON_COLUMNS = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                  "PTRATIO", "B", "LSTAT")


def housing(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Boston-shaped stand-in: 506 rows of 13 float64 features and a price in k$."""
    rng = np.random.default_rng(seed + 4)
    n = 506
    crim = rng.lognormal(-1.0, 1.6, n)
    zn = np.where(rng.random(n) < 0.7, 0.0, rng.choice([12.5, 20, 25, 40, 80], n))
    indus = rng.uniform(0.5, 27.7, n)
    chas = (rng.random(n) < 0.07).astype(float)
    nox = np.clip(0.35 + 0.012 * indus + rng.normal(0, 0.05, n), 0.38, 0.87)
    rm = np.clip(rng.normal(6.28, 0.7, n), 3.6, 8.8)
    age = np.clip(rng.normal(68, 28, n), 3, 100)
    dis = np.clip(12.1 - 0.1 * age + rng.normal(0, 1.2, n), 1.1, 12.1)
    rad = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 24], n).astype(float)
    tax = np.clip(200 + 14 * indus + rng.normal(0, 60, n), 187, 711)
    ptratio = np.clip(rng.normal(18.5, 2.1, n), 12.6, 22)
    b = np.clip(rng.normal(357, 90, n), 0.3, 396.9)
    lstat = np.clip(40 - 4.5 * rm + rng.normal(0, 4, n), 1.7, 38)
    x = np.stack([crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat], axis=1)
    price = (22 + 5.5 * (rm - 6.28) - 0.55 * (lstat - 12.6) - 0.2 * crim - 0.9 * (ptratio - 18.5)
             - 0.8 * (dis - 3.8) * (dis < 3) + 2.5 * chas + rng.normal(0, 3, n))
    return x, np.clip(np.round(price, 1), 5.0, 50.0)


JENA_COLUMNS = ("Date Time", "p (mbar)", "T (degC)", "Tpot (K)", "Tdew (degC)", "rh (%)",
                "VPmax (mbar)", "VPact (mbar)", "VPdef (mbar)", "sh (g/kg)", "H2OC (mmol/mol)",
                "rho (g/m**3)", "wv (m/s)", "max. wv (m/s)", "wd (deg)")


def _smooth_noise(rng: np.random.Generator, n: int, coefficient: float, scale: float) -> np.ndarray:
    """An AR(1) series: weather that drifts over hours and days rather than jumping."""
    shocks = rng.normal(0, scale, n)
    out = np.empty(n)
    value = 0.0
    for i in range(n):  # a plain loop: a few hundred thousand steps take well under a second
        value = coefficient * value + shocks[i]
        out[i] = value
    return out


def _weather_system(rng: np.random.Generator, n: int, days: float) -> np.ndarray:
    """A smooth anomaly of mean 0 and standard deviation 1 whose episodes last about ``days``."""
    drift = _smooth_noise(rng, n, 1 - 1 / (days * 144), 1.0)
    smooth = np.convolve(drift, np.ones(72) / 72, mode="same")  # no kinks within 12 hours
    return (smooth - smooth.mean()) / smooth.std()


#: Hours by which the stand-in's temperature follows its pressure (a front passing through).
JENA_LEAD_HOURS = 18


def write_jena_csv(path: Path, days: int = 730, seed: int = SEED) -> int:
    """Write a Jena-shaped CSV (10-minute records from 01.01.2009 00:10:00); return its row count.

    Made-up weather, built like this so a forecasting lesson has something honest to find:
    yearly and daily cycles; passing pressure systems that last a few days, which move the
    temperature about ``JENA_LEAD_HOURS`` hours after the pressure (so the pressure readings of
    a window announce part of tomorrow's temperature); a second multi-day anomaly that no
    reading announces (so no model can be perfect); a smaller daily range under low pressure
    (clouds); wind that turns and strengthens while the pressure changes; hour-scale noise;
    and the other columns derived from temperature, humidity and pressure by the usual formulas.
    """
    rng = np.random.default_rng(seed + 5)
    n = days * 144
    minutes = np.arange(1, n + 1) * 10
    day_phase = (minutes % 1440) / 1440
    year_phase = minutes / (1440 * 365.25)
    lead = JENA_LEAD_HOURS * 6
    systems = _weather_system(rng, n + lead, 2.5)
    pressure_anomaly, arriving = systems[lead:], systems[:-lead]  # temperature follows pressure
    unannounced = _weather_system(rng, n, 3.0)
    cloud = 1 / (1 + np.exp(2 * pressure_anomaly))                # low pressure: overcast
    daily = -4.0 * (1.2 - 0.8 * cloud) * np.cos(2 * np.pi * (day_phase - 0.12))
    temperature = (9.5 - 10.0 * np.cos(2 * np.pi * (year_phase - 0.03)) + daily
                   - 2.6 * arriving + 2.4 * unannounced
                   + _smooth_noise(rng, n, 0.9, 0.25) + rng.normal(0, 0.1, n))
    pressure = 989.0 + 7.0 * pressure_anomaly + rng.normal(0, 0.05, n)
    tendency = np.r_[np.zeros(18), pressure_anomaly[18:] - pressure_anomaly[:-18]]  # over 3 h
    tendency /= tendency.std()
    humidity = np.clip(76 + 12 * np.cos(2 * np.pi * (day_phase - 0.12))
                       + 8 * np.cos(2 * np.pi * year_phase) + 10 * (cloud - 0.5)
                       + _smooth_noise(rng, n, 0.99, 1.2), 12, 100)
    vp_max = 6.1078 * np.exp(17.27 * temperature / (temperature + 237.3))
    vp_act = vp_max * humidity / 100
    vp_def = vp_max - vp_act
    log_ratio = np.log(vp_act / 6.1078)
    dew = 237.3 * log_ratio / (17.27 - log_ratio)
    tpot = (temperature + 273.15) * (1000 / pressure) ** 0.286
    sh = 622 * vp_act / (pressure - 0.378 * vp_act)
    h2oc = 1000 * vp_act / pressure
    rho = pressure * 100 / (287.05 * (temperature + 273.15)) * 1000
    wind = np.abs(2.0 + 0.8 * np.abs(tendency) + _smooth_noise(rng, n, 0.97, 0.35))
    gust = wind * rng.uniform(1.2, 2.2, n)
    direction = (230 - 50 * np.tanh(tendency) + _smooth_noise(rng, n, 0.99, 6.0)) % 360
    stamps = np.datetime64("2009-01-01T00:00") + minutes.astype("timedelta64[m]")
    iso = np.datetime_as_string(stamps, unit="s")
    columns = np.stack([pressure, temperature, tpot, dew, humidity, vp_max, vp_act, vp_def, sh,
                        h2oc, rho, wind, gust, direction], axis=1)
    row_format = ",".join(["{}"] + ["{:.2f}"] * 14) + "\n"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(f'"{column}"' for column in JENA_COLUMNS) + "\n")  # as the real file
        for stamp, values in zip(iso, columns.tolist(), strict=True):
            date = f"{stamp[8:10]}.{stamp[5:7]}.{stamp[0:4]} {stamp[11:19]}"
            handle.write(row_format.format(date, *values))
    return n


# --------------------------------------------------------------------------------------------
# pictures and text written to folders

_CAT_FUR = [(128, 128, 128), (214, 140, 60), (40, 40, 40), (235, 225, 210), (170, 120, 80)]
_DOG_FUR = [(150, 100, 50), (220, 180, 110), (60, 45, 35), (245, 235, 215), (120, 80, 50)]


def _draw_face(draw: Any, rng: np.random.Generator, kind: str, size: int) -> None:
    cx, cy = rng.uniform(0.4, 0.6, 2) * size
    r = rng.uniform(0.24, 0.34) * size
    palette = _CAT_FUR if kind == "cat" else _DOG_FUR
    fur = tuple(int(c) for c in np.clip(np.array(palette[rng.integers(len(palette))])
                                        + rng.normal(0, 12, 3), 0, 255))
    dark = tuple(max(c - 60, 0) for c in fur)
    if kind == "cat":  # pointed ears above the head
        for side in (-1, 1):
            base = cx + side * 0.55 * r
            draw.polygon([(base - 0.35 * r, cy - 0.6 * r), (base + 0.35 * r, cy - 0.6 * r),
                          (base + side * 0.15 * r, cy - 1.45 * r)], fill=fur, outline=dark)
    draw.ellipse([cx - r, cy - 0.9 * r, cx + r, cy + 0.9 * r], fill=fur, outline=dark)
    if kind == "dog":  # floppy ears hanging at the sides, a pale muzzle
        for side in (-1, 1):
            ex = cx + side * 0.95 * r
            draw.ellipse([ex - 0.3 * r, cy - 0.6 * r, ex + 0.3 * r, cy + 0.7 * r], fill=dark)
        muzzle = tuple(min(c + 50, 255) for c in fur)
        draw.ellipse([cx - 0.45 * r, cy + 0.1 * r, cx + 0.45 * r, cy + 0.75 * r], fill=muzzle)
        draw.ellipse([cx - 0.18 * r, cy + 0.12 * r, cx + 0.18 * r, cy + 0.36 * r],
                     fill=(20, 20, 20))
        for side in (-1, 1):
            ex = cx + side * 0.38 * r
            draw.ellipse([ex - 0.13 * r, cy - 0.35 * r, ex + 0.13 * r, cy - 0.09 * r],
                         fill=(30, 20, 10))
    else:  # almond eyes with slit pupils, a small nose and whiskers
        iris = (110, 180, 60) if rng.random() < 0.5 else (210, 180, 50)
        for side in (-1, 1):
            ex = cx + side * 0.38 * r
            draw.ellipse([ex - 0.2 * r, cy - 0.32 * r, ex + 0.2 * r, cy - 0.08 * r], fill=iris)
            draw.line([(ex, cy - 0.3 * r), (ex, cy - 0.1 * r)], fill=(10, 10, 10), width=2)
        draw.polygon([(cx - 0.1 * r, cy + 0.1 * r), (cx + 0.1 * r, cy + 0.1 * r),
                      (cx, cy + 0.22 * r)], fill=(220, 120, 130))
        for side in (-1, 1):
            for tilt in (-0.12, 0.0, 0.12):
                draw.line([(cx + side * 0.15 * r, cy + 0.25 * r),
                           (cx + side * 1.1 * r, cy + (0.2 + tilt) * r)], fill=(240, 240, 240))


def write_pet_pictures(root: Path, per_class: dict[str, int], size: int = 160,
                       seed: int = SEED) -> None:
    """Write ``root/{split}/{cat,dog}/{kind}.{i}.jpg`` drawings, ``per_class[split]`` each."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed + 6)
    number = 0
    for split, count in per_class.items():
        for kind in ("cat", "dog"):
            folder = root / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            for _ in range(count):
                number += 1
                top, bottom = rng.integers(60, 230, size=(2, 3))
                ramp = np.linspace(0, 1, size)[:, None, None]
                background = (top * (1 - ramp) + bottom * ramp) * np.ones((size, size, 3))
                background += rng.normal(0, 8, (size, size, 3))
                image = Image.fromarray(np.clip(background, 0, 255).astype(np.uint8))
                _draw_face(ImageDraw.Draw(image), rng, kind, size)
                image.save(folder / f"{kind}.{number}.jpg", quality=85)


_REVIEW_OPENINGS = ("This film is", "The movie was", "Honestly, it felt", "The whole thing is",
                    "I found it", "What a", "Overall it was", "The story is")
_REVIEW_SUBJECTS = ("the acting", "the script", "the score", "the ending", "the camera work",
                    "the cast", "the pacing", "the dialogue", "the lead", "the plot")


def write_review_texts(root: Path, per_class: dict[str, int], seed: int = SEED) -> None:
    """Write ``root/{split}/{neg,pos}/{i}.txt`` short reviews, ``per_class[split]`` each."""
    rng = np.random.default_rng(seed + 7)
    for split, count in per_class.items():
        for label in ("neg", "pos"):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            own, other = (_POSITIVE, _NEGATIVE) if label == "pos" else (_NEGATIVE, _POSITIVE)
            for i in range(count):
                sentences = []
                for _ in range(int(rng.integers(2, 6))):
                    pool = own if rng.random() < 0.8 else other
                    word = pool[rng.integers(len(pool))]
                    if rng.random() < 0.5:
                        opening = _REVIEW_OPENINGS[rng.integers(len(_REVIEW_OPENINGS))]
                        sentences.append(f"{opening} {word}.")
                    else:
                        subject = _REVIEW_SUBJECTS[rng.integers(len(_REVIEW_SUBJECTS))]
                        sentences.append(f"{subject.capitalize()} is {word}.")
                (folder / f"{i}_{label}.txt").write_text(" ".join(sentences), encoding="utf-8")


# --------------------------------------------------------------------------------------------
# English-Spanish pairs from a small grammar

_SUBJECTS = (  # English, Spanish, person index for the conjugation tables below
    ("I", "Yo", 0), ("You", "Tú", 1), ("He", "Él", 2), ("She", "Ella", 2),
    ("We", "Nosotros", 3), ("They", "Ellos", 4),
)
_VERBS = (  # English base form, third person, Spanish forms yo/tú/él/nosotros/ellos
    ("see", "sees", ("veo", "ves", "ve", "vemos", "ven")),
    ("want", "wants", ("quiero", "quieres", "quiere", "queremos", "quieren")),
    ("have", "has", ("tengo", "tienes", "tiene", "tenemos", "tienen")),
    ("need", "needs", ("necesito", "necesitas", "necesita", "necesitamos", "necesitan")),
    ("buy", "buys", ("compro", "compras", "compra", "compramos", "compran")),
    ("like", "likes", None),
)
_NOUNS = (  # English, Spanish, gender
    ("cat", "gato", "m"), ("dog", "perro", "m"), ("book", "libro", "m"),
    ("house", "casa", "f"), ("car", "coche", "m"), ("letter", "carta", "f"),
    ("apple", "manzana", "f"), ("table", "mesa", "f"), ("hat", "sombrero", "m"),
    ("bicycle", "bicicleta", "f"),
)
_ADJECTIVES = (  # English, Spanish masculine, feminine
    ("", "", ""), ("red", "rojo", "roja"), ("small", "pequeño", "pequeña"),
    ("new", "nuevo", "nueva"), ("old", "viejo", "vieja"),
)
_LIKE_PRONOUNS = ("Me", "Te", "Le", "Le", "Nos", "Les")


def sentence_pairs(seed: int = SEED) -> list[tuple[str, str]]:
    """Every sentence of the grammar as an ``(english, spanish)`` pair, in a fixed shuffled order."""
    pairs = []
    for index, (subject, sujeto, person) in enumerate(_SUBJECTS):
        third = person == 2
        for base, third_form, forms in _VERBS:
            for noun, nombre, gender in _NOUNS:
                for adjective, masculine, feminine in _ADJECTIVES:
                    article = "el" if gender == "m" else "la"
                    object_en = f"the {adjective + ' ' if adjective else ''}{noun}"
                    spanish_adjective = masculine if gender == "m" else feminine
                    object_es = f"{article} {nombre}{' ' + spanish_adjective if adjective else ''}"
                    for negative in (False, True):
                        verb = third_form if third else base
                        if negative:
                            verb = f"{'does' if third else 'do'} not {base}"
                        english = f"{subject} {verb} {object_en}."
                        if forms is None:  # "gustar": the thing liked is the grammatical subject
                            spanish = (f"{'No ' if negative else ''}"
                                       f"{_LIKE_PRONOUNS[index].lower() if negative else _LIKE_PRONOUNS[index]}"
                                       f" gusta {object_es}.")
                        else:
                            spanish = (f"{sujeto} {'no ' if negative else ''}"
                                       f"{forms[person]} {object_es}.")
                        pairs.append((english, spanish))
    order = np.random.default_rng(seed + 8).permutation(len(pairs))
    return [pairs[i] for i in order]


# --------------------------------------------------------------------------------------------
# segmentation scenes: shapes on textured backgrounds, with a class for every pixel

#: The classes of :func:`shape_scenes`, in the order of their mask values: the same three as the
#: trimaps of the Oxford-IIIT Pets (background, the animal, the uncertain band along its outline).
SCENE_CLASSES = ("background", "object", "outline")


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size, 3) float background: a base colour, smooth blotches and faint stripes."""
    coarse = rng.normal(0.0, 0.08, (size // 8 + 1, size // 8 + 1, 3))
    blotches = np.kron(coarse, np.ones((8, 8, 1)))[:size, :size]
    rows, cols = np.mgrid[0:size, 0:size]
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 10)
    stripes = 0.05 * np.sin(2 * np.pi * (rows * np.cos(angle) + cols * np.sin(angle)) / period)
    base = rng.uniform(0.2, 0.8, 3)
    return base + blotches + stripes[..., None] + rng.normal(0, 0.03, (size, size, 3))


def _shape_mask(kind: int, rows: np.ndarray, cols: np.ndarray, cy: float, cx: float,
                r: float) -> np.ndarray:
    if kind == 0:  # disc
        return (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
    if kind == 1:  # square, axis-aligned
        half = 0.89 * r
        return (np.abs(rows - cy) <= half) & (np.abs(cols - cx) <= half)
    # triangle pointing up: below the two slanted sides, above the base
    height = 2.2 * r
    top, bottom = cy - 0.6 * height, cy + 0.4 * height
    halfwidth = (rows - top) / height * 1.25 * r
    return (rows >= top) & (rows <= bottom) & (np.abs(cols - cx) <= halfwidth)


def _band(inside: np.ndarray) -> np.ndarray:
    """The pixels within one step (8-neighbourhood) of the outline, on both sides of it."""
    grown, shrunk = inside.copy(), inside.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = np.roll(np.roll(inside, dy, axis=0), dx, axis=1)
            grown |= moved
            shrunk &= moved
    return grown & ~shrunk


def shape_scenes(n: int = 1200, size: int = 64, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` scenes ``(images uint8 (n, size, size, 3), masks uint8 (n, size, size))``.

    Each scene holds one to three objects (discs, squares, triangles) of random colour and size
    on a textured background. The mask has the form of the Oxford-IIIT Pets trimaps: 0 for the
    background, 1 for an object, 2 for a band about two pixels wide along each object's outline
    (:data:`SCENE_CLASSES`). Objects may overlap; the one drawn last covers the others.
    Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed + 9)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    images = np.empty((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i in range(n):
        picture = _texture(rng, size)
        background = picture.mean(axis=(0, 1))
        for _ in range(rng.integers(1, 4)):
            r = rng.uniform(0.1, 0.2) * size
            cy, cx = rng.uniform(r + 2, size - r - 2, 2)
            inside = _shape_mask(int(rng.integers(0, 3)), rows, cols, cy, cx, r)
            colour = rng.uniform(0, 1, 3)
            while np.abs(colour - background).sum() < 0.6:
                colour = rng.uniform(0, 1, 3)
            picture[inside] = colour + rng.normal(0, 0.04, (int(inside.sum()), 3))
            masks[i][inside] = 1
            masks[i][_band(inside)] = 2
        images[i] = np.clip(picture * 255, 0, 255).astype(np.uint8)
    return images, masks
