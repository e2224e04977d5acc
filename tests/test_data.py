"""Fashion-MNIST readers, the shipped sample, photos."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

import convvis_lib as cv
from convvis_lib import data
from convvis_lib.errors import ConvVisError, DataUnavailableError


def _write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_round_trip(tmp_path):
    imgs = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x.gz", imgs, 0x803)
    _write_idx(tmp_path / "y.gz", np.array([7, 1]), 0x801)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "x.gz"), imgs)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "y.gz"), [7, 1])


def test_read_idx_rejects_bad_magic_and_truncation(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write((0x1234).to_bytes(4, "big") + b"\0" * 8)
    with pytest.raises(ConvVisError, match="magic"):
        data.read_idx(bad)
    trunc = tmp_path / "trunc.gz"
    with gzip.open(trunc, "wb") as f:
        f.write((0x801).to_bytes(4, "big") + (5).to_bytes(4, "big") + b"\1\2")
    with pytest.raises(ConvVisError, match="truncated"):
        data.read_idx(trunc)


def test_env_folder_is_used_first(tmp_path, monkeypatch):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)), 0x803)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3]), 0x801)
    monkeypatch.setenv("CONVVIS_DATA", str(tmp_path))
    ds = cv.load_fashion_mnist("test")
    assert ds.images.shape == (3, 28, 28) and ds.labels.tolist() == [1, 2, 3] and ds.source == str(tmp_path)


def test_missing_data_offline_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "candidate_dirs", lambda: [tmp_path / "nothing"])
    monkeypatch.setenv("CONVVIS_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="apt-get install dataset-fashion-mnist"):
        cv.load_fashion_mnist("train")
    with pytest.raises(ConvVisError, match="'train', 'test'"):
        cv.load_fashion_mnist("validation")


def test_sample_is_stratified_and_matches_the_test_set():
    s = cv.load_sample()
    assert s.images.shape == (2000, 28, 28) and s.images.dtype == np.uint8
    assert np.bincount(s.labels).tolist() == [200] * 10
    assert s.labels[:10].tolist() == list(range(10))  # interleaved order


def test_sample_images_come_from_the_full_test_set():
    try:
        full = cv.load_fashion_mnist("test", download=False)
    except DataUnavailableError:
        pytest.skip("full Fashion-MNIST not installed")
    s = cv.load_sample()
    img, lbl = data.make_sample(full.images, full.labels)
    np.testing.assert_array_equal(img, s.images)
    np.testing.assert_array_equal(lbl, s.labels)


@pytest.mark.parametrize("name", data.ALL_PHOTO_NAMES)
def test_photos_are_rgb_uint8(name):
    img = cv.sample_photo(name)
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= 200


def test_unknown_photo_lists_names():
    with pytest.raises(ConvVisError, match="chelsea"):
        cv.sample_photo("eagle")


def test_korean_and_english_names_align():
    assert len(cv.FASHION_CLASSES_EN) == len(cv.FASHION_CLASSES_KO) == 10
    assert cv.FASHION_CLASSES_EN[9] == "Ankle boot" and cv.FASHION_CLASSES_KO[9] == "앵클부츠"


def test_grayscale_pictures_come_as_three_equal_channels():
    from skimage import data as skd
    img = cv.sample_photo("camera")
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    np.testing.assert_array_equal(img[..., 0], skd.camera())


@pytest.mark.parametrize("name", ["china", "flower"])
def test_sklearn_photos_are_read_as_sklearn_loads_them(name):
    from sklearn.datasets import load_sample_image
    from convvis_lib.data import sample_photo
    assert np.array_equal(sample_photo(name), load_sample_image(name + ".jpg"))
