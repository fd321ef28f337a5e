"""Datasets in one line: verified downloads, a cache, mirrors, real offline subsets, stand-ins.

In a notebook::

    from course_lib import data
    (train_images, train_labels), (test_images, test_labels) = data.load_mnist()

prints one line saying what was loaded and from where, for example::

    Data: MNIST, full: 60,000 training + 10,000 test images, from the cache /home/me/.keras/datasets/mnist.npz

=========================  ==================================================================
``load_mnist()``           MNIST digits, ``((x_train, y_train), (x_test, y_test))``, uint8
``load_fashion_mnist()``   Fashion-MNIST, same form (offline from Debian's package)
``load_imdb(num_words)``   IMDB reviews as word indices, like ``keras.datasets.imdb``
``imdb_word_index()``      IMDB's ``{word: rank}``
``imdb_text_dir()``        a folder of review texts, ``train/{neg,pos}``, ``test/{neg,pos}``
``load_reuters(num_words)`` Reuters newswires in 46 topics, like ``keras.datasets.reuters``
``reuters_word_index()``   Reuters' ``{word: rank}``
``load_boston_housing()``  Boston housing with Keras's 404/102 split
``jena_climate_csv()``     the path of the Jena climate CSV (420,451 rows, 15 columns)
``cats_vs_dogs_dir()``     a folder ``train``/``validation``/``test``, each ``{cat,dog}``
``load_spa_eng()``         English-Spanish sentence pairs
``load_oxford_pets(size)`` Oxford-IIIT Pets photos with trimap masks (chapter 08b)
``load_shape_scenes()``    generated scenes with masks, the same form (announced as stand-ins)
``describe(name)``         origin, size, checksum, licence and today's source of a dataset
``last_source(name)``      what the last load printed, for showing provenance again
``names()``                the registry's dataset names
=========================  ==================================================================

Where the data comes from (cache, ``COURSE_DATA_MIRROR``, an offline copy, the public origin,
the real subsets under ``COURSE_DATA_SUBSETS``, or loudly announced stand-ins) is explained in
:mod:`course_lib.data.sources`; ``course data list`` shows it for every dataset.

Importing this package is cheap: NumPy and the loaders load on first use.
"""

from __future__ import annotations

from course_lib._lazy import lazy_exports

_LAZY = {
    "load_mnist": "course_lib.data.loaders",
    "load_fashion_mnist": "course_lib.data.loaders",
    "load_imdb": "course_lib.data.loaders",
    "imdb_word_index": "course_lib.data.loaders",
    "imdb_text_dir": "course_lib.data.loaders",
    "load_reuters": "course_lib.data.loaders",
    "reuters_word_index": "course_lib.data.loaders",
    "load_boston_housing": "course_lib.data.loaders",
    "jena_climate_csv": "course_lib.data.loaders",
    "cats_vs_dogs_dir": "course_lib.data.loaders",
    "load_spa_eng": "course_lib.data.loaders",
    "load_oxford_pets": "course_lib.data.loaders",
    "load_shape_scenes": "course_lib.data.loaders",
    "describe": "course_lib.data.info",
    "last_source": "course_lib.data.sources",
    "names": "course_lib.data.registry",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
