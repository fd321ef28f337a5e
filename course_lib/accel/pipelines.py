"""tf.data input pipelines that keep an accelerator fed.

Three sources, one finish:

* :func:`from_arrays` — NumPy arrays (or a tuple or dict of them) already in memory;
* :func:`from_image_folder` — a folder with one sub-folder of images per class;
* :func:`from_text_folder` — the same with ``.txt`` files.

Every pipeline follows the same order, the one the tf.data performance guide recommends::

    read -> map_fn (per sample, parallel) -> cache -> shuffle -> batch
         -> batch_map_fn (per batch, parallel, e.g. augmentation) -> prefetch

Per-sample work that gives the same result every epoch (decoding, resizing) goes before the
cache, so it runs once; random work (augmentation) goes after it, so it differs every epoch.
``prefetch(AUTOTUNE)`` prepares the next batches while the model trains on this one. (Arrays
already in memory take a shorter road, described in :func:`from_arrays`.)

Repeatability: what ``seed`` and ``deterministic`` promise.

* ``seed=...`` alone makes a pipeline repeatable: every run of the notebook gets the same batches,
  with the same contents, in the same order, epoch after epoch (each epoch still has a new
  shuffle, drawn from the seed). To keep that promise a seeded pipeline is also deterministic:
  its parallel maps hand batches over in input order even when one sample takes longer than
  another, as it does on a busy machine.
* ``deterministic=True`` asks for the same without choosing a seed: it uses ``seed=42``.
* Neither (the default): a new shuffle every run, and parallel maps hand batches over as soon as
  they are ready, which is faster when per-sample work varies.
* ``deterministic=False`` with a seed: the seed fixes the shuffle, but parallel maps may still
  hand batches over out of order, so only *which* samples an epoch visits repeats, not their
  order (with a ``map_fn`` before the cache, not even which samples share a batch).
* ``shuffle=False``: always in input order (``model.predict`` lines up with the labels).

Every pipeline sees every sample exactly once per epoch; the last batch is smaller unless
``drop_remainder=True``.

Imports TensorFlow only when a function is called. On Keras's JAX backend these ``tf.data``
pipelines still work where TensorFlow is installed (Keras turns each batch into NumPy arrays);
:func:`array_batches` is the same array pipeline without TensorFlow, a ``keras.utils.PyDataset``
that :func:`course_lib.accel.train` uses on JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from course_lib.errors import CourseError

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

#: The seed a deterministic pipeline uses when none is given.
DEFAULT_SEED = 42
#: Shuffle buffer when the number of samples is unknown (a full-size buffer when it is known).
UNKNOWN_SIZE_SHUFFLE_BUFFER = 10_000


def _tf() -> Any:
    from course_lib.runtime import import_tensorflow

    return import_tensorflow()


def _options(tf: Any, deterministic: bool) -> Any:
    options = tf.data.Options()
    options.deterministic = deterministic
    # In-memory data has no files to split between workers: shard by element instead (this
    # also silences the "falling back to DATA sharding" warning under multi-worker training).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _cores() -> int:
    from course_lib.accel.devices import usable_cpu_count

    return usable_cpu_count()


def _is_ordered(deterministic: bool | None, seed: int | None, shuffle: bool) -> bool:
    """Whether parallel maps keep input order (the contract in the module docstring)."""
    if not shuffle:
        return True  # predictions must line up with the labels
    if deterministic is None:
        return seed is not None  # a seed promises a repeatable run
    return bool(deterministic)


def _seed_for(seed: int | None, deterministic: bool) -> int | None:
    if seed is None and deterministic:
        return DEFAULT_SEED
    return seed


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise CourseError(f"batch_size={batch_size!r}: use a whole number >= 1 (32 is a good start)")


def finish(
    samples: tf.data.Dataset,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool | str = True,
    map_fn: Callable[..., Any] | None = None,
    batch_map_fn: Callable[..., Any] | None = None,
    shuffle_buffer: int | None = None,
    drop_remainder: bool = False,
    deterministic: bool | None = None,
) -> tf.data.Dataset:
    """Turn a dataset of single samples into a training pipeline (the order in the module docstring).

    Parameters
    ----------
    samples:
        An unbatched ``tf.data.Dataset`` (one element per sample).
    cache:
        ``True`` keeps the samples in memory after the first epoch, a path caches them in files
        there (for data larger than memory), ``False`` reads them again every epoch.
    shuffle_buffer:
        Samples the shuffle draws from; by default all of them when the count is known (a full
        shuffle), else 10,000.

    seed, deterministic:
        See the module docstring: a seed (or ``deterministic=True``) repeats the same batches in
        the same order every run; ``deterministic=None`` (the default) means "when seeded".

    An unshuffled pipeline always keeps its order (parallel maps stay deterministic), so that
    ``model.predict`` on it lines up with the labels.
    """
    tf = _tf()
    _check_batch_size(batch_size)
    deterministic = _is_ordered(deterministic, seed, shuffle)
    seed = _seed_for(seed, deterministic)
    dataset = samples
    if map_fn is not None:
        dataset = dataset.map(map_fn, num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=deterministic)
    if cache:
        dataset = dataset.cache("" if cache is True else str(cache))
    if shuffle:
        if shuffle_buffer is None:
            count = int(dataset.cardinality())
            shuffle_buffer = count if count > 0 else UNKNOWN_SIZE_SHUFFLE_BUFFER
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder,
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if batch_map_fn is not None:
        dataset = dataset.map(batch_map_fn, num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=deterministic)
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(_options(tf, deterministic))


def sample_count(structure: Any) -> int:
    """The number of samples in an array or a tuple or dict of arrays (all must agree)."""
    import numpy as np

    leaves = [np.asarray(leaf) for leaf in _leaves(structure)]
    if not leaves:
        raise CourseError("from_arrays() got no arrays")
    lengths = {len(leaf) for leaf in leaves}
    if len(lengths) != 1:
        raise CourseError(
            f"the arrays have different numbers of samples ({sorted(lengths)}): inputs and labels "
            "must line up one to one along their first axis"
        )
    return lengths.pop()


def _leaves(structure: Any) -> list[Any]:
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in _leaves(value)]
    if isinstance(structure, (tuple, list)):
        return [leaf for value in structure for leaf in _leaves(value)]
    return [structure]


def from_arrays(
    x: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool | str = True,
    map_fn: Callable[..., Any] | None = None,
    batch_map_fn: Callable[..., Any] | None = None,
    drop_remainder: bool = False,
    deterministic: bool | None = None,
) -> tf.data.Dataset:
    """A pipeline over in-memory arrays: batches of ``(x, y)`` (or of ``x`` when ``y`` is None).

    ``x`` may be one array, or a tuple or dict of arrays for a model with several inputs.

    Without ``map_fn`` the arrays are already in memory, so there is nothing to cache: the
    pipeline shuffles the sample *indices* (a full shuffle that copies no data), gathers each
    batch with one ``tf.gather`` (much faster than slicing samples one by one) and keeps two
    batches ready. With a ``map_fn`` it takes the per-sample path of :func:`finish`, where
    ``cache`` applies.

    ``seed`` (or ``deterministic=True``) repeats the same batches in the same order every run;
    see the module docstring for what each combination promises.
    """
    tf = _tf()
    _check_batch_size(batch_size)
    deterministic = _is_ordered(deterministic, seed, shuffle)
    count = sample_count(x if y is None else (x, y))
    structure = x if y is None else (x, y)
    if map_fn is not None:
        return finish(tf.data.Dataset.from_tensor_slices(structure), batch_size=batch_size,
                      shuffle=shuffle, seed=seed, cache=cache, map_fn=map_fn,
                      batch_map_fn=batch_map_fn, drop_remainder=drop_remainder,
                      deterministic=deterministic)
    batches = _index_batches(tf, count, batch_size, shuffle=shuffle,
                             seed=_seed_for(seed, deterministic), drop_remainder=drop_remainder)
    # The arrays enter as one repeated element rather than as constants inside the map
    # function: that keeps them out of the pipeline's graph, which tf.data would otherwise
    # copy while optimizing it at the start of every epoch.
    arrays = tf.data.Dataset.from_tensors(structure).repeat()
    # A gather from memory is cheap and always costs the same, so a fixed, small number of
    # parallel calls and a two-batch prefetch keep up with any accelerator; AUTOTUNE's tuning
    # thread would only compete with training for the cores (measured 15-20% slower on a
    # 2-core CPU). With a batch_map_fn (augmentation), whose cost varies, AUTOTUNE decides.
    workers = min(4, _cores())
    dataset = tf.data.Dataset.zip((batches, arrays)).map(
        lambda index, data: tf.nest.map_structure(lambda array: tf.gather(array, index), data),
        num_parallel_calls=workers, deterministic=deterministic,
    )
    options = _options(tf, deterministic)
    # Nothing here for tf.data's graph rewrites to improve; skipping them saves their cost.
    options.experimental_optimization.apply_default_optimizations = False
    if batch_map_fn is not None:
        dataset = dataset.map(batch_map_fn, num_parallel_calls=tf.data.AUTOTUNE,
                              deterministic=deterministic).prefetch(tf.data.AUTOTUNE)
    else:
        options.autotune.enabled = False
        dataset = dataset.prefetch(2)
    return dataset.with_options(options)


def _index_batches(tf: Any, count: int, batch_size: int, *, shuffle: bool, seed: int | None,
                   drop_remainder: bool) -> Any:
    """A dataset of index batches covering ``range(count)`` once per epoch, in a new order each epoch.

    The permutation is drawn as one tensor (``stateless_shuffle``) from a seed that
    ``Dataset.random`` redraws at every epoch, then cut into batches: no per-sample work, so it
    keeps up with the fastest GPU, and a given ``seed`` repeats the same sequence of orders.
    """
    full_batches, remainder = divmod(count, batch_size)

    def permutation(epoch_seed: Any) -> Any:
        indices = tf.range(count, dtype=tf.int64)
        if not shuffle:
            return indices
        return tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([epoch_seed, 0]))

    def cut(indices: Any) -> Any:
        head = tf.reshape(indices[: full_batches * batch_size], [full_batches, batch_size])
        batches = tf.data.Dataset.from_tensor_slices(head)
        if remainder and not drop_remainder:
            batches = batches.concatenate(
                tf.data.Dataset.from_tensors(indices[full_batches * batch_size:]))
        return batches

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    batches = seeds.map(permutation).flat_map(cut)
    steps = full_batches + (1 if remainder and not drop_remainder else 0)
    return batches.apply(tf.data.experimental.assert_cardinality(steps))


def _folder_split(
    loader: Callable[..., Any],
    directory: str,
    *,
    validation_split: float | None,
    subset: str | None,
    seed: int | None,
    shuffle: bool,
    finish_options: dict[str, Any],
    **loader_options: Any,
) -> Any:
    from pathlib import Path

    if not Path(directory).is_dir():
        raise CourseError(f"{directory} is not a folder; expected one sub-folder per class")
    if validation_split and subset is None:
        raise CourseError('with validation_split, say which part you want: subset="training", '
                          '"validation" or "both"')
    if validation_split and seed is None:
        raise CourseError("with validation_split, pass seed=... (the same number for every call), "
                          "so the training and validation files never overlap")
    samples = loader(
        directory, batch_size=None, shuffle=bool(validation_split), seed=seed,
        validation_split=validation_split, subset=subset, **loader_options,
    )
    if subset == "both":
        train, validation = samples
        return (finish(train, shuffle=shuffle, seed=seed, **finish_options),
                finish(validation, shuffle=False, seed=seed, **finish_options))
    return finish(samples, shuffle=shuffle, seed=seed, **finish_options)


def from_image_folder(
    directory: str,
    *,
    image_size: Sequence[int] = (180, 180),
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool | str = True,
    validation_split: float | None = None,
    subset: str | None = None,
    label_mode: str = "int",
    color_mode: str = "rgb",
    map_fn: Callable[..., Any] | None = None,
    batch_map_fn: Callable[..., Any] | None = None,
    drop_remainder: bool = False,
    deterministic: bool | None = None,
) -> Any:
    """Batches of ``(images, labels)`` from ``directory/<class name>/<image files>``.

    Images are decoded and resized to ``image_size`` once, then cached: in memory that takes
    ``samples x height x width x 3 x 4`` bytes (2,000 images of 180 x 180 take 780 MB); pass
    ``cache=False`` or a file path on a small machine. Class names are the sub-folder names in
    alphabetical order. ``subset="both"`` (with ``validation_split``) returns
    ``(training, validation)``; the validation pipeline is never shuffled.
    """
    import keras

    return _folder_split(
        keras.utils.image_dataset_from_directory, str(directory),
        validation_split=validation_split, subset=subset, seed=seed, shuffle=shuffle,
        finish_options=dict(batch_size=batch_size, cache=cache, map_fn=map_fn,
                            batch_map_fn=batch_map_fn, drop_remainder=drop_remainder,
                            deterministic=deterministic),
        image_size=tuple(image_size), label_mode=label_mode, color_mode=color_mode,
    )


def from_text_folder(
    directory: str,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    cache: bool | str = True,
    validation_split: float | None = None,
    subset: str | None = None,
    label_mode: str = "int",
    max_length: int | None = None,
    map_fn: Callable[..., Any] | None = None,
    batch_map_fn: Callable[..., Any] | None = None,
    drop_remainder: bool = False,
    deterministic: bool | None = None,
) -> Any:
    """Batches of ``(texts, labels)`` from ``directory/<class name>/<.txt files>``.

    Each element of ``texts`` is one file's content as a string (cut to ``max_length``
    characters when given); vectorize it with a ``TextVectorization`` layer in ``map_fn``
    (cached, so it runs once) or inside the model.
    """
    import keras

    return _folder_split(
        keras.utils.text_dataset_from_directory, str(directory),
        validation_split=validation_split, subset=subset, seed=seed, shuffle=shuffle,
        finish_options=dict(batch_size=batch_size, cache=cache, map_fn=map_fn,
                            batch_map_fn=batch_map_fn, drop_remainder=drop_remainder,
                            deterministic=deterministic),
        label_mode=label_mode, max_length=max_length,
    )


_array_batches_class: Any = None


def _array_batches_type() -> Any:
    """The :class:`keras.utils.PyDataset` subclass behind :func:`array_batches` (made once)."""
    global _array_batches_class
    if _array_batches_class is not None:
        return _array_batches_class
    import numpy as np

    from course_lib.accel.backend import import_keras

    keras = import_keras()

    class ArrayBatches(keras.utils.PyDataset):
        """Batches of in-memory arrays: a new permutation every epoch, one gather per batch."""

        def __init__(self, structure: Any, count: int, batch_size: int, shuffle: bool,
                     seed: int | None, drop_remainder: bool, workers: int) -> None:
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=8)
            self.structure = keras.tree.map_structure(np.asarray, structure)
            self.count, self.batch_size = count, batch_size
            self.shuffle, self.drop_remainder = shuffle, drop_remainder
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(count)
            self._reorder()

        def _reorder(self) -> None:
            if self.shuffle:
                self.order = self.rng.permutation(self.count)

        @property
        def num_batches(self) -> int:
            full, remainder = divmod(self.count, self.batch_size)
            return full + (1 if remainder and not self.drop_remainder else 0)

        def __len__(self) -> int:
            return self.num_batches

        def __getitem__(self, index: int) -> Any:
            if index >= self.num_batches:
                raise IndexError(index)
            indices = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            return tuple(keras.tree.map_structure(lambda array: np.take(array, indices, axis=0),
                                                  part) for part in self.structure)

        def on_epoch_end(self) -> None:
            self._reorder()

    _array_batches_class = ArrayBatches
    return ArrayBatches


def array_batches(
    x: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
    deterministic: bool | None = None,
    workers: int = 1,
) -> Any:
    """Arrays as a ``keras.utils.PyDataset`` of batches: :func:`from_arrays` without TensorFlow.

    The same promises as :func:`from_arrays`: every sample once per epoch, a new shuffle each
    epoch, a smaller last batch unless ``drop_remainder``, and with a ``seed`` (or
    ``deterministic=True``, which uses ``seed=42``) the same batches in the same order every run.
    Each batch is one ``np.take`` of the shuffled indices. Keras's JAX trainer copies the next
    batch to the GPU while this one trains; ``workers=2`` or more prepares batches on threads.
    Pass it to ``fit`` with ``shuffle=False`` (it shuffles itself).
    """
    _check_batch_size(batch_size)
    ordered = _is_ordered(deterministic, seed, shuffle)
    structure = (x,) if y is None else (x, y)  # PyDataset batches are (inputs,) or (inputs, labels)
    count = sample_count(structure)
    return _array_batches_type()(structure, count, batch_size, shuffle,
                                 _seed_for(seed, ordered), drop_remainder, workers)
