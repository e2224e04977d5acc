"""convvis_lib.samples: the offline photo collections (labelled photos, crops) and top-k scoring."""
from __future__ import annotations

import numpy as np
import pytest

import convvis_lib as cv
from convvis_lib import data
from convvis_lib.errors import ConvVisError


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


def test_cat_and_coffee_places_both_photos_on_mean_grey():
    import torch
    import torch.nn.functional as F
    _, info = cv.load_model("efficientnet_lite0")
    x, cat_classes, coffee_classes = cv.samples.cat_and_coffee(info)
    assert x.shape == (1, 3, 224, 224)
    assert (x[0, :, :56] == 0).all() and (x[0, :, 168:] == 0).all()  # grey (the mean) above and below
    photos = cv.labelled_photos()
    cat = next(i for i, n in enumerate(photos.names) if "chelsea" in n)
    small = F.interpolate(cv.preprocess(info, [photos.images[cat]]), size=(112, 112), mode="bilinear", antialias=True)
    assert torch.equal(x[0, :, 56:168, :112], small[0])
    from convvis_lib.models import imagenet_classes
    assert "tabby" in [imagenet_classes()[i] for i in cat_classes]
    assert "espresso" in [imagenet_classes()[i] for i in coffee_classes]
    _, fm = cv.load_model("fashionnet")
    with pytest.raises(ConvVisError, match="needs an ImageNet model"):
        cv.samples.cat_and_coffee(fm)
