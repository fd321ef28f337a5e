"""Chapter 08b's data: the generated scenes and the Oxford pets loader.

What a learner would notice if it broke: scenes that differ between runs (the chapter's claims
would change), masks whose classes do not match the pets' trimaps, or pets whose outline band
turns into background.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np
from PIL import Image

from course_lib.data import loaders, standins


def test_scenes_are_deterministic_and_shaped_like_the_pets():
    images, masks = standins.shape_scenes(20, size=32)
    again_images, again_masks = standins.shape_scenes(20, size=32)
    assert images.shape == (20, 32, 32, 3) and images.dtype == np.uint8
    assert masks.shape == (20, 32, 32) and masks.dtype == np.uint8
    assert np.array_equal(images, again_images) and np.array_equal(masks, again_masks)
    assert set(np.unique(masks)) == {0, 1, 2}
    assert standins.SCENE_CLASSES == ("background", "object", "outline")


def test_every_object_has_its_outline_band_and_background_dominates():
    _, masks = standins.shape_scenes(50)
    share = np.bincount(masks.ravel(), minlength=3) / masks.size
    assert 0.7 < share[0] < 0.95 and share[1] > 0.03 and share[2] > 0.03
    for mask in masks:  # object pixels never touch background directly: a band lies between
        inside = mask == 1
        for axis in (0, 1):
            touching = inside & (np.roll(mask, 1, axis=axis) == 0)
            assert not touching[1:-1, 1:-1].any()


def test_load_shape_scenes_announces_a_stand_in(capsys):
    (train_images, train_masks), (test_images, _) = loaders.load_shape_scenes(6, 3, size=32)
    assert train_images.shape == (6, 32, 32, 3) and test_images.shape[0] == 3
    assert train_masks.shape == (6, 32, 32)
    assert "STAND-IN DATA" in capsys.readouterr().out


def _add(bundle: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    bundle.addfile(info, io.BytesIO(data))


def _encoded(array: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind)
    return buffer.getvalue()


def test_pet_trimaps_become_background_pet_outline(tmp_path):
    images, annotations = tmp_path / "images.tar.gz", tmp_path / "annotations.tar.gz"
    trimap = np.full((10, 10), 2, np.uint8)   # the files' values: 1 pet, 2 background, 3 border
    trimap[2:8, 2:8], trimap[4:6, 4:6] = 3, 1
    with tarfile.open(images, "w:gz") as bundle:
        for index in range(3):
            _add(bundle, f"images/Cat_{index}.jpg", _encoded(np.full((10, 10, 3), 90, np.uint8), "JPEG"))
        _add(bundle, "images/broken_1.jpg", b"not a picture")
    with tarfile.open(annotations, "w:gz") as bundle:
        for name in ("Cat_0", "Cat_1", "Cat_2", "broken_1"):
            _add(bundle, f"annotations/trimaps/{name}.png", _encoded(trimap, "PNG"))
        _add(bundle, "annotations/trimaps/._Cat_0.png", b"macOS metadata")
    loaders._build_pet_masks(images, annotations, 10, tmp_path)
    with np.load(tmp_path / "pets.npz") as stored:
        assert stored["images"].shape == (3, 10, 10, 3)   # the unreadable photo is skipped
        mask = stored["masks"][0]
    assert mask[0, 0] == 0 and mask[5, 5] == 1 and mask[3, 3] == 2
