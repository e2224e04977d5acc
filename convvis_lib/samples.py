"""Example images for a model: Fashion-MNIST for fashionnet, bundled photos for ImageNet models."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import PHOTO_NAMES, fashion_images, sample_photo
from .errors import ConvVisError
from .models import ModelInfo

PHOTO_LABELS_KO = {
    "chelsea": "고양이(chelsea)", "coffee": "커피(coffee)", "astronaut": "우주비행사(astronaut)",
    "rocket": "로켓(rocket)", "motorcycle_left": "오토바이 왼쪽(motorcycle)",
    "motorcycle_right": "오토바이 오른쪽(motorcycle)", "grace_hopper": "그레이스 호퍼(grace_hopper)",
    "china": "중국 사원(china)", "flower": "꽃(flower)",
}


@dataclass(frozen=True)
class Examples:
    """Raw images (uint8) with labels (-1 where unknown) and a display name for each."""

    images: list[np.ndarray]
    labels: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def of_class(self, cls: int) -> list[int]:
        """Indices of the examples labelled ``cls``."""
        return [int(i) for i in np.flatnonzero(self.labels == cls)]


def examples_for(info: ModelInfo, use_full: bool = False) -> Examples:
    """Images the chapters use with this model (offline in both cases)."""
    if not isinstance(info, ModelInfo):
        raise ConvVisError(f"expected the ModelInfo from load_model(); got the {type(info).__name__} {info!r}")
    if info.dataset == "fashion-mnist":
        data = fashion_images(use_full)
        names = [f"#{i} {info.label(int(c))}" for i, c in enumerate(data.labels)]
        return Examples(list(data.images), data.labels, names)
    images = [sample_photo(n) for n in PHOTO_NAMES]
    return Examples(images, np.full(len(images), -1, dtype=np.int64), [PHOTO_LABELS_KO[n] for n in PHOTO_NAMES])
