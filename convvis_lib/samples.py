"""Example images for a model: Fashion-MNIST for fashionnet, photos that ship inside installed packages
for ImageNet models -- labelled where an ImageNet class describes them -- and a collection of crops."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import EXTRA_PHOTO_NAMES, PHOTO_NAMES, fashion_images, sample_photo
from .errors import ConvVisError
from .models import ModelInfo, imagenet_classes
from .preprocess import preprocess

PHOTO_LABELS_KO = {
    "chelsea": "고양이(chelsea)", "coffee": "커피(coffee)", "astronaut": "우주비행사(astronaut)",
    "rocket": "로켓(rocket)", "motorcycle_left": "오토바이 왼쪽(motorcycle)",
    "motorcycle_right": "오토바이 오른쪽(motorcycle)", "grace_hopper": "그레이스 호퍼(grace_hopper)",
    "china": "중국 사원(china)", "flower": "꽃(flower)",
}
SquareCrop = tuple[int, int, int]  # top, left, side of a square crop in the source photo

# The labelled ImageNet set: (display name, photo, crop or None for the whole photo, acceptable
# ImageNet classes -- the first is the label). Chosen by what the picture shows, before looking at any
# model's answer. Left out: astronaut as a whole and flower (a dahlia): no ImageNet class fits them.
LABELLED_PHOTOS: tuple[tuple[str, str, SquareCrop | None, tuple[str, ...]], ...] = (
    ("고양이(chelsea)", "chelsea", None, ("tabby", "tiger cat", "Egyptian cat")),
    ("고양이 얼굴(chelsea)", "chelsea", (20, 90, 260), ("tabby", "tiger cat", "Egyptian cat")),
    ("커피(coffee)", "coffee", None, ("espresso", "cup", "coffee mug")),
    ("커피 잔(coffee)", "coffee", (0, 120, 340), ("espresso", "cup", "coffee mug")),
    ("오토바이 왼쪽(motorcycle)", "motorcycle_left", None, ("moped", "motor scooter")),
    ("오토바이 오른쪽(motorcycle)", "motorcycle_right", None, ("moped", "motor scooter")),
    ("오토바이 앞바퀴(motorcycle)", "motorcycle_left", (230, 470, 260), ("disk brake", "car wheel")),
    ("그레이스 호퍼(grace_hopper)", "grace_hopper", None, ("military uniform",)),
    ("그레이스 호퍼 상반신(grace_hopper)", "grace_hopper", (60, 0, 512), ("military uniform",)),
    ("로켓(rocket)", "rocket", None, ("missile", "projectile")),
    ("중국 사원(china)", "china", None, ("palace", "monastery")),
    ("우주왕복선(astronaut)", "astronaut", (0, 282, 230), ("space shuttle",)),
    ("헬멧(astronaut)", "astronaut", (290, 290, 222), ("crash helmet", "football helmet")),
    ("카메라맨(camera)", "camera", None, ("tripod", "reflex camera")),
    ("삼각대(camera)", "camera", (180, 180, 332), ("tripod",)),
)


@dataclass(frozen=True)
class Examples:
    """Raw images (uint8) with labels (-1 where unknown) and a display name for each.

    ``accepted`` (ImageNet photos only) lists, per image, every class index that counts as a correct
    answer (empty where the image has no label); ``labels`` holds the first of them.
    """

    images: list[np.ndarray]
    labels: np.ndarray
    names: list[str]
    accepted: tuple[tuple[int, ...], ...] = ()

    def __len__(self) -> int:
        return len(self.images)

    def of_class(self, cls: int) -> list[int]:
        """Indices of the examples labelled ``cls``."""
        return [int(i) for i in np.flatnonzero(self.labels == cls)]


def crop(image: np.ndarray, box: SquareCrop | None) -> np.ndarray:
    """The square ``(top, left, side)`` of ``image`` (the whole image for ``None``)."""
    if box is None:
        return image
    top, left, side = box
    if top < 0 or left < 0 or top + side > image.shape[0] or left + side > image.shape[1]:
        raise ConvVisError(f"crop {box} reaches outside the {image.shape[0]}x{image.shape[1]} image")
    return np.ascontiguousarray(image[top:top + side, left:left + side])


def _imagenet_examples(rows) -> Examples:
    index = {name: i for i, name in enumerate(imagenet_classes())}
    accepted = tuple(tuple(index[c] for c in classes) for *_, classes in rows)
    labels = np.array([a[0] if a else -1 for a in accepted], dtype=np.int64)
    images = [crop(sample_photo(photo), box) for _, photo, box, _ in rows]
    return Examples(images, labels, [name for name, *_ in rows], accepted)


def labelled_photos() -> Examples:
    """The labelled ImageNet set (:data:`LABELLED_PHOTOS`): 15 photos and crops from installed packages,
    each with the ImageNet classes that count as correct. Small and hand-picked: a check that a model
    works, not a measure of its accuracy."""
    return _imagenet_examples(LABELLED_PHOTOS)


def cat_and_coffee(info: ModelInfo) -> tuple[torch.Tensor, tuple[int, ...], tuple[int, ...]]:
    """One normalised image (1, 3, S, S) with two objects: the cat photo (chelsea) shrunk to S/2 x S/2 on the left
    half, the coffee photo on the right half, the mean grey (0 after normalisation) above and below; with the
    ImageNet classes accepted for the cat and for the coffee. Chapters 4 and 11 ask whether a map follows the class."""
    if info.dataset != "imagenet" or info.input_size[0] != 3:
        raise ConvVisError(f"cat_and_coffee needs an ImageNet model (3-channel input); got {info.name!r}")
    _, side, _ = info.input_size
    half = side // 2
    photos = labelled_photos()
    cat, coffee = (next(i for i, n in enumerate(photos.names) if key in n) for key in ("chelsea", "coffee"))
    small = torch.nn.functional.interpolate(preprocess(info, [photos.images[cat], photos.images[coffee]]),
                                            size=(half, half), mode="bilinear", antialias=True)
    x = torch.zeros(1, 3, side, side)
    top = (side - half) // 2
    x[0, :, top:top + half, :half], x[0, :, top:top + half, half:2 * half] = small[0], small[1]
    return x, photos.accepted[cat], photos.accepted[coffee]


def topk_correct(logits: torch.Tensor, examples: Examples, k: int = 1) -> np.ndarray:
    """Per labelled example (those with ``accepted`` classes): is one of them among the top ``k`` logits?"""
    if len(examples.accepted) != len(examples) or logits.shape[0] != len(examples):
        raise ConvVisError(f"need one row of logits per example of an ImageNet set with accepted classes; "
                           f"got {tuple(logits.shape)} logits for {len(examples)} examples")
    top = logits.topk(k, dim=1).indices.cpu().tolist()
    return np.array([bool(set(t) & set(a)) for t, a in zip(top, examples.accepted) if a])


# Sources of the crop collection: every bundled photo except the right stereo view of the motorcycle
# (nearly the same picture as the left one), plus scikit-image's scenes and textures.
CROP_PHOTOS = tuple(p for p in PHOTO_NAMES if p != "motorcycle_right") + EXTRA_PHOTO_NAMES
# (side of the square crop as a fraction of the photo's shorter side, n for an n x n grid of positions)
CROP_SCALES = ((1.0, 1), (0.6, 2), (0.35, 3))


def crop_boxes(height: int, width: int, scales=CROP_SCALES) -> list[SquareCrop]:
    """Square crops ``(top, left, side)``: per scale, an n x n grid of positions spread evenly from
    one edge of the photo to the other (n = 1: the centre)."""
    boxes = []
    for frac, n in scales:
        side = round(frac * min(height, width))
        tops = np.linspace(0, height - side, n) if n > 1 else [(height - side) / 2]
        lefts = np.linspace(0, width - side, n) if n > 1 else [(width - side) / 2]
        boxes += [(int(round(t)), int(round(lf)), side) for t in tops for lf in lefts]
    return boxes


def photo_crops(size: int = 224) -> Examples:
    """A collection of image crops for ImageNet models, built offline (196 crops of ``size`` x ``size``).

    From each of the 14 pictures of :data:`CROP_PHOTOS` (photos of a cat, coffee, an astronaut, a
    rocket, a motorcycle, Grace Hopper, a Chinese temple, a flower, a cameraman, and textures: coins,
    bricks, gravel, a deep-field sky, a retina), 14 square crops: the centre square of the whole
    photo, a 2 x 2 grid at 60 % and a 3 x 3 grid at 35 % of the shorter side, each resized to
    ``size``. Names say the source and the crop: ``"chelsea 105px (98,0)"`` is a 105-pixel square
    whose top-left corner is at row 98, column 0. Labels are -1 (crops of a photo need not show its
    class). The order is fixed, so results are reproducible.

    Limits: only 14 source photos, so many crops overlap (near-duplicates share a top-k list or a
    t-SNE cluster), several are grayscale, and most ImageNet classes appear in none of them. Use
    it to see what units respond to within this small world, not as a data set to measure a model.
    """
    from PIL import Image
    if isinstance(size, bool) or not isinstance(size, int) or size < 32:
        raise ConvVisError(f"size {size!r} is not allowed; allowed: an int >= 32 (pixels)")
    images, names = [], []
    for photo in CROP_PHOTOS:
        image = sample_photo(photo)
        for box in crop_boxes(*image.shape[:2]):
            piece = Image.fromarray(crop(image, box))  # reducing_gap: a box-filter shrink first (fast, as good)
            piece = piece.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
            images.append(np.asarray(piece))
            names.append(f"{photo} {box[2]}px ({box[0]},{box[1]})")
    return Examples(images, np.full(len(images), -1, dtype=np.int64), names)


def examples_for(info: ModelInfo, use_full: bool = False) -> Examples:
    """Images the chapters use with this model (offline in both cases).

    fashionnet: the Fashion-MNIST sample (or the full test set with ``use_full``). ImageNet models:
    the 9 photos of :data:`~convvis_lib.data.PHOTO_NAMES`, labelled with their ImageNet class where
    one fits (astronaut and flower: -1).
    """
    if not isinstance(info, ModelInfo):
        raise ConvVisError(f"expected the ModelInfo from load_model(); got the {type(info).__name__} {info!r}")
    if info.dataset == "fashion-mnist":
        data = fashion_images(use_full)
        names = [f"#{i} {info.label(int(c))}" for i, c in enumerate(data.labels)]
        return Examples(list(data.images), data.labels, names)
    whole = {photo: classes for _, photo, box, classes in LABELLED_PHOTOS if box is None}
    return _imagenet_examples([(PHOTO_LABELS_KO[p], p, None, whole.get(p, ())) for p in PHOTO_NAMES])
