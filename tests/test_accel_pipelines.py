"""tf.data pipelines: every sample once per epoch, shuffled, batched, cached, repeatable on request.

What a learner would notice if these broke: a model that silently trains on duplicated or
missing samples, labels shuffled apart from their inputs, augmentation frozen by a cache, or a
"seeded" run that differs from the last one.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.accel import pipelines
from course_lib.errors import CourseError


def _epoch(dataset) -> tuple[list[int], list[int], list[int]]:
    """(ids in visiting order, labels in order, batch sizes) for one pass."""
    ids, labels, sizes = [], [], []
    for x, y in dataset:
        x, y = np.asarray(x), np.asarray(y)
        ids.extend(x[:, 0].astype(int).tolist())
        labels.extend(y.astype(int).tolist())
        sizes.append(len(x))
    return ids, labels, sizes


@pytest.fixture
def arrays() -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(103)
    x = np.stack([ids, ids * 10], axis=1).astype("float32")
    return x, (2 * ids).astype("int64")  # y follows x, so misaligned labels show


@pytest.mark.parametrize("use_map", [False, True], ids=["in-memory gather", "per-sample map + cache"])
def test_every_sample_exactly_once_per_epoch_with_a_remainder_batch(arrays, use_map):
    x, y = arrays
    map_fn = (lambda features, label: (features, label)) if use_map else None
    dataset = pipelines.from_arrays(x, y, batch_size=10, shuffle=True, seed=3, map_fn=map_fn)
    orders = []
    for _ in range(2):
        ids, labels, sizes = _epoch(dataset)
        assert sorted(ids) == list(range(103))  # each sample once, none missing
        assert labels == [2 * i for i in ids]  # labels travel with their inputs
        assert sizes == [10] * 10 + [3]  # a smaller last batch, not a dropped one (seeded: in order)
        orders.append(ids)
    assert orders[0] != sorted(orders[0]), "not shuffled"
    assert orders[0] != orders[1], "the same order every epoch"


def test_drop_remainder_keeps_only_full_batches(arrays):
    x, y = arrays
    ids, _, sizes = _epoch(pipelines.from_arrays(x, y, batch_size=10, drop_remainder=True))
    assert sizes == [10] * 10 and len(set(ids)) == 100


def test_unshuffled_pipeline_keeps_the_order(arrays):
    x, y = arrays
    ids, _, _ = _epoch(pipelines.from_arrays(x, y, batch_size=16, shuffle=False))
    assert ids == list(range(103))


def _uneven(features, label):
    """A per-sample map whose cost varies (every fifth sample is slow), as on a busy machine.

    A parallel map that is allowed to reorder hands the fast samples over first, so a pipeline
    that repeats its order here does so by construction, not because the machine was idle.
    """
    import tensorflow as tf

    def work(values):
        if int(values[0]) % 5 == 0:
            time.sleep(0.005)
        return values

    return tf.numpy_function(work, [features], tf.float32, stateful=False), label


def _uneven_batches(features, label):
    """The same for a per-batch map (the in-memory path has no per-sample map)."""
    import tensorflow as tf

    def work(values):
        if int(values[0, 0]) % 2 == 0:
            time.sleep(0.005)
        return values

    return tf.numpy_function(work, [features], tf.float32, stateful=False), label


@pytest.mark.parametrize("path", ["map_fn", "batch_map_fn"])
def test_a_seed_alone_repeats_the_same_batches_in_the_same_order(arrays, path):
    x, y = arrays

    uneven = {"map_fn": _uneven, "batch_map_fn": _uneven_batches}[path]

    def two_epochs(seed):
        dataset = pipelines.from_arrays(x, y, batch_size=8, seed=seed, **{path: uneven})
        assert dataset.options().deterministic is True  # a seed implies deterministic ordering
        return [_epoch(dataset)[0] for _ in range(2)]

    first = two_epochs(7)
    assert first[0] != first[1], "the same order every epoch"
    assert two_epochs(7) == first
    assert two_epochs(8) != first


def test_deterministic_without_a_seed_is_seed_42(arrays):
    x, y = arrays
    unseeded = pipelines.from_arrays(x, y, batch_size=8, deterministic=True,
                                     batch_map_fn=_uneven_batches)
    seeded = pipelines.from_arrays(x, y, batch_size=8, seed=42, batch_map_fn=_uneven_batches)
    assert unseeded.options().deterministic is True
    assert _epoch(unseeded)[0] == _epoch(seeded)[0]


def test_unseeded_or_explicitly_unordered_pipelines_promise_the_samples_not_the_order(arrays):
    x, y = arrays
    unseeded = pipelines.from_arrays(x, y, batch_size=8, map_fn=_uneven)
    assert unseeded.options().deterministic is False  # free to hand over ready batches first
    seeded_but_free = pipelines.from_arrays(x, y, batch_size=8, seed=7, deterministic=False,
                                            map_fn=_uneven)
    assert seeded_but_free.options().deterministic is False
    for dataset in (unseeded, seeded_but_free):
        ids, labels, sizes = _epoch(dataset)
        assert sorted(ids) == list(range(103)) and labels == [2 * i for i in ids]
        assert sorted(sizes, reverse=True) == [8] * 12 + [7]
    # unshuffled pipelines keep input order whatever deterministic says
    in_order = pipelines.from_arrays(x, y, batch_size=8, shuffle=False, deterministic=False,
                                     map_fn=_uneven)
    assert _epoch(in_order)[0] == list(range(103))


def test_cache_runs_per_sample_work_once_and_augmentation_every_epoch(arrays):
    import tensorflow as tf

    x, y = arrays
    calls = {"map": 0, "augment": 0}

    def count(name):
        def counter(value):
            calls[name] += 1
            return value
        return counter

    def preprocess(features, label):
        return tf.numpy_function(count("map"), [features], tf.float32, stateful=True), label

    def augment(features, label):
        return tf.numpy_function(count("augment"), [features], tf.float32, stateful=True), label

    dataset = pipelines.from_arrays(x, y, batch_size=10, map_fn=preprocess, batch_map_fn=augment)
    for _ in range(3):
        ids, _, _ = _epoch(dataset)
        assert sorted(ids) == list(range(103))
    assert calls["map"] == 103  # decoded once, then read from the cache
    assert calls["augment"] == 3 * 11  # once per batch, every epoch


def test_several_inputs_as_a_dict():
    ids = np.arange(20)
    dataset = pipelines.from_arrays({"a": ids, "b": ids * 3}, ids, batch_size=6, seed=1)
    seen = []
    for inputs, labels in dataset:
        assert np.array_equal(np.asarray(inputs["b"]), 3 * np.asarray(inputs["a"]))
        assert np.array_equal(np.asarray(inputs["a"]), np.asarray(labels))
        seen.extend(np.asarray(labels).tolist())
    assert sorted(seen) == list(range(20))


def test_mismatched_arrays_and_bad_batch_sizes_are_explained():
    with pytest.raises(CourseError, match=r"different numbers of samples \(\[9, 10\]\)"):
        pipelines.from_arrays(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(CourseError, match="batch_size=0"):
        pipelines.from_arrays(np.zeros((10, 2)), np.zeros(10), batch_size=0)


def _image_folder(root: Path) -> dict[int, int]:
    """Seven 8x8 PNGs in two class folders; each image's gray level identifies it."""
    from PIL import Image

    labels = {}
    for index in range(7):
        label = 0 if index < 3 else 1
        folder = root / ("cat" if label == 0 else "dog")
        folder.mkdir(parents=True, exist_ok=True)
        level = 20 * (index + 1)
        Image.new("RGB", (8, 8), (level, level, level)).save(folder / f"{index}.png")
        labels[level] = label
    return labels


def test_image_folder_pipeline_visits_every_image_once(tmp_path):
    labels = _image_folder(tmp_path)
    dataset = pipelines.from_image_folder(tmp_path, image_size=(8, 8), batch_size=3, seed=5)
    for _ in range(2):
        seen = []
        sizes = []
        for images, classes in dataset:
            images, classes = np.asarray(images), np.asarray(classes)
            assert images.shape[1:] == (8, 8, 3)
            for image, label in zip(images, classes, strict=True):
                level = int(round(float(image[0, 0, 0])))
                assert labels[level] == label  # the class comes from the folder name
                seen.append(level)
            sizes.append(len(images))
        assert sorted(seen) == sorted(labels) and sizes == [3, 3, 1]


def test_image_folder_split_needs_a_seed_and_never_overlaps(tmp_path):
    _image_folder(tmp_path)
    with pytest.raises(CourseError, match="pass seed="):
        pipelines.from_image_folder(tmp_path, image_size=(8, 8), validation_split=0.3,
                                    subset="training")
    with pytest.raises(CourseError, match='subset="training"'):
        pipelines.from_image_folder(tmp_path, image_size=(8, 8), validation_split=0.3, seed=1)
    with pytest.raises(CourseError, match="not a folder"):
        pipelines.from_image_folder(tmp_path / "missing")
    train, validation = pipelines.from_image_folder(tmp_path, image_size=(8, 8), batch_size=2,
                                                    validation_split=0.3, subset="both", seed=1)

    def levels(dataset):
        return [int(round(float(image[0, 0, 0]))) for images, _ in dataset for image in np.asarray(images)]

    train_levels, validation_levels = levels(train), levels(validation)
    assert not set(train_levels) & set(validation_levels)
    assert len(train_levels) + len(validation_levels) == 7 and len(validation_levels) == 2
    assert levels(validation) == validation_levels  # validation is never shuffled


def test_text_folder_pipeline_visits_every_file_once(tmp_path):
    for index in range(5):
        folder = tmp_path / ("neg" if index % 2 else "pos")
        folder.mkdir(exist_ok=True)
        (folder / f"{index}.txt").write_text(f"review number {index}")
    dataset = pipelines.from_text_folder(tmp_path, batch_size=2, seed=0)
    texts = [text.decode() for batch, _ in dataset for text in np.asarray(batch)]
    assert sorted(texts) == [f"review number {index}" for index in range(5)]
