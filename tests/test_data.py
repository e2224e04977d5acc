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


def test_photo_crops_collection():
    from convvis_lib.samples import CROP_PHOTOS
    ex = cv.photo_crops()
    assert len(ex) == len(CROP_PHOTOS) * (1 + 4 + 9) == 196
    assert all(im.shape == (224, 224, 3) and im.dtype == np.uint8 for im in ex.images)
    assert len(set(ex.names)) == len(ex) and (ex.labels == -1).all()
    assert ex.names[0] == "chelsea 300px (0,76)"  # chelsea is 300x451: the centre 300-px square
    again = cv.photo_crops(64)
    assert again.names == ex.names and again.images[0].shape == (64, 64, 3)
    # the crop named "photo side (top,left)" is that square of the photo, resized
    from PIL import Image
    name = ex.names[20]
    photo, side, pos = name.split(" ")
    top, left = map(int, pos.strip("()").split(","))
    piece = cv.sample_photo(photo)[top:top + int(side[:-2]), left:left + int(side[:-2])]
    resized = np.asarray(Image.fromarray(piece).resize((224, 224), Image.Resampling.BILINEAR, reducing_gap=3.0))
    np.testing.assert_array_equal(resized, ex.images[20])


def test_crop_boxes_span_the_photo_and_stay_inside():
    from convvis_lib.samples import crop_boxes
    boxes = crop_boxes(300, 451)
    assert boxes[0] == (0, 76, 300)  # whole short side, centred: (451 - 300) / 2 = 75.5 -> 76
    grid = boxes[5:]  # 3 x 3 at 35 %: 105 px, corners touch the edges
    assert {b[2] for b in grid} == {105} and grid[0][:2] == (0, 0) and grid[-1][:2] == (300 - 105, 451 - 105)
    assert all(t >= 0 and lf >= 0 and t + sd <= 300 and lf + sd <= 451 for t, lf, sd in boxes)
    with pytest.raises(ConvVisError, match="outside"):
        from convvis_lib.samples import crop
        crop(np.zeros((10, 10, 3), np.uint8), (5, 5, 6))
    with pytest.raises(ConvVisError, match="int >= 32"):
        cv.photo_crops(16)


def test_labelled_photos_have_valid_imagenet_classes():
    from convvis_lib.models import imagenet_classes
    from convvis_lib.samples import LABELLED_PHOTOS
    ex = cv.labelled_photos()
    names = imagenet_classes()
    assert len(ex) == len(LABELLED_PHOTOS) == 15 and len(ex.accepted) == 15
    for (_, _, _, classes), acc, label in zip(LABELLED_PHOTOS, ex.accepted, ex.labels):
        assert [names[i] for i in acc] == list(classes) and label == acc[0]
    assert ex.images[1].shape == (260, 260, 3)  # the chelsea face crop


def test_examples_for_imagenet_are_the_nine_photos_labelled():
    info = cv.ModelInfo("x", "imagenet", tuple(cv.models.imagenet_classes()), tuple(cv.models.imagenet_classes()),
                        (3, 224, 224), (0.5,) * 3, (0.5,) * 3)
    ex = cv.examples_for(info)
    assert len(ex) == 9 and ex.names[0] == "고양이(chelsea)"
    labels = dict(zip(data.PHOTO_NAMES, (info.class_names[i] if i >= 0 else None for i in ex.labels)))
    assert labels == {"chelsea": "tabby", "coffee": "espresso", "astronaut": None, "rocket": "missile",
                      "motorcycle_left": "moped", "motorcycle_right": "moped", "grace_hopper": "military uniform",
                      "china": "palace", "flower": None}
    assert ex.of_class(665) == [4, 5] and ex.accepted[2] == ()
    np.testing.assert_array_equal(ex.images[0], cv.sample_photo("chelsea"))


def test_topk_correct_counts_any_accepted_class():
    import torch
    from convvis_lib.samples import Examples, topk_correct
    ex = Examples([np.zeros((8, 8, 3), np.uint8)] * 3, np.array([2, -1, 0]), ["a", "b", "c"], ((2, 3), (), (0,)))
    logits = torch.tensor([[0.0, 5, 1, 4], [1, 2, 3, 4], [0, 3, 2, 1]])
    assert topk_correct(logits, ex, 1).tolist() == [False, False]  # unlabelled "b" is skipped
    assert topk_correct(logits, ex, 2).tolist() == [True, False]
    assert topk_correct(logits, ex, 4).tolist() == [True, True]
    with pytest.raises(ConvVisError, match="one row of logits per example"):
        topk_correct(logits[:2], ex, 1)
